"""Pairings (结对子 / 结穷亲 / 五个一): the active pairings against their cadence, the county's figures and
each cadre's quotas, from the pairing read model (projections/pairing.py); forming and ending one."""
from __future__ import annotations

from uuid import UUID

from pydantic import Field

from projections import pairing
from services.domain import commands as c

from .auth import ADMIN
from .errors import not_found
from .filters import PairingFilters, ShortfallFilters, pairing_filters
from .reading import (AsOf, Document, Keyset, Page, Paged, keyset_page, reading, schema_of,
                      with_heads)
from .routing import Call, endpoint
from .writing import command_endpoint

PAIRING = "/pairings/{pairing_id:uuid}"


class PairingsQuery(PairingFilters, Keyset):
    after: UUID | None = Field(None, description="the `next` of the previous page")


@endpoint("GET", "/pairings", query=PairingsQuery, response=Page, roles=ADMIN, tags=["pairings"],
          summary="Active pairings with last visit, due date and status against their cadence")
async def pairings_list(call: Call) -> Page:
    query: PairingsQuery = call.query
    async with reading(call) as conn:
        answer = await pairing.pairings(conn, schema_of(call), **pairing_filters(query), limit=query.limit,
                                        after=query.after)
    page = keyset_page(answer, query.limit)
    page.items = await with_heads(call, page.items)  # a paired household's head (household_id is None otherwise)
    return page


@endpoint("GET", "/pairings/summary", query=AsOf, response=Document, roles=ADMIN, tags=["pairings"],
          summary="Pairings by status, % not overdue, cadres meeting every quota")
async def pairings_summary(call: Call) -> Document:
    async with reading(call) as conn:
        return Document(await pairing.summary(conn, schema_of(call), as_of=call.query.as_of))


class QuotasQuery(Paged):
    cadre_id: UUID | None = None
    compliant: bool | None = None


@endpoint("GET", "/pairings/quotas", query=QuotasQuery, response=Page, roles=ADMIN, tags=["pairings"],
          summary="Per cadre: the county's pairing quotas (hardship households, 3/2/1 by rank, 五个一)")
async def pairing_quotas(call: Call) -> Page:
    query: QuotasQuery = call.query
    async with reading(call) as conn:
        items, total = await pairing.quota_page(conn, schema_of(call), limit=query.limit, offset=query.offset,
                                                cadre_id=query.cadre_id, compliant=query.compliant,
                                                as_of=query.as_of)
    return Page(items=items, total=total, limit=query.limit, offset=query.offset)


class ShortfallsQuery(ShortfallFilters):
    limit: int = Field(50, ge=1, le=500)
    after: UUID | None = Field(None, description="the `next` of the previous page")


@endpoint("GET", "/pairings/shortfalls", query=ShortfallsQuery, response=Page, roles=ADMIN, tags=["pairings"],
          summary="Every active cadre short of a pairing quota, and by how many (by cadre id)",
          description="Per cadre: rank, township, pairings, paired and hardship households, each quota rule of "
                      "the county (`required`, `actual`, `short_by`; 五个一 also `missing`) and `shortfall`, the "
                      "most any rule is short by.")
async def pairing_shortfalls(call: Call) -> Page:
    query: ShortfallsQuery = call.query
    async with reading(call) as conn:
        answer = await pairing.shortfalls(conn, schema_of(call), township=query.township, rank=query.rank,
                                          limit=query.limit, after=query.after, as_of=query.as_of)
    return keyset_page(answer, query.limit)


class NeedingQuery(Keyset):
    after: UUID | None = Field(None, description="the `next` of the previous page")


@endpoint("GET", "/pairings/needing-cadre", query=NeedingQuery, response=Page, roles=ADMIN, tags=["pairings"],
          summary="Households to pair again: their cadre departed and nobody is paired with them since",
          description="Each item is the pairing that ended with its cadre's departure (`ended_reason` "
                      "cadre_departed, `ended_on`); a household leaves the list when it is paired again or "
                      "archived. As it stands now (`as_of` is not used).")
async def pairings_needing_a_cadre(call: Call) -> Page:
    query: NeedingQuery = call.query
    async with reading(call) as conn:
        answer = await pairing.needing_a_cadre(conn, schema_of(call), limit=query.limit, after=query.after)
    page = keyset_page(answer, query.limit)
    page.items = await with_heads(call, page.items)
    return page


@endpoint("GET", PAIRING, response=Document, roles=ADMIN, tags=["pairings"], errors={404},
          summary="One pairing, active or ended, with when and why it ended",
          description="`ended_reason`: `ended` (by hand), `household_archived` or `cadre_departed`: a pairing "
                      "ends with its household or its cadre and is judged no more from that moment.")
async def pairing_detail(call: Call) -> Document:
    async with reading(call) as conn:
        found = await pairing.one(conn, schema_of(call), call.path["pairing_id"])
    if found is None:
        raise not_found("pairing", "结对")
    return Document(found)


routes = [
    pairings_list, pairings_summary, pairing_quotas, pairing_shortfalls, pairings_needing_a_cadre, pairing_detail,
    command_endpoint(c.FormPairing, "/pairings", "Pair a cadre with a target (结对)", "pairings"),
    command_endpoint(c.EndPairing, PAIRING + "/end", "End a pairing", "pairings"),
]
