"""What the admin and province web views need beyond the read-model queries: runtime map config,
place names and outlines, the county's cadres and accounts, and the province's county outlines.

- `GET /config`: the map's tile server, set when the server starts (`GRASSROOTS_TILE_URL`,
  `GRASSROOTS_TILE_ATTRIBUTION`), never baked into the build; none means GeoJSON layers only.
- `GET /places`: village and township names and outlines of the caller's county, from its
  `core.counties.boundary` FeatureCollection (docs/contracts.md); a county without one gets an empty
  list and the views show codes.
- `GET /cadres`, `GET /users`, `POST /users`: a county admin's people. Accounts are made in the
  admin's own county only, with county roles only, and an existing username is never overwritten.
- `GET /province/about`: the province viewer's province, code and name (the views' header shows the name).
- `GET /province/map`: the province viewer's counties (centroid, the county's own outline): county
  level, no township or village.
"""
from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from anyio import to_thread
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from services.domain import Cadre
from services.identity import ROLES
from services.identity.sessions import audit, end_sessions
from services.identity.users import MIN_PASSWORD, USERNAME, InvalidUser, check_account, hash_password

from .auth import bearer_token
from .errors import ApiError, FieldError, not_found
from .queries import ADMIN, PROVINCE, county_app, province_of
from .routing import Call, endpoint

TILE_URL = "GRASSROOTS_TILE_URL"
TILE_ATTRIBUTION = "GRASSROOTS_TILE_ATTRIBUTION"
PLACE_READERS = {"county_admin", "department", "cadre"}
CountyRole = Literal["cadre", "county_admin", "department"]


# ---- runtime map configuration --------------------------------------------------------------------------------


class MapConfig(BaseModel):
    tile_url: str | None = Field(description="Leaflet URL template ({z}/{x}/{y}); null: no base map")
    tile_attribution: str | None


@endpoint("GET", "/config", response=MapConfig, roles=ROLES, tags=["admin"],
          summary="Runtime configuration of the web views (the map's tile server)")
async def web_config(call: Call) -> MapConfig:
    return MapConfig(tile_url=os.environ.get(TILE_URL) or None,
                     tile_attribution=os.environ.get(TILE_ATTRIBUTION) or None)


# ---- places ---------------------------------------------------------------------------------------------------


class Place(BaseModel):
    code: str
    name: str
    level: Literal["township", "village"]
    boundary: dict[str, Any] | None = Field(description="GeoJSON Polygon ([lon, lat], closed) or null")
    generated: bool = Field(description="true for the demo's invented villages")


class Places(BaseModel):
    places: list[Place]


def stored_map(stored: Any) -> Any:
    return json.loads(stored) if isinstance(stored, str) else stored


def places_of(boundary: Any) -> list[Place]:
    """Townships and villages of a county's `core.counties.boundary` (docs/contracts.md): a plain
    geometry names no places; a FeatureCollection's features carry `level`, `code` and `name`."""
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


@endpoint("GET", "/places", response=Places, roles=PLACE_READERS, tags=["admin"],
          summary="Village and township names and outlines of my county (empty where none are known)")
async def county_places(call: Call) -> Places:
    async with call.db.acquire() as conn:
        stored = await conn.fetchval("SELECT boundary FROM core.counties WHERE adcode = $1", call.county)
    return Places(places=places_of(stored_map(stored)))


# ---- cadres ---------------------------------------------------------------------------------------------------


class CadreRow(BaseModel):
    id: UUID
    name: str
    rank: str
    unit: str
    township: str | None
    phone: str | None
    version: int


class CadreList(BaseModel):
    cadres: list[CadreRow]


def _cadres(county: Any, ids: list[UUID]) -> list[CadreRow]:
    rows = [CadreRow(id=cadre.id, name=cadre.name, rank=cadre.rank, unit=cadre.unit, township=cadre.township,
                     phone=cadre.phone, version=cadre.version)
            for cadre in county.load_many(ids).values() if isinstance(cadre, Cadre) and not cadre.departed]
    return sorted(rows, key=lambda row: (row.township or "", row.name, str(row.id)))


@endpoint("GET", "/cadres", response=CadreList, roles=ADMIN, tags=["cadres"],
          summary="The county's active cadres with rank, unit and township")
async def cadre_list(call: Call) -> CadreList:
    async with call.db.acquire() as conn:
        ids = [row["cadre_id"] for row in await conn.fetch(
            f"SELECT DISTINCT cadre_id FROM county_{call.county}.leaderboards_cadres")]
    return CadreList(cadres=await to_thread.run_sync(_cadres, county_app(call), ids))


