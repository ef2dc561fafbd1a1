"""Research topics in Debian's Chromium against the real server: an admin assigns a topic to a cadre with
the form on 调研课题 and sees it listed, open; the cadre opens 调研课题 from 我的 on the phone, files a report
on it, and the report reaches the server through the outbox (the topic is then reported)."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from .admin_seed import ADMIN, AdminSeeded
from .conftest import Server
from .seed import Seeded
from .test_admin_views import api_get, go, log_in, token, wait_until
from .test_field_app import log_in as phone_log_in

pytestmark = pytest.mark.e2e


def _topic(server: Server, bearer: str, title: str) -> dict | None:
    items = api_get(server, bearer, "/research-topics", limit=500).json()["items"]
    return next((t for t in items if t["title"] == title), None)


def test_an_admin_assigns_a_research_topic_with_the_form(
        desktop: Page, server: Server, seeded: Seeded, admin_seeded: AdminSeeded, artifacts):
    page = desktop
    title = f"产业发展调研{uuid.uuid4().hex[:6]}"
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/research")
    expect(page.locator("body[data-usable=admin-research]")).to_be_attached()
    page.get_by_test_id("new-topic").click()
    form = page.get_by_test_id("topic-form")
    form.get_by_label("课题").fill(title)
    form.get_by_label("完成时限").fill((date.today() + timedelta(days=30)).isoformat())
    form.get_by_test_id("topic-assignees").select_option(seeded.cadre_id)
    form.get_by_role("button", name="布置").click()
    expect(page.get_by_text("已布置调研课题。")).to_be_visible()
    bearer = token(server, ADMIN)
    wait_until(lambda: _topic(server, bearer, title) is not None, timeout=20)
    topic = _topic(server, bearer, title)
    assert [a["cadre_id"] for a in topic["assignees"]] == [seeded.cadre_id] and topic["state"] == "open"
    # The list follows the read model live.
    row = page.get_by_test_id(f"research-{topic['topic_id']}")
    expect(row).to_contain_text(title)
    expect(row).to_contain_text("进行中")
    page.screenshot(path=str(artifacts / "admin-research.png"), full_page=True)


def test_a_cadre_files_a_report_from_the_phone(page: Page, server: Server, seeded: Seeded,
                                              admin_seeded: AdminSeeded, artifacts):
    bearer = token(server, ADMIN)
    title = f"村级集体经济调研{uuid.uuid4().hex[:6]}"
    made = httpx.post(f"{server.url}/api/v1/research-topics", headers={"Authorization": f"Bearer {bearer}"}, json={
        "title": title, "assignee_ids": [seeded.cadre_id], "due_on": (date.today() + timedelta(days=10)).isoformat()})
    assert made.status_code == 201, made.text
    topic_id = made.json()["result"]["id"]
    wait_until(lambda: _topic(server, bearer, title) is not None, timeout=20)

    phone_log_in(page)
    page.get_by_role("link", name="我的").click()
    page.get_by_test_id("research-link").click()
    expect(page.locator("body[data-usable=research]")).to_be_attached()
    expect(page.get_by_test_id("research-topics")).to_contain_text(title)
    form = page.get_by_test_id("report-form")
    form.get_by_label("课题").select_option(topic_id)
    form.get_by_label("报告标题").fill("关于村级集体经济的调研报告")
    form.get_by_label("报告摘要").fill("走访五个村。\n建议发展特色种植。")
    page.screenshot(path=str(artifacts / "pwa-research.png"), full_page=True)
    form.get_by_role("button", name="提交报告").click()
    expect(page.locator("body[data-usable=sync]")).to_be_attached()
    wait_until(lambda: _topic(server, bearer, title)["reports"] == 1, timeout=20)
    detail = api_get(server, bearer, f"/research-topics/{topic_id}").json()
    [report] = detail["reports_filed"]
    assert (report["title"], report["author_id"], detail["state"]) == (
        "关于村级集体经济的调研报告", seeded.cadre_id, "reported")
