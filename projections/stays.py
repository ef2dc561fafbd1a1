"""Stays (蹲点 / 三进三同): the days cadres stayed, per cadre and period.

A stay is a check-in of kind `stay` carrying its whole `days`. It counts in the period holding the day it
began (`occurred_at`, China time), all its days there, like every visit counts where it happened. A
voided stay stops counting from the moment it was voided. Each row keeps the instants it was recorded
and voided, so a query `as_of` D answers what a rebuild cut at D would.

`days` counts every stay; `verified_days` only those whose check-in the verdicts read model
(`projections.verdicts`, the one place visits are judged) verified: the figure a cadre's record and the
leaderboards show, as they count only verified visits.

Cost (DESIGN §6): a query reads the stays begun in its period through the `(occurred_at)` index, one
verdict probe each by primary key: O(the period's stays), a few per cadre and year.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from projections.base import Period, Projection, event_name, local_date, parse_time, recorded_before
from projections.base import as_uuid as _uuid
from projections.rules import Rules
from services.storage.connections import AsyncConnection

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.stays_visits ("
    " visit_id uuid PRIMARY KEY, cadre_id uuid NOT NULL, village text, target_kind text NOT NULL,"
    " target_id text NOT NULL, occurred_at timestamptz NOT NULL, days int NOT NULL,"
    " recorded_at timestamptz NOT NULL, voided_at timestamptz)",
    "CREATE INDEX IF NOT EXISTS stays_visits_occurred ON {schema}.stays_visits (occurred_at)",
]


class Stays(Projection):
    name = "stays"
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        stays, voids = [], []
        for event in events:
            name = event_name(event)
            if name == "Visit.CheckedIn" and event.kind == "stay" and getattr(event, "days", None):
                stays.append((event.originator_id, _uuid(event.cadre_id), event.village, event.target_kind,
                              event.target_id, parse_time(event.occurred_at), int(event.days), event.timestamp))
            elif name == "Visit.Voided":
                voids.append((event.originator_id, event.timestamp))
        if stays:
            await conn.executemany(
                f"INSERT INTO {schema}.stays_visits (visit_id, cadre_id, village, target_kind, target_id, occurred_at,"
                " days, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING", stays)
        if voids:  # most voided visits are not stays: the update finds no row for them
            await conn.executemany(
                f"UPDATE {schema}.stays_visits SET voided_at = $2 WHERE visit_id = $1 AND voided_at IS NULL", voids)


projection = Stays()


def _visible(schema: str) -> str:
    """The stays of the period (`$2`, `$3`) a rebuild cut at `$1` would hold, voided ones left out, with
    their verdict."""
    until = "coalesce($1::timestamptz, 'infinity')"
    return (
        f"SELECT s.*, coalesce(v.verified, false) AS verified FROM {schema}.stays_visits s"
        f" LEFT JOIN {schema}.verdicts_checkins v ON v.visit_id = s.visit_id"
        f" WHERE s.occurred_at >= $2 AND s.occurred_at < $3 AND s.recorded_at < {until}"
        f" AND (s.voided_at IS NULL OR s.voided_at >= {until})"
    )


async def by_cadre(conn: AsyncConnection, schema: str, period: Period, *, cadre_ids: Sequence[UUID] | None = None,
                   as_of: date | None = None) -> dict[UUID, dict[str, int]]:
    """cadre id -> {stays, days, verified_stays, verified_days} for the stays begun in the period (only
    `cadre_ids`' when given)."""
    rows = await conn.fetch(
        "SELECT cadre_id, count(*) AS stays, sum(days) AS days, count(*) FILTER (WHERE verified) AS verified_stays,"
        " coalesce(sum(days) FILTER (WHERE verified), 0) AS verified_days"
        f" FROM ({_visible(schema)}) s WHERE $4::uuid[] IS NULL OR cadre_id = ANY($4) GROUP BY cadre_id",
        recorded_before(as_of), *period.instants(), None if cadre_ids is None else list(cadre_ids),
    )
    return {r["cadre_id"]: {k: int(r[k]) for k in ("stays", "days", "verified_stays", "verified_days")}
            for r in rows}


async def stays(conn: AsyncConnection, schema: str, period: Period, *, cadre_id: UUID | None = None,
                as_of: date | None = None) -> list[dict[str, Any]]:
    """The stays begun in the period (one cadre's, or every cadre's), in the order they began:
    `{visit_id, cadre_id, village, target_kind, target_id, day, days, verified}`."""
    rows = await conn.fetch(
        f"SELECT * FROM ({_visible(schema)}) s WHERE $4::uuid IS NULL OR cadre_id = $4"
        " ORDER BY occurred_at, visit_id",
        recorded_before(as_of), *period.instants(), cadre_id,
    )
    return [{"visit_id": r["visit_id"], "cadre_id": r["cadre_id"], "village": r["village"],
             "target_kind": r["target_kind"], "target_id": r["target_id"], "day": local_date(r["occurred_at"]),
             "days": r["days"], "verified": r["verified"]} for r in rows]
