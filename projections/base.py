"""What every read model is: a name, its tables and one `apply` for a batch of decoded events.

Timing (Marten's words): every read model here is *async*: the driver (`projections.driver`) applies
committed events in batches, each batch in ONE transaction together with the tracking rows, so an
event is applied exactly once. The `deferred` projections (the province rollup, the leaderboards, the
campaigns) are applied after the county's read models committed the batch, in a transaction of their
own on a second connection, while those go on: nothing reads them within a batch, so the county's
read models need not wait for them, and they read what the verdicts committed, so they must not run
ahead of them. Rules for a projection:

- `tables` are DDL strings with a `{schema}` placeholder (the county schema, or the rebuild schema
  `county_<adcode>__rebuild`). Every table and index name starts with the projection's `name` and
  `_`, e.g. `coverage_households`, so rebuild knows which tables to swap. Use `IF NOT EXISTS`:
  `ensure_tables` runs them whenever a driver first has events for the county.
- `apply` writes only its own tables, and only in `schema` (a rebuild passes its scratch schema).
  It may read other tables of its own; queries may read other projections' tables.
- Tables holding facts carry the event `timestamp` that made them, so a query `as_of` a date keeps
  what `recorded_before(as_of)` allows and answers what a rebuild cut at that moment would.
- A projection whose tables live outside the county schema (the province rollup) lists them in
  `shared_tables` (no placeholder) and implements `forget`, which rebuild calls before replaying it
  in place. When the read models it `reads` are rebuilt with it, it is replayed into the rebuild
  schema with them instead (its shared rows kept in a table there), and `adopt` moves those rows
  into the shared tables in the swap's transaction.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar
from uuid import UUID
from zoneinfo import ZoneInfo

from projections.rules import Rules
from services.storage.connections import AsyncConnection

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Projection:
    name: ClassVar[str]
    tables: ClassVar[list[str]]
    shared_tables: ClassVar[list[str]] = []
    # Applied after the county's other read models and never past them, beside their next batch (see the module doc).
    deferred: ClassVar[bool] = False
    # The other read models whose tables `apply` reads (a rebuild replays them together).
    reads: ClassVar[tuple[str, ...]] = ()
    # The secondary indexes `apply` itself probes: a rebuild makes them with the tables (its other indexes
    # only after the replay), or each batch would scan what the replay has written so far.
    replay_indexes: ClassVar[tuple[str, ...]] = ()
    # Count it up when `apply` changes what the rows mean without changing `tables`: counties built
    # by the old code are then replayed (projections.schema, like a change of the DDL).
    version: ClassVar[int] = 1

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        """Update this projection's tables in `schema` for a batch of decoded events (asyncpg conn,
        inside the driver's transaction). Events this projection does not follow are ignored."""
        raise NotImplementedError

    async def forget(self, conn: AsyncConnection, schema: str) -> None:
        """Delete this county's rows from `shared_tables` and empty its own state (only projections
        that have shared tables)."""
        raise NotImplementedError(f"{self.name} keeps no shared tables")

    async def forget_rows(self, conn: AsyncConnection, schema: str) -> None:
        """Delete this county's rows from `shared_tables` only (its own tables may be of another shape)."""
        raise NotImplementedError(f"{self.name} keeps no shared tables")

    async def adopt(self, conn: AsyncConnection, scratch: str, schema: str) -> None:
        """Replace this county's rows in `shared_tables` with those kept in the rebuild schema."""
        raise NotImplementedError(f"{self.name} keeps no shared tables")

    def ddl(self, schema: str) -> list[str]:
        return [statement.format(schema=schema) for statement in self.tables]


async def insert_rows(conn: AsyncConnection, table: str, types: Sequence[str], rows: Sequence[Sequence[Any]],
                      columns: str = "", conflict: str = "") -> None:
    """INSERT `rows` (tuples of the table's columns, or of `columns`, typed `types`) in ONE statement: one
    array per column, unnested. `executemany` runs a statement per row, and PostgreSQL's cost per statement
    was a live batch's biggest one after the read models' own Python. `conflict`: an ON CONFLICT clause
    (`upsert_rows`), which refuses a key twice in one statement where a statement per row updates it twice."""
    if not rows:
        return
    unnested, selected = [], []
    params: list[list[Any]] = []
    for index, kind in enumerate(types):
        values = [row[index] for row in rows]
        if kind.endswith("[]"):  # unnest would flatten an array of arrays: each row's array travels as text
            params.append([None if v is None else _array_literal(v) for v in values])
            unnested.append(f"${index + 1}::text[]")
            selected.append(f"c{index}::{kind}")
        else:
            params.append(values)
            unnested.append(f"${index + 1}::{kind}[]")
            selected.append(f"c{index}")
    names = ", ".join(f"c{index}" for index in range(len(types)))
    await conn.execute(
        f"INSERT INTO {table}{f' ({columns})' if columns else ''} SELECT {', '.join(selected)}"
        f" FROM unnest({', '.join(unnested)}) AS d({names}){conflict}",
        *params,
    )


