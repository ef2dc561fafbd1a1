"""Research topics and reports (调研课题 / 调研报告): each topic with its assignees, due date and the reports
filed on it, and per cadre the topics they hold, the reports they filed and the topics overdue.

- A topic (`ResearchTopic.Assigned`) is assigned to one cadre or a team, due on a day (China's calendar).
- A report (`ResearchReport.Filed`) is filed on a topic by one of its assignees, at `occurred_at`.
- A topic is *reported* once any report on it is recorded (a team's topic is reported by any member's);
  without one it is *overdue* after its due day (judged on `as_of`, or today) and *open* until then.
- Per cadre in a period: `topics` are those assigned to the cadre due in the period (each member of a
  team holds the team's topic), split into reported, overdue and open; `reports` are the reports the
  cadre filed in the period (by `occurred_at`), whatever topic's.

Every row keeps the instant it was recorded, so a query `as_of` D answers what a rebuild cut at D would.
A batch costs O(its events): one row per topic, per assignee and per report, never updated. A page of
topics costs O(the page) by the `(due_on, topic_id)` index (a state filter skips the rows of other
states), its report counts by the `(topic_id)` index; a cadre's figures cost O(their topics and reports
in the period).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any, Literal, get_args
from uuid import UUID

from projections.base import (
    SHANGHAI, Period, Projection, event_name, local_date, parse_keyset, parse_time, recorded_before, reference_date,
)
from projections.base import as_uuid as _uuid
from projections.rules import Rules
from services.storage.connections import AsyncConnection

TopicState = Literal["open", "overdue", "reported"]
TOPIC_STATES: tuple[str, ...] = get_args(TopicState)

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.research_topics ("
    " topic_id uuid PRIMARY KEY, title text NOT NULL, description text NOT NULL, assignee_ids uuid[] NOT NULL,"
    " due_on date NOT NULL, assigned_by text NOT NULL, recorded_at timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS research_topics_due ON {schema}.research_topics (due_on, topic_id)",
    # One row per assignee: a cadre's topics, and a period's topics per cadre.
    "CREATE TABLE IF NOT EXISTS {schema}.research_assignees ("
    " cadre_id uuid NOT NULL, topic_id uuid NOT NULL, due_on date NOT NULL, recorded_at timestamptz NOT NULL,"
    " PRIMARY KEY (cadre_id, topic_id))",
    "CREATE INDEX IF NOT EXISTS research_assignees_due ON {schema}.research_assignees (due_on)",
    "CREATE TABLE IF NOT EXISTS {schema}.research_reports ("
    " report_id uuid PRIMARY KEY, topic_id uuid NOT NULL, author_id uuid NOT NULL, title text NOT NULL,"
    " summary text NOT NULL, visit_ids uuid[] NOT NULL, issue_ids uuid[] NOT NULL, occurred_at timestamptz NOT NULL,"
    " filed_by text NOT NULL, recorded_at timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS research_reports_topic ON {schema}.research_reports (topic_id, recorded_at)",
    "CREATE INDEX IF NOT EXISTS research_reports_author ON {schema}.research_reports (author_id, occurred_at)",
    # The names the answers show (a cadre's name never changes).
    "CREATE TABLE IF NOT EXISTS {schema}.research_cadres (cadre_id uuid PRIMARY KEY, name text NOT NULL)",
]


class Research(Projection):
    name = "research"
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        cadres, topics, assignees, reports = [], [], [], []
        for event in events:
            name = event_name(event)
            if name == "Cadre.Enrolled":
                cadres.append((event.originator_id, event.name))
            elif name == "ResearchTopic.Assigned":
                team = [_uuid(i) for i in event.assignee_ids]
                topics.append((event.originator_id, event.title, event.description, team,
                               date.fromisoformat(event.due_on), event.assigned_by, event.timestamp))
                assignees += [(cadre, event.originator_id, date.fromisoformat(event.due_on), event.timestamp)
                              for cadre in team]
            elif name == "ResearchReport.Filed":
                reports.append((event.originator_id, _uuid(event.topic_id), _uuid(event.author_id), event.title,
                                event.summary, [_uuid(i) for i in event.visit_ids],
                                [_uuid(i) for i in event.issue_ids], parse_time(event.occurred_at), event.filed_by,
                                event.timestamp))
        if cadres:
            await conn.executemany(f"INSERT INTO {schema}.research_cadres VALUES ($1, $2) ON CONFLICT DO NOTHING",
                                   cadres)
        if topics:
            await conn.executemany(
                f"INSERT INTO {schema}.research_topics (topic_id, title, description, assignee_ids, due_on,"
                " assigned_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING", topics)
            await conn.executemany(
                f"INSERT INTO {schema}.research_assignees (cadre_id, topic_id, due_on, recorded_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", assignees)
        if reports:
            await conn.executemany(
                f"INSERT INTO {schema}.research_reports (report_id, topic_id, author_id, title, summary, visit_ids,"
                " issue_ids, occurred_at, filed_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                " ON CONFLICT DO NOTHING", reports)


projection = Research()


def state_of(reports: int, due_on: date, judged: date) -> str:
    if reports:
        return "reported"
    return "overdue" if due_on < judged else "open"


def _cursor(due_on: date, topic_id: UUID) -> str:
    """The topic list's cursor, in the form of the newest-first lists' (`parse_keyset`): the due day's
    first instant and the topic's id."""
    return f"{datetime.combine(due_on, time(), SHANGHAI).isoformat()}|{topic_id}"


