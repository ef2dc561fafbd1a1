"""Coverage: how many households were visited, per village, township, county and H3 cell, in a period.

Tables hold households as time-stamped facts (registered, archived, and every place they lived at,
with H3 cells at resolutions 7–9); visits come from `verdicts_checkins`. A household counts in a
period when it was known at the query's `as_of` and not archived before the period began; it is
placed where it lived as of `as_of`. Visits count by `occurred_at` within the period; voided ones
never count; `verified_visits` counts the ones the verdicts accepted.

GeoJSON answers are RFC 7946 FeatureCollections: coordinates [lon, lat] in WGS-84, polygons closed
and counter-clockwise. Villages are points at their households' mean position (no village boundary
source exists yet); the county is its boundary from `core.counties` where known.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import h3

from projections.base import Period, Projection, event_name, recorded_before
from projections.rules import Rules
from projections.verdicts import visible_checkins
from services.storage.names import adcode_of

H3_RESOLUTIONS = (7, 8, 9)
Level = Literal["village", "township", "county", "h3"]

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.coverage_households ("
    " household_id uuid PRIMARY KEY, registered_at timestamptz NOT NULL, archived_at timestamptz)",
    "CREATE TABLE IF NOT EXISTS {schema}.coverage_places ("
    " household_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL,"
    " village text NOT NULL, township text NOT NULL, lat float8 NOT NULL, lon float8 NOT NULL,"
    " cell7 text NOT NULL, cell8 text NOT NULL, cell9 text NOT NULL, PRIMARY KEY (household_id, version))",
]


class Coverage(Projection):
    name = "coverage"
    tables = TABLES

    async def apply(self, conn: Any, schema: str, events: Sequence[Any], rules: Rules) -> None:
        registered, places, archived = [], [], []
        for event in events:
            name = event_name(event)
            if name in ("Household.Registered", "Household.Relocated"):
                if name == "Household.Registered":
                    registered.append((event.originator_id, event.timestamp))
                lat, lon = float(event.lat), float(event.lon)
                places.append((
                    event.originator_id, event.originator_version, event.timestamp, event.village,
                    event.township, lat, lon, *(h3.latlng_to_cell(lat, lon, r) for r in H3_RESOLUTIONS),
                ))
            elif name == "Household.Archived":
                archived.append((event.originator_id, event.timestamp))
        if registered:
            await conn.executemany(f"INSERT INTO {schema}.coverage_households VALUES ($1, $2, NULL)", registered)
        if places:
            await conn.executemany(
                f"INSERT INTO {schema}.coverage_places VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)", places
            )
        if archived:
            await conn.executemany(
                f"UPDATE {schema}.coverage_households SET archived_at = $2 WHERE household_id = $1", archived
            )


projection = Coverage()


def households_as_of(schema: str) -> str:
    """SQL: every household known at cutoff $1 (NULL = now) with its place then, and `archived_at`
    as known then (NULL if archived only later). Other read models' queries use it too."""
    return f"""(
        SELECT DISTINCT ON (p.household_id) p.household_id, p.village, p.township, p.lat, p.lon,
               p.cell7, p.cell8, p.cell9, h.registered_at,
               CASE WHEN h.archived_at < coalesce($1::timestamptz, 'infinity') THEN h.archived_at END
                 AS archived_at
        FROM {schema}.coverage_places p JOIN {schema}.coverage_households h USING (household_id)
        WHERE p.valid_from < coalesce($1::timestamptz, 'infinity')
        ORDER BY p.household_id, p.version DESC
    )"""


async def household_visits(conn: Any, schema: str, period: Period, as_of: date | None = None) -> list[dict]:
    """Per household in the period: its place, visits and verified visits (the base of every figure)."""
    start, end = period.instants()
    cutoff = recorded_before(as_of)
    households = await conn.fetch(
        f"SELECT * FROM {households_as_of(schema)} h WHERE archived_at IS NULL OR archived_at >= $2", cutoff, start
    )
    counts = await visit_counts(conn, schema, cutoff, start, end)
    return [{**dict(h), **counts.get(h["household_id"], {"visits": 0, "verified_visits": 0})} for h in households]


async def visit_counts(conn: Any, schema: str, cutoff: Any, start: Any, end: Any) -> dict[Any, dict]:
    """household -> {visits, verified_visits, last_visit} for check-ins in [start, end) visible at cutoff.

    Households and visits are read by two plain queries and joined here: on freshly loaded tables
    (no statistics yet) the planner joined the two in SQL by a nested loop, 3,000 × 1,500 rows."""
    rows = await conn.fetch(
        f"SELECT household_id, count(*) AS visits, count(*) FILTER (WHERE verified) AS verified_visits"
        f" FROM {visible_checkins(schema)} c WHERE household_id IS NOT NULL AND occurred_at >= $2"
        f" AND occurred_at < $3 GROUP BY household_id",
        cutoff, start, end,
    )
    return {r["household_id"]: {"visits": r["visits"], "verified_visits": r["verified_visits"]} for r in rows}


