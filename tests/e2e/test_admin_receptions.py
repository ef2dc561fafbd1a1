"""The reception days page (接访日) and the stays tab (蹲点) in Debian's Chromium against the real server
(conftest.py): an admin sets a monthly reception day for a cadre, records the reception of this month's
day (its issue enters the issue ledger), sees every earlier month's day flagged missed, downloads the
reception ledger, changes the schedule to a weekly day from today (the earlier months keep their verdicts;
a change from yesterday is refused with its reason), ends it; the stays tab shows a cadre's days stayed as
the API counts them."""
from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from playwright.sync_api import Page, expect

from .admin_seed import ADMIN, CADRE, VILLAGE, AdminSeeded
from .conftest import Server
from .test_admin_views import api_get, go, log_in, token, wait_until

pytestmark = pytest.mark.e2e

PLACE = "测试三村联系点"


def test_an_admin_sets_reception_days_records_one_and_sees_the_missed_ones(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    page = desktop
    bearer = token(server, ADMIN)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the browser's and the report's day
    cadre_id = next(c["id"] for c in api_get(server, bearer, "/cadres").json()["cadres"] if c["name"] == "赵东片")
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/receptions")
    expect(page.locator("body[data-usable=admin-receptions]")).to_be_attached()

    page.get_by_test_id("schedule-new").click()
    form = page.get_by_test_id("schedule-form")
    form.locator("select[name=receiver]").select_option(f"cadre:{cadre_id}")
    form.get_by_label("接访地点").fill(PLACE)
    form.get_by_label("周期").select_option("monthly")
    form.get_by_label("接访日").fill("1")
    form.get_by_label("开始日期").fill(f"{today.year}-01-01")
    page.get_by_test_id("schedule-submit").click()
    expect(page.get_by_test_id("receptions-note")).to_have_text("已保存接访日安排。")
    schedule = page.locator(f"tr[data-place={PLACE}]")
    expect(schedule).to_contain_text("每月1日")

    page.get_by_test_id("reception-new").click()
    held = page.get_by_test_id("reception-form")
    held.locator("select[name=receiver_id]").select_option(cadre_id)
    held.get_by_label("接访时间").fill(f"{today.year}-{today.month:02d}-01T08:00")
    held.get_by_label("接访地点").fill(PLACE)
    if held.locator("input[name=village]").count():  # the county's places have no names: a code field
        held.locator("input[name=village]").fill(VILLAGE)
    else:
        held.locator("select[name=village]").select_option(VILLAGE)
    held.get_by_label("接待群众（人）").fill("7")
    held.get_by_label("反映问题").fill("村道路灯损坏")
    page.get_by_test_id("reception-submit").click()
    expect(page.get_by_test_id("receptions-note")).to_have_text("已登记接访。")
    expect(page.locator(f"tr[data-reception={PLACE}]")).to_contain_text("7")

    # Every earlier month's first day went without a reception (the cadre was enrolled on 4 January, after
    # January's): flagged missed; this month's was held.
    month = f"{today.year}-{today.month:02d}"
    report = page.get_by_test_id("reception-report")
    expect(report.locator(f"tr[data-row='{month} 赵东片']")).to_contain_text("1")
    rows = api_get(server, bearer, "/receptions/report", cadre_id=cadre_id).json()["items"]
    missed = [r for r in rows if r["missed"]]
    assert [r["month"] for r in missed] == [f"{today.year}-{m:02d}" for m in range(2, today.month)]
    assert next(r for r in rows if r["month"] == month)["on_schedule"] == 1
    if missed:
        expect(report.locator(f"tr[data-row='{missed[0]['month']} 赵东片'] [data-testid=missed]")).to_contain_text(
            f"{missed[0]['month'][5:]}-01")
    page.screenshot(path=str(artifacts / "admin-receptions.png"), full_page=True)

    # The issue raised at the reception is in the issue ledger, of source `reception`.
    reception = api_get(server, bearer, "/receptions", cadre_id=cadre_id).json()["items"][0]
    issue = api_get(server, bearer, f"/issues/{reception['issue_ids'][0]}").json()
    assert issue["summary"] == "村道路灯损坏" and issue["source_kind"] == "reception"

    with page.expect_download() as info:
        page.get_by_test_id("export-receptions").click()
    with open(info.value.path(), "rb") as file:
        ledger = list(openpyxl.load_workbook(io.BytesIO(file.read())).worksheets[0].iter_rows(values_only=True))
    statuses = [row[-1] for row in ledger[1:] if row[2] == "赵东片"]
    assert statuses.count("已接访") == 1 and statuses.count("未按期接访") == len(missed)

    # Changed to a weekly day from today on: the months before keep their verdicts.
    schedule.get_by_test_id("schedule-revise").click()
    revision = schedule.get_by_test_id("schedule-revision-form")
    revision.get_by_label("周期").select_option("weekly")
    revision.locator("select[name=day]").select_option(str(today.isoweekday()))
    expect(revision.get_by_label("自何日起")).to_have_value(today.isoformat())
    expect(revision.get_by_label("接访地点")).to_have_value(PLACE)  # the form starts from the schedule's terms
    expect(revision.locator("select[name=receiver]")).to_have_value(f"cadre:{cadre_id}")
    page.screenshot(path=str(artifacts / "admin-receptions-revise.png"))
    revision.get_by_test_id("schedule-revision-submit").click()
    expect(page.get_by_test_id("receptions-note")).to_have_text(f"已修改接访日安排，{today.isoformat()} 起按新安排。")
    expect(schedule).to_contain_text(f"（{today.isoformat()} 起）")
    [revised] = [s for s in api_get(server, bearer, "/reception-schedules").json()["items"] if s["place"] == PLACE]
    assert (revised["cadence"], revised["day"], revised["effective_on"]) == ("weekly", today.isoweekday(),
                                                                             today.isoformat())
    wait_until(lambda: [r["month"] for r in api_get(server, bearer, "/receptions/report", cadre_id=cadre_id)
                        .json()["items"] if r["missed"] and r["month"] < month] == [r["month"] for r in missed],
               timeout=10)
    # A revision from yesterday would re-judge a past day: the form says why it is refused.
    schedule.get_by_test_id("schedule-revise").click()
    revision.get_by_label("自何日起").evaluate("(input, day) => { input.min = ''; input.value = day; }",
                                          (today - timedelta(days=1)).isoformat())
    revision.get_by_test_id("schedule-revision-submit").click()
    expect(page.get_by_test_id("schedules-error")).to_contain_text("已过去的接访日不重新评判")
    revision.get_by_role("button", name="取消").click()

    schedule.get_by_test_id("schedule-end").click()
    schedule.get_by_test_id("schedule-ending-submit").click()
    expect(page.get_by_test_id("receptions-note")).to_have_text("已结束该接访日安排。")
    expect(schedule.locator("td").nth(4)).to_have_text(today.isoformat())


def test_the_stays_tab_shows_each_cadres_days_stayed(desktop: Page, server: Server, admin_seeded: AdminSeeded):
    household = admin_seeded.households[2]
    cadre = token(server, CADRE)
    stay = {"id": str(uuid.uuid4()), "type": "check_in", "payload": {
        "target_kind": "household", "target_id": household["id"], "kind": "stay", "days": 3,
        "occurred_at": datetime.now(UTC).isoformat(),
        "position": {"lat": household["lat"], "lon": household["lon"], "accuracy_m": 8, "provider": "gps"}}}
    sent = httpx.post(f"{server.url}/api/v1/sync", json={"device_id": "e2e-stays", "commands": [stay]},
                      headers={"Authorization": f"Bearer {cadre}"})
    assert sent.json()["results"][0]["status"] == "applied", sent.text
    bearer = token(server, ADMIN)
    wait_until(lambda: any(r["name"] == "赵东片" and r["days"] >= 3
                           for r in api_get(server, bearer, "/stays").json()["items"]), timeout=10)
    figures = next(r for r in api_get(server, bearer, "/stays").json()["items"] if r["name"] == "赵东片")
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/compliance")
    page.get_by_test_id("tab-stays").click()
    expect(page.locator("[data-testid=stays] tr[data-cadre=赵东片] [data-testid=stay-days]")).to_have_text(
        str(figures["days"]))
    with page.expect_download() as info:
        page.get_by_test_id("export-stays").click()
    with open(info.value.path(), "rb") as file:
        ledger = list(openpyxl.load_workbook(io.BytesIO(file.read())).worksheets[0].iter_rows(values_only=True))
    assert ("赵东片", 3) in [(row[0], row[3]) for row in ledger[1:]]
