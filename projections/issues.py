"""The issue ledger (问题台账): open, overdue and resolved issues by route, department and category,
resolution time, satisfaction, and the agenda of the monthly review meeting (一月一议).

The table keeps every state of every issue as a time-stamped version (valid from the event that made
it until the next one), so a query `as_of` a date reads the versions valid at that cutoff and answers
what a rebuild cut there would. Judgements are made at query time with the county's current Rules:

- `open` = raised, routed or reopened; `resolved` = resolved, replied or rated. Ledger counts `open`
  including the overdue ones; a list item's `status` is exactly one of open / overdue / resolved.
- `overdue` = open, routed, and its deadline (the route's own, else the routed day plus the Rules'
  days for that route) is before the day judged (`as_of`, or today in China).
- resolution time = resolved (server time) minus raised (`occurred_at`, the field time), in hours;
  a reopened issue loses its resolution and rating until it is resolved and rated again.
- satisfaction rate = (satisfied + basically satisfied) / rated, as the seeds' 96.5 % counts it.
- the monthly review meets on the last `monthly_review_weekday` of each month; its agenda is every
  issue routed to `monthly_review` after the previous meeting's day, up to the day judged, and every
  issue routed to it earlier that still stands open (`carried_over`): an issue stays on each month's
  agenda until it is resolved.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from asyncpg import Record

from projections.base import Period, Projection, event_name, parse_date, parse_time, recorded_before, reference_date
from projections.base import as_uuid as _uuid  # one definition for every read model
from projections.rules import Rules, load_rules
from services.departments import canonical_sql, keys_table_sql
from services.storage.connections import AsyncConnection
from services.storage.names import adcode_of

# The open-issue rule: an issue stands open (raised, routed, reopened) until it is resolved, replied to or rated.
RESOLVED_STATES = ("resolved", "replied", "rated")
RESOLVED = "state IN (" + ", ".join(f"'{state}'" for state in RESOLVED_STATES) + ")"  # the rule in SQL
SATISFIED = ("satisfied", "basically_satisfied")
GROUPINGS = ("route", "department", "category", "township")
Status = Literal["open", "overdue", "resolved"]

COLUMNS = (
    "issue_id", "version", "valid_from", "valid_to", "village", "township", "category", "source_kind",
    "household_id", "raised_by", "occurred_at", "state", "route", "department", "deadline", "routed_at",
    "resolved_at", "satisfaction", "rated_at",
)

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.issues_versions ("
    " issue_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL, valid_to timestamptz,"
    " village text NOT NULL, township text NOT NULL, category text NOT NULL, source_kind text NOT NULL,"
    " household_id uuid, raised_by uuid, occurred_at timestamptz NOT NULL, state text NOT NULL,"
    " route text, department text, deadline date, routed_at timestamptz, resolved_at timestamptz,"
    " satisfaction text, rated_at timestamptz, PRIMARY KEY (issue_id, version))",
    "CREATE INDEX IF NOT EXISTS issues_versions_current ON {schema}.issues_versions (issue_id)"
    " WHERE valid_to IS NULL",
    # A household's issues (its page on the phone, the open counts of a phone's households), and what
    # changed since a phone's cursor: without them each reads every issue version of the county.
    "CREATE INDEX IF NOT EXISTS issues_versions_household ON {schema}.issues_versions (household_id)"
    " WHERE household_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS issues_versions_since ON {schema}.issues_versions (valid_from)",
    # The issue board, newest first: a page reads its issues, not every issue of the county sorted (at
    # 290,000 households a year's 15,000 took 18 ms; the board grows every year).
    "CREATE INDEX IF NOT EXISTS issues_versions_newest ON {schema}.issues_versions (occurred_at DESC, issue_id DESC)"
    " WHERE valid_to IS NULL",
    # A township's cadres' issues (a phone's place on its township's board).
    "CREATE INDEX IF NOT EXISTS issues_versions_raiser ON {schema}.issues_versions (raised_by)"
    " WHERE raised_by IS NOT NULL",
]


def next_version(prior: dict[str, Any] | None, event: Any) -> dict[str, Any]:
    """The issue's state after `event`, as a row of `issues_versions` (valid_to still open)."""
    name = event_name(event)
    if name == "Issue.Raised":
        row = {
            "issue_id": event.originator_id, "village": event.village, "township": event.village[:9],
            "category": event.category, "source_kind": event.source_kind, "household_id": _uuid(event.household_id),
            "raised_by": _uuid(event.raised_by), "occurred_at": parse_time(event.occurred_at), "state": "raised",
            "route": None, "department": None, "deadline": None, "routed_at": None, "resolved_at": None,
            "satisfaction": None, "rated_at": None,
        }
    else:
        if prior is None:
            raise ValueError(f"{name} of issue {event.originator_id} arrived before Issue.Raised")
        row = dict(prior)
        if name == "Issue.Routed":
            row.update(state="routed", route=event.route, department=event.department,
                       deadline=parse_date(event.deadline) if event.deadline else None, routed_at=event.timestamp)
        elif name == "Issue.Resolved":
            row.update(state="resolved", resolved_at=event.timestamp)
        elif name == "Issue.Replied":
            row.update(state="replied")
        elif name == "Issue.Rated":
            row.update(state="rated", satisfaction=event.satisfaction, rated_at=event.timestamp)
        elif name == "Issue.Reopened":
            row.update(state="reopened", resolved_at=None, satisfaction=None, rated_at=None)
    row.update(version=event.originator_version, valid_from=event.timestamp, valid_to=None)
    return row


