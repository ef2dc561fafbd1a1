"""The prefecture (市州) view in Debian's Chromium: the province view, scoped to the prefecture's counties,
with the prefecture named in the header and no other prefecture's county anywhere."""
from __future__ import annotations

import time
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from services.county import Actor, County
from services.domain import commands as c
from services.identity import ensure_user
from services.storage.database import connect
from services.storage.schemas import provision_county
from services.tenancy import Counties

from .admin_seed import PROVINCE_CODE, AdminSeeded
from .conftest import Server
from .seed import PASSWORD

pytestmark = pytest.mark.e2e

PREFECTURE_USER = "e2e_prefecture"
PREFECTURE = "930100"
MINE, THEIRS = "930101", "930201"  # prefectures 930100 (the viewer's) and 930200


@pytest.fixture(scope="module")
def prefecture(database_url: str, server: Server, admin_seeded: AdminSeeded) -> None:
    registry = Counties(database_url, County)
    try:
        for adcode, name, prefecture in ((MINE, "测试东县", "测试东市"), (THEIRS, "测试南县", "测试南市")):
            provision_county(database_url, adcode, name, "测试省", prefecture=prefecture, province_code=PROVINCE_CODE,
                             centroid=(18.95, 109.60))
            admin = Actor(user_id="e2e-prefecture-fixture", roles=frozenset({"county_admin"}), county=adcode)
            outcome = registry.get(adcode).execute(c.RegisterHousehold(
                command_id=uuid.uuid5(uuid.NAMESPACE_URL, adcode), village=f"{adcode}001001",
                township=f"{adcode}001", address="东村1号", lat=18.95, lon=109.60, size=2, head_name="东户",
                tags=[]), admin)
            assert outcome.status in ("applied", "duplicate"), outcome
    finally:
        registry.close()
    with connect(database_url) as conn:
        ensure_user(conn, PREFECTURE_USER, roles=["prefecture_viewer"], password=PASSWORD, prefecture=PREFECTURE,
                    display_name="市委组织部")
    # The rollup follows the new counties within the projector's sweep.
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=10) as client:
        login = client.post("/session", json={"username": PREFECTURE_USER, "password": PASSWORD})
        client.headers["Authorization"] = f"Bearer {login.json()['token']}"
        deadline = time.monotonic() + 30
        while not client.get("/province/counties").json()["items"][0]["months"]:
            assert time.monotonic() < deadline, "the rollup never reached the prefecture's county"
            time.sleep(0.3)


def test_prefecture_viewer_sees_its_prefectures_counties_only(desktop: Page, server: Server, prefecture,
                                                               artifacts):
    page = desktop
    answers: list[tuple[str, int]] = []
    page.on("response", lambda r: answers.append((r.url, r.status)) if "/api/v1/" in r.url else None)
    page.goto("/admin")
    expect(page.locator("body[data-usable=admin-login]")).to_be_attached()
    page.get_by_label("账号").fill(PREFECTURE_USER)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("body[data-usable=admin-province]")).to_be_attached()
    expect(page.get_by_test_id("admin-where")).to_have_text("测试省 · 测试东市")
    assert page.title() == "下基层 · 市州视图"
    rankings = page.get_by_test_id("rankings")
    expect(rankings).to_contain_text("测试东县")
    page.get_by_test_id("county-link").filter(has_text="测试东县").click()
    expect(page.get_by_test_id("county-detail")).to_contain_text("测试东县 逐月数据")
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / "prefecture-1-ranking.png"), full_page=True)
    text = page.locator("body").inner_text()
    for elsewhere in ("测试南县", "测试走访县", "测试邻县", "东户"):
        assert elsewhere not in text
    # Another prefecture's county through the API: refused by its adcode.
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=10) as client:
        token = client.post("/session", json={"username": PREFECTURE_USER, "password": PASSWORD}).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        assert client.get(f"/province/counties/{THEIRS}/months").status_code == 403
        assert client.get("/completeness/households").status_code == 403
    assert not [url for url, _ in answers if THEIRS in url]
