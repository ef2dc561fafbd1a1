"""The province view (province and prefecture viewers): the viewer's counties with their monthly figures,
rankings, and the counties' outlines; rollups of the viewer's own area only (projections/rollup.py),
never household data, never a township or village.

A province viewer's area is its province; a prefecture viewer's (市州) is the counties of its province
whose adcode starts with the first 4 digits of the prefecture's code. A county outside a prefecture
viewer's area answers 403 whether or not it exists: the adcode alone decides, so the answer says
nothing about other prefectures.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from projections import assessment, rollup
from projections.base import SHANGHAI, Period
from projections.rules import Rules
from services.county_map import county_outline, decoded
from services.storage.connections import AsyncConnection
from services.storage.names import county_schema

from .auth import PROVINCE
from .errors import ApiError, not_found
from .reading import AsOf, Page, keyset_page, reading, whole_page
from .params import AdcodeText, MonthText, PeriodText
from .routing import Call, endpoint


@dataclass(frozen=True)
class Area:
    """The counties a viewer may see: its province's, or only its prefecture's."""

    province: str
    prefecture: str | None = None

    @property
    def prefix(self) -> str:
        """What the area's adcodes start with ("" for a whole province)."""
        return self.prefecture[:4] if self.prefecture else ""

    def holds(self, adcode: str) -> bool:
        return adcode.startswith(self.prefix)


def area_of(call: Call) -> Area:
    assert call.session is not None
    if call.session.province is None:
        raise ApiError(403, "This account belongs to no province.", "此账号不属于任何省。", kind="no-province")
    return Area(call.session.province, call.session.prefecture)


def outside(area: Area) -> ApiError:
    return ApiError(403, f"This county is not in your prefecture ({area.prefecture}): you see its counties only.",
                    f"该县（区）不在您所在的市州（{area.prefecture}），您只能查看本市州的县（区）。",
                    kind="outside-prefecture")


async def counties_of(conn: AsyncConnection, area: Area, *, after: str = "",
                      limit: int | None = None) -> list[dict[str, Any]]:
    """The area's counties (adcode, name) in adcode order: those after `after`, at most `limit`."""
    rows = await conn.fetch("SELECT adcode, name FROM core.counties WHERE province_code = $1"
                            " AND starts_with(adcode, $2) AND adcode > $3 ORDER BY adcode LIMIT $4",
                            area.province, area.prefix, after, limit)
    return [dict(row) for row in rows]


class Prefecture(BaseModel):
    code: str
    name: str | None = Field(description="null while no county of the prefecture is provisioned")


class Province(BaseModel):
    code: str
    name: str | None = Field(description="null while no county of the province is provisioned")
    prefecture: Prefecture | None = Field(None, description="a prefecture viewer's prefecture (市州); null for a"
                                                            " province viewer")


@endpoint("GET", "/province/about", response=Province, roles=PROVINCE, tags=["province"],
          summary="The caller's province (and prefecture): code and name")
async def province(call: Call) -> Province:
    area = area_of(call)
    async with call.db.acquire() as conn:
        # The names are kept on each county row (`grassroots county add --province --prefecture`); they agree.
        row = await conn.fetchrow(
            "SELECT province, prefecture FROM core.counties WHERE province_code = $1 AND starts_with(adcode, $2)"
            " ORDER BY adcode LIMIT 1", area.province, area.prefix)
        name = row["province"] if row else await conn.fetchval(
            "SELECT province FROM core.counties WHERE province_code = $1 ORDER BY adcode LIMIT 1", area.province)
    prefecture = Prefecture(code=area.prefecture, name=row["prefecture"] if row else None) \
        if area.prefecture else None
    return Province(code=area.province, name=name, prefecture=prefecture)


class CountyShape(BaseModel):
    adcode: str
    name: str
    lat: float | None
    lon: float | None
    boundary: dict[str, Any] | None


class ProvinceMap(BaseModel):
    counties: list[CountyShape]


@endpoint("GET", "/province/map", response=ProvinceMap, roles=PROVINCE, tags=["province"],
          summary="The viewer's counties: centroid and outline (county level only)")
async def province_map(call: Call) -> ProvinceMap:
    async with call.db.acquire() as conn:
        area = area_of(call)
        rows = await conn.fetch(
            "SELECT adcode, name, centroid_lat, centroid_lon, boundary FROM core.counties WHERE province_code = $1"
            " AND starts_with(adcode, $2) ORDER BY adcode", area.province, area.prefix)
    return ProvinceMap(counties=[
        CountyShape(adcode=row["adcode"], name=row["name"], lat=row["centroid_lat"], lon=row["centroid_lon"],
                    boundary=county_outline(decoded(row["boundary"])))
        for row in rows
    ])


class ProvinceQuery(AsOf):
    year: int | None = Field(None, ge=2000, le=2100, description="default: every year")


