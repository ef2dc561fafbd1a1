"""The field PWA's contact targets and receptions in Debian's Chromium at a phone's size, against the real
server (conftest.py): a cadre checks in at a contact target of the county's register with a stay of two
days (verified by GPS like a household's), and records a reception offline that reaches the server
through the outbox once the phone is back online, its issue in the issue ledger.

The cadre is one of its own, enrolled here, so that the field tests' cadre keeps figures of its own."""
from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .admin_seed import ADMIN, AdminSeeded
from .conftest import Server
from .seed import CENTROID, PASSWORD, TOWNSHIP, VILLAGES
from .test_admin_views import api_get, token
from .test_field_app import GO, eventually, shot, stored

pytestmark = pytest.mark.e2e

VILLAGE = next(iter(VILLAGES))
POINT = "测试一村联系点"


def a_cadre_of_the_township(server: Server, admin: str) -> tuple[str, str]:
    """A new cadre of the field tests' township with an account: (cadre id, username)."""
    headers = {"Authorization": f"Bearer {admin}"}
    enrolled = httpx.post(f"{server.url}/api/v1/cadres", headers=headers,
                          json={"name": "孙联系", "rank": "staff", "unit": "县委组织部", "township": TOWNSHIP})
    assert enrolled.status_code == 201, enrolled.text
    cadre_id = enrolled.json()["result"]["id"]
    username = f"e2e_contact_{uuid.uuid4().hex[:6]}"
    made = httpx.post(f"{server.url}/api/v1/users", headers=headers, json={
        "username": username, "display_name": "孙联系", "password": PASSWORD, "roles": ["cadre"], "cadre_id": cadre_id})
    assert made.status_code == 201, made.text
    return cadre_id, username


def test_a_cadre_stays_at_a_contact_target_and_records_a_reception_offline(
        page: Page, context: BrowserContext, server: Server, admin_seeded: AdminSeeded, artifacts):
    admin = token(server, ADMIN)
    registered = httpx.post(f"{server.url}/api/v1/targets", headers={"Authorization": f"Bearer {admin}"},
                            json={"kind": "contact_point", "name": POINT, "township": TOWNSHIP, "village": VILLAGE,
                                  "lat": CENTROID[0], "lon": CENTROID[1]})
    assert registered.status_code == 201, registered.text
    cadre_id, username = a_cadre_of_the_township(server, admin)
    page.goto("/")
    expect(page.locator("body[data-usable=login]")).to_be_attached()
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("body[data-usable=today]")).to_be_attached()
    eventually(lambda: stored(page, "households") > 0)

    page.evaluate(GO, "/households")
    page.get_by_test_id("targets-link").click()
    expect(page.locator("body[data-usable=targets]")).to_be_attached()
    target = page.get_by_test_id("target-list").locator(f"li[data-target={POINT}]")
    expect(target).to_contain_text("联系点")
    expect(target).to_contain_text(VILLAGES[VILLAGE])
    shot(page, artifacts, "targets")
    target.get_by_role("link", name="走访打卡").click()
    expect(page.locator("[data-testid=gps][data-status=good]")).to_be_visible()
    page.get_by_test_id("checkin-kind").select_option("stay")
    page.get_by_test_id("checkin-days").fill("2")
    shot(page, artifacts, "check-in-stay")
    page.get_by_test_id("checkin-submit").click()
    expect(page.locator("body[data-usable=today]")).to_be_attached()

    def stayed() -> dict | None:
        rows = api_get(server, admin, "/stays").json()["items"]
        return next((r for r in rows if r["cadre_id"] == cadre_id), None)

    eventually(lambda: (stayed() or {}).get("days", 0) >= 2)
    assert stayed()["verified_days"] >= 2  # checked in standing at the target: verified like a household
    point_id = registered.json()["result"]["id"]
    visits = api_get(server, admin, "/visits", cadre_id=cadre_id, kind="stay").json()["items"]
    assert any(v["target_id"] == point_id and v["target_kind"] == "contact_point" for v in visits)

    # A reception recorded without a signal waits in the outbox, then goes through /sync.
    context.set_offline(True)
    expect(page.get_by_test_id("connectivity")).to_have_text("离线")
    page.evaluate(GO, "/households")
    page.get_by_test_id("reception-link").click()
    expect(page.locator("body[data-usable=reception]")).to_be_attached()
    page.get_by_test_id("reception-place").fill(POINT)
    page.get_by_test_id("reception-village").select_option(VILLAGE)
    page.get_by_test_id("reception-residents").fill("5")
    page.get_by_test_id("reception-issue").fill("灌溉水渠堵塞")
    shot(page, artifacts, "reception")
    page.get_by_test_id("reception-submit").click()
    expect(page.locator("body[data-usable=today]")).to_be_attached()
    expect(page.get_by_test_id("queued-badge")).to_be_visible()
    context.set_offline(False)

    def received() -> list[dict]:
        return api_get(server, admin, "/receptions", cadre_id=cadre_id).json()["items"]

    eventually(lambda: len(received()) == 1)
    reception = received()[0]
    assert (reception["place"], reception["village"], reception["residents"]) == (POINT, VILLAGE, 5)
    issue = api_get(server, admin, f"/issues/{reception['issue_ids'][0]}").json()
    assert issue["summary"] == "灌溉水渠堵塞" and issue["village"] == VILLAGE
    expect(page.get_by_test_id("queued-badge")).to_have_count(0)
