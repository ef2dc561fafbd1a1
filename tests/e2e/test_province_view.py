"""The province view in Debian's Chromium: county ranking, map and trends, opening on the latest month
with figures, and no household data anywhere, in the UI or through the API."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from .admin_seed import PROVINCE_USER, AdminSeeded
from .conftest import Server
from .seed import COUNTY, PASSWORD

pytestmark = pytest.mark.e2e

# Everything that carries households (or their people) for a county account.
HOUSEHOLD_PATHS = ["/completeness/households", "/coverage", "/exports/completeness", "/exports/pairings",
                   "/me/households", "/me/due", "/visits", "/pairings", "/issues", "/exports/issues",
                   "/exports/coverage.geojson", "/places", "/cadres", "/users"]


def log_in(page: Page) -> None:
    page.goto("/admin")
    expect(page.locator("body[data-usable=admin-login]")).to_be_attached()
    page.get_by_label("账号").fill(PROVINCE_USER)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("body[data-usable=admin-province]")).to_be_attached()


def test_province_viewer_sees_the_county_ranking_and_drills_down_to_county_figures_only(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    page = desktop
    answers: list[tuple[str, int]] = []
    page.on("response", lambda r: answers.append((r.url, r.status)) if "/api/v1/" in r.url else None)
    log_in(page)
    expect(page.get_by_test_id("admin-where")).to_have_text("测试省")  # the province's name, not 930000
    rankings = page.get_by_test_id("rankings")
    expect(rankings).to_contain_text("测试走访县")
    expect(rankings).to_contain_text("测试邻县")
    page.get_by_test_id("county-link").filter(has_text="测试走访县").click()
    detail = page.get_by_test_id("county-detail")
    expect(detail).to_contain_text("测试走访县 逐月数据")
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / "province-1-ranking.png"), full_page=True)
    text = page.locator("body").inner_text()
    for household in admin_seeded.households:
        assert household["id"] not in text
    assert "老户" not in text and "户主" not in text

    # The county views are not for this account: the page says so and fetches nothing.
    page.goto("/admin/map")
    expect(page.get_by_test_id("no-access")).to_be_visible()
    page.screenshot(path=str(artifacts / "province-2-no-access.png"))
    leaked = [(url, status) for url, status in answers
              if status == 200 and any(path in url for path in HOUSEHOLD_PATHS)]
    assert leaked == []


def test_province_viewer_gets_no_household_data_through_the_api(server: Server, admin_seeded: AdminSeeded):
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=10) as client:
        login = client.post("/session", json={"username": PROVINCE_USER, "password": PASSWORD})
        client.headers["Authorization"] = f"Bearer {login.json()['token']}"
        household = admin_seeded.households[0]["id"]
        for path in [*HOUSEHOLD_PATHS, f"/households/{household}", f"/issues/{admin_seeded.issues['overdue']}"]:
            response = client.get(path)
            assert response.status_code == 403, (path, response.status_code, response.text[:200])
        assert client.post("/sync", json={"device_id": "x", "commands": []}).status_code == 403
        # What it may read carries county figures only.
        for path in ["/province/counties", "/province/rankings", "/province/map",
                     f"/province/counties/{COUNTY}/months"]:
            response = client.get(path)
            assert response.status_code == 200, (path, response.text[:200])
            assert household not in response.text and "老户" not in response.text


def latest_month_with_figures(server: Server) -> str:
    """`YYYY-MM` of the latest month any county of the province has rollup figures for (the API's word)."""
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=10) as client:
        login = client.post("/session", json={"username": PROVINCE_USER, "password": PASSWORD})
        client.headers["Authorization"] = f"Bearer {login.json()['token']}"
        counties = client.get("/province/counties").json()["items"]
    return max(str(row["month"])[:7] for county in counties for row in county["months"])


@pytest.mark.parametrize("later", ["the next month", "the next January"])
def test_province_view_opens_on_the_latest_month_with_figures(desktop: Page, server: Server,
                                                               admin_seeded: AdminSeeded, later: str):
    # The browser's clock is moved past the seeded figures, as on 4 December when November's were the
    # latest: the current month (and, in January, the current year) has none yet.
    latest = latest_month_with_figures(server)
    year, month = int(latest[:4]), int(latest[5:])
    if later == "the next month":
        when = datetime(year + month // 12, month % 12 + 1, 4, 10)
    else:
        when = datetime(year + 1, 1, 4, 10)
    page = desktop
    page.clock.set_fixed_time(when.replace(tzinfo=ZoneInfo("Asia/Shanghai")))
    log_in(page)
    expect(page.get_by_test_id("month")).to_have_value(latest)
    rankings = page.get_by_test_id("rankings")
    expect(rankings).to_contain_text("测试走访县")
    expect(rankings).to_contain_text("测试邻县")
    assert "暂无数据" not in page.locator("body").inner_text()