class CountiesQuery(ProvinceQuery):
    # A province has at most a few hundred counties: one page; a country-wide area pages on.
    limit: int = Field(500, ge=1, le=500)
    after: AdcodeText | None = Field(None, description="the `next` of the previous page (an adcode)")


@endpoint("GET", "/province/counties", query=CountiesQuery, response=Page, roles=PROVINCE, tags=["province"],
          summary="The viewer's counties (its province's or prefecture's) with their monthly figures, in adcode"
                  " order; `next` (pass as `after`) while more follow")
async def province_counties(call: Call) -> Page:
    query: CountiesQuery = call.query
    async with reading(call) as conn:
        counties = await counties_of(conn, area_of(call), after=query.after or "", limit=query.limit + 1)
        page = counties[:query.limit]
        months = await rollup.counties_months(conn, [county["adcode"] for county in page], year=query.year,
                                              as_of=query.as_of)
    items = [{**county, "months": months[county["adcode"]]} for county in page]
    return keyset_page({"items": items, "next": page[-1]["adcode"] if len(counties) > query.limit else None},
                       query.limit)


@endpoint("GET", "/province/counties/{adcode}/months", query=ProvinceQuery, response=Page, roles=PROVINCE,
          tags=["province"], errors={403, 404}, summary="One county of the viewer's area: its figures per month")
async def province_county_months(call: Call) -> Page:
    query: ProvinceQuery = call.query
    area = area_of(call)
    if not area.holds(call.path["adcode"]):
        raise outside(area)
    async with reading(call) as conn:
        counties = {county["adcode"] for county in await counties_of(conn, area)}
        if call.path["adcode"] not in counties:
            raise not_found("county", "县（区）")
        items = await rollup.county_months(conn, call.path["adcode"], year=query.year, as_of=query.as_of)
    return whole_page(items)


class RankingQuery(AsOf):
    month: MonthText | None = Field(None, description="YYYY-MM; default: this month")
    by: Literal["verified_coverage_pct", "coverage_pct", "verified_visits", "issues_resolved", "satisfaction_pct",
                "pairings_compliant_pct", "interview_coverage_pct"] = Field(
        "verified_coverage_pct", description="verified_coverage_pct: households with a verified visit in the month"
        " over households; coverage_pct: with any visit (verified or not); visits are of the kinds the county"
        " counts (not phone calls by default)")


@endpoint("GET", "/province/rankings", query=RankingQuery, response=Page, roles=PROVINCE, tags=["province"],
          summary="The viewer's counties (its province's or prefecture's) ranked for a month")
async def province_rankings(call: Call) -> Page:
    query: RankingQuery = call.query
    today = datetime.now(SHANGHAI).date()
    area = area_of(call)
    async with reading(call) as conn:
        month = Period.parse(query.month) if query.month else Period.month(today.year, today.month)
        names = {county["adcode"]: county["name"] for county in await counties_of(conn, area)}
        items = await rollup.rankings(conn, area.province, month, by=query.by, as_of=query.as_of,
                                      prefix=area.prefix)
    items = [{**item, "name": names.get(item["county"])} for item in items]
    return whole_page(items)


class ScoreQuery(AsOf):
    period: PeriodText | None = Field(None, description="2026, 2026-Q1, 2026-03 or 2026-01-05..2026-02-20; default:"
                                                        " this year")


@endpoint("GET", "/province/scores", query=ScoreQuery, response=Page, roles=PROVINCE, tags=["province"],
          summary="The viewer's counties ranked by the mean composite assessment score (三维考核) of their cadres;"
                  " a county without assessment weights has score null and ranks last",
          description="Each item: `{rank, county, name, score, cadres, scored}` (no cadre, township or household"
                      " data). Each county's mean is kept until its figures or rules change: one probe per county.")
async def province_scores(call: Call) -> Page:
    query: ScoreQuery = call.query
    area = area_of(call)
    async with reading(call) as conn:  # a period it cannot read answers 422
        period = Period.parse(query.period) if query.period else Period.year(datetime.now(SHANGHAI).year)
        counties = await conn.fetch(
            "SELECT adcode, name, rules FROM core.counties WHERE province_code = $1 AND starts_with(adcode, $2)"
            " ORDER BY adcode", area.province, area.prefix)
        # Positions live apart from the counties (on a Citus coordinator): read them on their own, not joined.
        positions = dict(await conn.fetch("SELECT county, notification_id FROM core.projection_positions"
                                          " WHERE county = ANY($1::text[])", [c["adcode"] for c in counties]))
        rows = [{"county": county["adcode"], "name": county["name"], **await assessment.county_mean(
                    conn, county_schema(county["adcode"]), period, as_of=query.as_of,
                    position=positions.get(county["adcode"]),
                    rules=Rules.from_stored(county["rules"], county["adcode"]))}
                for county in counties]
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0.0), r["county"]))
    return whole_page([{"rank": i, **row} for i, row in enumerate(rows, start=1)])


routes = [province, province_map, province_counties, province_county_months, province_rankings, province_scores]
