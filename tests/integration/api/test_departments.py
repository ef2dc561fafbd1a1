"""Departments are records, not strings: a county keeps its departments (code, name, accounts), a
department route picks one of them (422 naming `department` for another), and a department account
sees exactly the issues routed to its department, by code, whatever text the route or the account was
recorded with (free text from before the list, or a name the department had before a rename).

The county here (950002) is provisioned by this module alone, because its first department makes its
list binding: the shared test counties keep free-text departments.
"""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from services.domain import commands as c
from services.identity import ensure_user
from services.storage.database import connect
from services.storage.schemas import provision_county

from .conftest import PASSWORD, admin_actor, fresh_address
from .test_queries import wait_for_projections

COUNTY = "950002"
ADMIN, LEGACY_USER, OTHER_USER = "t_dept_admin", "t_dept_legacy", "t_dept_other"
LEGACY_NAME = "县住建局"  # how routes and an account spelled the department before it was a record


def _provision(database_url: str) -> None:
    provision_county(database_url, COUNTY, "部门县", "部门省", province_code="950000", centroid=(18.6, 109.7))
    with connect(database_url) as conn:
        ensure_user(conn, ADMIN, roles=["county_admin"], password=PASSWORD, county=COUNTY)
        ensure_user(conn, LEGACY_USER, roles=["department"], password=PASSWORD, county=COUNTY, department=LEGACY_NAME)
        ensure_user(conn, OTHER_USER, roles=["department"], password=PASSWORD, county=COUNTY, department="县民政局")


