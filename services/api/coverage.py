"""`GET /coverage`: the coverage map (走访覆盖) as GeoJSON, by village, township, county or H3 cell.

The figures are the coverage read model's (projections/coverage.py): per feature, households, those
visited once and twice in the period, visits, verified visits and the coverage percentage."""
from __future__ import annotations

from starlette.responses import JSONResponse

from projections import coverage

from .auth import ADMIN
from .filters import CoverageQuery
from .reading import GEOJSON_MEDIA_TYPE, period_of, reading, schema_of
from .routing import Call, endpoint

GEOJSON_CONTENT = {GEOJSON_MEDIA_TYPE: {"schema": {"type": "object", "description": "RFC 7946 FeatureCollection"}}}


@endpoint("GET", "/coverage", query=CoverageQuery, roles=ADMIN, tags=["coverage"], content=GEOJSON_CONTENT,
          summary="Coverage as GeoJSON by village, township, county or H3 cell",
          description="Per feature: `households`; `visits`: check-ins of the kinds the county counts as visits"
                      " (rules `visit_kinds_counted`: not phone calls by default), verified or not, voided ones left"
                      " out; `verified_visits`: those the verdicts accepted; `visited_once`/`visited_twice` and"
                      " `coverage_pct`: households with ≥1/≥2 such visits. Every contact, phone calls too, is in"
                      " GET /visits/audit.")
async def coverage_map(call: Call) -> JSONResponse:
    """Per feature: households, visited once / twice, visits, verified visits, coverage %."""
    query: CoverageQuery = call.query
    async with reading(call) as conn:
        collection = await coverage.geojson(conn, schema_of(call), period_of(query), query.level,
                                            resolution=query.resolution, as_of=query.as_of, tag=query.tag)
    return JSONResponse(collection, media_type=GEOJSON_MEDIA_TYPE)


routes = [coverage_map]
