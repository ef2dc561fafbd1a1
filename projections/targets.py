"""The register of contact targets (联系点 / 五个一): Party branches (weak and scattered or not),
enterprises, talents, projects and contact points, each with its place and coordinates, as the register
stood on any day.

One row per version of a target (`targets_versions`), valid from the event that made it to the next
(`valid_to` NULL: still): the register now is a range of the partial index of the open versions, as of a
day the versions open then. A page costs O(the page) now, O(the page × a target's versions) as of a day.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from projections.base import Projection, event_name, recorded_before
from projections.rules import Rules
from services.storage.connections import AsyncConnection

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.targets_versions ("
    " target_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL, valid_to timestamptz,"
    " kind text NOT NULL, name text NOT NULL, township text NOT NULL, village text, lat float8, lon float8,"
    " weak boolean NOT NULL, archived boolean NOT NULL, PRIMARY KEY (target_id, version))",
    "CREATE INDEX IF NOT EXISTS targets_versions_current ON {schema}.targets_versions (target_id)"
    " WHERE valid_to IS NULL",
    "CREATE INDEX IF NOT EXISTS targets_versions_current_kind ON {schema}.targets_versions (kind, target_id)"
    " WHERE valid_to IS NULL",
]

COLUMNS = "target_id, version, kind, name, township, village, lat, lon, weak, archived, valid_from"
FIELDS = ("name", "township", "village", "lat", "lon", "weak")


class Targets(Projection):
    name = "targets"
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        mine = [e for e in events if event_name(e).startswith("ContactTarget.")]
        if not mine:
            return
        # The open version of each target the batch changes (its kind and fields carry into the next).
        latest: dict[UUID, dict[str, Any]] = {
            row["target_id"]: {**row, "stored": True} for row in await conn.fetch(
                f"SELECT * FROM {schema}.targets_versions WHERE target_id = ANY($1) AND valid_to IS NULL",
                list({e.originator_id for e in mine}))}
        closed: list[tuple[UUID, int, datetime]] = []
        added: list[dict[str, Any]] = []
        for event in mine:
            name, before = event_name(event), latest.get(event.originator_id)
            if before is not None:
                before["valid_to"] = event.timestamp
                if before.get("stored"):  # else a version of this batch, inserted closed
                    closed.append((event.originator_id, before["version"], event.timestamp))
            row = {"target_id": event.originator_id, "version": event.originator_version,
                   "valid_from": event.timestamp, "valid_to": None}
            if name == "ContactTarget.Registered":
                row.update(kind=event.kind, archived=False, **{f: getattr(event, f) for f in FIELDS})
            elif before is not None:
                row.update({key: before[key] for key in ("kind", "archived", *FIELDS)})
                if name == "ContactTarget.Revised":
                    row.update({f: getattr(event, f) for f in FIELDS})
                else:
                    row["archived"] = True
            else:  # a later event of a target this read model never saw registered: nothing to version
                continue
            latest[event.originator_id] = row
            added.append(row)
        if closed:
            await conn.executemany(
                f"UPDATE {schema}.targets_versions SET valid_to = $3 WHERE target_id = $1 AND version = $2", closed)
        if added:
            await conn.executemany(
                f"INSERT INTO {schema}.targets_versions (target_id, version, valid_from, valid_to, kind, name,"
                " township, village, lat, lon, weak, archived)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                [(r["target_id"], r["version"], r["valid_from"], r["valid_to"], r["kind"], r["name"], r["township"],
                  r["village"], None if r["lat"] is None else float(r["lat"]),
                  None if r["lon"] is None else float(r["lon"]), bool(r["weak"]), r["archived"]) for r in added])


projection = Targets()


def _open_then(as_of: date | None, args: list[Any]) -> str:
    """The condition of the versions standing at `as_of` (now: the open ones, the partial indexes' predicate)."""
    if as_of is None:
        return "valid_to IS NULL"
    args.append(recorded_before(as_of))
    return f"valid_from < ${len(args)} AND (valid_to IS NULL OR valid_to >= ${len(args)})"


async def page(conn: AsyncConnection, schema: str, *, kind: str | None = None, township: str | None = None,
               village: str | None = None, weak: bool | None = None, archived: bool = False, limit: int = 100,
               after: UUID | None = None, as_of: date | None = None) -> dict[str, Any]:
    """A page of the register (by target id) as it stood at `as_of`: `{items, next}`. Archived targets
    only when `archived` (they are kept: pairings and visits name them)."""
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit is 1 to 1000, not {limit}")
    args: list[Any] = [limit + 1]
    wanted = [_open_then(as_of, args), f"archived = {'true' if archived else 'false'}"]
    # Only the filters asked for go into the SQL (a generic plan of `$n IS NULL OR …` misjudges).
    for condition, value in (("kind =", kind), ("township =", township), ("village =", village),
                             ("weak =", weak), ("target_id >", after)):
        if value is not None:
            args.append(value)
            wanted.append(f"{condition} ${len(args)}")
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM {schema}.targets_versions WHERE {' AND '.join(wanted)} ORDER BY target_id LIMIT $1",
        *args)
    items = [dict(row) for row in rows[:limit]]
    return {"items": items, "next": items[-1]["target_id"] if len(rows) > limit else None}


async def one(conn: AsyncConnection, schema: str, target_id: UUID, *,
              as_of: date | None = None) -> dict[str, Any] | None:
    """One target as it stood at `as_of` (archived ones too); None when the register did not hold it then."""
    args: list[Any] = [target_id]
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM {schema}.targets_versions WHERE target_id = $1 AND {_open_then(as_of, args)}", *args)
    return None if row is None else dict(row)


async def named(conn: AsyncConnection, schema: str, target_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The current name, kind, place and weak flag of the targets among `target_ids` (texts: a pairing's or
    a visit's target id), by the index of the open versions: O(the ids)."""
    ids = []
    for text in dict.fromkeys(target_ids):
        try:
            ids.append(UUID(text))
        except (ValueError, TypeError):
            continue
    if not ids:
        return {}
    rows = await conn.fetch(
        f"SELECT target_id, kind, name, township, village, weak, archived FROM {schema}.targets_versions"
        " WHERE target_id = ANY($1) AND valid_to IS NULL", ids)
    return {str(row["target_id"]): dict(row) for row in rows}
