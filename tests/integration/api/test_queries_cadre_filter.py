"""The completeness table's cadre filter: exactly the households the cadre answers for.

A cadre answers for the households they are paired with and those of their township (the due list's
definition, `projections.completeness.responsibility`). This module writes its own small world in
townships no other test uses: the cadre's township with two households, a second township with a
household paired to the cadre, one whose pairing ended, and one nobody is paired with.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from services.domain import commands as c
from tests.integration.api.conftest import COUNTY_A
from tests.integration.api.test_queries import household, run, seeded, sid, wait_for_projections  # noqa: F401

OWN_TOWNSHIP, OTHER_TOWNSHIP = f"{COUNTY_A}171", f"{COUNTY_A}172"
OWN_VILLAGE, OTHER_VILLAGE = f"{OWN_TOWNSHIP}201", f"{OTHER_TOWNSHIP}201"


@pytest.fixture(scope="module")
async def world(api, database_url) -> dict:
    today = date.today()
    cadre = uuid.UUID(run(api, COUNTY_A, c.EnrolCadre(command_id=sid("cf-cadre"), name="筛选干部", rank="staff",
                                                          unit="县委组织部", township=OWN_TOWNSHIP))["id"])
    own = [uuid.UUID(run(api, COUNTY_A, household(OWN_VILLAGE, name, key, 18.70))["id"])
           for name, key in (("甲一", "cf-own-1"), ("甲二", "cf-own-2"))]
    paired, ended, stranger = (uuid.UUID(run(api, COUNTY_A, household(OTHER_VILLAGE, name, key, 18.80))["id"])
                               for name, key in (("乙一", "cf-paired"), ("乙二", "cf-ended"), ("乙三", "cf-none")))
    for target, key in ((paired, "cf-pair-1"), (ended, "cf-pair-2")):
        pairing = run(api, COUNTY_A, c.FormPairing(command_id=sid(key), cadre_id=cadre, target_kind="household",
                                                   target_id=str(target), programme="结对帮扶",
                                                   formed_on=today - timedelta(days=1)))
        if target == ended:
            run(api, COUNTY_A, c.EndPairing(command_id=sid("cf-end"), expected_version=1,
                                            pairing_id=uuid.UUID(pairing["id"]), reason="调整结对", ended_on=today))
    await wait_for_projections(database_url, COUNTY_A)
    return {"cadre": cadre, "own": own, "paired": paired, "ended": ended, "stranger": stranger}


async def households_of(admin, **params) -> list[dict]:
    response = await admin.get("/api/v1/completeness/households", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])  # one page holds them all
    return body["items"]


async def test_the_cadre_filter_gives_the_paired_households_and_the_cadres_townships(api, world):
    admin = await api.client("county_admin")
    filtered = {item["household_id"] for item in await households_of(admin, cadre=str(world["cadre"]))}
    # Independently: every household of the county, kept when in the cadre's township or paired now.
    everyone = await households_of(admin)
    pairings = (await admin.get("/api/v1/pairings", params={"cadre_id": str(world["cadre"]), "limit": 500})).json()
    paired_now = {p["target_id"] for p in pairings["items"] if p["target_kind"] == "household"}
    expected = {item["household_id"] for item in everyone
                if item["township"] == OWN_TOWNSHIP or item["household_id"] in paired_now}
    assert filtered == expected
    assert filtered == {str(h) for h in (*world["own"], world["paired"])}
    assert str(world["ended"]) not in filtered and str(world["stranger"]) not in filtered


async def test_the_cadre_filter_combines_with_the_township_and_status_filters(api, world):
    admin = await api.client("county_admin")
    in_other = await households_of(admin, cadre=str(world["cadre"]), township=OTHER_TOWNSHIP)
    assert [item["household_id"] for item in in_other] == [str(world["paired"])]
    everything = await households_of(admin, cadre=str(world["cadre"]))
    for status in ("ok", "due", "overdue"):
        assert await households_of(admin, cadre=str(world["cadre"]), status=status) == [
            item for item in everything if item["status"] == status]


async def test_the_cadre_filter_as_of_a_day_before_the_cadre_was_enrolled_is_empty(api, world):
    admin = await api.client("county_admin")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert await households_of(admin, cadre=str(world["cadre"]), as_of=yesterday) == []


async def test_a_cadre_of_another_county_is_404_and_a_malformed_id_422(api, world, seeded):  # noqa: F811
    admin = await api.client("county_admin")
    other = await admin.get("/api/v1/completeness/households", params={"cadre": str(seeded.cadre_b)})
    assert other.status_code == 404 and other.json()["detail_zh"]
    bad = await admin.get("/api/v1/completeness/households", params={"cadre": "nope"})
    assert bad.status_code == 422 and bad.json()["detail_zh"]


async def test_a_departed_cadre_answers_for_no_household(api, database_url, world):
    admin = await api.client("county_admin")
    cadre = uuid.UUID(run(api, COUNTY_A, c.EnrolCadre(command_id=sid("cf-leaver"), name="离任干部", rank="staff",
                                                          unit="县委组织部", township=OWN_TOWNSHIP))["id"])
    await wait_for_projections(database_url, COUNTY_A)
    before = {item["household_id"] for item in await households_of(admin, cadre=str(cadre))}
    assert before >= {str(h) for h in world["own"]}
    run(api, COUNTY_A, c.DepartCadre(command_id=sid("cf-leaver-departs"), expected_version=1, cadre_id=cadre,
                                     reason="调离"))
    await wait_for_projections(database_url, COUNTY_A)
    assert await households_of(admin, cadre=str(cadre)) == []