async def upsert_rows(conn: AsyncConnection, table: str, columns: Sequence[tuple[str, str]], keys: int,
                      rows: Sequence[Sequence[Any]]) -> None:
    """INSERT or UPDATE `rows` in ONE statement, as `insert_rows` does: `columns` are (name, type), the
    first `keys` of them the conflict key, the others updated. No two rows may share a key (PostgreSQL
    refuses a row changed twice in one statement): the callers write each key's final state once."""
    names = [name for name, _ in columns]
    updates = ", ".join(f"{name} = excluded.{name}" for name in names[keys:])
    conflict = f" ON CONFLICT ({', '.join(names[:keys])}) DO {f'UPDATE SET {updates}' if updates else 'NOTHING'}"
    await insert_rows(conn, table, [kind for _, kind in columns], rows, ", ".join(names), conflict)


def _array_literal(values: Sequence[Any]) -> str:
    """A one-dimensional array as PostgreSQL's text form, every element quoted (None = NULL)."""
    quoted = ("NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
              for v in values)
    return "{" + ",".join(quoted) + "}"


def event_name(event: Any) -> str:
    """`Aggregate.Event` of a decoded event, e.g. `Visit.CheckedIn` (the stored topic without its
    `grassroots:` prefix)."""
    return type(event).__qualname__


def as_uuid(value: Any) -> Any:
    """An id from an event field as a UUID (events carry UUIDs, or their hex after a round trip through
    JSON); None stays None."""
    return None if value is None else value if isinstance(value, UUID) else UUID(str(value))


def recorded_before(as_of: date | None) -> datetime | None:
    """The first instant NOT included by `as_of`: (as_of + 1 day) 00:00 Asia/Shanghai; None = now."""
    if as_of is None:
        return None
    if not isinstance(as_of, date) or isinstance(as_of, datetime):
        raise TypeError(f"as_of must be a date, not {type(as_of).__name__}")
    return datetime.combine(as_of + timedelta(days=1), time(), SHANGHAI)


def local_date(moment: datetime) -> date:
    """The calendar date of an instant in China (every period in Grassroots is a Chinese calendar one)."""
    return moment.astimezone(SHANGHAI).date()


def reference_date(as_of: date | None) -> date:
    """The day a status is judged on: `as_of`, or today in China."""
    return as_of if as_of is not None else datetime.now(SHANGHAI).date()


def parse_time(value: Any) -> datetime:
    """Event fields carry times as aware datetimes or ISO strings; both become aware datetimes."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"time without a timezone: {value!r}")
    return moment


def parse_keyset(after: str | None) -> tuple[datetime | None, UUID | None]:
    """A newest-first list's cursor, `<ISO time>|<uuid>` (the last row's time and id), as its parts."""
    if after is None:
        return None, None
    try:
        moment, row_id = after.split("|", 1)
        return parse_time(moment), UUID(row_id)
    except ValueError:
        raise ValueError(f"not a cursor of this list: {after!r} (pass the `next` of the previous page)") from None


def parse_date(value: Any) -> date:
    return value if isinstance(value, date) and not isinstance(value, datetime) else date.fromisoformat(str(value))


class Period:
    """A span of Chinese calendar days [start, end], inclusive: a month, quarter, year or range.

    `Period.parse` reads `2026` (a year), `2026-Q1`, `2026-03` or `2026-01-05..2026-02-20`."""

    def __init__(self, start: date, end: date) -> None:
        if end < start:
            raise ValueError(f"a period ends on or after its start ({start} .. {end})")
        self.start, self.end = start, end

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if not 1 <= quarter <= 4:
            raise ValueError(f"a quarter is 1 to 4, not {quarter}")
        return cls(date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter))

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        if not 1 <= month <= 12:
            raise ValueError(f"a month is 1 to 12, not {month}")
        return cls(date(year, month, 1), _month_end(year, month))

    @classmethod
    def parse(cls, text: str) -> Period:
        value = text.strip()
        try:
            if ".." in value:
                start, end = value.split("..", 1)
                return cls(date.fromisoformat(start), date.fromisoformat(end))
            if len(value) == 4:
                return cls.year(int(value))
            if len(value) == 7 and value[4:6].upper() == "-Q":
                return cls.quarter(int(value[:4]), int(value[6]))
            if len(value) == 7 and value[4] == "-":
                return cls.month(int(value[:4]), int(value[5:]))
        except ValueError as error:
            raise ValueError(f"not a period: {text!r} ({error})") from None
        raise ValueError(f"not a period: {text!r} (use 2026, 2026-Q1, 2026-03 or 2026-01-05..2026-02-20)")

    def instants(self) -> tuple[datetime, datetime]:
        """[first instant, first instant after] in Asia/Shanghai, for comparing `timestamptz` columns."""
        return (
            datetime.combine(self.start, time(), SHANGHAI),
            datetime.combine(self.end + timedelta(days=1), time(), SHANGHAI),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Period) and (self.start, self.end) == (other.start, other.end)

    def __repr__(self) -> str:
        return f"Period({self.start}..{self.end})"


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def period_keys(day: date) -> tuple[str, str, str]:
    """The calendar year, quarter and month of a day, as `Period.parse` reads them."""
    return str(day.year), f"{day.year}-Q{(day.month - 1) // 3 + 1}", f"{day.year}-{day.month:02d}"


def summary_key(period: Period) -> str | None:
    """The summaries' key of a calendar year, quarter or month; None for other ranges."""
    key = period_keys(period.start)
    return next((k for k in key if Period.parse(k) == period), None)
