"""The compliance tables' filters (township, village, cadre, rank, status) on the pairings and interview
lists, and the ledger exports that take the same filters (a download is what the table showed).

This module writes its own small world in townships no other test uses: a staff cadre of township 181
paired with a household there and one in township 182, and a section chief of township 182 paired with
that second household and with a party branch (a target with no place). Filters over the whole county
(rank, status) are checked against the unfiltered list, filtered here in Python.
"""
from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta

import pytest

from services.domain import commands as c
from tests.integration.api.conftest import COUNTY_A
from tests.integration.api.test_exports import sheet_rows
from tests.integration.api.test_queries import household, run, seeded, sid, wait_for_projections  # noqa: F401

T1, T2 = f"{COUNTY_A}181", f"{COUNTY_A}182"
V1, V2 = f"{T1}201", f"{T2}201"


@pytest.fixture(scope="module")
async def world(api, database_url) -> dict:
    yesterday = date.today() - timedelta(days=1)
    staff = uuid.UUID(run(api, COUNTY_A, c.EnrolCadre(command_id=sid("flt-staff"), name="筛选科员", rank="staff",
                                                          unit="县委组织部", township=T1))["id"])
    chief = uuid.UUID(run(api, COUNTY_A, c.EnrolCadre(command_id=sid("flt-chief"), name="筛选科长",
                                                          rank="section_chief", unit="县委组织部", township=T2))["id"])
    h1 = uuid.UUID(run(api, COUNTY_A, household(V1, "丙一", "flt-h1", 18.71))["id"])
    h2 = uuid.UUID(run(api, COUNTY_A, household(V2, "丙二", "flt-h2", 18.72))["id"])

    def pair(key: str, cadre: uuid.UUID, kind: str, target: str) -> str:
        return run(api, COUNTY_A, c.FormPairing(command_id=sid(key), cadre_id=cadre, target_kind=kind,
                                                target_id=target, programme="结对帮扶", formed_on=yesterday))["id"]

    pairings = {
        "staff_h1": pair("flt-p1", staff, "household", str(h1)),
        "staff_h2": pair("flt-p2", staff, "household", str(h2)),
        "chief_h2": pair("flt-p3", chief, "household", str(h2)),
        "chief_branch": pair("flt-p4", chief, "party_branch", "党支部-筛选"),
    }
    await wait_for_projections(database_url, COUNTY_A)
    return {"staff": staff, "chief": chief, "h1": h1, "h2": h2, "pairings": pairings}


