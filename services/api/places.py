"""The admin and province maps' furniture: the tile server, and the county's place names and outlines.

- `GET /config`: the map's tile server, set when the server starts (`GRASSROOTS_TILE_URL`,
  `GRASSROOTS_TILE_ATTRIBUTION`), never baked into the build; none means GeoJSON layers only.
- `GET /places`: village and township names and outlines of the caller's county, from its map
  (services/county_map.py); a county without one gets an empty list and the views show codes.
"""
from __future__ import annotations

import os

from pydantic import BaseModel, Field

from services.county_map import Place, places_of, stored_map
from services.identity import ROLES

from .routing import Call, endpoint

TILE_URL = "GRASSROOTS_TILE_URL"
TILE_ATTRIBUTION = "GRASSROOTS_TILE_ATTRIBUTION"
PLACE_READERS = {"county_admin", "department", "cadre"}


class MapConfig(BaseModel):
    tile_url: str | None = Field(description="Leaflet URL template ({z}/{x}/{y}); null: no base map")
    tile_attribution: str | None


@endpoint("GET", "/config", response=MapConfig, roles=ROLES, tags=["admin"],
          summary="Runtime configuration of the web views (the map's tile server)")
async def web_config(call: Call) -> MapConfig:
    return MapConfig(tile_url=os.environ.get(TILE_URL) or None,
                     tile_attribution=os.environ.get(TILE_ATTRIBUTION) or None)


class Places(BaseModel):
    places: list[Place]


@endpoint("GET", "/places", response=Places, roles=PLACE_READERS, tags=["admin"],
          summary="Village and township names and outlines of my county (empty where none are known)")
async def county_places(call: Call) -> Places:
    async with call.db.acquire() as conn:
        boundary = await stored_map(conn, call.county)
    return Places(places=places_of(boundary))


routes = [web_config, county_places]
