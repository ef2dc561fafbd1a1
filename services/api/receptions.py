"""Reception days (接访日): the county's reception schedules, recording a reception (its issues enter the
issue ledger like any other), held against scheduled by cadre and month with the missed days, the
receptions held, and the reception ledger (接访台账) as XLSX or CSV, from `projections.receptions`."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field
from starlette.responses import Response

from projections import receptions
from projections.base import SHANGHAI
from services.domain import commands as c
from services.ledger import Column, Ledger

from .auth import ADMIN
from .reading import (
    EXPORT_CONTENT, TIME_CURSOR, AsOf, ExportQuery, InPeriod, Page, download, keyset_page, period_of, reading,
    schema_of, whole_page,
)
from .routing import Call, endpoint
from .writing import command_endpoint

TAGS = ["receptions"]


@endpoint("GET", "/reception-schedules", query=AsOf, response=Page, roles=ADMIN, tags=TAGS,
          summary="The county's reception schedules (ended ones with `ends_on`), earliest start first, each"
                  " with its latest terms and the day they apply from (`effective_on`, null: from the start)")
async def schedules_list(call: Call) -> Page:
    async with reading(call) as conn:
        return whole_page(await receptions.schedules(conn, schema_of(call), as_of=call.query.as_of))


class ReportQuery(InPeriod):
    cadre_id: UUID | None = Field(None, description="one cadre's rows only")


@endpoint("GET", "/receptions/report", query=ReportQuery, response=Page, roles=ADMIN, tags=TAGS,
          summary="Receptions held against scheduled, by cadre and month (at most a year): scheduled, held,"
                  " on_schedule, missed (a scheduled day before the day judged with none recorded, listed in"
                  " missed_days), upcoming, residents received and issues raised")
async def reception_report(call: Call) -> Page:
    query: ReportQuery = call.query
    async with reading(call) as conn:
        return whole_page(await receptions.report(conn, schema_of(call), period_of(query), cadre_id=query.cadre_id,
                                                  as_of=query.as_of))


class HeldQuery(ReportQuery):
    limit: int = Field(50, ge=1, le=500)
    after: str | None = Field(None, max_length=100, pattern=TIME_CURSOR,
                              description="the `next` of the previous page (another value answers 422)")


@endpoint("GET", "/receptions", query=HeldQuery, response=Page, roles=ADMIN, tags=TAGS,
          summary="The receptions held in the period, newest first (keyset pages)")
async def receptions_list(call: Call) -> Page:
    query: HeldQuery = call.query
    async with reading(call) as conn:
        return keyset_page(await receptions.held(conn, schema_of(call), period_of(query), cadre_id=query.cadre_id,
                                                 as_of=query.as_of, limit=query.limit, after=query.after),
                           query.limit)


def _time(value: Any) -> Any:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value


LEDGER_COLUMNS = [
    Column("day", "日期", 12), Column("time", "接访时间", 17, _time), Column("name", "接访人", 10),
    Column("place", "接访地点", 24), Column("village", "村(社区)代码", 15), Column("residents", "接待群众(人)", 12),
    Column("issues", "反映问题(件)", 12), Column("status", "情况", 12),
]


class LedgerQuery(ReportQuery, ExportQuery):
    pass


@endpoint("GET", "/exports/receptions", query=LedgerQuery, roles=ADMIN, tags=["exports", *TAGS],
          content=EXPORT_CONTENT,
          summary="The reception ledger (接访台账) of a period: every reception held, and every scheduled one"
                  " missed, by day")
async def export_receptions(call: Call) -> Response:
    query: LedgerQuery = call.query
    period = period_of(query)
    schema = schema_of(call)
    rows: list[dict[str, Any]] = []
    async with reading(call) as conn:
        after = None
        while True:
            page = await receptions.held(conn, schema, period, cadre_id=query.cadre_id, as_of=query.as_of,
                                         limit=500, after=after)
            rows += [{**r, "day": r["occurred_at"].astimezone(SHANGHAI).date().isoformat(), "time": r["occurred_at"],
                      "issues": len(r["issue_ids"]), "status": "已接访"} for r in page["items"]]
            if (after := page["next"]) is None:
                break
        report = await receptions.report(conn, schema, period, cadre_id=query.cadre_id, as_of=query.as_of)
    rows += [{"day": missed["day"].isoformat(), "name": r["name"], "place": missed["place"], "status": "未按期接访"}
             for r in report for missed in r["missed_days"]]
    rows.sort(key=lambda r: (r["day"], r.get("time") is None, str(r.get("time") or ""), r["name"] or ""))
    return download(call, Ledger("接访台账", LEDGER_COLUMNS, rows))


routes = [
    schedules_list, reception_report, receptions_list, export_receptions,
    command_endpoint(c.SetReceptionSchedule, "/reception-schedules", "Set a recurring reception day (接访日)",
                     "receptions"),
    command_endpoint(c.ReviseReceptionSchedule, "/reception-schedules/{schedule_id:uuid}/revise",
                     "Change a reception schedule's receiver, place and day from a day on (today or later: the days"
                     " already past keep the terms they were judged by)", "receptions"),
    command_endpoint(c.EndReceptionSchedule, "/reception-schedules/{schedule_id:uuid}/end",
                     "End a reception schedule on a day", "receptions"),
    command_endpoint(c.RecordReception, "/receptions",
                     "Record a reception held: who, when, where, residents received and the issues raised (each"
                     " raised as an issue of source `reception`)", "receptions"),
]