class Issues(Projection):
    name = "issues"
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        mine = [e for e in events if event_name(e).startswith("Issue.")]
        if not mine:
            return
        current = {
            r["issue_id"]: dict(r) for r in await conn.fetch(
                f"SELECT * FROM {schema}.issues_versions WHERE issue_id = ANY($1) AND valid_to IS NULL",
                list({e.originator_id for e in mine}),
            )
        }
        closed: list[tuple[UUID, int, datetime]] = []  # versions stored before this batch that end now
        added: dict[tuple[UUID, int], dict[str, Any]] = {}
        for event in mine:
            prior = current.get(event.originator_id)
            if prior is not None:
                key = (prior["issue_id"], prior["version"])
                if key in added:
                    added[key]["valid_to"] = event.timestamp
                else:
                    closed.append((*key, event.timestamp))
            row = next_version(prior, event)
            added[(row["issue_id"], row["version"])] = current[event.originator_id] = row
        if closed:
            await conn.executemany(
                f"UPDATE {schema}.issues_versions SET valid_to = $3 WHERE issue_id = $1 AND version = $2", closed
            )
        placeholders = ", ".join(f"${i + 1}" for i in range(len(COLUMNS)))
        await conn.executemany(
            f"INSERT INTO {schema}.issues_versions ({', '.join(COLUMNS)}) VALUES ({placeholders})",
            [tuple(row[c] for c in COLUMNS) for row in added.values()],
        )


projection = Issues()


def snapshot(schema: str) -> str:
    """SQL: each issue's version valid at cutoff $1 (NULL = now). Other read models use it too."""
    return (
        f"(SELECT * FROM {schema}.issues_versions WHERE ($1::timestamptz IS NULL AND valid_to IS NULL)"
        f" OR (valid_from < $1::timestamptz AND (valid_to IS NULL OR valid_to >= $1::timestamptz)))"
    )


# Figures of the issues handled in a period [$2, $3) over `snapshot` rows: raised (by `occurred_at`),
# resolved (standing resolved, resolved in it), rated in it and of those satisfied. Leaderboards and
# the province rollup group them.
PERIOD_COUNTS = f"""
    count(*) FILTER (WHERE occurred_at >= $2 AND occurred_at < $3) AS raised,
    count(*) FILTER (WHERE {RESOLVED} AND resolved_at >= $2 AND resolved_at < $3)
      AS resolved,
    count(*) FILTER (WHERE rated_at >= $2 AND rated_at < $3) AS rated,
    count(*) FILTER (WHERE rated_at >= $2 AND rated_at < $3 AND satisfaction IN ('satisfied', 'basically_satisfied'))
      AS satisfied
"""


