"""A county's departments (职能部门) as its admin keeps them: list (with the accounts acting for each),
add, rename. The records and their SQL are services/departments.py; routing an issue to a department
picks one of them (services/county.py), and a department account sees the issues routed to its
department by code, whatever text a route or the account was recorded with."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services import departments
from services.domain.commands import Name
from services.identity.sessions import audit

from .auth import ADMIN
from .errors import ApiError, FieldError, not_found
from .routing import Call, endpoint

DEPARTMENT = "/departments/{department_code}"


class Department(BaseModel):
    code: str = Field(description="stable: routes carry it; a rename leaves it")
    name: str
    former_names: list[str] = Field(description="names it had before renames: free text naming them maps to it")
    accounts: list[str] = Field(description="usernames of the department accounts acting for it")


class DepartmentList(BaseModel):
    departments: list[Department]


class NewDepartment(BaseModel):
    """A department of the county: a short latin code (lower case; it never changes) and its name."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=30, pattern=departments.CODE_PATTERN, examples=["zhujian"])
    name: Name


class DepartmentRename(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


def _refused(status: int, field: str, en: str, zh: str) -> ApiError:
    return ApiError(status, en, zh, kind="rejected" if status == 422 else None,
                    errors=[FieldError(field=field, message=en, message_zh=zh)])


@endpoint("GET", "/departments", response=DepartmentList, roles=ADMIN, tags=["admin"],
          summary="My county's departments, with the accounts acting for each")
async def department_list(call: Call) -> DepartmentList:
    async with call.db.acquire() as conn:
        rows = await departments.county_departments(conn, call.county)
    return DepartmentList(departments=[Department(**{k: row[k] for k in Department.model_fields}) for row in rows])


@endpoint("POST", "/departments", body=NewDepartment, response=Department, roles=ADMIN, tags=["admin"], status=201,
          errors={409}, summary="Add a department to my county, so issues may be routed to it",
          description="From the county's first department on, a department route must name one of its "
                      "departments (by code or current name; the route records the code). Codes and names are "
                      "unique in the county (409 naming the field).")
async def department_add(call: Call) -> Department:
    assert call.session is not None
    body: NewDepartment = call.body
    async with call.db.acquire() as conn, conn.transaction():
        clash = await departments.add_department(conn, call.county, body.code, body.name.strip(),
                                                 call.session.username)
        if clash is not None:
            value = body.code if clash == "code" else body.name
            raise _refused(409, clash, f"{clash}: this county already has a department with the code or name {value}",
                           f"{clash}：本县已有代码或名称为“{value}”的部门")
        await audit(conn, "department.added", call.session.user_id, call.session.username, call.county,
                    detail={"code": body.code, "name": body.name.strip()})
    return Department(code=body.code, name=body.name.strip(), former_names=[], accounts=[])


@endpoint("PATCH", DEPARTMENT, body=DepartmentRename, response=Department, roles=ADMIN, tags=["admin"],
          errors={404, 409}, summary="Rename a department of my county (its code and routes stay)")
async def department_rename(call: Call) -> Department:
    assert call.session is not None
    code: str = call.path["department_code"]
    name = call.body.name.strip()
    async with call.db.acquire() as conn, conn.transaction():
        renamed = await departments.rename_department(conn, call.county, code, name)
        if renamed is None:
            raise not_found("department", "部门")
        if isinstance(renamed, str):
            raise _refused(409, "name", f"name: another department of this county is called {name}",
                           f"name：本县已有名为“{name}”的部门")
        await audit(conn, "department.renamed", call.session.user_id, call.session.username, call.county,
                    detail={"code": code, "name": name})
        listed = {row["code"]: row for row in await departments.county_departments(conn, call.county)}
    return Department(code=code, name=name, former_names=renamed["former_names"],
                      accounts=listed[code]["accounts"] if code in listed else [])


routes = [department_list, department_add, department_rename]