async def _names(conn: AsyncConnection, schema: str, cadre_ids: set[UUID]) -> dict[UUID, str]:
    rows = await conn.fetch(f"SELECT cadre_id, name FROM {schema}.research_cadres WHERE cadre_id = ANY($1)",
                            list(cadre_ids))
    return {r["cadre_id"]: r["name"] for r in rows}


# A topic's reports as known at the cutoff ($1): how many, and the first one's time.
_REPORTED = ("SELECT count(*) AS reports, min(r.occurred_at) AS first_filed_at FROM {schema}.research_reports r"
             " WHERE r.topic_id = t.topic_id AND ($1::timestamptz IS NULL OR r.recorded_at < $1)")
_TOPIC = ("t.topic_id, t.title, t.description, t.assignee_ids, t.due_on, t.assigned_by, t.recorded_at AS assigned_at,"
          " r.reports, r.first_filed_at")


def _topic(row: Any, names: dict[UUID, str], judged: date) -> dict[str, Any]:
    return {**{k: v for k, v in dict(row).items() if k != "assignee_ids"},
            "assignees": [{"cadre_id": i, "name": names.get(i)} for i in row["assignee_ids"]],
            "state": state_of(row["reports"], row["due_on"], judged)}


async def topics(conn: AsyncConnection, schema: str, *, period: Period | None = None, cadre_id: UUID | None = None,
                 state: str | None = None, as_of: date | None = None, limit: int = 100,
                 after: str | None = None) -> dict[str, Any]:
    """Topics (due in `period`, if given; assigned to `cadre_id`; in `state`), latest due first, a page at a
    time: `{items, next}` (`next`: the last due day's first instant and the topic id), each `{topic_id, title,
    description, assignees [{cadre_id, name}], due_on, assigned_by, assigned_at, reports, first_filed_at,
    state}`."""
    if not 1 <= limit <= 500:
        raise ValueError(f"limit is 1 to 500, not {limit}")
    if state is not None and state not in TOPIC_STATES:
        raise ValueError(f"state is one of {', '.join(TOPIC_STATES)}, not {state!r}")
    moment, last_id = parse_keyset(after)
    day = None if moment is None else local_date(moment)
    judged = reference_date(as_of)
    rows = await conn.fetch(
        f"SELECT {_TOPIC} FROM {schema}.research_topics t, LATERAL ({_REPORTED.format(schema=schema)}) r"
        " WHERE ($1::timestamptz IS NULL OR t.recorded_at < $1)"
        " AND ($2::date IS NULL OR t.due_on >= $2) AND ($3::date IS NULL OR t.due_on <= $3)"
        f" AND ($4::uuid IS NULL OR t.topic_id IN (SELECT topic_id FROM {schema}.research_assignees"
        "  WHERE cadre_id = $4))"
        " AND ($5::text IS NULL OR CASE WHEN r.reports > 0 THEN 'reported' WHEN t.due_on < $6 THEN 'overdue'"
        "  ELSE 'open' END = $5)"
        " AND ($7::date IS NULL OR (t.due_on, t.topic_id) < ($7, $8::uuid))"
        " ORDER BY t.due_on DESC, t.topic_id DESC LIMIT $9",
        recorded_before(as_of), period.start if period else None, period.end if period else None, cadre_id, state,
        judged, day, last_id, limit + 1)
    page = rows[:limit]
    names = await _names(conn, schema, {i for r in page for i in r["assignee_ids"]})
    items = [_topic(r, names, judged) for r in page]
    last = items[-1] if len(rows) > limit else None
    return {"items": items, "next": _cursor(last["due_on"], last["topic_id"]) if last else None}


