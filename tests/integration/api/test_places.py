"""Places belong to their county: every village and township code in a command is a place of the county
(from its places, else a 422 naming the field), by a command endpoint, by sync and by a file import;
and a county admin adds a village to the county's places.

Once, as 琼中's admin, a household registered under 保亭's village was applied and 琼中's coverage showed
a township of 保亭. The test counties A and B list no places (provisioned without a map), so there only
their own codes pass; county P is provisioned with a map and holds every code to it.
"""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from services.identity import ensure_user
from services.storage.database import connect
from services.storage.schemas import provision_county

from .conftest import COUNTY_A, COUNTY_B, PASSWORD, fresh_address
from .test_imports import HEADER, csv_file

PLACES_COUNTY = "950001"
TOWNSHIP, OTHER_TOWNSHIP = "950001001", "950001002"
VILLAGE, UNLISTED_VILLAGE = "950001001001", "950001001002"
MAP = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": None, "properties": {"level": "county", "code": PLACES_COUNTY, "name": "地点县"}},
    {"type": "Feature", "geometry": None, "properties": {"level": "township", "code": TOWNSHIP, "name": "一镇"}},
    {"type": "Feature", "geometry": None, "properties": {"level": "village", "code": VILLAGE, "name": "一村"}},
]}
ADMIN, DEPARTMENT_USER = "t_places_admin", "t_places_department"


def household(village: str, township: str, **more) -> dict:
    return {"village": village, "township": township, "address": "一组 1 号", "lat": 18.6, "lon": 109.7,
            "size": 2, "head_name": "林某", **more}


def events(database_url: str, county: str) -> int:
    with connect(database_url) as conn:
        return conn.execute(f"SELECT count(*) FROM county_{county}.county_events").fetchone()[0]


def _provision_places_county(database_url: str) -> None:
    provision_county(database_url, PLACES_COUNTY, "地点县", "地点省", province_code="950000",
                     centroid=(18.6, 109.7), boundary=MAP)
    with connect(database_url) as conn:
        ensure_user(conn, ADMIN, roles=["county_admin"], password=PASSWORD, county=PLACES_COUNTY)
        ensure_user(conn, DEPARTMENT_USER, roles=["department"], password=PASSWORD, county=PLACES_COUNTY,
                    department="县民政局")


@pytest.fixture(scope="module")
async def places_county(api, database_url) -> str:
    # In a thread: provisioning waits for the read side's DDL lock, which the app's projection driver
    # (on this event loop) may hold.
    await asyncio.to_thread(_provision_places_county, database_url)
    return PLACES_COUNTY


