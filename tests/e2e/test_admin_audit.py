"""The quota shortfall table and the visit audit in Debian's Chromium against the real server: the table
equals the API and its ledger the filtered table; the audit's filters, a cadre's work log, and voiding a
false visit with a reason and a confirmation, seen through the API and the audit log."""
from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import httpx
import openpyxl
import pytest
from playwright.sync_api import Page, expect

from .admin_seed import ADMIN, CADRE, VILLAGE, AdminSeeded
from .conftest import Server
from .test_admin_views import api_get, go, log_in, token, wait_until

pytestmark = pytest.mark.e2e


def every(server: Server, bearer: str, path: str, **params) -> list[dict]:
    items, after = [], None
    while True:
        page = api_get(server, bearer, path, limit=500, **params, **({"after": after} if after else {})).json()
        items += page["items"]
        after = page["next"]
        if after is None:
            return items


def test_the_shortfall_table_equals_the_api_and_its_ledger_is_the_filtered_table(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    admin = token(server, ADMIN)
    short = every(server, admin, "/pairings/shortfalls")
    staff = every(server, admin, "/pairings/shortfalls", rank="staff")
    assert staff and len(staff) < len(short)  # the section chief is short too
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/compliance")
    expect(page.locator("body[data-usable=admin-compliance]")).to_be_attached()
    page.get_by_test_id("tab-shortfalls").click()
    expect(page.get_by_test_id("shortfalls-rows")).to_have_text(f"共 {len(short)} 条")
    expect(page.get_by_test_id("shortfalls-table")).to_contain_text("赵东片")
    page.get_by_test_id("shortfalls-filter-rank").select_option("staff")
    expect(page.get_by_test_id("shortfalls-table").locator("tbody tr")).to_have_count(len(staff))
    with page.expect_download() as info:
        page.get_by_test_id("export-shortfalls").click()
    with open(info.value.path(), "rb") as file:
        rows = list(openpyxl.load_workbook(io.BytesIO(file.read())).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("干部编号", "干部", "职级")
    assert [r[0] for r in rows[1:]] == [row["cadre_id"] for row in staff]
    page.screenshot(path=str(artifacts / "admin-8e-shortfalls.png"), full_page=True)


def test_an_admin_audits_visits_reads_a_work_log_and_voids_a_false_visit(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    admin = token(server, ADMIN)
    household = admin_seeded.households[1]
    visit_id = str(uuid.uuid4())
    far = {"lat": household["lat"] + 0.05, "lon": household["lon"], "accuracy_m": 8, "provider": "gps"}
    response = httpx.post(f"{server.url}/api/v1/sync", headers={"Authorization": f"Bearer {token(server, CADRE)}"},
                          json={"device_id": "e2e-audit", "commands": [{"id": visit_id, "type": "check_in", "payload": {
                              "target_kind": "household", "target_id": household["id"], "kind": "home",
                              "occurred_at": datetime.now(UTC).isoformat(), "topics": [], "note": "五公里外打卡",
                              "companions": [], "position": far}}]})
    assert response.json()["results"][0]["status"] == "applied", response.text
    wait_until(lambda: any(r["visit_id"] == visit_id for r in every(server, admin, "/visits/audit",
                                                                   verdict="unverified")), 10)
    cadre = next(c["id"] for c in api_get(server, admin, "/cadres").json()["cadres"] if c["name"] == "赵东片")
    theirs = every(server, admin, "/visits/audit", cadre_id=cadre)
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/visits")
    expect(page.locator("body[data-usable=admin-visits]")).to_be_attached()
    page.get_by_test_id("audit-filter-cadre").select_option(cadre)
    expect(page.get_by_test_id("audit-table").locator("tbody tr")).to_have_count(len(theirs))
    page.get_by_test_id("audit-filter-verdict").select_option("unverified")
    row = page.locator(f"tr[data-visit='{visit_id}']")
    expect(row).to_contain_text("距农户过远")
    expect(row).to_contain_text("老户02")
    # The work log opens from the cadre's name, with their notes.
    row.get_by_role("button", name="赵东片").click()
    expect(page.get_by_test_id("worklog")).to_contain_text("五公里外打卡")
    page.screenshot(path=str(artifacts / "admin-9-visit-audit.png"), full_page=True)
    # A void needs a reason (the form will not send without one) and a confirmation.
    row.get_by_test_id("void-open").click()
    row.get_by_role("button", name="作废").click()
    assert row.get_by_label("作废原因（必填）").evaluate("input => !input.validity.valid")
    dialogs: list[str] = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    row.get_by_label("作废原因（必填）").fill("定位在五公里外，实为电话联系")
    row.get_by_role("button", name="作废").click()
    expect(page.get_by_test_id("void-note")).to_contain_text("已作废")
    assert dialogs and "确认作废" in dialogs[0]
    wait_until(lambda: [r["verdict"] for r in every(server, admin, "/visits/audit", verdict="voided")
                        if r["visit_id"] == visit_id] == ["voided"], 10)
    expect(row).to_have_count(0)  # no longer "unverified": the list followed the read model
    entries = api_get(server, admin, "/audit").json()["items"]
    assert any(e["action"] == "visit.voided" and e["detail"] == {"visit_id": visit_id} for e in entries)
    [voided] = [r for r in every(server, admin, "/visits/audit", verdict="voided") if r["visit_id"] == visit_id]
    assert voided["void_reason"] == "定位在五公里外，实为电话联系"  # opened with the household's key


def test_a_households_editor_shows_its_work_log(desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    admin = token(server, ADMIN)
    household = admin_seeded.households[2]  # visited once, in June, by 赵东片
    log = every(server, admin, f"/households/{household['id']}/worklog")
    assert log and all(entry["note"] for entry in log)
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/people")
    expect(page.locator("body[data-usable=admin-people]")).to_be_attached()
    card = page.get_by_test_id("households")
    card.get_by_test_id("households-village").fill(VILLAGE)
    card.locator("tr[data-household=老户03]").get_by_role("button", name="调整").click()
    worklog = card.get_by_test_id("household-editor").get_by_test_id("worklog")
    expect(worklog.locator("article")).to_have_count(len(log))
    expect(worklog).to_contain_text(log[0]["note"])
    page.screenshot(path=str(artifacts / "admin-10-household-worklog.png"), full_page=True)