# ---- accounts -------------------------------------------------------------------------------------------------


class Account(BaseModel):
    id: UUID
    username: str
    display_name: str
    roles: list[str]
    cadre_id: UUID | None
    department: str | None
    disabled: bool


class AccountList(BaseModel):
    users: list[Account]


class NewAccount(BaseModel):
    """A cadre account names its cadre (`cadre_id`), a department account its department (not blank):
    `check_account` enforces both; the schema states them."""

    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"if": {"properties": {"roles": {"contains": {"const": "cadre"}}}, "required": ["roles"]},
         "then": {"properties": {"cadre_id": {"type": "string"}}, "required": ["cadre_id"]}},
        {"if": {"properties": {"roles": {"contains": {"const": "department"}}}, "required": ["roles"]},
         "then": {"properties": {"department": {"type": "string", "pattern": r"\S"}}, "required": ["department"]}},
    ]})
    username: str = Field(min_length=3, max_length=64, pattern=USERNAME.pattern)
    display_name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=MIN_PASSWORD, max_length=256)
    roles: list[CountyRole] = Field(min_length=1)
    cadre_id: UUID | None = None
    department: str | None = Field(None, max_length=50)


@endpoint("GET", "/users", response=AccountList, roles=ADMIN, tags=["users"], summary="The county's accounts")
async def user_list(call: Call) -> AccountList:
    async with call.db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, username, display_name, roles, cadre_id, department, disabled_at IS NOT NULL AS disabled"
            " FROM core.users WHERE county = $1 ORDER BY username", call.county)
    return AccountList(users=[Account(**dict(row)) for row in rows])


@endpoint("POST", "/users", body=NewAccount, response=Account, roles=ADMIN, status=201, tags=["users"],
          errors={409, 422}, summary="Create an account in my county (cadre, county admin or department)")
async def user_create(call: Call) -> Account:
    """A cadre account must name an active cadre of this county (else 422); a department account its
    department."""
    body: NewAccount = call.body
    county = call.county
    try:
        roles = check_account(body.username, body.roles, county, None, body.cadre_id, body.department)
    except InvalidUser as error:
        raise ApiError(422, str(error), f"账号信息有误：{error}", kind="invalid") from None
    if body.cadre_id is not None:
        cadre = (await to_thread.run_sync(county_app(call).load_many, [body.cadre_id])).get(body.cadre_id)
        if not isinstance(cadre, Cadre) or cadre.departed:
            raise ApiError(422, "cadre_id is not an active cadre of this county.", "所填干部编号不是本县在岗干部。",
                           kind="rejected", errors=[FieldError(field="cadre_id", message="not an active cadre here",
                                                              message_zh="不是本县在岗干部")])
    password_hash = await to_thread.run_sync(hash_password, body.password)
    user_id = uuid4()
    department = (body.department or "").strip() or None if "department" in roles else None
    async with call.db.acquire() as conn, conn.transaction():
        province = await conn.fetchval("SELECT province_code FROM core.counties WHERE adcode = $1", county)
        created = await conn.fetchval(
            "INSERT INTO core.users (id, username, display_name, password_hash, roles, county, province, cadre_id,"
            " department) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (username) DO NOTHING RETURNING id",
            user_id, body.username, body.display_name, password_hash, list(roles), county, province,
            body.cadre_id if "cadre" in roles else None, department)
        if created is None:
            raise ApiError(409, f"The username {body.username} is taken: choose another.",
                           f"账号 {body.username} 已存在，请换一个。", kind="conflict")
        assert call.session is not None
        await audit(conn, "user.created", user_id, body.username, county,
                    detail={"by": call.session.username, "roles": list(roles)})
    return Account(id=user_id, username=body.username, display_name=body.display_name, roles=list(roles),
                   cadre_id=body.cadre_id if "cadre" in roles else None, department=department, disabled=False)