async def login(api, name: str):
    response = await api.anonymous(address=fresh_address()).post(
        "/api/v1/session", json={"username": name, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return api.anonymous(token=response.json()["token"])


def raise_issue(api, department: str | None = None) -> tuple[uuid.UUID, object]:
    county = api.county_apps.get(COUNTY)
    issue_id = uuid.uuid4()
    outcome = county.execute(c.RaiseIssue(command_id=issue_id, source_kind="visit", village=COUNTY + "001001",
                                          category="住房", summary="危房", occurred_at=datetime.now(UTC)),
                             admin_actor(COUNTY))
    assert outcome.status == "applied", outcome
    if department is None:
        return issue_id, outcome
    routed = county.execute(c.RouteIssue(command_id=uuid.uuid4(), issue_id=issue_id, expected_version=1,
                                         route="department", department=department, deadline="2099-12-31"),
                            admin_actor(COUNTY))
    return issue_id, routed


@pytest.fixture(scope="module")
async def county(api, database_url):
    await asyncio.to_thread(_provision, database_url)
    # Routed before the county listed any department: free text, as recorded then.
    legacy, outcome = raise_issue(api, LEGACY_NAME)
    assert outcome.status == "applied", outcome
    misspelt, outcome = raise_issue(api, "住建局")
    assert outcome.status == "applied", outcome
    return {"legacy": legacy, "misspelt": misspelt}


async def visible(api, user: str, database_url: str) -> set[uuid.UUID]:
    await wait_for_projections(database_url, COUNTY)
    response = await (await login(api, user)).get("/api/v1/issues", params={"limit": 500})
    assert response.status_code == 200, response.text
    return {uuid.UUID(item["issue_id"]) for item in response.json()["items"]}


async def test_departments_are_records_and_routes_pick_one_by_code(api, county, database_url):
    admin = await login(api, ADMIN)
    assert (await admin.get("/api/v1/departments")).json() == {"departments": []}

    added = await admin.post("/api/v1/departments", json={"code": "zhujian", "name": LEGACY_NAME})
    assert added.status_code == 201, added.text
    assert (await admin.post("/api/v1/departments", json={"code": "minzheng", "name": "县民政局"})).status_code == 201
    clash = await admin.post("/api/v1/departments", json={"code": "zhujian", "name": "另一个局"})
    assert clash.status_code == 409 and [e["field"] for e in clash.json()["errors"]] == ["code"]
    clash = await admin.post("/api/v1/departments", json={"code": "other", "name": "县民政局"})
    assert clash.status_code == 409 and [e["field"] for e in clash.json()["errors"]] == ["name"]
    bad = await admin.post("/api/v1/departments", json={"code": "住建", "name": "x"})
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["code"]

    listed = {d["code"]: d for d in (await admin.get("/api/v1/departments")).json()["departments"]}
    assert listed["zhujian"]["accounts"] == [LEGACY_USER]  # the account that spelt the name, mapped
    assert listed["minzheng"]["accounts"] == [OTHER_USER]

    # The list is binding now: a spelling no department has answers 422 naming the field, nothing written.
    issue_id, _ = raise_issue(api)
    refused = await admin.post(f"/api/v1/issues/{issue_id}/route", json={
        "route": "department", "department": "住建局", "deadline": "2099-12-31", "expected_version": 1})
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["department"]
    routed = await admin.post(f"/api/v1/issues/{issue_id}/route", json={
        "route": "department", "department": "zhujian", "deadline": "2099-12-31", "expected_version": 1})
    assert routed.status_code == 200, routed.text
    by_name, outcome = raise_issue(api, LEGACY_NAME)  # the current name picks the same record
    assert outcome.status == "applied"
    detail = (await admin.get(f"/api/v1/issues/{by_name}")).json()
    assert detail["department"] == "zhujian"  # the event carries the code

    # The department sees exactly its issues: the free-text one of its name and the two by code; not the
    # misspelt free text (no department of that name), not another department's.
    other, _ = raise_issue(api, "minzheng")
    assert await visible(api, LEGACY_USER, database_url) == {county["legacy"], issue_id, by_name}
    assert await visible(api, OTHER_USER, database_url) == {other}

    # A rename keeps the code: everything routed stays, and the old name still maps (former_names).
    renamed = await admin.patch("/api/v1/departments/zhujian", json={"name": "县住房和城乡建设局"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["former_names"] == [LEGACY_NAME] and renamed.json()["accounts"] == [LEGACY_USER]
    assert await visible(api, LEGACY_USER, database_url) == {county["legacy"], issue_id, by_name}
    department = await login(api, LEGACY_USER)
    assert (await department.get("/api/v1/me")).json()["department_name"] == "县住房和城乡建设局"
    assert (await department.get(f"/api/v1/issues/{county['legacy']}")).status_code == 200
    assert (await department.get(f"/api/v1/issues/{other}")).status_code == 404
    resolved = await department.post(f"/api/v1/issues/{county['legacy']}/resolve",
                                     json={"resolution": "已修缮", "expected_version": 2})
    assert resolved.status_code == 200, resolved.text

    ledger = (await admin.get("/api/v1/issues/ledger", params={"by": "department"})).json()
    keys = {row["key"]: row["total"] for row in ledger["items"]}
    assert keys["zhujian"] == 3 and keys["住建局"] == 1 and keys["minzheng"] == 1

    assert (await admin.patch("/api/v1/departments/nothing", json={"name": "某局"})).status_code == 404
    taken = await admin.patch("/api/v1/departments/zhujian", json={"name": "县民政局"})
    assert taken.status_code == 409 and [e["field"] for e in taken.json()["errors"]] == ["name"]


async def test_a_department_account_acts_for_a_listed_department(api, county):
    admin = await login(api, ADMIN)
    await admin.post("/api/v1/departments", json={"code": "shuiwu", "name": "县水务局"})
    made = await admin.post("/api/v1/users", json={
        "username": "t_dept_water", "display_name": "水务", "password": PASSWORD, "roles": ["department"],
        "department": "县水务局"})
    assert made.status_code == 201, made.text
    assert made.json()["department"] == "shuiwu"
    unknown = await admin.post("/api/v1/users", json={
        "username": "t_dept_nowhere", "display_name": "无", "password": PASSWORD, "roles": ["department"],
        "department": "不存在的局"})
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["department"]


async def test_another_county_s_department_answers_404(api, county):
    admin = await login(api, ADMIN)
    await admin.post("/api/v1/departments", json={"code": "jiaotong", "name": "县交通局"})
    outsider = await api.client("county_admin")  # county A's admin
    assert (await outsider.patch("/api/v1/departments/jiaotong", json={"name": "x局"})).status_code == 404
    assert "jiaotong" not in {d["code"] for d in (await outsider.get("/api/v1/departments")).json()["departments"]}