async def listed(admin, path: str, **params) -> list[dict]:
    """Every row of a keyset list (following `next`)."""
    items, after = [], None
    while True:
        response = await admin.get(path, params={"limit": 500, **params, **({"after": after} if after else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        after = body["next"]
        if after is None:
            return items


async def pairing_ids(admin, **params) -> set[str]:
    return {p["pairing_id"] for p in await listed(admin, "/api/v1/pairings", **params)}


async def test_pairings_by_township_and_village_are_the_household_targets_there(api, world):
    admin = await api.client("county_admin")
    ids = world["pairings"]
    assert await pairing_ids(admin, township=T1) == {ids["staff_h1"]}
    assert await pairing_ids(admin, village=V2) == {ids["staff_h2"], ids["chief_h2"]}
    assert await pairing_ids(admin, township=T2, cadre_id=str(world["staff"])) == {ids["staff_h2"]}
    # The branch has no place: listed without a place filter, never with one.
    assert ids["chief_branch"] in await pairing_ids(admin, cadre_id=str(world["chief"]))
    rows = {p["pairing_id"]: p for p in await listed(admin, "/api/v1/pairings", township=T2)}
    assert (rows[ids["chief_h2"]]["township"], rows[ids["chief_h2"]]["village"]) == (T2, V2)
    assert rows[ids["chief_h2"]]["rank"] == "section_chief"
    assert (rows[ids["chief_h2"]]["household_id"], rows[ids["chief_h2"]]["head_name"]) == (str(world["h2"]), "丙二")
    [branch] = [p for p in await listed(admin, "/api/v1/pairings", cadre_id=str(world["chief"]))
                if p["target_kind"] == "party_branch"]
    assert branch["household_id"] is None and "head_name" not in branch


async def test_the_rank_and_status_filters_keep_exactly_the_matching_pairings(api, world):
    admin = await api.client("county_admin")
    everything = await listed(admin, "/api/v1/pairings")
    ranks = {cadre["id"]: cadre["rank"] for cadre in (await admin.get("/api/v1/cadres")).json()["cadres"]}
    for rank in ("section_chief", "staff"):
        expected = {p["pairing_id"] for p in everything if ranks.get(p["cadre_id"]) == rank}
        assert await pairing_ids(admin, rank=rank) == expected
    assert world["pairings"]["chief_h2"] in await pairing_ids(admin, rank="section_chief")
    for status in ("ok", "due", "overdue"):
        assert await pairing_ids(admin, rank="staff", status=status) == {
            p["pairing_id"] for p in everything if ranks.get(p["cadre_id"]) == "staff" and p["status"] == status}


async def test_interview_rows_by_township_and_cadre(api, world):
    admin = await api.client("county_admin")
    by_township = await listed(admin, "/api/v1/interviews/cadres", township=T1)
    assert [(row["cadre_id"], row["township"]) for row in by_township] == [(str(world["staff"]), T1)]
    [chief] = await listed(admin, "/api/v1/interviews/cadres", cadre_id=str(world["chief"]))
    assert (chief["cadre_id"], chief["rank"], chief["township"]) == (str(world["chief"]), "section_chief", T2)
    assert await listed(admin, "/api/v1/interviews/cadres", township=T1, rank="section_chief") == []


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/pairings", {"township": "46"}),
    ("/api/v1/pairings", {"village": "abc"}),
    ("/api/v1/pairings", {"rank": "general"}),
    ("/api/v1/interviews/cadres", {"township": "x" * 9}),
    ("/api/v1/interviews/cadres", {"cadre_id": "nope"}),
    ("/api/v1/exports/pairings", {"rank": "general"}),
    ("/api/v1/exports/completeness", {"village": "1"}),
])
async def test_a_malformed_filter_is_422_with_a_reason(api, path, params):
    admin = await api.client("county_admin")
    response = await admin.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail_zh"] and next(iter(params)) in response.text


async def test_the_pairings_export_is_the_filtered_table(api, world):
    admin = await api.client("county_admin")
    response = await admin.get("/api/v1/exports/pairings", params={"village": V2, "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {row["结对编号"] for row in rows} == {world["pairings"]["staff_h2"], world["pairings"]["chief_h2"]}
    assert {(row["户主姓名"], row["乡镇代码"], row["村(社区)代码"]) for row in rows} == {("丙二", T2, V2)}
    assert sorted(row["职级"] for row in rows) == ["一般干部", "正科"]


async def test_the_interview_and_completeness_exports_are_the_filtered_tables(api, world):
    admin = await api.client("county_admin")
    header, *rows = sheet_rows((await admin.get("/api/v1/exports/interviews", params={"township": T2})).content)
    assert [dict(zip(header, row, strict=True))["干部编号"] for row in rows] == [str(world["chief"])]
    header, *rows = sheet_rows((await admin.get("/api/v1/exports/completeness", params={"village": V1})).content)
    listed = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(r["户编号"], r["户主姓名"]) for r in listed] == [(str(world["h1"]), "丙一")]
    table = (await admin.get("/api/v1/completeness/households",
                             params={"cadre": str(world["staff"]), "limit": 500})).json()["items"]
    header, *rows = sheet_rows((await admin.get("/api/v1/exports/completeness",
                                                params={"cadre": str(world["staff"])})).content)
    exported = sorted(dict(zip(header, row, strict=True))["户编号"] for row in rows)
    assert exported == sorted(h["household_id"] for h in table)
    assert {str(world["h1"]), str(world["h2"])} <= {h["household_id"] for h in table}


async def test_exporting_with_another_countys_cadre_is_404(api, world, seeded):  # noqa: F811
    admin = await api.client("county_admin")
    response = await admin.get("/api/v1/exports/completeness", params={"cadre": str(seeded.cadre_b)})
    assert response.status_code == 404 and response.json()["detail_zh"]


async def test_completeness_households_inside_a_bbox_are_those_placed_there(api, world):
    admin = await api.client("county_admin")
    response = await admin.get("/api/v1/completeness/households",
                               params={"bbox": "109.6,18.705,109.8,18.715", "limit": 500})
    assert response.status_code == 200, response.text
    assert [h["household_id"] for h in response.json()["items"]] == [str(world["h1"])]
    both = await admin.get("/api/v1/completeness/households", params={"bbox": "109.6,18.705,109.8,18.725"})
    assert {h["household_id"] for h in both.json()["items"]} == {str(world["h1"]), str(world["h2"])}


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "109.8,18.6,109.6,18.9", "109.6,91,109.8,92", "1,2,3,4,5"])
async def test_a_bbox_that_is_not_a_box_is_422_with_the_form_it_needs(api, bbox):
    admin = await api.client("county_admin")
    response = await admin.get("/api/v1/completeness/households", params={"bbox": bbox})
    assert response.status_code == 422, response.text
    assert "west,south,east,north" in response.text or "west <" in response.text