async def login(api, name: str):
    response = await api.anonymous(address=fresh_address()).post(
        "/api/v1/session", json={"username": name, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return api.anonymous(token=response.json()["token"])


# ---- a county that lists no places: its own codes only ------------------------------------------------------


async def test_a_household_under_another_countys_village_answers_422_naming_the_village(api, database_url):
    before = events(database_url, COUNTY_A)
    response = await (await api.client("county_admin")).post(
        "/api/v1/households", json=household(f"{COUNTY_B}001001", f"{COUNTY_B}001"))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["village"]
    assert COUNTY_A in response.json()["detail"]
    assert events(database_url, COUNTY_A) == before


@pytest.mark.parametrize("type_, payload, field", [
    ("raise_issue", {"source_kind": "reception", "village": f"{COUNTY_B}001001", "category": "道路",
                     "summary": "村道塌方"}, "village"),
    ("enrol_cadre", {"name": "外县干部", "rank": "staff", "unit": "县委组织部", "township": f"{COUNTY_B}001"},
     "township"),
])
async def test_sync_refuses_another_countys_places_naming_the_field(api, database_url, type_, payload, field):
    if type_ == "raise_issue":
        payload = {**payload, "occurred_at": datetime.now(UTC).isoformat()}
    before = events(database_url, COUNTY_A)
    entry = {"id": str(uuid.uuid4()), "type": type_, "payload": payload}
    [result] = (await (await api.client("county_admin")).post("/api/v1/sync", json={"commands": [entry]})
                ).json()["results"]
    assert result["status"] == "rejected"
    assert [e["field"] for e in result["errors"]] == [field]
    assert result["reason"]["en"].startswith(f"{field}: ")
    assert events(database_url, COUNTY_A) == before


async def test_a_county_that_lists_no_places_still_takes_its_own_codes(api):
    response = await (await api.client("county_admin")).post(
        "/api/v1/households", json=household(f"{COUNTY_A}007001", f"{COUNTY_A}007"))
    assert response.status_code == 201, response.text


# ---- a county that lists its places --------------------------------------------------------------------------


async def test_a_provisioned_map_lists_the_countys_places(api, places_county):
    places = (await (await login(api, ADMIN)).get("/api/v1/places")).json()["places"]
    assert {(p["code"], p["level"]) for p in places} == {(TOWNSHIP, "township"), (VILLAGE, "village")}


async def test_a_listed_village_is_applied_and_an_unlisted_one_answers_422_naming_it(api, places_county,
                                                                                    database_url):
    admin = await login(api, ADMIN)
    assert (await admin.post("/api/v1/households", json=household(VILLAGE, TOWNSHIP))).status_code == 201
    before = events(database_url, PLACES_COUNTY)
    unlisted = await admin.post("/api/v1/households", json=household(f"{OTHER_TOWNSHIP}001", OTHER_TOWNSHIP))
    assert unlisted.status_code == 422
    assert [e["field"] for e in unlisted.json()["errors"]] == ["village"]
    assert "places" in unlisted.json()["detail"]
    cadre = await admin.post("/api/v1/cadres", json={"name": "某干部", "rank": "staff", "unit": "组织部",
                                                     "township": OTHER_TOWNSHIP})
    assert cadre.status_code == 422
    assert [e["field"] for e in cadre.json()["errors"]] == ["township"]
    assert events(database_url, PLACES_COUNTY) == before


async def test_an_admin_adds_a_village_and_records_may_name_it_from_then_on(api, places_county, database_url):
    admin = await login(api, ADMIN)
    refused = await admin.post("/api/v1/households", json=household(UNLISTED_VILLAGE, TOWNSHIP))
    assert refused.status_code == 422

    added = await admin.post("/api/v1/places/villages",
                             json={"code": UNLISTED_VILLAGE, "name": "新村", "township": TOWNSHIP})
    assert added.status_code == 201, added.text
    assert added.json()["code"] == UNLISTED_VILLAGE and added.json()["level"] == "village"

    assert (await admin.post("/api/v1/households", json=household(UNLISTED_VILLAGE, TOWNSHIP))).status_code == 201
    places = (await admin.get("/api/v1/places")).json()["places"]
    assert {"code": UNLISTED_VILLAGE, "name": "新村", "level": "village", "boundary": None,
            "generated": False} in places
    audit = (await admin.get("/api/v1/audit")).json()["items"]
    assert any(e["action"] == "place.added" and e["detail"]["code"] == UNLISTED_VILLAGE and e["username"] == ADMIN
               for e in audit)
    again = await admin.post("/api/v1/places/villages",
                             json={"code": UNLISTED_VILLAGE, "name": "新村", "township": TOWNSHIP})
    assert again.status_code == 409


@pytest.mark.parametrize("body, field", [
    ({"code": "950001009001", "name": "远村", "township": "950001009"}, "township"),  # not a township of P
    ({"code": "910001001009", "name": "外村", "township": "910001001"}, "code"),  # another county's code
    ({"code": "950001002001", "name": "错村", "township": TOWNSHIP}, "code"),  # not in its township
    ({"code": "95000100100", "name": "短村", "township": TOWNSHIP}, "code"),  # 11 digits
    ({"code": "950001001003", "name": "", "township": TOWNSHIP}, "name"),
])
async def test_a_village_that_cannot_be_added_answers_422_naming_the_field(api, places_county, body, field):
    response = await (await login(api, ADMIN)).post("/api/v1/places/villages", json=body)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_only_a_county_admin_adds_villages(api, places_county):
    response = await (await login(api, DEPARTMENT_USER)).post(
        "/api/v1/places/villages", json={"code": "950001001004", "name": "某村", "township": TOWNSHIP})
    assert response.status_code == 403


async def test_an_import_naming_an_unlisted_village_writes_nothing_and_names_the_row(api, places_county,
                                                                                    database_url):
    rows = [["甲", "", VILLAGE, TOWNSHIP, "一组1号", "18.60", "109.70", "3", "", ""],
            ["乙", "", "950001001005", TOWNSHIP, "一组2号", "18.60", "109.70", "3", "", ""]]
    before = events(database_url, PLACES_COUNTY)
    response = await (await login(api, ADMIN)).post(
        "/api/v1/households/import", files={"file": ("民情档案.csv", csv_file(rows), "text/csv")})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["row"], error["column"]) == (3, HEADER[2])
    assert events(database_url, PLACES_COUNTY) == before