class AccountChange(BaseModel):
    """What an admin changes about an account (at least one of `disabled`, `password`); fields left out
    stay as they are."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"properties": {"disabled": {"type": "boolean"}}, "required": ["disabled"]},
        {"properties": {"password": {"type": "string"}}, "required": ["password"]},
    ]})

    disabled: bool | None = Field(None, description="true: the account can no longer log in and its sessions end")
    password: str | None = Field(None, min_length=MIN_PASSWORD, max_length=256,
                                 description="a new password (e.g. the holder forgot theirs); its sessions end")

    @model_validator(mode="after")
    def _changes_something(self) -> AccountChange:
        if self.disabled is None and self.password is None:
            raise PydanticCustomError("nothing_to_change", "Nothing to change: send disabled or password.",
                                      {"zh": "没有要修改的内容（disabled 或 password）。"})
        return self


@endpoint("PATCH", "/users/{user_id:uuid}", body=AccountChange, response=Account, roles=ADMIN, tags=["users"],
          errors={422}, summary="Disable or enable an account of my county, or set a new password")
async def user_change(call: Call) -> Account:
    """Either change ends the account's open sessions: a phone left with a departed cadre, or a password
    that leaked, stops working at once. An admin cannot disable their own account (422)."""
    body: AccountChange = call.body
    assert call.session is not None
    user_id = call.path["user_id"]
    if body.disabled and user_id == call.session.user_id:
        raise ApiError(422, "You cannot disable your own account.", "不能停用自己的账号。", kind="invalid")
    password_hash = await to_thread.run_sync(hash_password, body.password) if body.password is not None else None
    async with call.db.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "UPDATE core.users SET"
            " disabled_at = CASE WHEN $3::boolean IS NULL THEN disabled_at"
            "   WHEN $3 THEN coalesce(disabled_at, now()) ELSE NULL END,"
            " password_hash = coalesce($4, password_hash)"
            " WHERE id = $1 AND county = $2"
            " RETURNING id, username, display_name, roles, cadre_id, department, disabled_at IS NOT NULL AS disabled",
            user_id, call.county, body.disabled, password_hash)
        if row is None:
            raise not_found("account", "账号")
        # Every session of the account ends, except the one making this call (an admin setting their own
        # new password stays logged in here; their other devices are logged out).
        await end_sessions(conn, [user_id], keep_token=bearer_token(call.request))
        for action, changed in (("user.disabled", body.disabled is True), ("user.enabled", body.disabled is False),
                                ("user.password_set", body.password is not None)):
            if changed:
                await audit(conn, action, user_id, row["username"], call.county, detail={"by": call.session.username})
    return Account(**dict(row))


async def end_departed_accounts(call: Call, cadre_ids: list[UUID]) -> None:
    """A cadre who left keeps no access to the county's households (their personal data): the accounts
    tied to them are disabled and their sessions end. An admin can enable one again. Run after a
    `depart_cadre` command is applied (or resent), from either path that carries it (endpoint, sync)."""
    if not cadre_ids:
        return
    assert call.session is not None
    async with call.db.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "UPDATE core.users SET disabled_at = now() WHERE county = $1 AND cadre_id = ANY($2)"
            " AND disabled_at IS NULL RETURNING id, username", call.county, cadre_ids)
        if not rows:
            return
        await end_sessions(conn, [row["id"] for row in rows])
        for row in rows:
            await audit(conn, "user.disabled", row["id"], row["username"], call.county,
                        detail={"by": call.session.username, "why": "cadre departed"})


# ---- audit log -------------------------------------------------------------------------------------------------


class AuditQuery(BaseModel):
    limit: int = Field(100, ge=1, le=500)
    before: int | None = Field(None, ge=1, le=2**63 - 1,  # a bigint id
                               description="the `next` of the previous page: entries older than it")


class AuditEntry(BaseModel):
    id: int
    at: datetime
    action: str = Field(description="login, logout, login.failed, rules.changed, user.created, user.disabled, "
                                    "user.enabled, user.password_set")
    username: str | None
    address: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next: int | None = Field(description="pass as `before` for older entries; null on the last page")


@endpoint("GET", "/audit", query=AuditQuery, response=AuditPage, roles=ADMIN, tags=["users"],
          summary="My county's audit log, newest first: logins, rule changes, account changes")
async def audit_log(call: Call) -> AuditPage:
    query: AuditQuery = call.query
    async with call.db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, at, action, username, address, detail FROM core.audit_log"
            " WHERE county = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
            call.county, query.before, query.limit + 1)
    items = [AuditEntry(**{**dict(row), "detail": json.loads(row["detail"])}) for row in rows[:query.limit]]
    return AuditPage(items=items, next=items[-1].id if len(rows) > query.limit else None)


# ---- province map ---------------------------------------------------------------------------------------------


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
                    boundary=county_outline(stored_map(row["boundary"])))
        for row in rows
    ])


routes = [web_config, county_places, cadre_list, user_list, user_create, user_change, audit_log, province,
          province_map]
