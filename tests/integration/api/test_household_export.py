"""`GET /households/{id}/export` (PIPL art. 45): all of one household's data decoded, as JSON or XLSX,
for county admins only, audited; after erasure it shows the household as erased (已删除)."""
from __future__ import annotations

import io
import uuid

import pytest
from openpyxl import load_workbook

from services.ledger import XLSX_MEDIA_TYPE

from .conftest import COUNTY_A, COUNTY_B, Api
from .test_erasure_dump import a_household_with_a_history
from .test_queries import wait_for_projections

EXPORT = "/api/v1/households/{}/export"


def sheets(body: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(body), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def cells(rows: list[tuple]) -> set:
    return {value for row in rows for value in row if value is not None}


async def test_the_export_gives_the_households_record_history_visits_and_issues_decoded(api: Api, database_url):
    household, texts = a_household_with_a_history(api, uuid.uuid4().hex[:8])
    head, phone, notes, address, new_address, note, summary, resolution = texts
    await wait_for_projections(database_url, COUNTY_A)
    admin = await api.client("county_admin")

    response = await admin.get(EXPORT.format(household))
    assert response.status_code == 200, response.text
    data = response.json()
    record = data["household"]
    assert (record["head_name"], record["phone"], record["notes"], record["address"], record["erased"]) == (
        head, phone, notes, new_address, False)
    assert [(c["event"], c["fields"].get("address")) for c in data["history"]] == [
        ("Registered", address), ("Relocated", new_address)]
    assert data["history"][0]["fields"]["head_name"] == head
    [visit] = data["visits"]
    assert (visit["note"], visit["cadre_name"], visit["kind"]) == (note, "测试干部", "home")
    [issue] = data["issues"]
    assert (issue["summary"], issue["resolution"], issue["state"]) == (summary, resolution, "resolved")

    book = await admin.get(EXPORT.format(household), params={"format": "xlsx"})
    assert book.status_code == 200 and book.headers["content-type"] == XLSX_MEDIA_TYPE
    assert "attachment" in book.headers["content-disposition"]
    found = sheets(book.content)
    assert list(found) == ["户基本信息", "走访记录", "问题诉求", "变更记录"]
    assert {head, phone, notes, new_address} <= cells(found["户基本信息"])
    assert note in cells(found["走访记录"]) and {summary, resolution} <= cells(found["问题诉求"])
    assert any(address in str(value) for value in cells(found["变更记录"]))

    asked = await admin.get(EXPORT.format(household), headers={"Accept": XLSX_MEDIA_TYPE})
    assert asked.headers["content-type"] == XLSX_MEDIA_TYPE

    log = (await admin.get("/api/v1/audit", params={"limit": 50})).json()["items"]
    exported = [e for e in log
                if e["action"] == "household.exported" and e["detail"]["household_ids"] == [str(household)]]
    assert sorted(e["detail"]["format"] for e in exported) == ["json", "xlsx", "xlsx"]
    assert all(e["username"] == api.account("county_admin").username for e in exported)


async def test_after_erasure_the_export_shows_the_household_as_erased(api: Api, database_url):
    household, texts = a_household_with_a_history(api, uuid.uuid4().hex[:8])
    await wait_for_projections(database_url, COUNTY_A)
    admin = await api.client("county_admin")
    assert (await admin.delete(f"/api/v1/households/{household}/personal-data",
                               params={"reason": "本人申请删除"})).status_code == 200
    data = (await admin.get(EXPORT.format(household))).json()
    assert data["household"]["erased"] is True
    assert (data["household"]["head_name"], data["household"]["address"]) == (None, None)
    assert [v["note"] for v in data["visits"]] == [None]
    assert [(i["summary"], i["resolution"], i["state"]) for i in data["issues"]] == [(None, None, "resolved")]
    assert all(c["fields"].get("address") is None for c in data["history"])
    found = sheets((await admin.get(EXPORT.format(household), params={"format": "xlsx"})).content)
    everything = set().union(*(cells(rows) for rows in found.values()))
    assert "已删除" in cells(found["户基本信息"]) and "已删除" in cells(found["问题诉求"])
    assert not [t for t in texts if any(t in str(value) for value in everything)]


@pytest.mark.parametrize("role", ["cadre", "department", "operator"])
async def test_only_county_admins_export_a_household(api: Api, role):
    household = api.household()
    assert (await (await api.client(role)).get(EXPORT.format(household))).status_code == 403


async def test_unknown_households_and_formats_are_refused(api: Api):
    admin = await api.client("county_admin")
    assert (await admin.get(EXPORT.format(uuid.uuid4()))).status_code == 404
    assert (await admin.get(EXPORT.format(api.household(COUNTY_B)))).status_code == 404
    assert (await admin.get(EXPORT.format(api.household()), params={"format": "pdf"})).status_code == 422
