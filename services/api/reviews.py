"""The monthly review pack (一月一议): one month's meeting on one page, and as an XLSX.

- the agenda: every issue routed to the monthly review since the last meeting and every earlier one still
  open (`carried_over`), judged on the meeting's day (today, before it): `projections.issues.review_agenda`;
- the meeting's decisions (who: a department of the county, what, by when), each of which routed its
  issue to the department with the deadline (`POST /issues/{id}/decide`): `projections.reviews`;
- the follow-up: issues decided at earlier meetings that stand open (overdue ones first to see);
- the minutes, saved as an event (`POST /reviews/minutes`; the latest saved is the month's);
- last month's figures: visits and coverage (`projections.coverage`, county level) and issues raised,
  resolved, overdue and satisfaction (`projections.issues.month_figures`), as known now (late syncs count).

Texts about households (summaries, decisions) are opened for the county admin, and the read is audited.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from anyio import to_thread
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from projections import coverage, issues, reviews
from projections.base import SHANGHAI, Period
from projections.rules import load_rules
from services import departments
from services.domain import commands as c
from services.ledger import XLSX_MEDIA_TYPE, Column, Ledger, content_disposition, to_xlsx_book
from services.personal import ERASED_LABEL, keys_of, open_free_text
from services.vocabulary import labels

from .auth import ADMIN
from .errors import ApiError, FieldError
from .params import MonthText
from .reading import Document, audit_personal_read, county_app, open_issue_summaries, reading, schema_of
from .routing import Call, endpoint
from .writing import command_endpoint


class PackQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: MonthText


def _month(text: str) -> Period:
    year, month = (int(part) for part in text.split("-"))
    period = Period.month(year, month)
    if period.start > datetime.now(SHANGHAI).date():
        message = f"month: {text} has not begun: a pack is for this month's meeting or an earlier one"
        raise ApiError(422, message, f"month：{text} 尚未开始，只能查看本月及以前的月度例会", kind="rejected",
                       errors=[FieldError(field="month", message=message, message_zh="不能晚于本月")])
    return period


def _previous(period: Period) -> Period:
    day = period.start.replace(day=1)
    return Period.month(day.year - 1, 12) if day.month == 1 else Period.month(day.year, day.month - 1)


async def pack(call: Call, month: str) -> dict[str, Any]:
    """The month's review pack (see the module doc)."""
    period = _month(month)
    previous = _previous(period)
    schema = schema_of(call)
    async with reading(call) as conn:
        rules = await load_rules(conn, call.county)
        meeting = issues.meeting_on(period.start.year, period.start.month, rules.monthly_review_weekday)
        judged = min(meeting, datetime.now(SHANGHAI).date())
        agenda = await issues.review_agenda(conn, schema, as_of=judged)
        decided = await reviews.decisions(conn, schema, month)
        # An item decided at this meeting is routed to its department now: still the meeting's item.
        listed = {item["issue_id"] for item in agenda["items"]}
        agenda["items"] += [{**item, "carried_over": False} for item in await issues.items_of(
            conn, schema, list(dict.fromkeys(row["issue_id"] for row in decided if row["issue_id"] not in listed)),
            as_of=judged)]
        on_agenda = {item["issue_id"] for item in agenda["items"]}  # this meeting's items are not follow-up
        earlier = {row["issue_id"]: row for row in await reviews.earlier_decisions(conn, schema, month)}
        follow_up = [{**item, "decided_in": earlier[item["issue_id"]]["month"]}
                     for item in await issues.items_of(conn, schema, list(earlier), as_of=judged)
                     if item["status"] != "resolved" and item["issue_id"] not in on_agenda]
        minutes = await reviews.minutes(conn, schema, month)
        visits = await coverage.coverage(conn, schema, previous, "county")
        issue_figures = await issues.month_figures(conn, schema, previous)
        names = {row["code"]: row["name"] for row in await departments.county_departments(conn, call.county)}
        keys = await keys_of(conn, schema, [row["household_id"] for row in decided if row["household_id"]])
    items = agenda["items"]
    summaries = await to_thread.run_sync(
        open_issue_summaries, county_app(call), [row["issue_id"] for row in (*items, *follow_up, *decided)])
    await audit_personal_read(call, [row["household_id"] for row in (*items, *follow_up, *decided)])

    def shaped(row: dict[str, Any]) -> dict[str, Any]:
        summary = summaries.get(row["issue_id"])
        return {**row, "summary": ERASED_LABEL if summary is None and row["household_id"] else summary,
                "department_name": names.get(row["department"], row["department"])}

    decisions = []
    for row in decided:
        text = open_free_text(row["decision"], keys.get(row["household_id"]), row["household_id"])
        decisions.append({**shaped(row), "decision": ERASED_LABEL if text is None else text})
    by_issue: dict[UUID, list[dict[str, Any]]] = {}
    for decision in decisions:
        by_issue.setdefault(decision["issue_id"], []).append(decision)
    county = visits[0] if visits else {"households": 0, "visited_once": 0, "visits": 0, "verified_visits": 0,
                                       "coverage_pct": None}
    return {
        "month": month, "meeting_on": meeting, "last_meeting": agenda["last_meeting"], "judged_on": judged,
        "agenda": [{**shaped(item), "decisions": by_issue.get(item["issue_id"], [])} for item in items],
        "decisions": decisions,
        "follow_up": [shaped(item) for item in follow_up],
        "minutes": minutes,
        "last_month": {
            "month": previous.start.strftime("%Y-%m"), "households": county["households"],
            "visited": county["visited_once"], "coverage_pct": county["coverage_pct"], "visits": county["visits"],
            "verified_visits": county["verified_visits"], "issues_raised": issue_figures["raised"],
            "issues_resolved": issue_figures["resolved"], "issues_overdue": issue_figures["overdue"],
            "issues_rated": issue_figures["rated"], "satisfaction_pct": issue_figures["satisfaction_pct"],
        },
    }


