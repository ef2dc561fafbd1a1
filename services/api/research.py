"""Research topics and reports (调研课题 / 调研报告): assigning a topic, filing a report (also from the phone
through /sync as `file_report`), the topics with their state, one topic with its reports, each cadre's
topics, reports and overdue topics, and the research ledger (调研台账) as XLSX or CSV, from
`projections.research`.

A county admin sees every topic; a cadre sees the topics assigned to them (another's answers 404, like
one that does not exist) and files reports on them.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import Field
from starlette.responses import Response

from projections import research
from projections.base import Period, local_date
from services.domain import commands as c
from services.ledger import Column, Ledger

from .auth import ADMIN
from .errors import ApiError, not_found
from .params import PeriodText
from .reading import (
    EXPORT_CONTENT, AsOf, Document, ExportQuery, InPeriod, NewestFirst, Page, download, invalid_query, keyset_page,
    period_of, reading, schema_of, whole_page,
)
from .routing import Call, endpoint
from .writing import command_endpoint

TAGS = ["research"]
READERS = frozenset({"county_admin", "cadre"})
TOPIC = ("research topic", "调研课题")


def _own_scope(call: Call, cadre_id: UUID | None) -> UUID | None:
    """The cadre whose topics a session may read: an admin any (or all), a cadre only their own."""
    assert call.session is not None
    if "county_admin" in call.session.roles:
        return cadre_id
    own = call.session.cadre_id
    if own is None or cadre_id not in (None, own):
        raise ApiError(403, "A cadre sees only the research topics assigned to them.",
                       "干部只能查看分配给本人的调研课题。", kind="forbidden")
    return own


class TopicsQuery(NewestFirst):
    period: PeriodText | None = Field(None, description="topics due in this period (2026, 2026-Q1, 2026-03 or"
                                                        " 2026-01-05..2026-02-20); default: every topic")
    cadre_id: UUID | None = Field(None, description="topics assigned to this cadre (a cadre: only themselves)")
    state: Literal["open", "overdue", "reported"] | None = Field(
        None, description="open: no report, due today or later; overdue: no report after the due day; reported:"
                          " a report filed")


def _period(text: str | None) -> Period | None:
    if text is None:
        return None
    try:
        return Period.parse(text)
    except ValueError as error:
        raise invalid_query(str(error)) from None


@endpoint("GET", "/research-topics", query=TopicsQuery, response=Page, roles=READERS, tags=TAGS,
          summary="Research topics, latest due first (keyset pages), each with its assignees, reports filed and"
                  " state (open, overdue, reported); a cadre sees their own")
async def topics_list(call: Call) -> Page:
    query: TopicsQuery = call.query
    cadre_id = _own_scope(call, query.cadre_id)
    async with reading(call) as conn:
        return keyset_page(await research.topics(conn, schema_of(call), period=_period(query.period),
                                                 cadre_id=cadre_id, state=query.state, as_of=query.as_of,
                                                 limit=query.limit, after=query.after), query.limit)


@endpoint("GET", "/research-topics/{topic_id:uuid}", query=AsOf, response=Document, roles=READERS, tags=TAGS,
          summary="One research topic with the reports filed on it (title, summary, linked visits and issues)")
async def topic_detail(call: Call) -> Document:
    assert call.session is not None
    async with reading(call) as conn:
        found = await research.topic(conn, schema_of(call), call.path["topic_id"], as_of=call.query.as_of)
    own = call.session.cadre_id
    if found is None or not ("county_admin" in call.session.roles
                             or any(a["cadre_id"] == own for a in found["assignees"])):
        raise not_found(*TOPIC)
    return Document(found)


class FiguresQuery(InPeriod):
    cadre_id: UUID | None = Field(None, description="one cadre's row only")


@endpoint("GET", "/research/cadres", query=FiguresQuery, response=Page, roles=ADMIN, tags=TAGS,
          summary="Per cadre in a period: research topics due (reported, overdue, open; a team's topic counts for"
                  " each member) and reports filed")
async def cadre_figures(call: Call) -> Page:
    query: FiguresQuery = call.query
    async with reading(call) as conn:
        return whole_page(await research.by_cadre(
            conn, schema_of(call), period_of(query), cadre_ids=None if query.cadre_id is None else [query.cadre_id],
            as_of=query.as_of))


STATES = {"open": "进行中", "overdue": "逾期未交", "reported": "已提交"}


def _day(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


LEDGER_COLUMNS = [
    Column("due_on", "完成时限", 12, _day), Column("title", "调研课题", 30), Column("assignees", "承担人", 20),
    Column("state", "状态", 10, lambda s: STATES.get(s, s)), Column("reports", "报告(篇)", 10),
    Column("first_filed_on", "首篇提交日期", 14), Column("report_titles", "调研报告", 40),
]


class LedgerQuery(InPeriod, ExportQuery):
    cadre_id: UUID | None = Field(None, description="one cadre's topics only")


@endpoint("GET", "/exports/research", query=LedgerQuery, roles=ADMIN, tags=["exports", *TAGS],
          content=EXPORT_CONTENT,
          summary="The research ledger (调研台账) of a period: every topic due in it, its assignees, state, the"
                  " reports filed and the overdue ones")
async def export_research(call: Call) -> Response:
    query: LedgerQuery = call.query
    period, schema = period_of(query), schema_of(call)
    rows: list[dict[str, Any]] = []
    async with reading(call) as conn:
        after = None
        while True:
            page = await research.topics(conn, schema, period=period, cadre_id=query.cadre_id, as_of=query.as_of,
                                         limit=500, after=after)
            for topic in page["items"]:
                detail = await research.topic(conn, schema, topic["topic_id"], as_of=query.as_of) \
                    if topic["reports"] else None
                filed = detail["reports_filed"] if detail else []
                first = topic["first_filed_at"]
                rows.append({**topic, "assignees": "、".join(a["name"] or "" for a in topic["assignees"]),
                             "first_filed_on": local_date(first).isoformat() if first else None,
                             "report_titles": "；".join(f"{r['title']}（{r['name'] or ''}）" for r in filed)})
            if (after := page["next"]) is None:
                break
    rows.reverse()  # earliest due first, as a ledger is read
    return download(call, Ledger("调研台账", LEDGER_COLUMNS, rows))


routes = [
    topics_list, topic_detail, cadre_figures, export_research,
    command_endpoint(c.AssignTopic, "/research-topics",
                     "Assign a research topic (调研课题) to a cadre or a team, with a due date", "research"),
    command_endpoint(c.FileReport, "/research-reports",
                     "File a research report (调研报告) on a topic assigned to the cadre: title, summary, linked"
                     " visits and issues", "research"),
]
