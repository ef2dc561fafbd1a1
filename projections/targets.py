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

from projections.base import Period, Projection, event_name, recorded_before
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


# 五个一 (Lucheng): what a cadre contacts in each period, in this order.
FIVE_ONES = ("weak_branch", "enterprise", "talent", "project", "village")
UUID_TEXT = "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'"


async def five_ones(conn: AsyncConnection, schema: str, period: Period, *, township: str | None = None,
                    limit: int = 100, after: UUID | None = None, as_of: date | None = None) -> dict[str, Any]:
    """A page of the county's active cadres (by id, `township` theirs) with their 五个一 in `period`: how many
    distinct weak Party branches, enterprises, talents and projects of the register they checked in at, and in
    how many villages (any check-in placed in one, a household's or a target's), voided check-ins left out,
    as known at `as_of`; `covered` counts the five with at least one, `missing` names the others.

    A branch counts as weak when it was flagged so as the check-in was recorded. Cadres come from the pairing
    read model's versions and check-ins from the verdicts' (by their cadre index): O(the page's check-ins
    in the period)."""
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit is 1 to 1000, not {limit}")
    start, end = period.instants()
    args: list[Any] = [recorded_before(as_of), limit + 1, start, end, after]
    until = "coalesce($1::timestamptz, 'infinity')"
    mine = ""
    if township is not None:
        args.append(township)
        mine = f" AND township = ${len(args)}"
    rows = await conn.fetch(
        f"""
        WITH cadres AS (
            SELECT * FROM (
                SELECT DISTINCT ON (cadre_id) cadre_id, rank, township, departed FROM {schema}.pairing_cadres
                WHERE valid_from < {until} AND ($5::uuid IS NULL OR cadre_id > $5) ORDER BY cadre_id, version DESC
            ) c WHERE NOT departed{mine} ORDER BY cadre_id LIMIT $2
        )
        SELECT c.cadre_id, c.rank, c.township, f.* FROM cadres c
        CROSS JOIN LATERAL (
            SELECT count(DISTINCT v.target_id) FILTER (WHERE t.kind = 'party_branch' AND t.weak) AS weak_branch,
                   count(DISTINCT v.target_id) FILTER (WHERE t.kind = 'enterprise') AS enterprise,
                   count(DISTINCT v.target_id) FILTER (WHERE t.kind = 'talent') AS talent,
                   count(DISTINCT v.target_id) FILTER (WHERE t.kind = 'project') AS project,
                   count(DISTINCT v.village) AS village
            FROM {schema}.verdicts_checkins v
            LEFT JOIN LATERAL (
                SELECT tv.kind, tv.weak FROM {schema}.targets_versions tv
                WHERE tv.target_id = (CASE WHEN v.target_kind <> 'household' AND v.target_id ~ {UUID_TEXT}
                                           THEN v.target_id::uuid END)
                  AND tv.valid_from <= v.recorded_at ORDER BY tv.version DESC LIMIT 1
            ) t ON true
            WHERE v.cadre_id = c.cadre_id AND v.occurred_at >= $3 AND v.occurred_at < $4
              AND v.recorded_at < {until} AND (v.voided_at IS NULL OR v.voided_at >= {until})
        ) f
        ORDER BY c.cadre_id
        """,
        *args)
    items = []
    for row in rows[:limit]:
        counts = {name: row[name] for name in FIVE_ONES}
        missing = [name for name in FIVE_ONES if not counts[name]]
        items.append({"cadre_id": row["cadre_id"], "rank": row["rank"], "township": row["township"], **counts,
                      "covered": len(FIVE_ONES) - len(missing), "missing": missing})
    return {"items": items, "next": items[-1]["cadre_id"] if len(rows) > limit else None}