def _figures(items: list[dict]) -> dict:
    households = len(items)
    visited = sum(1 for i in items if i["visits"] >= 1)
    return {
        "households": households,
        "visited_once": visited,
        "visited_twice": sum(1 for i in items if i["visits"] >= 2),
        "visits": sum(i["visits"] for i in items),
        "verified_visits": sum(i["verified_visits"] for i in items),
        "coverage_pct": round(100.0 * visited / households, 1) if households else None,
    }


def _key(level: Level, resolution: int) -> str:
    if level == "h3":
        if resolution not in H3_RESOLUTIONS:
            raise ValueError(f"H3 resolution must be one of {H3_RESOLUTIONS}, not {resolution}")
        return f"cell{resolution}"
    if level not in ("village", "township", "county"):
        raise ValueError(f"coverage level must be village, township, county or h3, not {level!r}")
    return level


async def coverage(conn: Any, schema: str, period: Period, level: Level = "village", *, resolution: int = 8,
                   as_of: date | None = None) -> list[dict]:
    """Figures per village / township / H3 cell (or one row for the county), sorted by key."""
    key = _key(level, resolution)
    items = await household_visits(conn, schema, period, as_of)
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(adcode_of(schema) if key == "county" else item[key], []).append(item)
    return [
        {"key": k, "lat": _mean(g, "lat"), "lon": _mean(g, "lon"), **_figures(g)}
        for k, g in sorted(groups.items())
    ]


def _mean(items: list[dict], field: str) -> float:
    # fsum: the same answer whatever order the database returned the rows in.
    return math.fsum(i[field] for i in items) / len(items)


async def geojson(conn: Any, schema: str, period: Period, level: Level = "village", *, resolution: int = 8,
                  as_of: date | None = None) -> dict:
    """The same figures as an RFC 7946 FeatureCollection (properties = the figures + key)."""
    rows = await coverage(conn, schema, period, level, resolution=resolution, as_of=as_of)
    shapes = {} if level == "h3" else await known_shapes(conn, schema, level)
    features = []
    for row in rows:
        if level == "h3":
            geometry = cell_polygon(row["key"])
        else:
            geometry = shapes.get(row["key"]) or {
                "type": "Point", "coordinates": [round(row["lon"], 6), round(row["lat"], 6)]}
        properties = {k: v for k, v in row.items() if k not in ("lat", "lon")}
        features.append({"type": "Feature", "id": row["key"], "geometry": geometry,
                         "properties": {"level": level, **properties}})
    return {"type": "FeatureCollection", "features": features}


async def known_shapes(conn: Any, schema: str, level: Level) -> dict[str, dict]:
    """Polygons by code for `level` from the county's stored boundary, where it knows them.

    `core.counties.boundary` is either the county's own geometry or a FeatureCollection of the county,
    its townships and villages (`properties.level` and `properties.code`), as the demo stores it.
    """
    county = adcode_of(schema)
    stored = await conn.fetchval("SELECT boundary FROM core.counties WHERE adcode = $1", county)
    boundary = json.loads(stored) if isinstance(stored, str) else stored
    if not boundary:
        return {}
    if boundary.get("type") != "FeatureCollection":
        return {county: boundary} if level == "county" else {}
    return {
        str(f["properties"]["code"]): f["geometry"]
        for f in boundary.get("features", [])
        if f.get("geometry") and (f.get("properties") or {}).get("level") == level
        and (f.get("properties") or {}).get("code") is not None
    }


def cell_polygon(cell: str) -> dict:
    """An H3 cell as a GeoJSON Polygon: [lon, lat], closed, counter-clockwise (RFC 7946 §3.1.6)."""
    ring = [[round(lng, 7), round(lat, 7)] for lat, lng in h3.cell_to_boundary(cell)]
    if _signed_area(ring) < 0:
        ring.reverse()
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1])) / 2


async def households_changed_since(conn: Any, schema: str, moment: datetime) -> set[UUID]:
    """Households registered, moved, retagged or archived in this read model from `moment` on."""
    rows = await conn.fetch(
        f"SELECT household_id FROM {schema}.coverage_places WHERE valid_from >= $1"
        f" UNION SELECT household_id FROM {schema}.coverage_households WHERE archived_at >= $1", moment)
    return {row["household_id"] for row in rows}
