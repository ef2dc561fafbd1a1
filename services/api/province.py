"""The province view (province viewers): its counties with their monthly figures, rankings, and the
counties' outlines; rollups of the viewer's own province only (projections/rollup.py), never household
data, never a township or village."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from projections import rollup
from projections.base import SHANGHAI, Period
from services.county_map import county_outline, decoded
from services.storage.connections import AsyncConnection

from .auth import PROVINCE
from .errors import ApiError, not_found
from .reading import AsOf, Page, reading, whole_page
from .params import MonthText
from .routing import Call, endpoint


def province_of(call: Call) -> str:
    assert call.session is not None
    if call.session.province is None:
        raise ApiError(403, "This account belongs to no province.", "此账号不属于任何省。", kind="no-province")
    return call.session.province


async def counties_of(conn: AsyncConnection, province: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT adcode, name FROM core.counties WHERE province_code = $1 ORDER BY adcode", province)
    return [dict(row) for row in rows]


class Province(BaseModel):
    code: str
    name: str | None = Field(description="null while no county of the province is provisioned")


@endpoint("GET", "/province/about", response=Province, roles=PROVINCE, tags=["province"],
          summary="The caller's province: its code and name")
async def province(call: Call) -> Province:
    code = province_of(call)
    async with call.db.acquire() as conn:
        # The name is kept on each county row (`grassroots county add --province`); they all agree.
        name = await conn.fetchval(
            "SELECT province FROM core.counties WHERE province_code = $1 ORDER BY adcode LIMIT 1", code)
    return Province(code=code, name=name)


class CountyShape(BaseModel):
    adcode: str
    name: str
    lat: float | None
    lon: float | None
    boundary: dict[str, Any] | None


class ProvinceMap(BaseModel):
    counties: list[CountyShape]


@endpoint("GET", "/province/map", response=ProvinceMap, roles=PROVINCE, tags=["province"],
          summary="The province's counties: centroid and outline (county level only)")
async def province_map(call: Call) -> ProvinceMap:
    async with call.db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT adcode, name, centroid_lat, centroid_lon, boundary FROM core.counties WHERE province_code = $1"
            " ORDER BY adcode", province_of(call))
    return ProvinceMap(counties=[
        CountyShape(adcode=row["adcode"], name=row["name"], lat=row["centroid_lat"], lon=row["centroid_lon"],
                    boundary=county_outline(decoded(row["boundary"])))
        for row in rows
    ])


class ProvinceQuery(AsOf):
    year: int | None = Field(None, ge=2000, le=2100, description="default: every year")


@endpoint("GET", "/province/counties", query=ProvinceQuery, response=Page, roles=PROVINCE, tags=["province"],
          summary="The province's counties with their monthly figures")
async def province_counties(call: Call) -> Page:
    query: ProvinceQuery = call.query
    async with reading(call) as conn:
        counties = await counties_of(conn, province_of(call))
        items = [{**county, "months": await rollup.county_months(conn, county["adcode"], year=query.year,
                                                                  as_of=query.as_of)}
                 for county in counties]
    return whole_page(items)


@endpoint("GET", "/province/counties/{adcode}/months", query=ProvinceQuery, response=Page, roles=PROVINCE,
          tags=["province"], summary="One county of the province: its figures per month")
async def province_county_months(call: Call) -> Page:
    query: ProvinceQuery = call.query
    async with reading(call) as conn:
        counties = {county["adcode"] for county in await counties_of(conn, province_of(call))}
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
          summary="The province's counties ranked for a month")
async def province_rankings(call: Call) -> Page:
    query: RankingQuery = call.query
    today = datetime.now(SHANGHAI).date()
    async with reading(call) as conn:
        month = Period.parse(query.month) if query.month else Period.month(today.year, today.month)
        names = {county["adcode"]: county["name"] for county in await counties_of(conn, province_of(call))}
        items = await rollup.rankings(conn, province_of(call), month, by=query.by, as_of=query.as_of)
    items = [{**item, "name": names.get(item["county"])} for item in items]
    return whole_page(items)


routes = [province, province_map, province_counties, province_county_months, province_rankings]
