"""The admin and province maps' furniture: the tile server, and the county's place names and outlines.

- `GET /config`: the map's tile server, set when the server starts (`GRASSROOTS_TILE_URL`,
  `GRASSROOTS_TILE_ATTRIBUTION`), never baked into the build; none means GeoJSON layers only.
- `GET /places`: village and township names and outlines of the caller's county, from its map
  (services/county_map.py) and the villages its admins added; a county without either gets an empty
  list and the views show codes.
- `POST /places/villages`: a county admin adds a village to the county's places (services/places.py),
  so records may name it; audited.
"""
from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

from services import places
from services import county_map
from services.county_map import Place
from services.domain.commands import Name, TownshipCode, VillageCode
from services.identity import ROLES
from services.identity.sessions import audit

from .auth import ADMIN
from .errors import ApiError, FieldError
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
        return Places(places=await county_map.county_places(conn, call.county))


class NewVillage(BaseModel):
    """A village the county's map lacks. Its code begins with its township's (a village's 12 digits
    start with its township's 9), and the township must be a place of the county."""

    model_config = ConfigDict(extra="forbid")
    code: VillageCode
    name: Name
    township: TownshipCode

def _refused(status: int, field: str, en: str, zh: str) -> ApiError:
    # A rule about the county's places, not a malformed body: …/rejected (409: …/conflict).
    return ApiError(status, en, zh, kind="rejected" if status == 422 else None,
                    errors=[FieldError(field=field, message=en, message_zh=zh)])


@endpoint("POST", "/places/villages", body=NewVillage, response=Place, roles=ADMIN, tags=["admin"], status=201,
          errors={409, 422}, summary="Add a village to my county's places, so records may name it",
          description="The village's code begins with the county's and with its township's, and the township is "
                      "a place of the county (itself or one of its villages listed). A county whose map listed "
                      "no places holds records only to its own code until it lists one: from its first place "
                      "on, every village and township a record names must be listed.")
async def add_village(call: Call) -> Place:
    assert call.session is not None
    village: NewVillage = call.body
    adcode = call.county
    if not village.code.startswith(adcode):
        raise _refused(422, "code", f"code: {village.code} is not in this county (its codes begin with {adcode})",
                       f"code：{village.code} 不属于本县（本县代码以 {adcode} 开头）")
    if not village.code.startswith(village.township):
        raise _refused(422, "code", "code: the village code does not begin with its township's code",
                       "code：村代码不属于所选乡镇")
    async with call.db.acquire() as conn, conn.transaction():
        listed, known = await places.township_known(conn, adcode, village.township)
        if listed and not known:
            raise _refused(422, "township", f"township: {village.township} is not a township of this county",
                           f"township：{village.township} 不是本县的乡镇（街道）")
        if not await places.add_village(conn, adcode, village.code, village.name, village.township,
                                        call.session.username):
            raise _refused(409, "code", f"code: this county already lists the place {village.code}",
                           f"code：本县已有代码为 {village.code} 的地点")
        await audit(conn, "place.added", call.session.user_id, call.session.username, adcode,
                    detail=village.model_dump())
    return Place(code=village.code, name=village.name, level="village", boundary=None, generated=False)


routes = [web_config, county_places, add_village]
