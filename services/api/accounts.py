"""A county admin's accounts: list them, create one in the admin's own county (county roles only, an
existing username never overwritten), disable or enable one, set a new password. The accounts live in
`core.users` (services/identity)."""
from __future__ import annotations

from typing import Literal
from uuid import UUID, uuid4

from anyio import to_thread
from pydantic import BaseModel, Field

from services.domain import Cadre
from services.identity.sessions import audit, end_sessions
from services.identity.users import MIN_PASSWORD, InvalidUser, check_account, hash_password

from .auth import ADMIN, bearer_token
from .errors import ApiError, FieldError, not_found
from .reading import county_app
from .routing import Call, endpoint

CountyRole = Literal["cadre", "county_admin", "department"]


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
    username: str = Field(min_length=3, max_length=64)
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
    """A cadre account must name a cadre of this county; a department account its department."""
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
                           kind="invalid", errors=[FieldError(field="cadre_id", message="not an active cadre here",
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
    """What an admin changes about an account; fields left out stay as they are."""

    disabled: bool | None = Field(None, description="true: the account can no longer log in and its sessions end")
    password: str | None = Field(None, min_length=MIN_PASSWORD, max_length=256,
                                 description="a new password (e.g. the holder forgot theirs); its sessions end")


@endpoint("PATCH", "/users/{user_id:uuid}", body=AccountChange, response=Account, roles=ADMIN, tags=["users"],
          errors={422}, summary="Disable or enable an account of my county, or set a new password")
async def user_change(call: Call) -> Account:
    """Either change ends the account's open sessions: a phone left with a departed cadre, or a password
    that leaked, stops working at once."""
    body: AccountChange = call.body
    assert call.session is not None
    user_id = call.path["user_id"]
    if body.disabled is None and body.password is None:
        raise ApiError(422, "Nothing to change: send disabled or password.", "没有要修改的内容（disabled 或 password）。",
                       kind="invalid")
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


routes = [user_list, user_create, user_change]