async def topic(conn: AsyncConnection, schema: str, topic_id: UUID, *, as_of: date | None = None
                ) -> dict[str, Any] | None:
    """One topic as `topics` shows it, with its reports, first filed first: `reports_filed [{report_id,
    author_id, name, title, summary, visit_ids, issue_ids, occurred_at, filed_by}]`; None if there is none
    (as of that day)."""
    cutoff = recorded_before(as_of)
    row = await conn.fetchrow(
        f"SELECT {_TOPIC} FROM {schema}.research_topics t, LATERAL ({_REPORTED.format(schema=schema)}) r"
        " WHERE t.topic_id = $2 AND ($1::timestamptz IS NULL OR t.recorded_at < $1)", cutoff, topic_id)
    if row is None:
        return None
    filed = await conn.fetch(
        f"SELECT report_id, author_id, title, summary, visit_ids, issue_ids, occurred_at, filed_by"
        f" FROM {schema}.research_reports WHERE topic_id = $1 AND ($2::timestamptz IS NULL OR recorded_at < $2)"
        " ORDER BY occurred_at, report_id", topic_id, cutoff)
    names = await _names(conn, schema, {*row["assignee_ids"], *(r["author_id"] for r in filed)})
    return {**_topic(row, names, reference_date(as_of)), "reports_filed": [
        {**dict(r), "name": names.get(r["author_id"]), "visit_ids": list(r["visit_ids"]),
         "issue_ids": list(r["issue_ids"])} for r in filed]}


async def by_cadre(conn: AsyncConnection, schema: str, period: Period, *, cadre_ids: Sequence[UUID] | None = None,
                   as_of: date | None = None) -> list[dict[str, Any]]:
    """Per cadre with a topic due or a report filed in the period (see the module doc), by name: `{cadre_id,
    name, topics, reported, overdue, open, reports}`; `cadre_ids` keeps those cadres only."""
    cutoff, judged = recorded_before(as_of), reference_date(as_of)
    ids = None if cadre_ids is None else list(cadre_ids)
    held = await conn.fetch(
        f"SELECT a.cadre_id, a.due_on, EXISTS (SELECT 1 FROM {schema}.research_reports r WHERE r.topic_id = a.topic_id"
        "  AND ($1::timestamptz IS NULL OR r.recorded_at < $1)) AS reported"
        f" FROM {schema}.research_assignees a WHERE a.due_on >= $2 AND a.due_on <= $3"
        " AND ($1::timestamptz IS NULL OR a.recorded_at < $1) AND ($4::uuid[] IS NULL OR a.cadre_id = ANY($4))",
        cutoff, period.start, period.end, ids)
    filed = await reports_filed(conn, schema, period, cadre_ids=ids, as_of=as_of)
    rows: dict[UUID, dict[str, Any]] = {}

    def row(cadre: UUID) -> dict[str, Any]:
        return rows.setdefault(cadre, {"cadre_id": cadre, "topics": 0, "reported": 0, "overdue": 0, "open": 0,
                                       "reports": 0})

    for assigned in held:
        counted = row(assigned["cadre_id"])
        counted["topics"] += 1
        counted[state_of(assigned["reported"], assigned["due_on"], judged)] += 1
    for author, count in filed.items():
        row(author)["reports"] = count
    names = await _names(conn, schema, set(rows))
    return sorted(({**r, "name": names.get(r["cadre_id"])} for r in rows.values()),
                  key=lambda r: (r["name"] or "", str(r["cadre_id"])))


async def reports_filed(conn: AsyncConnection, schema: str, period: Period, *, cadre_ids: Sequence[UUID] | None = None,
                        as_of: date | None = None) -> dict[UUID, int]:
    """cadre id -> the reports they filed in the period (by `occurred_at`): what a cadre's record shows."""
    rows = await conn.fetch(
        f"SELECT author_id, count(*) AS reports FROM {schema}.research_reports"
        " WHERE occurred_at >= $2 AND occurred_at < $3 AND ($1::timestamptz IS NULL OR recorded_at < $1)"
        " AND ($4::uuid[] IS NULL OR author_id = ANY($4)) GROUP BY author_id",
        recorded_before(as_of), *period.instants(), None if cadre_ids is None else list(cadre_ids))
    return {r["author_id"]: r["reports"] for r in rows}
