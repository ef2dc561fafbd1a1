"""Household-visit completeness: the county's and townships' shares, the households table (with its map
box) and a cadre's due list, from the completeness read model (projections/completeness.py)."""
from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from projections import completeness

from .auth import ADMIN
from .filters import CompletenessFilters, TagFilter
from .reading import Document, Page, Paged, lookup, reading, schema_of, with_heads
from .routing import Call, endpoint


@endpoint("GET", "/completeness", query=TagFilter, response=Document, roles=ADMIN, tags=["completeness"],
          summary="Household-visit completeness: county and per-township percentages")
async def completeness_summary(call: Call) -> Document:
    async with reading(call) as conn:
        return Document(await completeness.percentages(conn, schema_of(call), as_of=call.query.as_of,
                                                       tag=call.query.tag))


class HouseholdsQuery(CompletenessFilters, Paged):
    bbox: str | None = Field(None, max_length=100, pattern=r"^-?[0-9]+(\.[0-9]+)?(,-?[0-9]+(\.[0-9]+)?){3}$",
                             description="west,south,east,north in degrees (WGS 84), -180 ≤ west < east ≤ 180 and"
                                         " -90 ≤ south < north ≤ 90: only the households inside (the map asks for"
                                         " what it shows)")

    @field_validator("bbox", mode="before")  # before the pattern: its message says the form
    @classmethod
    def _bbox(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            west, south, east, north = (float(part) for part in value.split(","))
        except ValueError:
            raise ValueError("bbox is four numbers west,south,east,north, e.g. 109.5,18.6,109.9,18.9") from None
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise ValueError("bbox needs -180 ≤ west < east ≤ 180 and -90 ≤ south < north ≤ 90")
        return value

    def box(self) -> tuple[float, float, float, float] | None:
        return None if self.bbox is None else tuple(float(part) for part in self.bbox.split(","))  # type: ignore[return-value]


@endpoint("GET", "/completeness/households", query=HouseholdsQuery, response=Page, roles=ADMIN, errors={404},
          tags=["completeness"], summary="Households with visits this year, last visit, status and next due date",
          description="`visits_this_year`: check-ins at the household of the kinds the county counts as visits"
                      " (rules `visit_kinds_counted`: not phone calls by default), verified or not, voided ones left"
                      " out.")
async def completeness_households(call: Call) -> Page:
    query: HouseholdsQuery = call.query
    if query.cadre is not None:
        await lookup(call, "cadre", query.cadre, ("cadre", "干部"))  # another county's cadre: 404, not an empty page
    filters: dict[str, Any] = {"township": query.township, "village": query.village, "cadre_id": query.cadre,
               "bbox": query.box(),
               "as_of": query.as_of, "status": query.status, "tag": query.tag}
    async with reading(call) as conn:  # the page and its total, not every household
        items = await completeness.households(conn, schema_of(call), **filters, limit=query.limit, offset=query.offset)
        total = await completeness.count_households(conn, schema_of(call), **filters)
    return Page(items=await with_heads(call, items), total=total, limit=query.limit, offset=query.offset)


@endpoint("GET", "/cadres/{cadre_id:uuid}/due", query=Paged, response=Page, roles=ADMIN, tags=["completeness"],
          summary="A cadre's due list: paired and annual-rule households to visit, overdue first")
async def cadre_due(call: Call) -> Page:
    cadre_id = call.path["cadre_id"]
    await lookup(call, "cadre", cadre_id, ("cadre", "干部"))
    query: Paged = call.query
    async with reading(call) as conn:
        items, total = await completeness.due_page(conn, schema_of(call), cadre_id, limit=query.limit,
                                                   offset=query.offset, as_of=query.as_of)
    return Page(items=await with_heads(call, items), total=total, limit=query.limit, offset=query.offset)


routes = [completeness_summary, completeness_households, cadre_due]
