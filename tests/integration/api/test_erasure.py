"""Erasure (PIPL art. 47): `DELETE /households/{id}/personal-data` by a county admin, with a reason that
goes to the audit log; the household then reads as erased while its events and record remain."""
from __future__ import annotations

import uuid

import pytest

from .conftest import COUNTY_A, COUNTY_B, Api

ERASE = "/api/v1/households/{}/personal-data"


async def erase(api: Api, household_id, reason: str | None = "本人申请删除", role: str = "county_admin",
                county: str = COUNTY_A):
    client = await api.client(role, county)
    return await client.delete(ERASE.format(household_id), params={} if reason is None else {"reason": reason})


async def test_an_admin_erases_a_household_its_record_reads_as_erased_and_the_log_says_who_and_why(api: Api):
    household = api.household(head_name="林阿婆", phone="13912345678", notes="低保户")
    visit = api.visit(household_id=household)
    admin = await api.client("county_admin")
    before = (await admin.get(f"/api/v1/households/{household}")).json()
    assert (before["head_name"], before["erased"]) == ("林阿婆", False)

    response = await erase(api, household)
    assert response.status_code == 200, response.text
    assert response.json() == {"household_id": str(household), "erased": True, "already_erased": False}

    after = (await admin.get(f"/api/v1/households/{household}")).json()
    assert (after["head_name"], after["phone"], after["notes"], after["erased"]) == (None, None, None, True)
    assert (after["village"], after["tags"]) == (before["village"], before["tags"])  # the record remains
    assert [v["visit_id"] for v in after["visits"]] in ([], [str(visit)])  # the projector may lag; events stay
    assert api.county_apps.get(COUNTY_A).visit(visit)["note_erased"] is True

    log = (await admin.get("/api/v1/audit", params={"limit": 20})).json()["items"]
    entry = next(e for e in log if e["action"] == "household.erased" and e["detail"]["household_id"] == str(household))
    assert entry["username"] == api.account("county_admin").username
    assert entry["detail"]["reason"] == "本人申请删除" and entry["detail"]["already_erased"] is False


async def test_erasing_again_is_a_clear_answer_not_an_error(api: Api):
    household = api.household()
    assert (await erase(api, household)).status_code == 200
    again = await erase(api, household, reason="重复申请")
    assert again.status_code == 200, again.text
    assert again.json()["already_erased"] is True


@pytest.mark.parametrize("reason", [None, "", "   "])
async def test_a_reason_is_required(api: Api, reason):
    household = api.household(head_name="赵某")
    response = await erase(api, household, reason=reason)
    assert response.status_code == 422, response.text
    assert "reason" in response.text
    assert api.county_apps.get(COUNTY_A).household(household)["head_name"] == "赵某"  # nothing erased


@pytest.mark.parametrize("role", ["cadre", "department", "operator"])
async def test_only_county_admins_erase(api: Api, role):
    household = api.household(head_name="钱某")
    response = await erase(api, household, role=role)
    assert response.status_code == 403, response.text
    assert api.county_apps.get(COUNTY_A).household(household)["head_name"] == "钱某"


async def test_an_unknown_or_another_countys_household_is_404(api: Api):
    assert (await erase(api, uuid.uuid4())).status_code == 404
    theirs = api.household(COUNTY_B, head_name="孙某")
    assert (await erase(api, theirs)).status_code == 404  # as county A's admin
    assert api.county_apps.get(COUNTY_B).household(theirs)["head_name"] == "孙某"


async def test_a_phone_that_cached_the_household_learns_of_the_erasure_at_its_next_sync(api: Api, database_url):
    from datetime import UTC, datetime

    from services.api.phone import _cursor
    from services.domain import commands as c

    from .test_queries import wait_for_projections

    household = api.household(head_name="冯阿公", phone="13711112222")
    cadre_id = api.account("cadre").user.cadre_id
    assert api.execute(COUNTY_A, c.FormPairing(command_id=uuid.uuid4(), cadre_id=cadre_id, target_kind="household",
                                               target_id=str(household), programme="结穷亲",
                                               formed_on="2026-01-05")).status == "applied"
    await wait_for_projections(database_url, COUNTY_A)
    phone = await api.client("cadre")
    cached = {h["id"]: h for h in (await phone.get("/api/v1/me/households")).json()["households"]}
    assert (cached[str(household)]["head_name"], cached[str(household)]["erased"]) == ("冯阿公", False)
    cursor = _cursor(datetime.now(UTC))

    assert (await erase(api, household)).status_code == 200
    delta = {h["id"]: h for h in (await phone.get("/api/v1/me/households", params={"since": cursor})).json()[
        "households"]}
    assert str(household) in delta
    record = delta[str(household)]
    assert (record["head_name"], record["phone"], record["address"], record["erased"]) == (None, None, None, True)


async def test_lists_open_heads_from_the_registers_sealed_copy_and_an_erasure_reaches_it(api: Api, database_url):
    import asyncpg

    from services.api.reading import open_heads
    from services.storage.names import county_schema
    from tests.integration.api.test_queries import wait_for_projections

    erased, kept = api.household(head_name="周阿婆", phone="13600000000"), api.household(head_name="吴阿公")
    await wait_for_projections(database_url, COUNTY_A)
    conn = await asyncpg.connect(database_url)
    try:
        heads = await open_heads(conn, county_schema(COUNTY_A), [erased, kept, uuid.uuid4()])
        assert {h: (p.head_name, p.erased) for h, p in heads.items()} == {
            erased: ("周阿婆", False), kept: ("吴阿公", False)}  # an unknown id is left out
        assert heads[erased].phone == "13600000000"
        assert (await erase(api, erased)).status_code == 200
        heads = await open_heads(conn, county_schema(COUNTY_A), [erased, kept])
        assert {h: (p.head_name, p.erased) for h, p in heads.items()} == {
            erased: (None, True), kept: ("吴阿公", False)}
    finally:
        await conn.close()
