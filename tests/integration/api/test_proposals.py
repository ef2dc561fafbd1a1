"""Household proposals: a cadre proposes a missing household through POST /api/v1/sync (as the phone's
outbox sends it, offline first); the county office lists the pending ones and confirms (registers the
household), merges (into one on record) or refuses (with a reason), each audited; personal fields sealed."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.domain import NotFound
from services.storage.database import connect

from .conftest import COUNTY_A
from .test_queries import wait_for_projections

TOWNSHIP = COUNTY_A + "001"


def proposal(head_name: str, **changes) -> dict:
    payload = {"village": TOWNSHIP + "001", "township": TOWNSHIP, "address": "五组 8 号", "lat": 18.65, "lon": 109.71,
               "size": 2, "head_name": head_name, "phone": "13812345678", "notes": "独居老人",
               "tags": ["empty_nest_elderly"], "occurred_at": datetime.now(UTC).isoformat()}
    return {"id": str(uuid.uuid4()), "type": "propose_household", "payload": {**payload, **changes}}


async def propose(api, database_url, head_name: str) -> dict:
    entry = proposal(head_name)
    response = await (await api.client("cadre")).post("/api/v1/sync", json={"device_id": "phone-p",
                                                                            "commands": [entry]})
    assert response.status_code == 200 and response.json()["results"][0]["status"] == "applied", response.text
    await wait_for_projections(database_url, COUNTY_A)
    return entry


async def pending(admin, state: str = "pending") -> dict[str, dict]:
    response = await admin.get("/api/v1/proposals", params={"state": state, "limit": 500})
    assert response.status_code == 200, response.text
    return {item["proposal_id"]: item for item in response.json()["items"]}


def audit_lines(database_url: str, action: str, proposal_id: str) -> int:
    with connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM core.audit_log WHERE action = %s AND detail->>'proposal_id' = %s",
                            (action, proposal_id)).fetchone()[0]


async def test_a_cadre_s_proposal_is_stored_sealed_once_and_listed_for_the_admin(api, database_url):
    entry = proposal("申报甲")
    cadre = await api.client("cadre")
    for _ in range(2):  # the outbox resends: one proposal
        response = await cadre.post("/api/v1/sync", json={"device_id": "phone-p", "commands": [entry]})
        assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "duplicate"
    with connect(database_url) as conn:
        stored = conn.execute(f"SELECT state FROM county_{COUNTY_A}.county_events WHERE originator_id = %s",
                              (uuid.UUID(entry["id"]),)).fetchall()
    assert len(stored) == 1
    assert "申报甲".encode() not in bytes(stored[0][0]) and b"13812345678" not in bytes(stored[0][0])
    await wait_for_projections(database_url, COUNTY_A)
    item = (await pending(await api.client("county_admin")))[entry["id"]]
    assert (item["head_name"], item["phone"], item["notes"], item["address"]) == ("申报甲", "13812345678", "独居老人",
                                                                                "五组 8 号")
    assert (item["state"], item["proposed_by"], item["tags"]) == ("pending", str(api.account("cadre").user.cadre_id),
                                                                  ["empty_nest_elderly"])
    with connect(database_url) as conn:  # the admin's read of personal fields is logged
        assert conn.execute("SELECT count(*) FROM core.audit_log WHERE action = 'household.read'"
                            " AND detail->'household_ids' ? %s", (item["household_id"],)).fetchone()[0] >= 1


async def test_confirming_registers_the_household_with_the_proposal_s_fields(api, database_url):
    entry = await propose(api, database_url, "申报乙")
    admin = await api.client("county_admin")
    household_id = (await pending(admin))[entry["id"]]["household_id"]
    response = await admin.post(f"/api/v1/proposals/{entry['id']}/confirm", json={"expected_version": 1})
    assert response.status_code == 200, response.text
    household = api.county_apps.get(COUNTY_A).household(uuid.UUID(household_id))
    assert (household["head_name"], household["phone"], household["address"], household["village"],
            household["size"], household["tags"]) == ("申报乙", "13812345678", "五组 8 号", TOWNSHIP + "001", 2,
                                                      ["empty_nest_elderly"])
    await wait_for_projections(database_url, COUNTY_A)
    assert entry["id"] not in await pending(admin)
    assert (await pending(admin, "confirmed"))[entry["id"]]["state"] == "confirmed"
    assert audit_lines(database_url, "proposal.confirmed", entry["id"]) == 1
    again = await admin.post(f"/api/v1/proposals/{entry['id']}/confirm", json={"expected_version": 2})
    assert again.status_code == 422 and again.json()["type"].endswith("/rejected")
    assert audit_lines(database_url, "proposal.confirmed", entry["id"]) == 1


async def test_merging_closes_the_proposal_pointing_to_the_household_on_record(api, database_url):
    entry = await propose(api, database_url, "申报丙")
    on_record = api.household()
    admin = await api.client("county_admin")
    proposed = (await pending(admin))[entry["id"]]["household_id"]
    response = await admin.post(f"/api/v1/proposals/{entry['id']}/merge",
                                json={"expected_version": 1, "household_id": str(on_record)})
    assert response.status_code == 200, response.text
    with pytest.raises(NotFound):  # no second household
        api.county_apps.get(COUNTY_A).household(uuid.UUID(proposed))
    await wait_for_projections(database_url, COUNTY_A)
    item = (await pending(admin, "merged"))[entry["id"]]
    assert (item["state"], item["merged_into"]) == ("merged", str(on_record))
    assert audit_lines(database_url, "proposal.merged", entry["id"]) == 1


async def test_merging_into_a_household_that_is_not_on_record_is_refused(api, database_url):
    entry = await propose(api, database_url, "申报丁")
    admin = await api.client("county_admin")
    response = await admin.post(f"/api/v1/proposals/{entry['id']}/merge",
                                json={"expected_version": 1, "household_id": str(uuid.uuid4())})
    assert response.status_code in (404, 422) and response.json()["detail_zh"]
    assert audit_lines(database_url, "proposal.merged", entry["id"]) == 0


async def test_refusing_keeps_the_reason_sealed_and_audits_it(api, database_url):
    entry = await propose(api, database_url, "申报戊")
    admin = await api.client("county_admin")
    blank = await admin.post(f"/api/v1/proposals/{entry['id']}/refuse", json={"expected_version": 1, "reason": " "})
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "reason"
    response = await admin.post(f"/api/v1/proposals/{entry['id']}/refuse",
                                json={"expected_version": 1, "reason": "申报戊已迁往外县"})
    assert response.status_code == 200, response.text
    await wait_for_projections(database_url, COUNTY_A)
    assert (await pending(admin, "refused"))[entry["id"]]["reason"] == "申报戊已迁往外县"
    with connect(database_url) as conn:
        stored = conn.execute(f"SELECT state FROM county_{COUNTY_A}.county_events WHERE originator_id = %s"
                              " AND originator_version = 2", (uuid.UUID(entry["id"]),)).fetchone()[0]
    assert "申报戊已迁往外县".encode() not in bytes(stored)
    assert audit_lines(database_url, "proposal.refused", entry["id"]) == 1


async def test_only_cadres_propose_and_only_admins_decide(api, database_url):
    admin_entry = proposal("申报己")
    response = await (await api.client("county_admin")).post("/api/v1/sync", json={"device_id": "admin",
                                                                                   "commands": [admin_entry]})
    assert response.json()["results"][0]["status"] == "rejected"
    entry = await propose(api, database_url, "申报庚")
    for role in ("cadre", "department"):
        client = await api.client(role)
        assert (await client.post(f"/api/v1/proposals/{entry['id']}/confirm",
                                  json={"expected_version": 1})).status_code == 403
        assert (await client.get("/api/v1/proposals")).status_code == 403


async def test_a_proposal_with_bad_fields_is_rejected_with_reasons_and_nothing_stored(api, database_url):
    entry = proposal("", size=0, village="99")
    response = await (await api.client("cadre")).post("/api/v1/sync", json={"device_id": "phone-p",
                                                                            "commands": [entry]})
    [result] = response.json()["results"]
    assert result["status"] == "rejected"
    assert all(name in result["reason"]["en"] for name in ("head_name", "size", "village"))
    with connect(database_url) as conn:
        assert conn.execute(f"SELECT count(*) FROM county_{COUNTY_A}.county_events WHERE originator_id = %s",
                            (uuid.UUID(entry["id"]),)).fetchone()[0] == 0


async def test_an_unknown_state_or_cursor_is_a_422(api):
    admin = await api.client("county_admin")
    assert (await admin.get("/api/v1/proposals", params={"state": "lost"})).status_code == 422
    assert (await admin.get("/api/v1/proposals", params={"after": "yesterday"})).status_code == 422


async def test_erasing_the_confirmed_household_erases_the_proposal_s_copy_too(api, database_url):
    entry = await propose(api, database_url, "申报辛")
    admin = await api.client("county_admin")
    household_id = (await pending(admin))[entry["id"]]["household_id"]
    assert (await admin.post(f"/api/v1/proposals/{entry['id']}/confirm",
                             json={"expected_version": 1})).status_code == 200
    erased = await admin.delete(f"/api/v1/households/{household_id}/personal-data", params={"reason": "本人申请删除"})
    assert erased.status_code == 200, erased.text
    await wait_for_projections(database_url, COUNTY_A)
    item = (await pending(admin, "confirmed"))[entry["id"]]
    assert (item["head_name"], item["phone"], item["address"], item["erased"]) == (None, None, None, True)


def test_a_sync_of_confirmations_is_saved_in_batches_that_fit_one_save():
    from services.county import _batches
    from services.domain import commands as c
    from services.storage.recorder import MAX_EVENTS_PER_SAVE

    confirms = [c.ConfirmProposal(command_id=uuid.uuid4(), proposal_id=uuid.uuid4(), expected_version=1)
                for _ in range(400)]
    chunks = list(_batches(confirms))
    assert [index for chunk in chunks for index, _ in chunk] == list(range(400))
    assert all(len(chunk) * 3 <= MAX_EVENTS_PER_SAVE for chunk in chunks) and len(chunks) == 3
