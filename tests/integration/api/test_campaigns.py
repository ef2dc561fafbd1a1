"""Festival campaigns over HTTP: a county admin defines one, follows its progress by village, pages
through the households still to visit and downloads them as a ledger; nobody else does."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

from projections.base import SHANGHAI
from services.domain import commands as c

from .conftest import COUNTY_A, COUNTY_B, Api
from .test_queries import wait_for_projections

TOWNSHIP = COUNTY_A + "077"
VILLAGE = TOWNSHIP + "001"


def _home(api: Api, tags: list[str], name: str) -> uuid.UUID:
    return api.household(COUNTY_A, village=VILLAGE, township=TOWNSHIP, tags=tags, head_name=name, lat=18.7, lon=109.8)


async def test_an_admin_defines_a_campaign_and_follows_it_to_the_households_still_to_visit(api: Api, database_url):
    admin = await api.client("county_admin")
    today = datetime.now(SHANGHAI).date()
    window = {"festival": "mid_autumn", "starts_on": (today - timedelta(days=2)).isoformat(),
              "ends_on": (today + timedelta(days=5)).isoformat(), "tags": ["monitored"]}
    made = await admin.post("/api/v1/campaigns", json=window)
    assert made.status_code == 201, made.text
    campaign = made.json()["result"]["id"]
    homes = [_home(api, ["monitored"], name) for name in ("甲户", "乙户", "丙户")]
    _home(api, ["disabled"], "丁户")  # not a target
    visited = c.CheckIn(command_id=uuid.uuid4(), target_kind="household", target_id=str(homes[0]), kind="festival",
                        occurred_at=datetime.now(UTC), position={"lat": 18.7, "lon": 109.8, "accuracy_m": 8,
                                                                 "provider": "gps"})
    assert api.county_apps.get(COUNTY_A).execute(visited, api.cadre_actor()).status == "applied"
    await wait_for_projections(database_url, COUNTY_A)

    listed = (await admin.get("/api/v1/campaigns")).json()["items"]
    assert [(i["festival"], i["state"]) for i in listed if i["campaign_id"] == campaign] == [("mid_autumn", "running")]
    progress = (await admin.get(f"/api/v1/campaigns/{campaign}")).json()
    assert [(v["households"], v["visited"], v["coverage_pct"]) for v in progress["villages"]
            if v["village"] == VILLAGE] == [(3, 1, 33.3)]
    assert any(t["township"] == TOWNSHIP for t in progress["townships"])

    first = (await admin.get(f"/api/v1/campaigns/{campaign}/households", params={"village": VILLAGE, "limit": 1}))
    assert first.status_code == 200, first.text
    second = await admin.get(f"/api/v1/campaigns/{campaign}/households",
                             params={"village": VILLAGE, "limit": 1, "after": first.json()["next"]})
    pages = [*first.json()["items"], *second.json()["items"]]
    assert second.json()["next"] is None
    assert sorted(i["household_id"] for i in pages) == sorted(str(h) for h in homes[1:])
    assert {i["head_name"] for i in pages} == {"乙户", "丙户"}
    # As of yesterday it had not been defined: no such campaign then.
    yesterday = (today - timedelta(days=1)).isoformat()
    for path in (f"/api/v1/campaigns/{campaign}/households", f"/api/v1/campaigns/{campaign}"):
        assert (await admin.get(path, params={"as_of": yesterday})).status_code == 404
    as_of_today = await admin.get(f"/api/v1/campaigns/{campaign}/households",
                                  params={"village": VILLAGE, "as_of": today.isoformat()})
    assert sorted(i["household_id"] for i in as_of_today.json()["items"]) == sorted(str(h) for h in homes[1:])

    # On the cadre's phone, the paired campaign households come marked: one due by its pairing too, one
    # visited this quarter (not festival) that only the campaign makes due.
    cadre = api.cadre_actor().cadre_id
    for home in homes[1:]:
        assert api.execute(COUNTY_A, c.FormPairing(command_id=uuid.uuid4(), cadre_id=cadre, target_kind="household",
                                                   target_id=str(home), programme="结穷亲",
                                                   formed_on=today)).status == "applied"
    chat = c.CheckIn(command_id=uuid.uuid4(), target_kind="household", target_id=str(homes[2]), kind="chat",
                     occurred_at=datetime.now(UTC))
    assert api.county_apps.get(COUNTY_A).execute(chat, api.cadre_actor()).status == "applied"
    await wait_for_projections(database_url, COUNTY_A)
    due = (await (await api.client("cadre")).get("/api/v1/me/due")).json()["items"]
    marked = {i["household_id"]: (i["reason"], i["campaign"]["campaign_id"]) for i in due if i["campaign"]}
    assert marked == {str(homes[1]): ("pairing", campaign), str(homes[2]): ("campaign", campaign)}

    ledger = await admin.get(f"/api/v1/exports/campaigns/{campaign}", params={"village": VILLAGE, "format": "csv"})
    assert ledger.status_code == 200 and "attachment" in ledger.headers["content-disposition"]
    text = ledger.content.decode("utf-8-sig")
    assert "乙户" in text and "丙户" in text and "甲户" not in text and "脱贫监测户" in text
    workbook = await admin.get(f"/api/v1/exports/campaigns/{campaign}")
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"


async def test_the_campaign_ledger_is_written_a_chunk_at_a_time_by_place_and_each_chunk_logged_as_read(
        api: Api, database_url, monkeypatch):
    """A campaign over a whole county (290,000 households) is read, opened and written a chunk at a time, by
    township, village and household, as the completeness ledger is: the same ledger whatever the chunk."""
    from services.api import campaigns as campaign_api

    from .test_exports import sheet_rows
    from .test_personal_reads_audit import reads_of

    admin = await api.client("county_admin")
    today = datetime.now(SHANGHAI).date()
    made = await admin.post("/api/v1/campaigns", json={
        "festival": "spring_festival", "starts_on": (today - timedelta(days=1)).isoformat(),
        "ends_on": (today + timedelta(days=3)).isoformat(), "tags": ["empty_nest_elderly"]})
    campaign = made.json()["result"]["id"]
    other = COUNTY_A + "079"
    for village, township in ((VILLAGE, TOWNSHIP), (other + "002", other), (other + "001", other)):
        for name in ("一户", "二户"):
            api.household(COUNTY_A, village=village, township=township, tags=["empty_nest_elderly"],
                          head_name=name, lat=18.7, lon=109.8)
    await wait_for_projections(database_url, COUNTY_A)
    path = f"/api/v1/exports/campaigns/{campaign}"
    header, *rows = sheet_rows((await admin.get(path)).content)
    assert len(rows) >= 6 and {row[header.index("户主姓名")] for row in rows} >= {"一户", "二户"}
    places = [(row[header.index("乡镇代码")], row[header.index("村(社区)代码")], row[0]) for row in rows]
    assert places == sorted(places)
    monkeypatch.setattr(campaign_api, "LEDGER_CHUNK", 2)
    assert sheet_rows((await admin.get(path)).content) == [header, *rows]
    for index, row in enumerate(rows):  # the newest read of each names the two households of its chunk
        first = index - index % 2
        chunk = sorted(r[0] for r in rows[first:first + 2])
        assert sorted(reads_of(database_url, row[0])[-1]["household_ids"]) == chunk
    lines = list(csv.reader(io.StringIO((await admin.get(path, params={"format": "csv"})).content.decode("utf-8-sig"))))
    assert lines[0] == header and [line[:2] for line in lines[1:]] == [[row[0], row[1]] for row in rows]


async def test_a_window_ending_before_it_starts_is_refused_naming_ends_on(api: Api):
    admin = await api.client("county_admin")
    answer = await admin.post("/api/v1/campaigns", json={
        "festival": "spring_festival", "starts_on": "2027-02-10", "ends_on": "2027-02-01",
        "tags": ["left_behind_child"]})
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["ends_on"]
    assert "2027-02-10" in answer.json()["detail"] and "2027-02-10" in answer.json()["detail_zh"]


async def test_only_the_county_admin_defines_and_reads_campaigns_of_their_own_county(api: Api, database_url):
    admin = await api.client("county_admin")
    made = await admin.post("/api/v1/campaigns", json={
        "festival": "duanwu", "starts_on": "2026-06-15", "ends_on": "2026-06-21", "tags": ["hardship_member"]})
    campaign = made.json()["result"]["id"]
    await wait_for_projections(database_url, COUNTY_A)
    cadre = await api.client("cadre")
    assert (await cadre.post("/api/v1/campaigns", json={
        "festival": "duanwu", "starts_on": "2026-06-15", "ends_on": "2026-06-21", "tags": ["hardship_member"]},
    )).status_code == 403
    assert (await cadre.get(f"/api/v1/campaigns/{campaign}")).status_code == 403
    other = await api.client("county_admin", COUNTY_B)
    for path in (f"/api/v1/campaigns/{campaign}", f"/api/v1/campaigns/{campaign}/households",
                 f"/api/v1/exports/campaigns/{campaign}"):
        assert (await other.get(path)).status_code == 404, path
    assert (await admin.get(f"/api/v1/campaigns/{campaign}")).json()["state"] == "ended"


async def test_completeness_and_coverage_answer_for_the_households_carrying_a_tag(api: Api, database_url):
    admin = await api.client("county_admin")
    township = COUNTY_A + "078"
    village = township + "001"
    child, elder = (api.household(COUNTY_A, village=village, township=township, tags=tags, head_name=name)
                    for tags, name in ((["left_behind_child"], "留守户"), (["empty_nest_elderly"], "空巢户")))
    await wait_for_projections(database_url, COUNTY_A)
    listed = (await admin.get("/api/v1/completeness/households",
                              params={"village": village, "tag": "left_behind_child"})).json()
    assert [h["household_id"] for h in listed["items"]] == [str(child)] and listed["total"] == 1
    everyone = (await admin.get("/api/v1/completeness/households", params={"village": village})).json()
    assert {h["household_id"] for h in everyone["items"]} == {str(child), str(elder)}
    shares = (await admin.get("/api/v1/completeness", params={"tag": "left_behind_child"})).json()
    assert any(t["township"] == township and t["households"] == 1 for t in shares["townships"])
    mapped = (await admin.get("/api/v1/coverage", params={"level": "township", "tag": "left_behind_child"})).json()
    assert [f["properties"]["households"] for f in mapped["features"] if f["id"] == township] == [1]
    ledger = await admin.get("/api/v1/exports/completeness", params={"village": village, "tag": "left_behind_child",
                                                                      "format": "csv"})
    assert "留守户" in ledger.content.decode("utf-8-sig") and "空巢户" not in ledger.content.decode("utf-8-sig")
    refused = await admin.get("/api/v1/completeness", params={"tag": "orphan"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"].endswith("tag")
