"""Leaderboards: cadres and townships ranked for a period (month, quarter, year or range).

Figures, each for the period (Chinese calendar days):
- `verified_visits`: check-ins the verdicts accepted (`projections.verdicts`), by `occurred_at`;
  voided or unverified ones never count;
- `distinct_households`: households among those verified visits;
- `issues_resolved`: issues raised by the cadre (township: raised in its villages) that stand
  resolved and were resolved in the period (`projections.issues`);
- `satisfaction_pct`: of those issues rated in the period, satisfied or basically satisfied.
A township is where the work happened: the visit's village (its first 9 digits), not the cadre's
posting. Cadres listed are the active ones plus any other cadre (departed, or never enrolled) with a
figure in the period; townships are those with households or with a figure in the period.

Ties are broken deterministically: by the chosen figure, then the others in the order above (more is
better; no satisfaction ranks below any), then by id ascending (cadre UUID as text, township code).
`rank` is the position after these tie-breaks, so two rows never share a rank.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from projections.base import Period, Projection, event_name, recorded_before
from projections.coverage import households_as_of
from projections.issues import PERIOD_COUNTS
from projections.issues import snapshot as issues_snapshot
from projections.rules import Rules
from projections.verdicts import visible_checkins

FIGURES = ("verified_visits", "distinct_households", "issues_resolved", "satisfaction_pct")

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.leaderboards_cadres ("
    " cadre_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL, name text NOT NULL,"
    " township text, departed boolean NOT NULL, PRIMARY KEY (cadre_id, version))",
]


class Leaderboards(Projection):
    name = "leaderboards"
    tables = TABLES

    async def apply(self, conn: Any, schema: str, events: Sequence[Any], rules: Rules) -> None:
        mine = [e for e in events if event_name(e) in ("Cadre.Enrolled", "Cadre.Transferred", "Cadre.Departed")]
        if not mine:
            return
        known = {
            r["cadre_id"]: (r["name"], r["township"]) for r in await conn.fetch(
                f"SELECT DISTINCT ON (cadre_id) cadre_id, name, township FROM {schema}.leaderboards_cadres"
                " WHERE cadre_id = ANY($1) ORDER BY cadre_id, version DESC",
                list({e.originator_id for e in mine}),
            )
        }
        rows = []
        for event in mine:
            name = event_name(event)
            if name == "Cadre.Enrolled":
                known[event.originator_id] = (event.name, event.township)
            elif event.originator_id not in known:
                continue
            elif name == "Cadre.Transferred":
                known[event.originator_id] = (known[event.originator_id][0], event.township)
            rows.append((event.originator_id, event.originator_version, event.timestamp,
                         *known[event.originator_id], name == "Cadre.Departed"))
        await conn.executemany(f"INSERT INTO {schema}.leaderboards_cadres VALUES ($1, $2, $3, $4, $5, $6)", rows)


projection = Leaderboards()


def rank_rows(rows: list[dict], by: str, key: str) -> list[dict]:
    """Order rows by figure `by`, the other figures, then `key` ascending; number them from 1."""
    if by not in FIGURES:
        raise ValueError(f"a leaderboard ranks by one of {', '.join(FIGURES)}, not {by!r}")
    order = [by, *(f for f in FIGURES if f != by)]

    def sort_key(row: dict) -> tuple:
        return (*(-(row[f] if row[f] is not None else -1) for f in order), str(row[key]))

    return [{"rank": i, **row} for i, row in enumerate(sorted(rows, key=sort_key), start=1)]


def _figures(visits: Any, households: Any, resolved: Any, rated: Any, satisfied: Any) -> dict:
    return {
        "verified_visits": visits or 0, "distinct_households": households or 0, "issues_resolved": resolved or 0,
        "satisfaction_pct": round(100.0 * satisfied / rated, 1) if rated else None,
    }


def _page(ranked: list[dict], limit: int, offset: int) -> dict:
    if not 1 <= limit <= 1000 or offset < 0:
        raise ValueError(f"limit is 1 to 1000 and offset ≥ 0, not {limit} and {offset}")
    return {"total": len(ranked), "items": ranked[offset:offset + limit]}


async def cadres(conn: Any, schema: str, period: Period, *, by: str = "verified_visits", limit: int = 20,
                 offset: int = 0, as_of: date | None = None) -> dict:
    """Cadres ranked for the period: `{total, items: [{rank, cadre_id, name, township, figures…}]}`."""
    start, end = period.instants()
    rows = await conn.fetch(
        f"""
        WITH c AS (
            SELECT DISTINCT ON (cadre_id) cadre_id, name, township, departed FROM {schema}.leaderboards_cadres
            WHERE $1::timestamptz IS NULL OR valid_from < $1::timestamptz ORDER BY cadre_id, version DESC
        ),
        v AS (
            SELECT cadre_id, count(*) AS visits, count(DISTINCT household_id) AS households
            FROM {visible_checkins(schema)} v WHERE verified AND occurred_at >= $2 AND occurred_at < $3
            GROUP BY cadre_id
        ),
        i AS (
            SELECT raised_by AS cadre_id, {PERIOD_COUNTS}
            FROM {issues_snapshot(schema)} s WHERE raised_by IS NOT NULL GROUP BY raised_by
        )
        SELECT coalesce(c.cadre_id, v.cadre_id, i.cadre_id) AS cadre_id, c.name, c.township,
               c.cadre_id IS NOT NULL AND NOT c.departed AS active, v.visits, v.households, i.resolved, i.rated,
               i.satisfied
        FROM c FULL JOIN v ON v.cadre_id = c.cadre_id FULL JOIN i ON i.cadre_id = coalesce(c.cadre_id, v.cadre_id)
        """,
        recorded_before(as_of), start, end,
    )
    listed = []
    for row in rows:
        figures = _figures(row["visits"], row["households"], row["resolved"], row["rated"], row["satisfied"])
        if not row["active"] and not any(figures[f] for f in FIGURES[:3]) and not row["rated"]:
            continue
        listed.append({"cadre_id": row["cadre_id"], "name": row["name"], "township": row["township"], **figures})
    return _page(rank_rows(listed, by, "cadre_id"), limit, offset)


async def townships(conn: Any, schema: str, period: Period, *, by: str = "verified_visits", limit: int = 50,
                    offset: int = 0, as_of: date | None = None) -> dict:
    """Townships ranked for the period: `{total, items: [{rank, township, figures…}]}`."""
    start, end = period.instants()
    rows = await conn.fetch(
        f"""
        WITH h AS (SELECT DISTINCT township FROM {households_as_of(schema)} h
                   WHERE archived_at IS NULL OR archived_at >= $2),
        v AS (
            SELECT left(village, 9) AS township, count(*) AS visits, count(DISTINCT household_id) AS households
            FROM {visible_checkins(schema)} v
            WHERE verified AND village IS NOT NULL AND occurred_at >= $2 AND occurred_at < $3
            GROUP BY 1
        ),
        i AS (
            SELECT township, {PERIOD_COUNTS}
            FROM {issues_snapshot(schema)} s GROUP BY township
        )
        SELECT coalesce(h.township, v.township, i.township) AS township, v.visits, v.households, i.resolved,
               i.rated, i.satisfied
        FROM h FULL JOIN v ON v.township = h.township FULL JOIN i ON i.township = coalesce(h.township, v.township)
        """,
        recorded_before(as_of), start, end,
    )
    listed = [
        {"township": row["township"],
         **_figures(row["visits"], row["households"], row["resolved"], row["rated"], row["satisfied"])}
        for row in rows
    ]
    return _page(rank_rows(listed, by, "township"), limit, offset)