@endpoint("GET", "/reviews/pack", query=PackQuery, response=Document, roles=ADMIN, tags=["reviews"],
          summary="The monthly review pack (一月一议): agenda, decisions, follow-up, minutes, last month's figures",
          description="`month` is this month or an earlier one (a later one answers 422 naming `month`). The "
                      "agenda is judged on the meeting's day (the month's last `monthly_review_weekday` of the "
                      "county's rules), or today before it.")
async def review_pack(call: Call) -> Document:
    return Document(await pack(call, call.query.month))


def _label(group: str) -> Any:
    names = labels(group)
    return lambda code: names.get(code, code)


ITEM_COLUMNS = [
    Column("issue_id", "问题编号", 38), Column("occurred_at", "提出时间", 17), Column("village", "村(社区)代码", 15),
    Column("category", "类别", 10), Column("summary", "问题描述", 40),
    Column("status", "状态", 8, _label("issue_status")),
    Column("department_name", "责任部门", 14), Column("due_on", "应办结日期", 12),
]
AGENDA_COLUMNS = [*ITEM_COLUMNS, Column("carried_over", "上月结转", 8, lambda v: "是" if v else "否"),
                  Column("decision", "议定事项", 40)]
DECISION_COLUMNS = [
    Column("issue_id", "问题编号", 38), Column("summary", "问题描述", 40), Column("department_name", "责任部门", 14),
    Column("decision", "议定事项", 40), Column("deadline", "办结期限", 12), Column("decided_at", "记录时间", 17),
]
FOLLOW_UP_COLUMNS = [*ITEM_COLUMNS, Column("decided_in", "议定月份", 10)]
FIGURE_COLUMNS = [Column("figure", "指标", 24), Column("value", "数值", 14)]
FIGURES = [("households", "农户数"), ("visited", "已走访户数"), ("coverage_pct", "走访覆盖率(%)"),
           ("visits", "走访次数"),
           ("verified_visits", "核验走访次数"), ("issues_raised", "提出问题"), ("issues_resolved", "办结问题"),
           ("issues_overdue", "逾期未办结"), ("issues_rated", "评价数"), ("satisfaction_pct", "满意率(%)")]
MINUTES_COLUMNS = [Column("minutes", "会议纪要", 80), Column("attendees", "参会人员", 30),
                   Column("recorded_at", "记录时间", 17)]


@endpoint("GET", "/reviews/pack.xlsx", query=PackQuery, roles=ADMIN, tags=["reviews"],
          content={XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
          summary="The monthly review pack (一月一议) as XLSX: agenda, decisions, follow-up, last month, minutes")
async def review_pack_xlsx(call: Call) -> Response:
    month: str = call.query.month
    answer = await pack(call, month)
    agenda = [{**item, "decision": "；".join(f"{d['department_name']}：{d['decision']}（{d['deadline']}前）"
                                            for d in item["decisions"])} for item in answer["agenda"]]
    last = answer["last_month"]
    minutes = answer["minutes"]
    book = to_xlsx_book([
        Ledger("议题", AGENDA_COLUMNS, agenda),
        Ledger("议定事项", DECISION_COLUMNS, answer["decisions"]),
        Ledger("跟踪督办", FOLLOW_UP_COLUMNS, answer["follow_up"]),
        Ledger(f"上月数据{last['month']}", FIGURE_COLUMNS, [{"figure": zh, "value": last[key]} for key, zh in FIGURES]),
        Ledger("会议纪要", MINUTES_COLUMNS, [] if minutes is None else [
            {**minutes, "attendees": "、".join(minutes["attendees"])}]),
    ])
    county_name = (call.session.county_name if call.session else None) or call.county
    filename = f"月度例会-{county_name}-{month}.xlsx"
    return Response(book, media_type=XLSX_MEDIA_TYPE, headers={"Content-Disposition": content_disposition(filename)})


routes = [
    review_pack, review_pack_xlsx,
    command_endpoint(c.DecideIssue, "/issues/{issue_id:uuid}/decide",
                     "Record a monthly review's decision on an issue: routes it to a department with a deadline",
                     "reviews"),
    command_endpoint(c.RecordMinutes, "/reviews/minutes", "Save the minutes of a month's review meeting", "reviews"),
]