async def by_raiser(conn: AsyncConnection, schema: str, period: Period, *,
                    as_of: date | None = None) -> dict[UUID, Record]:
    """cadre id -> its row `raised, raised_resolved, rated, satisfied` of the issues they raised, as known on the
    day: raised in the period (by `occurred_at`) and of those the ones standing resolved; rated in the
    period and of those satisfied or basically satisfied (the composite assessment's resolution and
    satisfaction parts)."""
    rows = await conn.fetch(
        f"SELECT raised_by, {PERIOD_COUNTS}, count(*) FILTER (WHERE occurred_at >= $2 AND occurred_at < $3"
        f" AND {RESOLVED}) AS raised_resolved FROM {snapshot(schema)} s WHERE raised_by IS NOT NULL GROUP BY raised_by",
        recorded_before(as_of), *period.instants())
    return {r["raised_by"]: r for r in rows}


def _judged(schema: str) -> str:
    """SQL: the snapshot with `due_on` and `status` judged on day $3 with route days $2 (jsonb), and
    `department_key`: the department's code for text naming a listed department (the code itself, or a
    name recorded before routes carried codes), else the text (services/departments.py)."""
    return f"""(
        SELECT s.*, d.due_on, coalesce(dk.code, s.department) AS department_key,
               CASE WHEN s.{RESOLVED} THEN 'resolved'
                    WHEN d.due_on < $3::date THEN 'overdue' ELSE 'open' END AS status,
               extract(epoch FROM s.resolved_at - s.occurred_at)::float8 / 3600.0 AS resolution_hours
        FROM {snapshot(schema)} s LEFT JOIN {keys_table_sql(adcode_of(schema))} dk ON dk.raw = s.department,
             LATERAL (SELECT coalesce(s.deadline,
                 (s.routed_at AT TIME ZONE 'Asia/Shanghai')::date + ($2::jsonb ->> s.route)::int) AS due_on) d
    )"""


def _key(schema: str, text: str) -> str:
    """SQL: the department key of a department asked by code, name or former name (or free text)."""
    return canonical_sql(adcode_of(schema), f"{text}::text")


async def _context(conn: AsyncConnection, schema: str, as_of: date | None) -> tuple[Rules, list[Any]]:
    rules = await load_rules(conn, adcode_of(schema))
    return rules, [recorded_before(as_of), json.dumps(rules.issue_days_by_route), reference_date(as_of)]


FIGURES = """
    count(*) AS total,
    count(*) FILTER (WHERE status <> 'resolved') AS open,
    count(*) FILTER (WHERE status = 'overdue') AS overdue,
    count(*) FILTER (WHERE status = 'resolved') AS resolved,
    avg(resolution_hours) FILTER (WHERE status = 'resolved') AS mean_resolution_hours,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_hours) FILTER (WHERE status = 'resolved')
      AS median_resolution_hours,
    count(satisfaction) AS rated,
    count(*) FILTER (WHERE satisfaction IN ('satisfied', 'basically_satisfied')) AS satisfied
"""


def _figures(row: Record) -> dict[str, Any]:
    result = dict(row)
    for field in ("mean_resolution_hours", "median_resolution_hours"):
        result[field] = None if result[field] is None else round(float(result[field]), 1)
    result["satisfaction_pct"] = round(100.0 * row["satisfied"] / row["rated"], 1) if row["rated"] else None
    return result


async def ledger(conn: AsyncConnection, schema: str, by: str = "route", *, department: str | None = None,
                 as_of: date | None = None) -> list[dict[str, Any]]:
    """Figures per route / department / category / township (key None = not routed, no department)."""
    if by not in GROUPINGS:
        raise ValueError(f"the ledger groups by one of {', '.join(GROUPINGS)}, not {by!r}")
    _, params = await _context(conn, schema, as_of)
    column = "department_key" if by == "department" else by
    rows = await conn.fetch(
        f"SELECT {column} AS key, {FIGURES} FROM {_judged(schema)} j"
        f" WHERE $4::text IS NULL OR department_key = {_key(schema, '$4')} GROUP BY 1 ORDER BY 1 NULLS LAST",
        *params, department,
    )
    return [_figures(r) for r in rows]


