"""Running totals by recorded day: the summary tables that answer "as of D" with one index probe.

A `RunningTotals` table holds, per key and per China-time day on which the key's figures changed,
the figures as they stood at the end of that day (every event of that day and before). "As of D"
is the latest row with `day <= D`: `ORDER BY day DESC LIMIT 1` on the primary key. A projection
adds deltas by (key, day): the row of that day is made from the one before if missing, and the
delta goes into it and into every later row (events reach the projector almost in timestamp order,
so a later row exists only when a batch straddles midnight).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from asyncpg import Record

from services.storage.connections import AsyncConnection

Key = tuple[Any, ...]  # the key columns of one row, in `keys` order
Vector = list[Any]  # the value columns of one row, in `values` order


class RunningTotals:
    def __init__(self, table: str, keys: Sequence[tuple[str, str]], values: Sequence[tuple[str, str]]) -> None:
        self.table, self.keys, self.values = table, list(keys), list(values)
        self.key_names = [k for k, _ in self.keys]
        self.value_names = [v for v, _ in self.values]

    def ddl(self) -> str:
        columns = ", ".join(f"{name} {kind} NOT NULL" for name, kind in [*self.keys, ("day", "date"), *self.values])
        return (f"CREATE TABLE IF NOT EXISTS {{schema}}.{self.table} ({columns},"
                f" PRIMARY KEY ({', '.join(self.key_names)}, day))")

    def zero(self) -> Vector:
        return [0] * len(self.values)

    def read(self, row: Record) -> Vector:
        """A row's figures; `numeric` columns hold whole numbers too big for int8 and come back as ints
        (Decimal arithmetic would round them to its context's 28 digits)."""
        return [int(row[name]) if kind == "numeric" else row[name] for name, kind in self.values]

    def latest_sql(self, schema: str, match: str, day: str, columns: str | None = None) -> str:
        """A LATERAL subquery: the row of the key `match` (SQL equating each key column to a value, with
        `t.` as this table's alias) as of `day` (a date expression; NULL = now)."""
        return (f"(SELECT {columns or ', '.join(self.value_names)} FROM {schema}.{self.table} t WHERE {match}"
                f" AND t.day <= coalesce({day}, 'infinity'::date) ORDER BY t.day DESC LIMIT 1)")

    async def current(self, conn: AsyncConnection, schema: str, keys: Sequence[Key]) -> dict[Key, Vector]:
        """The latest figures of each key that has any."""
        if not keys:
            return {}
        rows = await conn.fetch(
            f"SELECT d.*, l.* FROM {self._unnest(self.keys)} CROSS JOIN LATERAL"
            f" {self.latest_sql(schema, self._match(), 'NULL')} l",
            *self._columns(keys, len(self.keys)),
        )
        return {tuple(r[k] for k in self.key_names): self.read(r) for r in rows}

    async def add(self, conn: AsyncConnection, schema: str, deltas: dict[Key, Vector]) -> None:
        """Add each delta, keyed (*key, day), to the key's figures from that day on, the sums done by
        PostgreSQL: reading the rows into Python and writing them back cost twice as much.

        A key's delta days d1 < d2 < … take the running sums c1, c2, … of its deltas, and each delta day
        gets the row before it (itself, or zeros when there is none) plus its running sum. Where the
        key's latest stored row is on or before the delta day (events come almost in time order: nearly
        always), that is its latest row: one statement probes it and writes. The others, which a late
        event makes, come back from it; their rows are written from the latest one on or before their
        day, and the rows stored strictly after their day and before the key's next delta day take
        their running sum too."""
        by_key: dict[Key, dict[date, Vector]] = defaultdict(dict)
        for key_day, delta in deltas.items():
            if any(delta):
                by_key[key_day[:-1]][key_day[-1]] = delta
        if not by_key:
            return
        numeric = any(kind == "numeric" for _, kind in self.values)
        rows: list[Key] = []  # (*key, day, next delta day or None, *running sum)
        for key, days in by_key.items():
            ordered = sorted(days)
            running = self.zero()
            for index, day in enumerate(ordered):
                running = [a + b for a, b in zip(running, days[day], strict=True)]
                rows.append((*key, day, ordered[index + 1] if index + 1 < len(ordered) else None,
                             *(self._stored(running) if numeric else running)))
        columns = [*self.keys, ("day", "date"), ("next", "date"), *self.values]
        table = f"{schema}.{self.table}"
        keys, values = ", ".join(self.key_names), ", ".join(self.value_names)
        written = f"INSERT INTO {table} ({keys}, day, {values})"
        upsert = (f" ON CONFLICT ({keys}, day) DO UPDATE SET"
                  f" {', '.join(f'{v} = excluded.{v}' for v in self.value_names)}")
        plus = ", ".join(f"coalesce(p.{v}, 0) + d.{v}" for v in self.value_names)
        latest = ", ".join(f"t.{v}" for v in self.value_names)
        sums = ", ".join(f"coalesce(p.{v}, 0) + d.{v} AS sum_{v}" for v in self.value_names)
        late = await conn.fetch(
            f"WITH d AS (SELECT d.*, p.last_day, {sums}"
            f" FROM {self._unnest(columns)} LEFT JOIN LATERAL (SELECT t.day AS last_day, {latest} FROM {table} t"
            f" WHERE {self._match()} ORDER BY t.day DESC LIMIT 1) p ON true),"
            f" written AS ({written} SELECT {', '.join(f'd.{k}' for k in self.key_names)}, d.day,"
            f" {', '.join(f'sum_{v}' for v in self.value_names)} FROM d"
            f" WHERE d.last_day IS NULL OR d.last_day <= d.day{upsert})"
            f" SELECT {', '.join(f'd.{name}' for name, _ in columns)} FROM d WHERE d.last_day > d.day",
            *self._columns(rows, len(columns)),
        )
        if not late:
            return
        params = self._columns([tuple(r) for r in late], len(columns))
        before = self.latest_sql(schema, self._match() + " AND t.day <= d.day", "NULL")
        await conn.execute(
            f"{written} SELECT {', '.join(f'd.{k}' for k in self.key_names)}, d.day, {plus}"
            f" FROM {self._unnest(columns)} LEFT JOIN LATERAL {before} p ON true{upsert}",
            *params,
        )
        await conn.execute(
            f"UPDATE {table} t SET {', '.join(f'{v} = t.{v} + d.{v}' for v in self.value_names)}"
            f" FROM {self._unnest(columns)} WHERE {self._match()} AND t.day > d.day"
            " AND t.day < coalesce(d.next, 'infinity'::date)",
            *params,
        )

    def _stored(self, vector: Vector) -> Vector:
        return [Decimal(v) if kind == "numeric" else v for v, (_, kind) in zip(vector, self.values, strict=True)]

    def _unnest(self, columns: Sequence[tuple[str, str]]) -> str:
        params = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(columns, 1))
        return f"unnest({params}) AS d({', '.join(name for name, _ in columns)})"

    def _match(self, alias: str = "t") -> str:
        return " AND ".join(f"{alias}.{k} = d.{k}" for k in self.key_names)

    @staticmethod
    def _columns(rows: Sequence[Key], width: int) -> list[list[Any]]:
        return [[row[i] for row in rows] for i in range(width)]
