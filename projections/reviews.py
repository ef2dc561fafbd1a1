"""The monthly review meeting (一月一议): its decisions and minutes, per month.

- A decision is a route the meeting made (`Issue.Routed` carrying `decision` and `meeting`, the month):
  who (a department), what (the decision, sealed with the household's key like every issue text) and
  by when (the deadline). Each is kept as recorded; a later decision on the same issue is a new row.
- Minutes are `ReviewMinutes.Recorded`; each save is kept, the latest recorded is the month's.

Both answer `as_of` (rows recorded before the cutoff) and cost O(the month's rows) through their
`(month, …)` indexes. The agenda itself and the issues' states are the issue ledger's
(`projections.issues`).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from projections.base import Projection, event_name, parse_date, recorded_before
from projections.rules import Rules
from services.departments import canonical_sql
from services.storage.connections import AsyncConnection
from services.storage.names import adcode_of

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.reviews_decisions ("
    " issue_id uuid NOT NULL, version bigint NOT NULL, month text NOT NULL, department text NOT NULL,"
    " deadline date NOT NULL, decision text NOT NULL, decided_by text NOT NULL, decided_at timestamptz NOT NULL,"
    " PRIMARY KEY (issue_id, version))",
    "CREATE INDEX IF NOT EXISTS reviews_decisions_month ON {schema}.reviews_decisions (month, decided_at)",
    "CREATE TABLE IF NOT EXISTS {schema}.reviews_minutes ("
    " minutes_id uuid PRIMARY KEY, month text NOT NULL, minutes text NOT NULL, attendees text[] NOT NULL,"
    " recorded_by text NOT NULL, recorded_at timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS reviews_minutes_month ON {schema}.reviews_minutes (month, recorded_at DESC)",
]


class Reviews(Projection):
    name = "reviews"
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        decisions, minutes = [], []
        for event in events:
            name = event_name(event)
            if name == "Issue.Routed" and getattr(event, "decision", None) is not None:
                decisions.append((event.originator_id, event.originator_version, event.meeting, event.department,
                                  parse_date(event.deadline), event.decision, event.routed_by, event.timestamp))
            elif name == "ReviewMinutes.Recorded":
                minutes.append((event.originator_id, event.month, event.minutes, list(event.attendees),
                                event.recorded_by, event.timestamp))
        if decisions:
            await conn.executemany(
                f"INSERT INTO {schema}.reviews_decisions (issue_id, version, month, department, deadline, decision,"
                " decided_by, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING", decisions)
        if minutes:
            await conn.executemany(
                f"INSERT INTO {schema}.reviews_minutes (minutes_id, month, minutes, attendees, recorded_by,"
                " recorded_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING", minutes)


projection = Reviews()


async def decisions(conn: AsyncConnection, schema: str, month: str, *,
                    as_of: date | None = None) -> list[dict[str, Any]]:
    """The decisions of the month's meeting, in the order made: `{issue_id, household_id, department
    (its key: the code of a listed department), deadline, decision (sealed), decided_by, decided_at}`."""
    rows = await conn.fetch(
        f"SELECT d.issue_id, (SELECT v.household_id FROM {schema}.issues_versions v WHERE v.issue_id = d.issue_id"
        f"  LIMIT 1) AS household_id, {canonical_sql(adcode_of(schema), 'd.department')} AS department,"
        " d.deadline, d.decision, d.decided_by, d.decided_at"
        f" FROM {schema}.reviews_decisions d WHERE d.month = $1"
        " AND ($2::timestamptz IS NULL OR d.decided_at < $2) ORDER BY d.decided_at, d.issue_id",
        month, recorded_before(as_of))
    return [dict(row) for row in rows]


async def earlier_decisions(conn: AsyncConnection, schema: str, month: str, *,
                            as_of: date | None = None) -> list[dict[str, Any]]:
    """Each issue's latest decision made at a meeting before `month` (the pack follows them up while
    their issues stay open): `{issue_id, month, deadline}`. O(the decisions of earlier months)."""
    rows = await conn.fetch(
        f"SELECT DISTINCT ON (issue_id) issue_id, month, deadline FROM {schema}.reviews_decisions"
        " WHERE month < $1 AND ($2::timestamptz IS NULL OR decided_at < $2)"
        " ORDER BY issue_id, decided_at DESC", month, recorded_before(as_of))
    return [dict(row) for row in rows]


async def minutes(conn: AsyncConnection, schema: str, month: str, *,
                  as_of: date | None = None) -> dict[str, Any] | None:
    """The month's minutes as last recorded (None: none yet)."""
    row = await conn.fetchrow(
        f"SELECT minutes_id, month, minutes, attendees, recorded_by, recorded_at FROM {schema}.reviews_minutes"
        " WHERE month = $1 AND ($2::timestamptz IS NULL OR recorded_at < $2) ORDER BY recorded_at DESC LIMIT 1",
        month, recorded_before(as_of))
    return None if row is None else {**dict(row), "attendees": list(row["attendees"])}
