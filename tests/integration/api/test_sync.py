"""POST /api/v1/sync: per-command answers, idempotent resends, concurrent resends over real HTTP."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from services.domain import commands as c
from services.domain import receipt_id
from services.storage.database import connect

from .conftest import COUNTY_A, COUNTY_B


def register(api, county: str = COUNTY_A) -> uuid.UUID:
    household_id = uuid.uuid4()
    township = county + "001"
    outcome = api.execute(county, c.RegisterHousehold(
        command_id=household_id, village=township + "001", township=township, address="一组 3 号",
        lat=18.64, lon=109.70, size=3, head_name="王某", tags=["empty_nest_elderly"]))
    assert outcome.status == "applied", outcome
    return household_id


def check_in(household_id, **changes) -> dict:
    payload = {"target_kind": "household", "target_id": str(household_id), "kind": "home",
               "occurred_at": datetime.now(UTC).isoformat(),
               "position": {"lat": 18.64, "lon": 109.70, "accuracy_m": 12.0, "provider": "gps", "is_mock": False},
               "topics": ["health"], "note": "身体还好", "companions": []}
    return {"id": str(uuid.uuid4()), "type": "check_in", "payload": {**payload, **changes}}


def events_of(database_url, county: str, ids) -> int:
    wanted = [uuid.UUID(str(i)) for i in ids]
    wanted += [receipt_id(i) for i in wanted]
    with connect(database_url) as conn:
        return conn.execute(f"SELECT count(*) FROM county_{county}.county_events WHERE originator_id = ANY(%s)",
                            (wanted,)).fetchone()[0]


async def test_a_cadre_s_check_in_is_applied_and_stored_once(api, database_url):
    household = register(api)
    entry = check_in(household)
    response = await (await api.client("cadre")).post("/api/v1/sync", json={"device_id": "phone-1",
                                                                            "commands": [entry]})
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert (result["id"], result["status"]) == (entry["id"], "applied")
    assert result["result"] == {"id": entry["id"], "version": 1}
    assert events_of(database_url, COUNTY_A, [entry["id"]]) == 2  # the visit and its receipt
    visit = api.county_apps.get(COUNTY_A).visit(uuid.UUID(entry["id"]))
    assert visit["cadre_id"] == str(api.account("cadre").user.cadre_id)  # the session's cadre, always


async def test_the_same_batch_sent_five_times_stores_one_set_of_events(api, database_url):
    households = [register(api) for _ in range(3)]
    batch = {"device_id": "phone-2", "commands": [check_in(h) for h in households]}
    client = await api.client("cadre")
    answers = [(await client.post("/api/v1/sync", json=batch)).json()["results"] for _ in range(5)]
    assert [r["status"] for r in answers[0]] == ["applied"] * 3
    for later in answers[1:]:
        assert [r["status"] for r in later] == ["duplicate"] * 3
        assert [r["result"] for r in later] == [r["result"] for r in answers[0]]
    assert events_of(database_url, COUNTY_A, [e["id"] for e in batch["commands"]]) == 6


async def test_concurrent_resends_from_four_phones_over_http_store_one_set_of_events(api, live_server, database_url):
    households = [register(api) for _ in range(5)]
    batch = {"device_id": "phone-3", "commands": [check_in(h) for h in households for _ in range(8)]}
    token = await api.token("cadre")

    async def send() -> list[dict]:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            response = await client.post("/api/v1/sync", json=batch)
            assert response.status_code == 200, response.text
            return response.json()["results"]

    answers = await asyncio.gather(*(send() for _ in range(4)))
    for index, entry in enumerate(batch["commands"]):
        statuses = sorted(answer[index]["status"] for answer in answers)
        assert statuses == ["applied", "duplicate", "duplicate", "duplicate"], (entry["id"], statuses)
        assert len({str(answer[index]["result"]) for answer in answers}) == 1
    assert events_of(database_url, COUNTY_A, [e["id"] for e in batch["commands"]]) == 2 * 40


async def test_a_changed_payload_under_a_used_id_is_a_conflict_and_changes_nothing(api, database_url):
    household = register(api)
    entry = check_in(household)
    client = await api.client("cadre")
    assert (await client.post("/api/v1/sync", json={"commands": [entry]})).json()["results"][0]["status"] == "applied"
    changed = {**entry, "payload": {**entry["payload"], "note": "改过的备注"}}
    [result] = (await client.post("/api/v1/sync", json={"commands": [changed]})).json()["results"]
    assert result["status"] == "conflict"
    assert result["reason"]["zh"] and result["reason"]["en"]
    assert api.county_apps.get(COUNTY_A).visit(uuid.UUID(entry["id"]))["note"] == "身体还好"
    assert events_of(database_url, COUNTY_A, [entry["id"]]) == 2


async def test_an_invalid_command_is_rejected_with_its_fields_and_the_rest_of_the_batch_applies(api):
    household = register(api)
    good, bad = check_in(household), check_in(household, kind="teleport", occurred_at="yesterday")
    response = await (await api.client("cadre")).post("/api/v1/sync", json={"commands": [bad, good]})
    assert response.status_code == 200
    rejected, applied = response.json()["results"]
    assert applied["status"] == "applied"
    assert rejected["status"] == "rejected"
    assert {e["field"] for e in rejected["errors"]} == {"kind", "occurred_at"}
    assert "kind" in rejected["reason"]["en"] and rejected["reason"]["zh"]


@pytest.mark.parametrize("entry, words", [
    ({"type": "teleport", "payload": {}}, "Unknown command type"),
    ({"type": "check_in", "payload": ["not", "an", "object"]}, "payload"),
    ({"type": "check_in", "payload": {"county": "910002"}}, "county"),
])
async def test_malformed_entries_are_rejected_one_by_one(api, entry, words):
    entry = {"id": str(uuid.uuid4()), **entry}
    [result] = (await (await api.client("cadre")).post("/api/v1/sync", json={"commands": [entry]})).json()["results"]
    assert result["status"] == "rejected"
    assert words in result["reason"]["en"]


async def test_a_stale_expected_version_is_a_conflict(api):
    household = register(api)
    entry = {"id": str(uuid.uuid4()), "type": "retag_household",
             "payload": {"household_id": str(household), "expected_version": 7, "tags": ["disabled"]}}
    admin = await api.client("county_admin")
    [result] = (await admin.post("/api/v1/sync", json={"commands": [entry]})).json()["results"]
    assert result["status"] == "conflict"


async def test_a_household_of_another_county_is_not_found_and_nothing_is_written(api, database_url):
    foreign = register(api, COUNTY_B)
    entry = check_in(foreign)
    [result] = (await (await api.client("cadre")).post("/api/v1/sync", json={"commands": [entry]})).json()["results"]
    assert result["status"] == "rejected"
    assert "No such household" in result["reason"]["en"]
    assert events_of(database_url, COUNTY_A, [entry["id"]]) == 0
    assert events_of(database_url, COUNTY_B, [entry["id"]]) == 0


async def test_a_role_the_command_is_not_for_is_rejected(api):
    entry = {"id": str(uuid.uuid4()), "type": "enrol_cadre",
             "payload": {"name": "某某", "rank": "staff", "unit": "组织部"}}
    [result] = (await (await api.client("cadre")).post("/api/v1/sync", json={"commands": [entry]})).json()["results"]
    assert result["status"] == "rejected"
    assert result["reason"]["zh"] == "您的角色无权执行此操作。"


async def test_a_batch_of_more_than_500_commands_is_refused_whole(api):
    household = register(api)
    response = await (await api.client("cadre")).post(
        "/api/v1/sync", json={"commands": [check_in(household) for _ in range(501)]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "commands"


async def test_a_batch_of_500_check_ins_is_answered_in_one_request(api, database_url):
    household = register(api)
    batch = {"commands": [check_in(household) for _ in range(500)]}
    response = await (await api.client("cadre")).post("/api/v1/sync", json=batch)
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["results"]} == {"applied"}
    assert events_of(database_url, COUNTY_A, [e["id"] for e in batch["commands"]]) == 1000


async def test_an_entry_without_an_id_makes_the_batch_malformed(api):
    response = await (await api.client("cadre")).post("/api/v1/sync", json={"commands": [{"type": "check_in",
                                                                                        "payload": {}}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "commands.0.id"


@pytest.mark.parametrize("role", ["province_viewer", "operator"])
async def test_roles_without_field_work_may_not_sync(api, role):
    response = await (await api.client(role)).post("/api/v1/sync", json={"commands": []})
    assert response.status_code == 403


async def test_sync_without_a_session_answers_401(api):
    assert (await api.anonymous().post("/api/v1/sync", json={"commands": []})).status_code == 401
