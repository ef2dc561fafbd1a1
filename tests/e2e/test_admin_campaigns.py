"""Festival campaigns in Debian's Chromium against the real server: an admin defines a campaign with the
form, sees its progress by village as the API states it, and downloads the households still to visit as
an XLSX that opens with openpyxl; on the cadre's phone, Today lists the campaign's households first."""
from __future__ import annotations

import io
import re
import time
from datetime import date, timedelta

import httpx

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from .admin_seed import ADMIN, HOUSEHOLDS, VILLAGE, AdminSeeded
from .conftest import Server
from .seed import Seeded
from .test_field_app import log_in as phone_log_in
from .test_admin_views import api_get, go, log_in, token, wait_until

pytestmark = pytest.mark.e2e


def test_an_admin_defines_a_campaign_follows_it_by_village_and_exports_who_is_left(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/campaigns")
    expect(page.locator("body[data-usable=admin-campaigns]")).to_be_attached()
    page.get_by_test_id("new-campaign").click()
    form = page.get_by_test_id("campaign-form")
    form.get_by_label("节日").select_option("mid_autumn")
    form.get_by_role("button", name="创建").click()
    bearer = token(server, ADMIN)
    # The read model makes the list a moment after the command: the page follows it live.
    wait_until(lambda: any(c["households"] for c in api_get(server, bearer, "/campaigns").json()["items"]
                           if c["festival"] == "mid_autumn"), timeout=20)
    [campaign] = [c for c in api_get(server, bearer, "/campaigns").json()["items"] if c["festival"] == "mid_autumn"]
    progress = api_get(server, bearer, f"/campaigns/{campaign['campaign_id']}").json()
    expect(page.get_by_test_id("campaign-coverage")).to_contain_text(
        f"已慰问 {progress['visited']}/{progress['households']} 户")
    [ours] = [v for v in progress["villages"] if v["village"] == VILLAGE]
    assert ours["households"] == HOUSEHOLDS  # the seeded empty-nest elders, a tag the form ticks by default
    expect(page.get_by_test_id("campaign-villages")).to_contain_text(str(HOUSEHOLDS))
    expect(page.get_by_test_id("campaign-left")).to_contain_text("老户01")
    page.screenshot(path=str(artifacts / "admin-campaigns.png"), full_page=True)

    with page.expect_download() as info:
        page.get_by_test_id(f"export-{campaign['campaign_id']}").click()
    download = info.value
    assert re.search(r"节日慰问未走访名单.*\.xlsx$", download.suggested_filename)
    with open(download.path(), "rb") as file:
        rows = list(openpyxl.load_workbook(io.BytesIO(file.read())).worksheets[0].iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row and row[0] == "户编号")
    names = {row[1] for row in rows[header + 1:] if row and row[0]}
    assert {f"老户{n + 1:02d}" for n in range(HOUSEHOLDS)} <= names
    assert len(names) == progress["remaining"]


def test_during_a_campaign_the_phone_lists_its_households_first(
        page: Page, server: Server, seeded: Seeded, admin_seeded: AdminSeeded, artifacts):
    bearer = token(server, ADMIN)
    window = {"festival": "spring_festival", "starts_on": date.today().isoformat(),
              "ends_on": (date.today() + timedelta(days=3)).isoformat(), "tags": ["left_behind_child"]}
    made = httpx.post(f"{server.url}/api/v1/campaigns", json=window, headers={"Authorization": f"Bearer {bearer}"})
    assert made.status_code == 201, made.text
    children = {h["id"] for h in seeded.households if "left_behind_child" in h["tags"]}
    progress = listed_campaign(server, bearer, made.json()["result"]["id"])
    assert progress["households"] >= len(children), progress
    phone_log_in(page)
    rows = page.get_by_test_id("due-list").locator("li")
    # (the other test's campaign, if it ran first, closes sooner and is the one shown)
    expect(rows.first.get_by_test_id("campaign-pill")).to_contain_text(re.compile("(春节|中秋)慰问"))
    marked = rows.filter(has=page.get_by_test_id("campaign-pill"))
    count = marked.count()
    assert count >= 1
    # Every marked household comes before every other, and opens its check-in as a festival visit.
    assert all(rows.nth(n).get_by_test_id("campaign-pill").count() == 1 for n in range(count))
    page.screenshot(path=str(artifacts / "pwa-today-campaign.png"))
    rows.first.get_by_role("link", name="走访打卡").click()
    expect(page.get_by_label("走访方式")).to_have_value("festival")


def listed_campaign(server: Server, bearer: str, campaign_id: str, timeout: float = 20) -> dict:
    """The campaign's progress once the read model lists it (a moment after the command: until then the
    answer is 404, which is waited out); any other answer, or no listing within `timeout` s, fails with it."""
    deadline = time.monotonic() + timeout
    while True:
        answer = api_get(server, bearer, f"/campaigns/{campaign_id}")
        if answer.status_code == 200:
            return answer.json()
        assert answer.status_code == 404, f"GET /campaigns/{campaign_id}: {answer.status_code} {answer.text}"
        assert time.monotonic() < deadline, f"campaign {campaign_id} not listed after {timeout} s: {answer.text}"
        time.sleep(0.1)
