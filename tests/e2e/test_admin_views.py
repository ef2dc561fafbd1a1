"""The county admin views in Debian's Chromium at a desktop size, against the real server (conftest.py):
map figures equal the API's (now and as of a past day), live check-ins, the issue board, the ledger
export, and a screenshot of every view in test-artifacts/."""
from __future__ import annotations

import io
import time
import uuid
from datetime import UTC, date, datetime

import httpx
import openpyxl
import pytest
from playwright.sync_api import Page, expect

from .admin_seed import ADMIN, CADRE, DEPARTMENT, DEPARTMENT_USER, VILLAGE, AdminSeeded
from .conftest import DESKTOP_VIEWPORT, Server
from .seed import PASSWORD

pytestmark = pytest.mark.e2e

FIGURES = ("households", "visited_once", "visited_twice", "visits", "verified_visits")


def token(server: Server, username: str) -> str:
    response = httpx.post(f"{server.url}/api/v1/session", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return response.json()["token"]


def api_get(server: Server, bearer: str, path: str, **params) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1{path}", params=params, headers={"Authorization": f"Bearer {bearer}"},
                     timeout=10)


def county_figures(server: Server, bearer: str, **params) -> dict:
    collection = api_get(server, bearer, "/coverage", level="county", period=str(date.today().year), **params).json()
    return collection["features"][0]["properties"]


def log_in(page: Page, username: str, lands_on: str) -> None:
    page.goto("/admin")
    expect(page.locator("body[data-usable=admin-login]")).to_be_attached()
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(f"body[data-usable={lands_on}]")).to_be_attached()


def shown_figures(page: Page) -> dict:
    return {name: int(page.get_by_test_id(f"fig-{name}").inner_text()) for name in FIGURES}


