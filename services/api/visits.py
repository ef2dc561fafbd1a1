"""Visits (走访) and their verdicts: check-ins with distance, accuracy, mock flag and impossible travel,
from the verdicts read model (projections/verdicts.py, where a visit is judged); voiding one. Visits
themselves are recorded from the phone (`check_in` through sync)."""
from __future__ import annotations

from uuid import UUID

from pydantic import Field

from projections import verdicts
from services.domain import commands as c

from .auth import ADMIN
from .reading import (
    Document, InPeriod, Page, Paged, audit_personal_read, lookup, offset_page, period_of, reading, schema_of,
)
from .params import PeriodText
from .routing import Call, endpoint
from .writing import command_endpoint

VISIT = "/visits/{visit_id:uuid}"


class VisitsQuery(Paged):
    period: PeriodText | None = Field(None, description="default: every period")
    cadre_id: UUID | None = None
    household_id: UUID | None = None
    verified: bool | None = None


@endpoint("GET", "/visits", query=VisitsQuery, response=Page, roles=ADMIN, tags=["visits"],
          summary="Check-ins with their verdicts: distance, accuracy, mock flag, impossible travel")
async def visits_list(call: Call) -> Page:
    query: VisitsQuery = call.query
    period = period_of(InPeriod(period=query.period)) if query.period else None
    async with reading(call) as conn:
        items = await verdicts.checkins(conn, schema_of(call), period=period, cadre_id=query.cadre_id,
                                        household_id=query.household_id, as_of=query.as_of)
    if query.verified is not None:
        items = [item for item in items if item["verified"] == query.verified]
    return offset_page(items, query)


@endpoint("GET", "/visits/summary", query=InPeriod, response=Document, roles=ADMIN, tags=["visits"],
          summary="Check-ins verified, and why the others were not")
async def visits_summary(call: Call) -> Document:
    query: InPeriod = call.query
    async with reading(call) as conn:
        return Document(await verdicts.summary(conn, schema_of(call), period=period_of(query), as_of=query.as_of))


@endpoint("GET", VISIT, response=Document, roles=ADMIN, tags=["visits"],
          summary="One check-in with its note and its verdict")
async def visit_detail(call: Call) -> Document:
    visit = await lookup(call, "visit", call.path["visit_id"], ("visit", "走访记录"))
    async with reading(call) as conn:
        judged = await verdicts.checkins(conn, schema_of(call), cadre_id=UUID(visit["cadre_id"]))
    verdict = next((v for v in judged if v["visit_id"] == call.path["visit_id"]), None)
    await audit_personal_read(call, [visit["household_id"]])  # its note is about the household
    return Document({**visit, "verdict": verdict})


routes = [
    visits_list, visits_summary, visit_detail,
    command_endpoint(c.VoidVisit, VISIT + "/void", "Void a visit", "visits"),
]
