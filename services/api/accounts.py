"""A county admin's accounts: list them, create one in the admin's own county (county roles only, an
existing username never overwritten), disable or enable one, set a new password. The accounts and their
SQL are services/identity/accounts.py; here the input is checked and the answers shaped."""
from __future__ import annotations

from typing import Literal
from uuid import UUID, uuid4

from anyio import to_thread
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from services import departments
from services.domain import Cadre
from services.domain.commands import WHITE_SPACE
from services.identity.accounts import change_account, county_accounts, create_account
from services.identity.users import MIN_PASSWORD, USERNAME, InvalidUser, check_account, hash_password

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


# Something left after stripping (Python strips the separators \x1c-\x1f too, which JSON Schema's `\S`
# counts as text): the characters neither a control nor Unicode White_Space, as the commands state it.
NOT_BLANK = rf"[^\x00-\x1f\x7f{WHITE_SPACE}]"


class NewAccount(BaseModel):
    """A cadre account names its cadre (`cadre_id`), a department account its department (not blank):
    `check_account` enforces both; the schema states them."""

    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"if": {"properties": {"roles": {"contains": {"const": "cadre"}}}, "required": ["roles"]},
         "then": {"properties": {"cadre_id": {"type": "string"}}, "required": ["cadre_id"]}},
        {"if": {"properties": {"roles": {"contains": {"const": "department"}}}, "required": ["roles"]},
         "then": {"properties": {"department": {"type": "string", "pattern": NOT_BLANK}}, "required": ["department"]}},
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
        return AccountList(users=[Account(**row) for row in await county_accounts(conn, call.county)])


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
    department = (body.department or "").strip() or None if "department" in roles else None
    if department is not None:
        department = await _listed_department(call, department)
    password_hash = await to_thread.run_sync(hash_password, body.password)
    user_id = uuid4()
    cadre_id = body.cadre_id if "cadre" in roles else None
    assert call.session is not None
    async with call.db.acquire() as conn:
        created = await create_account(conn, user_id, body.username, body.display_name, password_hash, list(roles),
                                       county, cadre_id, department, by=call.session.username)
    if not created:
        raise ApiError(409, f"The username {body.username} is taken: choose another.",
                       f"账号 {body.username} 已存在，请换一个。", kind="conflict")
    return Account(id=user_id, username=body.username, display_name=body.display_name, roles=list(roles),
                   cadre_id=cadre_id, department=department, disabled=False)


async def _listed_department(call: Call, text: str) -> str:
    """A department account acts for one of the county's departments once it lists any (by code or
    current name; the account keeps the code): 422 naming `department` for another. A county listing
    none keeps the text (services/departments.py)."""
    async with call.db.acquire() as conn:
        found = await departments.lookup_async(conn, call.county, text)
    if not found["listed"]:
        return text
    if found["current"] is None:
        raise ApiError(422, f"department: {text} is not a department of this county: pick one of its departments.",
                       f"department：“{text}”不是本县的职能部门，请从部门名录中选择。", kind="rejected",
                       errors=[FieldError(field="department", message="not a department of this county",
                                          message_zh="不是本县的职能部门")])
    return str(found["current"])


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
    async with call.db.acquire() as conn:
        # The session making this call stays (an admin setting their own new password stays logged in here).
        row = await change_account(conn, user_id, call.county, disabled=body.disabled, password_hash=password_hash,
                                   keep_token=bearer_token(call.request), by=call.session.username)
    if row is None:
        raise not_found("account", "账号")
    return Account(**row)


routes = [user_list, user_create, user_change]