async def summary(conn: AsyncConnection, schema: str, *, department: str | None = None, period: Period | None = None,
                  as_of: date | None = None) -> dict[str, Any]:
    """County (or one department's) totals; with a period, only issues raised in it (by `occurred_at`)."""
    _, params = await _context(conn, schema, as_of)
    start, end = period.instants() if period else (None, None)
    row = await conn.fetchrow(
        f"SELECT {FIGURES} FROM {_judged(schema)} j WHERE ($4::text IS NULL OR department_key = {_key(schema, '$4')})"
        " AND ($5::timestamptz IS NULL OR occurred_at >= $5) AND ($6::timestamptz IS NULL OR occurred_at < $6)",
        *params, department, start, end,
    )
    assert row is not None  # an aggregate without GROUP BY returns one row
    return _figures(row)


ITEM_COLUMNS = (
    "issue_id, village, township, category, source_kind, household_id, raised_by, occurred_at, state, status,"
    " route, department_key AS department, deadline, due_on, routed_at, resolved_at, resolution_hours,"
    " satisfaction, rated_at"
)


def _item(row: Record) -> dict[str, Any]:
    item = dict(row)
    if item["resolution_hours"] is not None:
        item["resolution_hours"] = round(float(item["resolution_hours"]), 1)
    return item


async def issues(conn: AsyncConnection, schema: str, *, status: Status | None = None, route: str | None = None,
                 department: str | None = None, category: str | None = None, limit: int = 50,
                 after: str | None = None, as_of: date | None = None) -> dict[str, Any]:
    """A page of issues, newest raised first: `{items, next}`; pass `next` back as `after`.
    `status="open"` includes the overdue ones, as the ledger's `open` count does."""
    if status is not None and status not in ("open", "overdue", "resolved"):
        raise ValueError(f"status is open, overdue or resolved, not {status!r}")
    if not 1 <= limit <= 500:
        raise ValueError(f"limit is 1 to 500, not {limit}")
    cursor_at, cursor_id = _parse_cursor(after)
    _, params = await _context(conn, schema, as_of)
    rows = await conn.fetch(
        f"SELECT {ITEM_COLUMNS} FROM {_judged(schema)} j"
        " WHERE ($4::text IS NULL OR status = $4 OR ($4 = 'open' AND status = 'overdue'))"
        f" AND ($5::text IS NULL OR route = $5) AND ($6::text IS NULL OR department_key = {_key(schema, '$6')})"
        " AND ($7::text IS NULL OR category = $7)"
        " AND ($8::timestamptz IS NULL OR (occurred_at, issue_id) < ($8, $9::uuid))"
        " ORDER BY occurred_at DESC, issue_id DESC LIMIT $10",
        *params, status, route, department, category, cursor_at, cursor_id, limit + 1,
    )
    items = [_item(r) for r in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "next": f"{items[-1]['occurred_at'].isoformat()}|{items[-1]['issue_id']}" if more else None}


def _parse_cursor(after: str | None) -> tuple[datetime | None, UUID | None]:
    if after is None:
        return None, None
    try:
        moment, issue_id = after.split("|", 1)
        return parse_time(moment), UUID(issue_id)
    except ValueError:
        raise ValueError(f"not a cursor of this list: {after!r} (pass the `next` of the previous page)") from None


def meeting_on(year: int, month: int, weekday: int) -> date:
    """The monthly review meeting's day: the month's last `weekday` (Mon=0 … Sun=6)."""
    last = Period.month(year, month).end
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def meetings_around(day: date, weekday: int) -> tuple[date, date]:
    """(the last meeting before `day`, the next meeting on or after `day`)."""
    this = meeting_on(day.year, day.month, weekday)
    before = date(day.year, day.month, 1) - timedelta(days=1)
    after = Period.month(day.year, day.month).end + timedelta(days=1)
    if this >= day:
        return meeting_on(before.year, before.month, weekday), this
    return this, meeting_on(after.year, after.month, weekday)


