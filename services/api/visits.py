"""Visits (走访) and their verdicts: check-ins with distance, accuracy, mock flag and impossible travel,
from the verdicts read model (projections/verdicts.py, where a visit is judged); voiding one. Visits
themselves are recorded from the phone (`check_in` through sync)."""
from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import Field

from projections import verdicts
from services.domain import commands as c
from services.domain.values import VisitKind
from services.identity.sessions import audit

from .auth import ADMIN
from .params import PeriodText
from .reading import (EARLIEST, LATEST, Document, InPeriod, NewestFirst, Page, Paged, audit_personal_read,
                      keyset_page, lookup, period_of, reading, schema_of, with_heads, with_void_reasons)
from .routing import Call, endpoint
from .writing import CommandOutcome, command_endpoint

VISIT = "/visits/{visit_id:uuid}"


class VisitsQuery(Paged):
    period: PeriodText | None = Field(None, description="default: every period")
    cadre_id: UUID | None = None
    household_id: UUID | None = None
    verified: bool | None = None


@endpoint("GET", "/visits", query=VisitsQuery, response=Page, roles=ADMIN, tags=["visits"],
          summary="Check-ins with their verdicts: distance, accuracy, mock flag, impossible travel",
          description=f"Newest first. `total` counts the matching check-ins up to {verdicts.TOTAL_CAP:,} (null past "
                      "that: counting a whole county would read all of it); `more` says whether a page follows.")
async def visits_list(call: Call) -> Page:
    query: VisitsQuery = call.query
    period = period_of(InPeriod(period=query.period)) if query.period else None
    async with reading(call) as conn:
        answer = await verdicts.visits(conn, schema_of(call), period=period, cadre_id=query.cadre_id,
                                       household_id=query.household_id, verified=query.verified,
                                       limit=query.limit, offset=query.offset, as_of=query.as_of)
    return Page(items=answer["items"], total=answer["total"], limit=query.limit, offset=query.offset,
                more=answer["more"])


class AuditQuery(NewestFirst):
    cadre_id: UUID | None = None
    village: str | None = Field(None, pattern=r"^\d{12}$", description="village code (12 digits)")
    verdict: Literal["verified", "unverified", "voided"] | None = Field(
        None, description="unverified: not voided, and a verdict rule failed (see `reasons`)")
    kind: VisitKind | None = None
    reason: Literal["no_position", "mocked", "poor_accuracy", "too_far", "no_household_location",
                    "impossible_travel", "backdated", "future"] | None = Field(
        None, description="only check-ins not verified for this reason")
    occurred_from: date | None = Field(None, ge=EARLIEST, le=LATEST, description="first day (China time), inclusive")
    occurred_to: date | None = Field(None, ge=EARLIEST, le=LATEST,
                                     description="last day (China time), inclusive; before `occurred_from`: no rows")


@endpoint("GET", "/visits/audit", query=AuditQuery, response=Page, roles=ADMIN, tags=["visits"], errors={404},
          summary="The visit audit: check-ins newest first with their stored verdict and its reasons, voided ones too",
          description="Each row: `verdict` (verified, unverified, voided), `reasons` (voided, no_position, mocked, "
                      "poor_accuracy, too_far, no_household_location, impossible_travel, backdated: received more "
                      "than the county's `backdated_after_days` after it happened, future: dated over 10 minutes "
                      "after it was received), `void_reason`, "
                      "`distance_m`, `accuracy_m`, `travel_kmh` from the cadre's previous check-in (by when it "
                      "happened; a check-in synced late re-judges the one after it). Every figure that counts verified "
                      "visits counts the ones verified here.")
async def visits_audit(call: Call) -> Page:
    query: AuditQuery = call.query
    if query.cadre_id is not None:
        await lookup(call, "cadre", query.cadre_id, ("cadre", "干部"))  # another county's cadre: 404
    async with reading(call) as conn:
        answer = await verdicts.page(conn, schema_of(call), cadre_id=query.cadre_id, village=query.village,
                                     kind=query.kind, verdict=query.verdict, occurred_from=query.occurred_from,
                                     occurred_to=query.occurred_to, limit=query.limit, after=query.after,
                                     as_of=query.as_of, reason=query.reason)
    page = keyset_page(answer, query.limit)
    page.items = await with_heads(call, await with_void_reasons(call, page.items))  # admins see the heads
    return page


async def audit_void(call: Call, outcome: CommandOutcome) -> None:
    """A visit voided is a line of the county's audit log: who voided which visit, when (a resend adds no
    line). The reason stays in the visit's own event, sealed with its household's key: an entry of the
    audit log outlives an erasure, so it holds no free text about a household."""
    assert call.session is not None
    if outcome.status == "applied":
        async with call.db.acquire() as conn:
            await audit(conn, "visit.voided", call.session.user_id, call.session.username, call.county,
                        detail={"visit_id": str(call.path["visit_id"])})


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
        verdict = await verdicts.verdict(conn, schema_of(call), call.path["visit_id"])  # null once voided
    await audit_personal_read(call, [visit["household_id"]])  # its note is about the household
    return Document({**visit, "verdict": verdict})


routes = [
    visits_list, visits_audit, visits_summary, visit_detail,
    command_endpoint(c.VoidVisit, VISIT + "/void", "Void a false visit with a reason (audited; the figures re-judge)",
                     "visits", then=audit_void),
]
