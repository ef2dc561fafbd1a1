"""A county's map, `core.counties.boundary` (docs/contracts.md): a plain GeoJSON geometry, or a
FeatureCollection (the demo's form) whose features carry `level` (county/township/village), `code`,
`name` and, for invented villages, `generated`. It is where place names come from; a county without
one names no places and the views show codes."""
from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from services import places
from services.storage.connections import AsyncConnection


class Place(BaseModel):
    """A township or village of the county's map."""

    code: str
    name: str
    level: Literal["township", "village"]
    boundary: dict[str, Any] | None = Field(description="GeoJSON Polygon ([lon, lat], closed) or null")
    generated: bool = Field(description="true for the demo's invented villages")


async def stored_map(conn: AsyncConnection, adcode: str) -> Any:
    """The county's boundary as stored (asyncpg), decoded; None when it has none."""
    return decoded(await conn.fetchval("SELECT boundary FROM core.counties WHERE adcode = $1", adcode))


def decoded(stored: Any) -> Any:
    """A jsonb value as asyncpg gives it (text) or already decoded."""
    return json.loads(stored) if isinstance(stored, str) else stored


def places_of(boundary: Any) -> list[Place]:
    """Townships and villages of a county's map (a plain geometry names no places)."""
    if not isinstance(boundary, dict) or boundary.get("type") != "FeatureCollection":
        return []
    places = []
    for feature in boundary.get("features") or []:
        properties = feature.get("properties") or {}
        if properties.get("level") in ("township", "village") and properties.get("code") and properties.get("name"):
            places.append(Place(code=str(properties["code"]), name=str(properties["name"]), level=properties["level"],
                                boundary=feature.get("geometry"), generated=bool(properties.get("generated"))))
    return places


def county_outline(boundary: Any) -> dict[str, Any] | None:
    """The county's own geometry: the boundary itself, or its FeatureCollection's `county` feature."""
    if not isinstance(boundary, dict):
        return None
    if boundary.get("type") != "FeatureCollection":
        return boundary
    return next((f.get("geometry") for f in boundary.get("features") or []
                 if (f.get("properties") or {}).get("level") == "county"), None)


async def county_places(conn: AsyncConnection, adcode: str) -> list[Place]:
    """The places of the county's map, then the villages its admins added that the map does not draw."""
    drawn = places_of(await stored_map(conn, adcode))
    codes = {place.code for place in drawn}
    return drawn + [Place(code=row["code"], name=row["name"], level="village", boundary=None, generated=False)
                    for row in await places.added_villages(conn, adcode) if row["code"] not in codes]