async def review_agenda(conn: AsyncConnection, schema: str, *, as_of: date | None = None) -> dict[str, Any]:
    """The next monthly review's agenda, oldest routed first: the issues routed to it since the last
    meeting, and those routed earlier that are still open (`carried_over`), until they are resolved."""
    rules, params = await _context(conn, schema, as_of)
    last, upcoming = meetings_around(params[2], rules.monthly_review_weekday)
    rows = await conn.fetch(
        f"SELECT {ITEM_COLUMNS}, (routed_at AT TIME ZONE 'Asia/Shanghai')::date <= $4 AS carried_over"
        f" FROM {_judged(schema)} j WHERE route = 'monthly_review'"
        " AND ((routed_at AT TIME ZONE 'Asia/Shanghai')::date > $4 OR status <> 'resolved')"
        " ORDER BY routed_at, issue_id",
        *params, last,
    )
    return {"last_meeting": last, "meeting_on": upcoming, "items": [_item(r) for r in rows]}


async def items_of(conn: AsyncConnection, schema: str, issue_ids: Sequence[UUID], *,
                   as_of: date | None = None) -> list[dict[str, Any]]:
    """These issues as list items (judged on `as_of`'s day), oldest routed first: O(the ids)."""
    _, params = await _context(conn, schema, as_of)
    rows = await conn.fetch(
        f"SELECT {ITEM_COLUMNS} FROM {_judged(schema)} j WHERE issue_id = ANY($4::uuid[])"
        " ORDER BY routed_at, issue_id", *params, list(issue_ids))
    return [_item(r) for r in rows]


async def month_figures(conn: AsyncConnection, schema: str, period: Period) -> dict[str, Any]:
    """A month's issue figures as known now (late syncs included): raised in it, resolved in it, overdue
    on its last day (raised before its end, due before that day, not resolved by its end), rated in it and
    of those satisfied (the monthly review pack's "last month")."""
    rules = await load_rules(conn, adcode_of(schema))
    params = [None, json.dumps(rules.issue_days_by_route), period.end, *period.instants()]
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE occurred_at >= $4 AND occurred_at < $5) AS raised,"
        f" count(*) FILTER (WHERE {RESOLVED} AND resolved_at >= $4 AND resolved_at < $5) AS resolved,"
        " count(*) FILTER (WHERE occurred_at < $5 AND due_on < $3::date"
        f"  AND NOT ({RESOLVED} AND resolved_at < $5)) AS overdue,"
        " count(*) FILTER (WHERE rated_at >= $4 AND rated_at < $5) AS rated,"
        " count(*) FILTER (WHERE rated_at >= $4 AND rated_at < $5 AND satisfaction IN"
        f" ('satisfied', 'basically_satisfied')) AS satisfied FROM {_judged(schema)} j",
        *params)
    assert row is not None
    result = dict(row)
    result["satisfaction_pct"] = round(100.0 * row["satisfied"] / row["rated"], 1) if row["rated"] else None
    return result


# ---- one household's issues (the phone's cache and the household pages) ------------------------------------------


def is_open(state: str) -> bool:
    """Whether an issue in this state stands open (the rule: RESOLVED_STATES)."""
    return state not in RESOLVED_STATES


async def of_household(conn: AsyncConnection, schema: str, household_id: UUID, *,
                       open_only: bool = False) -> list[dict[str, Any]]:
    """A household's issues as they stand now (only the open ones with `open_only`), newest first."""
    rows = await conn.fetch(
        "SELECT issue_id, category, state, route, department, deadline, occurred_at"
        f" FROM {snapshot(schema)} s WHERE household_id = $2{f' AND NOT {RESOLVED}' if open_only else ''}"
        " ORDER BY occurred_at DESC, issue_id",
        None, household_id,
    )
    return [dict(row) for row in rows]


async def open_for_households(conn: AsyncConnection, schema: str, household_ids: Sequence[UUID]) -> dict[UUID, int]:
    """How many issues stand open now per household (households without any are left out)."""
    rows = await conn.fetch(
        f"SELECT household_id, count(*) AS open FROM {snapshot(schema)} s WHERE household_id = ANY($2)"
        f" AND NOT {RESOLVED} GROUP BY household_id",
        None, list(household_ids),
    )
    return {row["household_id"]: row["open"] for row in rows}


async def households_changed_since(conn: AsyncConnection, schema: str, moment: datetime) -> set[UUID]:
    """Households whose issues changed in this read model from `moment` on."""
    rows = await conn.fetch(
        f"SELECT DISTINCT household_id FROM {schema}.issues_versions WHERE household_id IS NOT NULL"
        " AND valid_from >= $1", moment)
    return {row["household_id"] for row in rows}
