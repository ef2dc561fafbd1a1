"""The prefecture viewer (市州): its own counties' rollups and rankings, the province endpoints scoped to
the counties whose adcode starts with its prefecture's 4 digits; never another prefecture's county,
never household data (the isolation matrix in test_isolation.py covers every county endpoint).

Province 930000 gets two counties in prefecture 930100 (the test viewer's) and one in 930200."""
from __future__ import annotations

import uuid

import pytest

from services.identity import InvalidUser, ensure_user
from services.storage.database import connect
from services.storage.schemas import provision_county
from tests.integration.api.conftest import COUNTY_A, PASSWORD, PREFECTURE
from tests.integration.api.test_queries import household, run, wait_for_projections

MINE, MINE_TOO, THEIRS = "930101", "930102", "930201"
PROVINCE = "930000"


@pytest.fixture(scope="module")
async def prefecture(api, database_url) -> None:
    for adcode, name, prefecture in ((MINE, "测试东县", "测试东市"), (MINE_TOO, "测试西县", "测试东市"),
                                     (THEIRS, "测试南县", "测试南市")):
        provision_county(database_url, adcode, name, "第三测试省", prefecture=prefecture, province_code=PROVINCE,
                         centroid=(25.0, 105.0))
        for n in range(2 if adcode == MINE else 1):
            run(api, adcode, household(f"{adcode}101201", f"户{n}", f"prefecture-{adcode}-{n}", 25.0))
    await wait_for_projections(database_url, MINE, MINE_TOO, THEIRS)


async def test_a_prefecture_viewer_knows_its_province_and_prefecture(api, prefecture):
    viewer = await api.client("prefecture_viewer")
    me = (await viewer.get("/api/v1/me")).json()
    assert (me["roles"], me["county"], me["province"], me["prefecture"]) == (
        ["prefecture_viewer"], None, PROVINCE, PREFECTURE)
    about = (await viewer.get("/api/v1/province/about")).json()
    assert about == {"code": PROVINCE, "name": "第三测试省", "prefecture": {"code": PREFECTURE, "name": "测试东市"}}


async def test_a_prefecture_viewer_sees_its_own_counties_only(api, prefecture):
    viewer = await api.client("prefecture_viewer")
    counties = (await viewer.get("/api/v1/province/counties")).json()["items"]
    assert [county["adcode"] for county in counties] == [MINE, MINE_TOO]
    assert counties[0]["months"][-1]["households"] == 2
    shapes = (await viewer.get("/api/v1/province/map")).json()["counties"]
    assert [shape["adcode"] for shape in shapes] == [MINE, MINE_TOO]
    ranked = (await viewer.get("/api/v1/province/rankings", params={"by": "verified_visits"})).json()["items"]
    assert sorted(item["county"] for item in ranked) == [MINE, MINE_TOO]
    assert [item["rank"] for item in ranked] == [1, 2]
    months = await viewer.get(f"/api/v1/province/counties/{MINE_TOO}/months")
    assert months.status_code == 200 and months.json()["items"][-1]["households"] == 1


async def test_a_province_viewer_of_the_same_province_sees_every_prefecture(api, prefecture, database_url):
    with connect(database_url) as conn:
        ensure_user(conn, "t_province_viewer_930000", roles=["province_viewer"], password=PASSWORD,
                    province=PROVINCE)
    token = (await api.anonymous().post("/api/v1/session", json={"username": "t_province_viewer_930000",
                                                                 "password": PASSWORD})).json()["token"]
    ranked = (await api.anonymous(token=token).get("/api/v1/province/rankings")).json()["items"]
    # (test_openapi.py's fuzz county is in this province too)
    counties = {item["county"] for item in ranked}
    assert {MINE, MINE_TOO, THEIRS} <= counties and all(county.startswith(PROVINCE[:2]) for county in counties)


@pytest.mark.parametrize("adcode", [THEIRS, COUNTY_A, "930199", "999999"])
async def test_a_county_outside_the_prefecture_answers_403_and_names_nothing_of_it(api, prefecture, adcode):
    viewer = await api.client("prefecture_viewer")
    response = await viewer.get(f"/api/v1/province/counties/{adcode}/months")
    if adcode.startswith(PREFECTURE[:4]):  # in the prefecture but never provisioned
        assert response.status_code == 404
        return
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/outside-prefecture")
    assert "测试南县" not in response.text and "测试南市" not in response.text


@pytest.mark.parametrize("path", ["/api/v1/completeness", "/api/v1/completeness/households", "/api/v1/coverage",
                                  "/api/v1/issues", "/api/v1/leaderboards/cadres"])
async def test_a_prefecture_viewer_gets_no_county_data(api, prefecture, path):
    viewer = await api.client("prefecture_viewer")
    response = await viewer.get(path)
    assert response.status_code == 403, response.text


@pytest.mark.parametrize("fields, says", [
    ({"prefecture": "9301"}, "--prefecture"),
    ({"prefecture": "930000"}, "--prefecture"),  # a province's code, not a prefecture's
    ({"prefecture": "930100", "county": COUNTY_A}, "--prefecture"),
    ({"prefecture": "930100", "province": "910000"}, "not in province"),
    ({}, "--prefecture"),
])
def test_a_prefecture_viewer_account_needs_one_prefecture_and_no_county(database_url, fields, says):
    with connect(database_url) as conn, pytest.raises(InvalidUser, match=says):
        ensure_user(conn, f"t_bad_{uuid.uuid4().hex[:8]}", roles=["prefecture_viewer"], password=PASSWORD, **fields)


def test_prefecture_is_for_prefecture_viewers_only(database_url):
    with connect(database_url) as conn, pytest.raises(InvalidUser, match="prefecture_viewer only"):
        ensure_user(conn, "t_bad_admin", roles=["county_admin"], password=PASSWORD, county=COUNTY_A,
                    prefecture="930100")
