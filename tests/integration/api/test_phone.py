"""/me/due, /me/households?since=, /me/stats: what the phone caches, in the shapes of docs/contracts.md."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from psycopg.types.json import Jsonb

from projections.base import SHANGHAI
from services.api import phone as phone_module
from services.api.phone import _cursor
from services.county import Actor
from services.domain import commands as c
from services.storage.database import connect
from tests.integration.api.conftest import COUNTY_A
from tests.integration.api.test_queries import (  # noqa: F401 (seeded is a fixture)
    TOWNSHIP,
    VILLAGE_1,
    household,
    login,
    run,
    seeded,
    wait_for_projections,
)

HOUSEHOLD_FIELDS = {"id", "head_name", "phone", "village", "village_name", "township", "township_name", "address",
                    "lat", "lon", "tags", "archived", "erased", "version", "last_visit", "visits_this_year",
                    "open_issues"}
DUE_FIELDS = {"household_id", "head_name", "village", "village_name", "lat", "lon", "reason", "status", "due_date",
              "last_visit", "campaign"}


async def test_my_households_are_my_townships_with_personal_fields_and_figures(api, seeded):
    phone = await login(api, seeded.username)
    response = await phone.get("/api/v1/me/households")
    assert response.status_code == 200
    body = response.json()
    assert body["cursor"]
    by_id = {h["id"]: h for h in body["households"]}
    assert set(by_id) == {str(h) for h in seeded.households}
    assert all(set(h) == HOUSEHOLD_FIELDS for h in body["households"])
    first = by_id[str(seeded.households[0])]
    assert (first["head_name"], first["phone"], first["village"], first["township"]) == (
        "张大山", "13800000000", VILLAGE_1, TOWNSHIP)
    assert (first["visits_this_year"], first["open_issues"], first["tags"]) == (1, 1, ["hardship_resident"])
    assert first["last_visit"] is not None and first["archived"] is False


async def test_since_a_fresh_cursor_nothing_has_changed_and_a_new_visit_brings_its_household(api, seeded,
                                                                                         database_url):
    phone = await login(api, seeded.username)
    before = datetime.now(UTC)
    quiet = (await phone.get("/api/v1/me/households", params={"since": _cursor(before)})).json()
    assert quiet["households"] == []
    as_cadre = Actor(user_id="phone-test", roles=frozenset({"cadre"}), county=COUNTY_A, cadre_id=seeded.cadre)
    run(api, COUNTY_A, c.CheckIn(command_id=uuid.uuid4(), target_kind="household", target_id=str(seeded.households[2]),
                                 kind="chat", occurred_at=before - timedelta(minutes=1)), as_cadre)
    await wait_for_projections(database_url, COUNTY_A)
    changed = (await phone.get("/api/v1/me/households", params={"since": _cursor(before)})).json()
    assert [h["id"] for h in changed["households"]] == [str(seeded.households[2])]
    assert changed["households"][0]["visits_this_year"] == 1


async def test_since_a_cursor_only_changes_in_my_township_come_archived_ones_to_be_dropped(api, seeded,
                                                                                           database_url):
    phone = await login(api, seeded.username)
    before = datetime.now(UTC)
    # Villages of their own (in this cadre's township and in another), so the seeded ones' figures stay.
    home, elsewhere = f"{TOWNSHIP}299", f"{COUNTY_A}173201"
    mine, theirs = (uuid.UUID(run(api, COUNTY_A, household(village, name, f"phone-since-{name}", 18.66))["id"])
                    for village, name in ((home, "赵新"), (elsewhere, "钱远")))
    for household_id in (mine, theirs):  # archived again: the other tests' households stay as seeded
        run(api, COUNTY_A, c.ArchiveHousehold(command_id=uuid.uuid4(), household_id=household_id,
                                              expected_version=1, reason="测试后归档"))
    await wait_for_projections(database_url, COUNTY_A)
    changed = (await phone.get("/api/v1/me/households", params={"since": _cursor(before)})).json()["households"]
    assert [(h["id"], h["archived"], h["head_name"]) for h in changed] == [(str(mine), True, "赵新")]
    assert str(mine) not in {h["id"] for h in (await phone.get("/api/v1/me/households")).json()["households"]}


async def _walk(phone, limit: int, **params) -> list[list[str]]:
    """The ids of each page of /me/households walked with `limit` (at most 50 pages)."""
    pages, after = [], None
    for _ in range(50):
        page = (await phone.get("/api/v1/me/households",
                                params={**params, "limit": limit, **({"after": after} if after else {})})).json()
        pages.append([h["id"] for h in page["households"]])
        after = page["next"]
        if after is None:
            return pages
    raise AssertionError(f"the walk did not end: {pages}")


async def test_my_households_come_a_page_at_a_time_the_same_as_at_once(api, seeded):
    """A township can hold 30,000 households: with `limit` the phone walks it by id, the cadre's pairings in
    other townships on the first page; without and since a cursor too."""
    phone = await login(api, seeded.username)
    for since in ({}, {"since": _cursor(datetime(2020, 1, 1, tzinfo=UTC))}):
        whole = [h["id"] for h in (await phone.get("/api/v1/me/households", params=since)).json()["households"]]
        assert len(whole) >= 3, whole
        for limit in (1, 2):
            pages = await _walk(phone, limit, **since)
            walked = [i for page in pages for i in page]
            assert sorted(walked) == sorted(whole) and len(walked) == len(set(walked)), (since, limit, pages)
            assert len(pages) >= len(whole) // (limit + 1)
            assert all(len(page) <= limit for page in pages[1:])


async def test_a_household_paired_with_me_in_another_township_comes_with_the_first_page(api, seeded, database_url):
    phone = await login(api, seeded.username)
    away = uuid.UUID(run(api, COUNTY_A, household(f"{COUNTY_A}174201", "孙远", "phone-paired-away", 18.67))["id"])
    pairing_id = uuid.UUID(run(api, COUNTY_A, c.FormPairing(
        command_id=uuid.uuid4(), cadre_id=seeded.cadre, target_kind="household", target_id=str(away),
        programme="结穷亲", formed_on="2026-01-05"))["id"])
    try:
        await wait_for_projections(database_url, COUNTY_A)
        whole = [h["id"] for h in (await phone.get("/api/v1/me/households")).json()["households"]]
        assert str(away) in whole
        [first, *_] = await _walk(phone, 1)
        assert str(away) in first
    finally:  # ended again: the other tests' cadre keeps its seeded pairings only
        run(api, COUNTY_A, c.EndPairing(command_id=uuid.uuid4(), pairing_id=pairing_id, expected_version=1,
                                        reason="测试后结束", ended_on=date.today()))
        await wait_for_projections(database_url, COUNTY_A)


async def test_a_cursor_from_elsewhere_is_a_422(api, seeded):
    phone = await login(api, seeded.username)
    response = await phone.get("/api/v1/me/households", params={"since": "not-a-cursor"})
    assert response.status_code == 422 and response.json()["detail_zh"]


async def test_my_due_list_has_the_contract_fields_and_overdue_first(api, seeded):
    phone = await login(api, seeded.username)
    response = await phone.get("/api/v1/me/due")
    assert response.status_code == 200
    items = response.json()["items"]
    assert all(set(item) == DUE_FIELDS for item in items)
    assert all(item["head_name"] for item in items)
    assert [i["status"] for i in items] == sorted((i["status"] for i in items), key=lambda s: s != "overdue")
    # The paired household was visited this quarter: it is not due under its pairing.
    assert not any(i["household_id"] == str(seeded.households[0]) and i["reason"] == "pairing" for i in items)


async def test_my_due_list_comes_a_page_at_a_time_in_its_order(api, seeded):
    phone = await login(api, seeded.username)
    whole = (await phone.get("/api/v1/me/due")).json()
    assert whole["next"] is None and len(whole["items"]) >= 2
    walked, after = [], None
    while True:
        page = (await phone.get("/api/v1/me/due", params={"limit": 1} | ({"after": after} if after else {}))).json()
        assert len(page["items"]) == 1
        walked += page["items"]
        after = page["next"]
        if after is None:
            break
        last = page["items"][-1]
        assert after == f"{last['status']}|{last['due_date']}|{last['household_id']}"
    assert walked == whole["items"]
    for bad in ("nope", "due|2026-02-31|0f8fad5b-d9cb-469f-a165-70867728950e", "due|2026-02-01|not-an-id"):
        response = await phone.get("/api/v1/me/due", params={"after": bad})
        assert response.status_code == 422 and response.json()["detail_zh"], bad
    assert (await phone.get("/api/v1/me/due", params={"limit": 501})).status_code == 422


async def test_my_stats_count_this_months_visits_and_rank_me_in_my_township(api, seeded):
    phone = await login(api, seeded.username)
    stats = (await phone.get("/api/v1/me/stats")).json()
    assert set(stats) == {"month_visits", "verified_visits", "verified_ratio", "township_rank", "township_size"}
    now = datetime.now(SHANGHAI)
    if (now - timedelta(hours=4)).month == now.month:  # the seeded visits are hours old: this month, mostly
        assert stats["month_visits"] >= 2 and stats["verified_visits"] >= 1
        assert 0 < stats["verified_ratio"] < 1
    assert stats["township_rank"] == 1 and stats["township_size"] >= 1


async def test_phone_endpoints_need_a_cadre_account(api, seeded):
    admin = await api.client("county_admin")
    for path in ("/api/v1/me/due", "/api/v1/me/households", "/api/v1/me/stats"):
        assert (await admin.get(path)).status_code == 403, path
        assert (await api.anonymous().get(path)).status_code == 401, path


async def test_one_household_for_the_phone_has_its_visits_with_cadre_names_and_its_issues(api, seeded):
    phone = await login(api, seeded.username)
    response = await phone.get(f"/api/v1/me/households/{seeded.households[0]}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body["household"]) == HOUSEHOLD_FIELDS and body["household"]["head_name"] == "张大山"
    (visit,) = body["visits"]
    assert (visit["id"], visit["cadre_name"], visit["topics"], visit["verified"]) == (
        str(seeded.visit_good), "种子干部", ["生活"], True)
    (issue,) = body["issues"]
    assert issue["id"] == str(seeded.issue_department) and issue["summary"].endswith("村道塌方")
    assert body["household"]["open_issues"] == 1


async def test_a_phone_asking_for_an_unknown_or_foreign_household_gets_404(api, seeded):
    phone = await login(api, seeded.username)
    for some_id in (seeded.household_b, seeded.visit_good, uuid.uuid4()):
        assert (await phone.get(f"/api/v1/me/households/{some_id}")).status_code == 404, some_id


async def test_the_cadre_list_has_the_countys_active_cadres_only(api, seeded):
    phone = await login(api, seeded.username)
    cadres = (await phone.get("/api/v1/me/cadres")).json()["cadres"]
    mine = next(cadre for cadre in cadres if cadre["id"] == str(seeded.cadre))
    assert (mine["name"], mine["rank"], mine["unit"]) == ("种子干部", "staff", "县委组织部")
    assert str(seeded.cadre_b) not in {cadre["id"] for cadre in cadres}


async def test_the_cadre_list_follows_rank_changes_transfers_and_departures(api, seeded, database_url):
    moved, gone = (uuid.UUID(run(api, COUNTY_A, c.EnrolCadre(command_id=uuid.uuid4(), name=name, rank="staff",
                                                              unit="乡政府"))["id"])
                   for name in ("调动干部", "离任干部"))
    run(api, COUNTY_A, c.ChangeRank(command_id=uuid.uuid4(), cadre_id=moved, expected_version=1, rank="section_chief"))
    run(api, COUNTY_A, c.TransferCadre(command_id=uuid.uuid4(), cadre_id=moved, expected_version=2, unit="县委办",
                                       township=TOWNSHIP))
    run(api, COUNTY_A, c.DepartCadre(command_id=uuid.uuid4(), cadre_id=gone, expected_version=1, reason="调离本县"))
    await wait_for_projections(database_url, COUNTY_A)
    phone = await login(api, seeded.username)
    cadres = {cadre["id"]: cadre for cadre in (await phone.get("/api/v1/me/cadres")).json()["cadres"]}
    assert (cadres[str(moved)]["rank"], cadres[str(moved)]["unit"]) == ("section_chief", "县委办")
    assert str(gone) not in cadres
    names = [(cadre["name"], cadre["id"]) for cadre in cadres.values()]
    assert names == sorted(names)


async def test_village_and_township_names_come_from_the_countys_boundary_collection(api, seeded, database_url):
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None,
         "properties": {"level": "township", "code": TOWNSHIP, "name": "测试镇", "parent": COUNTY_A}},
        {"type": "Feature", "geometry": None,
         "properties": {"level": "village", "code": VILLAGE_1, "name": "上村", "parent": TOWNSHIP}},
    ]}
    with connect(database_url) as conn:
        saved = conn.execute("SELECT boundary FROM core.counties WHERE adcode = %s", (COUNTY_A,)).fetchone()[0]
        conn.execute("UPDATE core.counties SET boundary = %s WHERE adcode = %s", (Jsonb(collection), COUNTY_A))
    phone_module._names_cache.clear()
    try:
        phone = await login(api, seeded.username)
        households = (await phone.get("/api/v1/me/households")).json()["households"]
        first = next(h for h in households if h["id"] == str(seeded.households[0]))
        third = next(h for h in households if h["id"] == str(seeded.households[2]))
        assert (first["village_name"], first["township_name"]) == ("上村", "测试镇")
        assert third["village_name"] is None  # a village the collection does not name
    finally:
        with connect(database_url) as conn:
            conn.execute("UPDATE core.counties SET boundary = %s WHERE adcode = %s",
                         (Jsonb(saved) if saved is not None else None, COUNTY_A))
        phone_module._names_cache.clear()