def wait_until(condition, timeout: float, every: float = 0.05) -> float:
    """Seconds it took for `condition()` to hold; fails after `timeout`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "condition not met in time"
        time.sleep(every)
    return time.monotonic() - start


def go(page: Page, path: str) -> None:
    page.evaluate("path => { history.pushState(null, '', path); dispatchEvent(new PopStateEvent('popstate')); }", path)


def test_the_admin_views_load_on_demand_and_are_never_precached_for_phones(desktop: Page, server: Server):
    assert "assets/admin/" not in httpx.get(f"{server.url}/sw.js").text
    scripts: list[str] = []
    desktop.on("request", lambda request: scripts.append(request.url) if request.resource_type == "script" else None)
    desktop.goto("/today")
    expect(desktop.locator("body[data-usable=login]")).to_be_attached()
    assert not [url for url in scripts if "/assets/admin/" in url]
    desktop.goto("/admin")
    expect(desktop.locator("body[data-usable=admin-login]")).to_be_attached()
    assert [url for url in scripts if "/assets/admin/" in url]


def test_map_figures_equal_the_api_now_and_as_of_a_day_the_slider_picks(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    page = desktop
    log_in(page, ADMIN, "admin-map")
    bearer = token(server, ADMIN)
    wait_until(lambda: shown_figures(page) == {k: county_figures(server, bearer)[k] for k in FIGURES}, 10)
    assert float(page.get_by_test_id("fig-coverage_pct").inner_text().rstrip("%")) == \
        county_figures(server, bearer)["coverage_pct"]
    expect(page.locator(".leaflet-tile")).to_have_count(0)  # no tile server configured: GeoJSON layers only
    # Household points are those in view: all of the county's here (none once dragged away, below).
    everyone = api_get(server, bearer, "/completeness/households", limit=1).json()["total"]
    expect(page.get_by_test_id("map")).to_have_attribute("data-points", str(everyone))
    page.get_by_test_id("layer-h3").check()
    cells = api_get(server, bearer, "/coverage", level="h3", resolution=8, period=str(date.today().year)).json()
    expect(page.locator("path.h3")).to_have_count(len(cells["features"]))
    page.wait_for_timeout(300)  # Leaflet draws the household canvas after the figures arrive
    page.screenshot(path=str(artifacts / "admin-1-map.png"))
    page.get_by_test_id("layer-h3").uncheck()

    year = date.today().year
    day = date(year, 3, 1)
    page.get_by_test_id("as-of").fill(str((day - date(year, 1, 1)).days))
    expect(page.get_by_test_id("county-figures")).to_have_attribute("data-key", f"{year}|{day.isoformat()}")
    past = county_figures(server, bearer, as_of=day.isoformat())
    assert shown_figures(page) == {k: past[k] for k in FIGURES}
    # On 1 March only the households registered in January existed, and two of them had been visited.
    assert past["households"] == len(admin_seeded.households) and past["visited_once"] == 2
    expect(page.get_by_test_id("as-of-label")).to_have_text(day.isoformat())
    page.screenshot(path=str(artifacts / "admin-2-map-as-of.png"))

    # Replay walks on from there a week at a time, each step an as-of answer.
    page.get_by_test_id("replay").click()
    expect(page.get_by_test_id("county-figures")).to_have_attribute("data-key", f"{year}|{year}-03-08")
    page.get_by_test_id("replay").click()

    # Back to today; a village shows its figures and its households not visited this year.
    page.get_by_test_id("as-of").fill("400")  # past the end: the slider stops at today
    expect(page.get_by_test_id("as-of-label")).to_contain_text("今天")
    page.locator(f"path.v{VILLAGE}").click()
    panel = page.get_by_test_id("village-detail")
    village = next(f["properties"] for f in api_get(server, bearer, "/coverage", level="village").json()["features"]
                   if f["id"] == VILLAGE)
    expect(panel.get_by_test_id("village-households")).to_have_text(str(village["households"]))
    households = api_get(server, bearer, "/completeness/households", village=VILLAGE, limit=500).json()["items"]
    unvisited = [h for h in households if h["visits_this_year"] == 0]
    expect(panel.get_by_test_id("unvisited").locator("tbody tr")).to_have_count(len(unvisited))
    expect(panel).to_contain_text(unvisited[0]["head_name"])
    page.screenshot(path=str(artifacts / "admin-2b-map-village.png"))
    box = page.get_by_test_id("map").bounding_box()
    for _ in range(3):
        page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
    expect(page.get_by_test_id("map")).to_have_attribute("data-points", "0")


def test_a_check_in_posted_through_the_api_appears_on_the_open_map_within_two_seconds(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    page = desktop
    log_in(page, ADMIN, "admin-map")
    expect(page.get_by_test_id("live")).to_have_class("live on")
    bearer = token(server, ADMIN)
    wait_until(lambda: shown_figures(page)["visits"] == county_figures(server, bearer)["visits"], 10)
    before = shown_figures(page)["visits"]
    page.wait_for_timeout(600)  # let the stream settle after the first load
    household = admin_seeded.households[-1]
    cadre = token(server, CADRE)
    response = httpx.post(f"{server.url}/api/v1/sync", headers={"Authorization": f"Bearer {cadre}"}, json={
        "device_id": "e2e-phone", "commands": [{"id": str(uuid.uuid4()), "type": "check_in", "payload": {
            "target_kind": "household", "target_id": household["id"], "kind": "home",
            "occurred_at": datetime.now(UTC).isoformat(), "topics": [], "note": "实时走访", "companions": [],
            "position": {"lat": household["lat"], "lon": household["lon"], "accuracy_m": 6, "provider": "gps"}}}]})
    posted = time.monotonic()
    assert response.json()["results"][0]["status"] == "applied", response.text
    wait_until(lambda: shown_figures(page)["visits"] == before + 1, 5, every=0.02)
    elapsed = time.monotonic() - posted
    (artifacts / "admin-live-latency.txt").write_text(f"check-in posted -> on the admin map: {elapsed:.3f} s\n")
    assert elapsed < 2.0, f"the check-in took {elapsed:.2f} s to reach the map"
    page.screenshot(path=str(artifacts / "admin-3-map-live.png"))


def test_routing_an_issue_moves_it_on_the_board_and_the_department_sees_only_its_queue(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, browser, artifacts):
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/issues")
    expect(page.locator("body[data-usable=admin-issues]")).to_be_attached()
    unrouted = admin_seeded.issues["unrouted"]
    card = f"[data-testid=issue-card][data-issue='{unrouted}']"
    expect(page.locator(f"[data-testid=column-none] {card}")).to_be_visible()
    overdue = page.locator(f"[data-testid=issue-card][data-issue='{admin_seeded.issues['overdue']}']")
    expect(overdue).to_have_class("issue-card overdue")
    page.screenshot(path=str(artifacts / "admin-4-issues-board.png"))

    page.locator(card).click()
    page.get_by_test_id("route-select").select_option("department")
    page.get_by_test_id("route-department").fill(DEPARTMENT)
    page.get_by_test_id("route-submit").click()
    expect(page.get_by_test_id("issue-state")).to_have_text("已分办")
    expect(page.locator(f"[data-testid=column-department] {card}")).to_be_visible()
    expect(page.locator(f"[data-testid=column-none] {card}")).to_have_count(0)
    page.screenshot(path=str(artifacts / "admin-5-issue-routed.png"))
    page.get_by_test_id("tab-agenda").click()
    expect(page.get_by_test_id("agenda")).to_contain_text("饮水")
    page.screenshot(path=str(artifacts / "admin-6-agenda.png"))

    # The civil affairs bureau sees its two issues and nothing routed elsewhere.
    context = browser.new_context(base_url=server.url, viewport=DESKTOP_VIEWPORT, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    department = context.new_page()
    try:
        log_in(department, DEPARTMENT_USER, "admin-issues")
        cards = department.get_by_test_id("issue-card")
        expect(cards).to_have_count(2)
        shown = {cards.nth(i).get_attribute("data-issue") for i in range(2)}
        assert shown == {unrouted, admin_seeded.issues["overdue"]}
        department.locator(card).click()
        department.get_by_label("办理结果").fill("已联系民政所上门核实")
        department.get_by_test_id("resolve").click()
        expect(department.get_by_test_id("issue-state")).to_have_text("已办结")
        expect(department.locator(card)).to_contain_text("已办结")  # the board follows the ledger (SSE)
        department.screenshot(path=str(artifacts / "admin-7-department-queue.png"))
    finally:
        context.close()

    # Back at the county: the resolved issue is rated, then reopened.
    page.get_by_role("button", name="问题看板").click()
    expect(page.locator(card)).to_contain_text("已办结")
    page.locator(card).click()
    page.get_by_label("满意度").select_option("basically_satisfied")
    page.get_by_test_id("rate").click()
    expect(page.get_by_test_id("issue-state")).to_have_text("已评价")
    page.get_by_label("重启原因").fill("群众反映仍未解决")
    page.get_by_test_id("reopen").click()
    expect(page.get_by_test_id("issue-state")).to_have_text("已重启")
    expect(page.get_by_test_id("route-form")).to_be_visible()


def test_the_issue_ledger_export_opens_with_openpyxl_and_matches_the_ledger(
        desktop: Page, server: Server, admin_seeded: AdminSeeded):
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/issues")
    expect(page.locator("body[data-usable=admin-issues]")).to_be_attached()
    with page.expect_download() as info:
        page.get_by_test_id("export-issues").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx") and "问题台账" in download.suggested_filename
    with open(download.path(), "rb") as file:
        sheet = openpyxl.load_workbook(io.BytesIO(file.read())).worksheets[0]
    rows = [row for row in sheet.iter_rows(values_only=True)]
    header = rows.index(next(r for r in rows if r and r[0] == "问题编号"))
    exported = {r[0]: r for r in rows[header + 1:] if r and r[0]}
    ledger = api_get(server, token(server, ADMIN), "/issues", limit=500).json()["items"]
    assert set(exported) == {item["issue_id"] for item in ledger}
    columns = rows[header]
    for item in ledger:
        row = dict(zip(columns, exported[item["issue_id"]], strict=True))
        assert row["类别"] == item["category"] and row["村(社区)代码"] == item["village"]
        assert row["责任部门"] == item["department"]


def test_pairing_and_interview_filters_match_the_api_and_the_export_is_the_filtered_table(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    page = desktop
    admin = token(server, ADMIN)
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/compliance")
    expect(page.locator("body[data-usable=admin-compliance]")).to_be_attached()
    page.get_by_test_id("tab-pairings").click()
    everything = api_get(server, admin, "/pairings", limit=500).json()["items"]
    expect(page.get_by_test_id("pairings-rows")).to_have_text(f"共 {len(everything)} 条")
    expect(page.get_by_test_id("pairings-table")).to_contain_text("农户 · 老户01")  # the paired household's head
    expect(page.get_by_test_id("pairings-table")).to_contain_text("党支部 · 测试三村党支部")
    township = next(p["township"] for p in everything if p["township"] and p["rank"] == "staff")
    staff = api_get(server, admin, "/pairings", limit=500, township=township, rank="staff").json()["items"]
    assert 0 < len(staff) < len(everything)
    page.get_by_test_id("pairings-filter-township").select_option(township)
    page.get_by_test_id("pairings-filter-rank").select_option("staff")
    expect(page.get_by_test_id("pairings-rows")).to_have_text(f"共 {len(staff)} 条")
    expect(page.get_by_test_id("pairings-table").locator("tbody tr")).to_have_count(len(staff))
    with page.expect_download() as info:
        page.get_by_test_id("export-pairings").click()
    with open(info.value.path(), "rb") as file:
        rows = list(openpyxl.load_workbook(io.BytesIO(file.read())).worksheets[0].iter_rows(values_only=True))
    header = rows.index(next(r for r in rows if r and r[0] == "结对编号"))
    assert {r[0] for r in rows[header + 1:] if r and r[0]} == {p["pairing_id"] for p in staff}
    page.screenshot(path=str(artifacts / "admin-8b-pairings-filtered.png"), full_page=True)
    page.get_by_test_id("tab-interviews").click()
    cadres = api_get(server, admin, "/interviews/cadres", limit=500, township=township).json()["items"]
    assert cadres and all(c["township"] == township for c in cadres)
    page.get_by_test_id("interviews-filter-township").select_option(township)
    expect(page.get_by_test_id("interviews-rows")).to_have_text(f"共 {len(cadres)} 条")
    page.screenshot(path=str(artifacts / "admin-8c-interviews-filtered.png"), full_page=True)


def test_every_admin_view_renders_its_data(desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/compliance")
    expect(page.locator("body[data-usable=admin-compliance]")).to_be_attached()
    completeness = api_get(server, token(server, ADMIN), "/completeness").json()["county"]
    assert float(page.get_by_test_id("completeness-pct").inner_text().rstrip("%")) == completeness["complete_pct"]
    overdue = api_get(server, token(server, ADMIN), "/completeness/households", status="overdue").json()["total"]
    page.get_by_test_id("filter-status").select_option("overdue")
    expect(page.get_by_test_id("rows")).to_have_text(f"共 {overdue} 条")
    expect(page.get_by_test_id("completeness-table").locator("tbody tr")).to_have_count(overdue)
    page.get_by_test_id("filter-status").select_option("")
    everyone = api_get(server, token(server, ADMIN), "/completeness/households").json()["total"]
    expect(page.get_by_test_id("rows")).to_have_text(f"共 {everyone} 条")
    # The cadre and tag filters narrow the whole list, not the overdue households: which of those are overdue
    # depends on the tests run before (test_field_app.py visits the field tests' households twelve times
    # over, after which none is overdue), while the households themselves stay.
    # The cadre filter: the households 赵东片 answers for (the API's rule).
    cadre = next(c["id"] for c in api_get(server, token(server, ADMIN), "/cadres").json()["cadres"]
                 if c["name"] == "赵东片")
    theirs = api_get(server, token(server, ADMIN), "/completeness/households", cadre=cadre).json()
    assert 0 < theirs["total"] < everyone, (theirs["total"], everyone)  # the field tests' households are not theirs
    page.get_by_test_id("filter-cadre").select_option(cadre)
    expect(page.get_by_test_id("rows")).to_have_text(f"共 {theirs['total']} 条")
    page.get_by_test_id("filter-cadre").select_option("")
    expect(page.get_by_test_id("rows")).to_have_text(f"共 {everyone} 条")
    # The tag filter: the left-behind children (the field tests' households), and the county's share for them.
    children = api_get(server, token(server, ADMIN), "/completeness/households",
                       tag="left_behind_child").json()["total"]
    assert 0 < children < everyone, (children, everyone)
    page.get_by_test_id("filter-tag").select_option("left_behind_child")
    expect(page.get_by_test_id("rows")).to_have_text(f"共 {children} 条")
    tagged = api_get(server, token(server, ADMIN), "/completeness", tag="left_behind_child").json()["county"]
    assert float(page.get_by_test_id("completeness-pct").inner_text().rstrip("%")) == tagged["complete_pct"]
    page.get_by_test_id("filter-tag").select_option("")
    expect(page.get_by_test_id("rows")).to_have_text(f"共 {everyone} 条")
    page.screenshot(path=str(artifacts / "admin-8-compliance.png"))
    go(page, "/admin/leaderboards")
    expect(page.locator("body[data-usable=admin-leaderboards]")).to_be_attached()
    expect(page.get_by_test_id("rule")).to_contain_text("150")
    expect(page.get_by_test_id("lb-cadres")).to_contain_text("赵东片")
    page.screenshot(path=str(artifacts / "admin-9-leaderboards.png"))
    go(page, "/admin/people")
    expect(page.locator("body[data-usable=admin-people]")).to_be_attached()
    expect(page.get_by_test_id("cadres")).to_contain_text("王部长")
    page.get_by_test_id("import-file").set_input_files(files=[{
        "name": "households.csv", "mimeType": "text/csv",
        "buffer": ("户主姓名,村(社区)代码,地址,纬度,经度,人口\n"
                   "张三,930001002001,测试三村9号,18.71,109.77,abc\n").encode()}])
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("import-errors")).to_contain_text("人口")
    users = page.get_by_test_id("users")
    users.get_by_label("账号").fill("e2e_housing")
    users.get_by_label("显示名").fill("县住建局")
    users.get_by_label("初始密码").fill(PASSWORD)
    users.get_by_label("责任部门").fill("县住建局")
    users.get_by_role("button", name="新建账号").click()
    expect(users.locator("tbody")).to_contain_text("e2e_housing")
    # A cadre's account is tied to a cadre picked by name, not typed in as an id.
    users.get_by_label("账号").fill("e2e_zhao_phone")
    users.get_by_label("显示名").fill("赵东片")
    users.get_by_label("初始密码").fill(PASSWORD)
    users.get_by_label("角色").select_option("cadre")
    cadre_id = next(c["id"] for c in api_get(server, token(server, ADMIN), "/cadres").json()["cadres"]
                    if c["name"] == "赵东片")
    users.get_by_test_id("user-cadre").select_option(cadre_id)
    users.get_by_role("button", name="新建账号").click()
    expect(users.locator("tbody tr", has_text="e2e_zhao_phone")).to_contain_text("赵东片")
    me = httpx.post(f"{server.url}/api/v1/session", json={"username": "e2e_zhao_phone", "password": PASSWORD}).json()
    assert me["user"]["cadre_id"] == cadre_id
    page.screenshot(path=str(artifacts / "admin-10-people.png"), full_page=True)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("link", name="Coverage map")).to_be_visible()
    expect(page.get_by_test_id("cadres")).to_contain_text("Section chief")
    page.get_by_role("button", name="中文").click()  # the choice is kept per browser: leave it Chinese


def test_the_rules_page_saves_the_rules_and_says_when_history_is_re_judged(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    page = desktop
    bearer = token(server, ADMIN)
    before = api_get(server, bearer, "/rules").json()
    verified_before = county_figures(server, bearer)["verified_visits"]
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/rules")
    expect(page.locator("body[data-usable=admin-rules]")).to_be_attached()
    distance = page.get_by_test_id("rule-verified_max_distance_m")
    expect(distance).to_have_value(f"{before['verified_max_distance_m']:g}")
    try:
        distance.fill("5000")
        page.get_by_test_id("rule-household_visits_per_year").fill("3")
        page.get_by_test_id("rule-days-department").fill("15")
        page.get_by_test_id("rule-quota-staff").fill("")  # no pairing quota for staff any more
        page.get_by_test_id("rules-save").click()
        expect(page.get_by_test_id("rules-state")).to_have_attribute("data-state", "rejudged", timeout=60_000)
        page.screenshot(path=str(artifacts / "admin-11-rules.png"), full_page=True)
        after = api_get(server, bearer, "/rules").json()
        assert before["paired_households_by_rank"]["staff"] == 1  # the default the page was asked to drop
        quotas = {rank: n for rank, n in before["paired_households_by_rank"].items() if rank != "staff"}
        assert after == {**before, "verified_max_distance_m": 5000, "household_visits_per_year": 3,
                         "issue_days_by_route": {**before["issue_days_by_route"], "department": 15},
                         "paired_households_by_rank": quotas}
        assert county_figures(server, bearer)["verified_visits"] >= verified_before
        go(page, "/admin/leaderboards")
        expect(page.get_by_test_id("rule")).to_contain_text("5000")
    finally:
        restored = httpx.put(f"{server.url}/api/v1/rules", json=before, headers={"Authorization": f"Bearer {bearer}"})
        assert restored.status_code == 200
        wait_until(lambda: not api_get(server, bearer, "/rules/rejudging").json()["running"], timeout=60, every=0.2)


def test_an_admin_disables_enables_and_sets_a_new_password_for_an_account(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    bearer = token(server, ADMIN)
    name = f"e2e_lost_{uuid.uuid4().hex[:6]}"
    made = httpx.post(f"{server.url}/api/v1/users", headers={"Authorization": f"Bearer {bearer}"}, json={
        "username": name, "display_name": "丢了手机的干事", "password": PASSWORD, "roles": ["department"],
        "department": "县民政局"})
    assert made.status_code == 201, made.text
    holder = token(server, name)

    def logs_in(password: str) -> int:
        return httpx.post(f"{server.url}/api/v1/session", json={"username": name, "password": password}).status_code

    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/people")
    expect(page.locator("body[data-usable=admin-people]")).to_be_attached()
    row = page.locator(f"tr[data-username={name}]")
    expect(row).to_contain_text("正常")
    row.get_by_role("button", name="停用").click()
    expect(row).to_contain_text("已停用")
    assert api_get(server, holder, "/me").status_code == 401  # the lost phone's session ended
    assert logs_in(PASSWORD) == 401
    row.get_by_role("button", name="启用").click()
    expect(row).to_contain_text("正常")
    row.get_by_role("button", name="重设密码").click()
    row.get_by_label("新密码（至少 8 位）").fill("new-secret-2026")
    page.screenshot(path=str(artifacts / "admin-10b-account-password.png"), full_page=True)
    row.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("users")).to_contain_text(f"已为 {name} 设置新密码")
    # the audit log (newest first) tells who did what
    audit = page.get_by_test_id("audit")
    expect(audit.locator("tbody tr").first).to_contain_text("重设密码")  # reloaded after the change
    newest = [entry.inner_text().split("\t")[1:4] for entry in audit.locator("tbody tr").all()[:3]]
    assert newest == [["重设密码", name, ADMIN], ["启用账号", name, ADMIN], ["停用账号", name, ADMIN]]
    assert logs_in(PASSWORD) == 401 and logs_in("new-secret-2026") == 201
    # an admin cannot lock themselves out: their own row has no 停用
    expect(page.locator(f"tr[data-username={ADMIN}]").get_by_role("button", name="停用")).to_have_count(0)


def test_an_admin_changes_a_cadres_rank_transfers_them_and_records_their_departure(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    bearer = token(server, ADMIN)
    name = f"调动{uuid.uuid4().hex[:4]}"
    enrolled = httpx.post(f"{server.url}/api/v1/cadres", headers={"Authorization": f"Bearer {bearer}"},
                          json={"name": name, "rank": "staff", "unit": "县委组织部"})
    assert enrolled.status_code == 201, enrolled.text
    cadre_id = enrolled.json()["result"]["id"]

    def listed() -> dict | None:
        cadres = api_get(server, bearer, "/cadres").json()["cadres"]
        return next((c for c in cadres if c["id"] == cadre_id), None)

    wait_until(lambda: listed() is not None, timeout=10)  # the cadre list reads the leaderboard read model
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/people")
    expect(page.locator("body[data-usable=admin-people]")).to_be_attached()
    cadres = page.get_by_test_id("cadres")
    cadres.locator(f"tr[data-cadre={name}]").get_by_role("button", name="调整").click()
    editor = cadres.locator("tr.editing")
    editor.get_by_label("职级").select_option("deputy_section_chief")
    editor.get_by_label("单位").fill("什玲镇党委")
    editor.get_by_role("button", name="保存").click()
    expect(cadres.locator(f"tr[data-cadre={name}]")).to_contain_text("什玲镇党委")
    now = listed()
    assert (now["rank"], now["unit"], now["version"]) == ("deputy_section_chief", "什玲镇党委", 3)
    cadres.locator(f"tr[data-cadre={name}]").get_by_role("button", name="调整").click()
    editor.get_by_role("button", name="调离").click()
    expect(editor).to_contain_text("请填写调离原因")
    editor.get_by_label("调离原因").fill("调往县财政局")
    page.screenshot(path=str(artifacts / "admin-10c-cadre-departure.png"), full_page=True)
    editor.get_by_role("button", name="调离").click()
    expect(cadres).to_contain_text(f"{name} 已调离")
    expect(cadres.locator(f"tr[data-cadre={name}]")).to_have_count(0)
    assert listed() is None


def test_an_admin_pairs_a_cadre_with_a_household_and_ends_the_pairing(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    admin = token(server, ADMIN)
    before = {p["pairing_id"] for p in api_get(server, admin, "/pairings", limit=500).json()["items"]}
    cadre = next(c for c in api_get(server, admin, "/cadres").json()["cadres"] if c["name"] == "钱科长")
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/compliance")
    expect(page.locator("body[data-usable=admin-compliance]")).to_be_attached()
    page.get_by_test_id("tab-pairings").click()
    page.get_by_test_id("new-pairing").click()
    form = page.get_by_test_id("pairing-form")
    form.get_by_label("干部").select_option(cadre["id"])
    form.get_by_label("村").fill(VILLAGE)  # no village names in this county: the code
    form.get_by_label("农户").select_option(label="老户03")
    form.get_by_label("周期").select_option("monthly")
    page.screenshot(path=str(artifacts / "admin-8d-new-pairing.png"), full_page=True)
    form.get_by_role("button", name="结对").click()
    expect(page.get_by_test_id("pairing-note")).to_have_text("已结对。")
    wait_until(lambda: len(api_get(server, admin, "/pairings", limit=500).json()["items"]) == len(before) + 1, 10)
    [made] = [p for p in api_get(server, admin, "/pairings", limit=500).json()["items"]
              if p["pairing_id"] not in before]
    assert (made["cadre_id"], made["head_name"], made["cadence"], made["programme"]) == (
        cadre["id"], "老户03", "monthly", "结对帮扶")
    row = page.locator(f"tr[data-pairing='{made['pairing_id']}']")
    expect(row).to_contain_text("老户03")
    row.get_by_role("button", name="结束结对").click()
    row.get_by_label("结束原因").fill("户籍迁出")
    row.get_by_role("button", name="结束结对").click()
    expect(page.get_by_test_id("pairing-note")).to_have_text("已结束结对。")
    expect(row).to_have_count(0)
    after = api_get(server, admin, "/pairings", limit=500).json()["items"]
    assert made["pairing_id"] not in {p["pairing_id"] for p in after}


def test_an_admin_retags_corrects_and_archives_a_household(
        desktop: Page, server: Server, admin_seeded: AdminSeeded, artifacts):
    admin = token(server, ADMIN)
    bearer = {"Authorization": f"Bearer {admin}"}
    made = httpx.post(f"{server.url}/api/v1/households", headers=bearer, json={
        "command_id": str(uuid.uuid4()), "village": VILLAGE, "township": VILLAGE[:9], "address": "测试三村99号",
        "lat": 18.71, "lon": 109.77, "size": 3, "head_name": "档案户", "tags": []})
    assert made.status_code == 201, made.text
    home = made.json()["result"]["id"]
    wait_until(lambda: any(h["household_id"] == home for h in api_get(
        server, admin, "/completeness/households", village=VILLAGE, limit=500).json()["items"]), 10)
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/people")
    expect(page.locator("body[data-usable=admin-people]")).to_be_attached()
    card = page.get_by_test_id("households")
    card.get_by_test_id("households-village").fill(VILLAGE)
    card.locator("tr[data-household=档案户]").get_by_role("button", name="调整").click()
    editor = card.get_by_test_id("household-editor")
    editor.get_by_label("低保户").check()
    editor.get_by_label("空巢老人").check()
    editor.get_by_role("button", name="保存标签").click()
    expect(card.get_by_test_id("households-note")).to_have_text("标签已更新。")
    detail = api_get(server, admin, f"/households/{home}").json()
    assert sorted(detail["tags"]) == ["empty_nest_elderly", "subsistence"] and detail["version"] == 2
    card.locator("tr[data-household=档案户]").get_by_role("button", name="调整").click()
    editor.get_by_label("纬度").fill("18.7125")
    editor.get_by_label("地址").fill("测试三村99号（新址）")
    editor.get_by_role("button", name="更正位置").click()
    expect(card.get_by_test_id("households-note")).to_have_text("位置已更正。")
    detail = api_get(server, admin, f"/households/{home}").json()
    assert (detail["lat"], detail["address"], detail["version"]) == (18.7125, "测试三村99号（新址）", 3)
    card.locator("tr[data-household=档案户]").get_by_role("button", name="调整").click()
    editor.get_by_label("注销原因").fill("全户迁出")
    page.screenshot(path=str(artifacts / "admin-10d-household-record.png"), full_page=True)
    editor.get_by_role("button", name="注销农户").click()
    expect(card.get_by_test_id("households-note")).to_contain_text("农户已注销")
    assert api_get(server, admin, f"/households/{home}").json()["archived"] is True
    wait_until(lambda: all(h["household_id"] != home for h in api_get(
        server, admin, "/completeness/households", village=VILLAGE, limit=500).json()["items"]), 10)


def test_a_live_update_while_the_admin_types_keeps_what_they_typed(
        desktop: Page, server: Server, admin_seeded: AdminSeeded):
    """Regression: every live update re-renders the admin pages, and the household editor's inputs were
    controlled by the stored values, so a change elsewhere in the county put them back over the typing."""
    admin = token(server, ADMIN)
    bearer = {"Authorization": f"Bearer {admin}"}

    def register(head: str, address: str) -> str:
        made = httpx.post(f"{server.url}/api/v1/households", headers=bearer, json={
            "command_id": str(uuid.uuid4()), "village": VILLAGE, "township": VILLAGE[:9], "address": address,
            "lat": 18.72, "lon": 109.78, "size": 2, "head_name": head, "tags": []})
        assert made.status_code == 201, made.text
        return made.json()["result"]["id"]

    home = register("打字户", "测试三村1号")
    wait_until(lambda: any(h["household_id"] == home for h in api_get(
        server, admin, "/completeness/households", village=VILLAGE, limit=500).json()["items"]), 10)
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/people")
    expect(page.locator("body[data-usable=admin-people]")).to_be_attached()
    live = page.get_by_test_id("live")
    expect(live).to_have_class("live on")
    card = page.get_by_test_id("households")
    card.get_by_test_id("households-village").fill(VILLAGE)
    card.locator("tr[data-household=打字户]").get_by_role("button", name="调整").click()
    editor = card.get_by_test_id("household-editor")
    editor.get_by_label("纬度").fill("18.7231")
    editor.get_by_label("地址").fill("测试三村1号（新址）")
    seen = int(live.get_attribute("data-changes"))
    register("邻居户", "测试三村2号")  # another record changes: the open pages hear of it
    wait_until(lambda: int(live.get_attribute("data-changes")) > seen, 10)
    expect(editor.get_by_label("纬度")).to_have_value("18.7231")
    editor.get_by_role("button", name="更正位置").click()
    expect(card.get_by_test_id("households-note")).to_have_text("位置已更正。")
    detail = api_get(server, admin, f"/households/{home}").json()
    assert (detail["lat"], detail["address"]) == (18.7231, "测试三村1号（新址）")
