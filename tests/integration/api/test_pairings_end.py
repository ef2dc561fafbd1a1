"""Pairings end with their household or cadre, over HTTP: archiving a household or recording a cadre's
departure ends its pairings (GET /pairings/{id} says why), and GET /pairings/needing-cadre lists the
households whose cadre departed, until they are paired again."""
from __future__ import annotations

import uuid

from .conftest import COUNTY_A
from .test_queries import wait_for_projections


async def _pairing(api) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    cadre, household = api.cadre(), api.household()
    outcome = await (await api.client("county_admin")).post("/api/v1/pairings", json={
        "cadre_id": str(cadre), "target_kind": "household", "target_id": str(household), "programme": "结穷亲",
        "formed_on": "2026-01-05"})
    assert outcome.status_code == 201, outcome.text
    return uuid.UUID(outcome.json()["result"]["id"]), cadre, household


async def test_archiving_a_household_ends_its_pairing_and_says_why(api, database_url):
    pairing_id, _, household = await _pairing(api)
    admin = await api.client("county_admin")
    archived = await admin.post(f"/api/v1/households/{household}/archive",
                                json={"reason": "迁出", "expected_version": 1})
    assert archived.status_code == 200, archived.text
    await wait_for_projections(database_url, COUNTY_A)
    detail = (await admin.get(f"/api/v1/pairings/{pairing_id}")).json()
    assert detail["ended_reason"] == "household_archived" and detail["ended_on"] is not None
    active = {i["pairing_id"] for i in (await admin.get("/api/v1/pairings", params={"limit": 500})).json()["items"]}
    assert str(pairing_id) not in active
    needing = (await admin.get("/api/v1/pairings/needing-cadre", params={"limit": 500})).json()["items"]
    assert str(household) not in {i["household_id"] for i in needing}


async def test_a_cadres_departure_ends_their_pairings_and_lists_the_household_until_paired_again(api, database_url):
    pairing_id, cadre, household = await _pairing(api)
    admin = await api.client("county_admin")
    departed = await admin.post(f"/api/v1/cadres/{cadre}/depart", json={"reason": "调离", "expected_version": 1})
    assert departed.status_code == 200, departed.text
    await wait_for_projections(database_url, COUNTY_A)
    assert (await admin.get(f"/api/v1/pairings/{pairing_id}")).json()["ended_reason"] == "cadre_departed"
    needing = (await admin.get("/api/v1/pairings/needing-cadre", params={"limit": 500})).json()["items"]
    [mine] = [i for i in needing if i["household_id"] == str(household)]
    assert (mine["pairing_id"], mine["ended_reason"], mine["head_name"]) == (str(pairing_id), "cadre_departed", "王某")

    again = await admin.post("/api/v1/pairings", json={
        "cadre_id": str(api.cadre()), "target_kind": "household", "target_id": str(household),
        "programme": "结穷亲", "formed_on": "2026-07-20"})
    assert again.status_code == 201, again.text
    await wait_for_projections(database_url, COUNTY_A)
    needing = (await admin.get("/api/v1/pairings/needing-cadre", params={"limit": 500})).json()["items"]
    assert str(household) not in {i["household_id"] for i in needing}


async def test_a_pairing_of_no_such_id_answers_404(api):
    response = await (await api.client("county_admin")).get(f"/api/v1/pairings/{uuid.uuid4()}")
    assert response.status_code == 404
