"""Interview coverage (约谈 / 谈心谈话): per cadre, the county by rank, and interviews held by an
interviewer of the wrong rank, from the interviews read model (projections/interviews.py). Interviews
themselves are recorded from the phone (`hold_interview` through sync)."""
from __future__ import annotations

from uuid import UUID

from pydantic import Field

from projections import interviews

from .auth import ADMIN
from .filters import InterviewFilters, interview_filters
from .reading import AsOf, Document, Keyset, Page, Paged, keyset_page, offset_page, reading, schema_of
from .routing import Call, endpoint


class InterviewCadresQuery(InterviewFilters, Keyset):
    after: UUID | None = Field(None, description="the `next` of the previous page")


@endpoint("GET", "/interviews/cadres", query=InterviewCadresQuery, response=Page, roles=ADMIN, tags=["interviews"],
          summary="Per cadre: this year's interviews, last interview and status")
async def interview_cadres(call: Call) -> Page:
    query: InterviewCadresQuery = call.query
    async with reading(call) as conn:
        answer = await interviews.cadres(conn, schema_of(call), **interview_filters(query), limit=query.limit,
                                         after=query.after)
    return keyset_page(answer, query.limit)


@endpoint("GET", "/interviews/coverage", query=AsOf, response=Document, roles=ADMIN, tags=["interviews"],
          summary="Interview coverage for the county and by rank")
async def interview_coverage(call: Call) -> Document:
    async with reading(call) as conn:
        return Document(await interviews.coverage_by_rank(conn, schema_of(call), as_of=call.query.as_of))


@endpoint("GET", "/interviews/mismatches", query=Paged, response=Page, roles=ADMIN, tags=["interviews"],
          summary="This year's interviews whose interviewer lacked the rank the county's rule expects")
async def interview_mismatches(call: Call) -> Page:
    async with reading(call) as conn:
        items = await interviews.rank_mismatches(conn, schema_of(call), as_of=call.query.as_of)
    return offset_page(items, call.query)


routes = [interview_cadres, interview_coverage, interview_mismatches]
