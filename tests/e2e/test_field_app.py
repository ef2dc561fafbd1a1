"""The field PWA in Debian's Chromium at a phone's size, against the real server (see conftest.py)."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .conftest import Server
from .seed import CADRE_USERNAME, COUNTY, DEMO_CADRE_USERNAME, PASSWORD, Seeded

pytestmark = pytest.mark.e2e

CHECK_INS = 50
STORE_COUNT = """(store) => new Promise((resolve, reject) => {
  const open = indexedDB.open('grassroots');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const request = open.result.transaction(store).objectStore(store).count();
    request.onsuccess = () => { resolve(request.result); open.result.close(); };
  };
})"""
GO = "path => { history.pushState(null, '', path); dispatchEvent(new PopStateEvent('popstate')); }"


def events_on_server(database_url: str, topic: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(f"SELECT count(*) FROM county_{COUNTY}.county_events WHERE topic = %s",
                            (f"grassroots:{topic}",)).fetchone()[0]


def visits_on_server(database_url: str) -> int:
    return events_on_server(database_url, "Visit.CheckedIn")


def stored(page: Page, store: str) -> int:
    """How many records the app keeps in one IndexedDB store (the app has opened the database by then)."""
    return page.evaluate(STORE_COUNT, store)


def eventually(condition, timeout: float = 30.0, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(every)


def shot(page: Page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"pwa-{name}.png"))


def log_in(page: Page) -> None:
    page.goto("/")
    expect(page.locator("body[data-usable=login]")).to_be_attached()
    page.get_by_label("账号").fill(CADRE_USERNAME)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("body[data-usable=today]")).to_be_attached()
    # The households of my township arrive in IndexedDB for offline use.
    eventually(lambda: stored(page, "households") > 0)


def controlled_by_service_worker(page: Page) -> None:
    # The first load is not controlled: wait for the worker, reload, then the page is ours offline.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def check_in(page: Page, household_id: str, note: str) -> None:
    page.evaluate(GO, f"/checkin/{household_id}")
    expect(page.locator("[data-testid=gps][data-status=good]")).to_be_visible()
    page.get_by_label("走访方式").select_option("chat")
    page.get_by_label("生产生活").check()
    page.get_by_label("简要记录（不评价、不暗示）").fill(note)
    page.get_by_test_id("checkin-submit").click()
    expect(page.locator("body[data-usable=today]")).to_be_attached()


def test_fifty_offline_check_ins_reach_the_server_exactly_once_through_flaky_network(
        page: Page, context: BrowserContext, server: Server, seeded: Seeded, artifacts):
    page.goto("/")
    shot(page, artifacts, "1-login")
    log_in(page)
    shot(page, artifacts, "2-today")
    controlled_by_service_worker(page)
    before = visits_on_server(server.database_url)

    page.evaluate(GO, "/households")
    page.get_by_placeholder("按户主、村庄或标签搜索").fill("留守儿童")
    expect(page.get_by_test_id("household-list").locator("li")).to_have_count(4)
    shot(page, artifacts, "3-households-search")
    page.get_by_test_id("household-list").locator("a").first.click()
    expect(page.locator("body[data-usable=household]")).to_be_attached()
    shot(page, artifacts, "4-household-detail")

    context.set_offline(True)
    expect(page.get_by_test_id("connectivity")).to_have_text("离线")
    households = [h["id"] for h in seeded.households]
    for n in range(CHECK_INS):
        if n == 0:
            page.evaluate(GO, f"/checkin/{households[0]}")
            expect(page.locator("[data-testid=gps][data-status=good]")).to_be_visible()
            shot(page, artifacts, "5-check-in")
        check_in(page, households[n % len(households)], f"第{n + 1}次走访")
    assert stored(page, "outbox") == CHECK_INS

    page.reload()  # offline: the service worker serves the shell, IndexedDB the data
    expect(page.locator("body[data-usable=today]")).to_be_attached()
    expect(page.get_by_test_id("queued-badge")).to_have_text(f"{CHECK_INS} 条待同步")
    shot(page, artifacts, "6-today-offline")
    page.evaluate(GO, "/sync")
    expect(page.get_by_test_id("queued-count")).to_have_text(str(CHECK_INS))
    shot(page, artifacts, "7-sync-offline")
    assert visits_on_server(server.database_url) == before

    started = time.monotonic()
    context.set_offline(False)
    for _ in range(5):  # the signal comes and goes while the outbox flushes
        page.wait_for_timeout(60)
        context.set_offline(True)
        page.wait_for_timeout(40)
        context.set_offline(False)
    eventually(lambda: stored(page, "outbox") == 0, timeout=60)
    flush_seconds = time.monotonic() - started
    expect(page.get_by_test_id("queued-count")).to_have_text("0")
    shot(page, artifacts, "8-sync-done")
    assert visits_on_server(server.database_url) == before + CHECK_INS
    (artifacts / "pwa-flush-seconds.txt").write_text(f"{flush_seconds:.2f}\n")

    # The synced visits come back as the household's history, judged by the server's projections.
    page.evaluate(GO, "/households")

    def history_shows_verified_visits() -> bool:
        page.evaluate(GO, f"/households/{households[0]}")
        page.wait_for_selector("body[data-usable=household]", state="attached")
        page.wait_for_timeout(300)
        return page.get_by_test_id("visit-history").get_by_text("已核验").count() > 0
    eventually(history_shows_verified_visits, timeout=20, every=0.5)
    shot(page, artifacts, "9-household-history")

    page.evaluate(GO, "/me")
    expect(page.get_by_test_id("stats")).to_contain_text(str(CHECK_INS))
    shot(page, artifacts, "9-me")
    page.evaluate(GO, "/interview")
    expect(page.locator("body[data-usable=interview]")).to_be_attached()
    shot(page, artifacts, "10-interview")


def test_a_rejected_check_in_is_shown_with_its_reason_and_what_to_do(
        page: Page, server: Server, seeded: Seeded, artifacts):
    # A phone whose clock runs a day ahead: the server rejects the check-in's device time.
    page.clock.set_fixed_time(datetime.now(UTC) + timedelta(days=1))
    log_in(page)
    before = visits_on_server(server.database_url)
    check_in(page, seeded.households[1]["id"], "时钟错误的手机")
    page.evaluate(GO, "/sync")
    answered = page.get_by_test_id("answered").locator("li")
    expect(answered).to_have_count(1)
    expect(answered).to_contain_text("被退回")
    expect(answered).to_contain_text("请检查手机时间")
    expect(answered).to_contain_text("请按原因修改后重新登记")
    expect(page.get_by_test_id("queued-count")).to_have_text("0")
    shot(page, artifacts, "11-sync-rejected")
    assert visits_on_server(server.database_url) == before
    answered.get_by_role("button", name="知道了").click()
    expect(answered).to_have_count(0)


def test_logout_warns_about_unsynced_items_then_purges_the_phone(
        page: Page, context: BrowserContext, server: Server, seeded: Seeded):
    log_in(page)
    context.set_offline(True)
    check_in(page, seeded.households[2]["id"], "未同步")
    page.evaluate(GO, "/me")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator("body[data-usable=login]")).to_be_attached()
    assert dialogs == ["还有 1 条记录未同步，退出将永久删除它们。确定退出吗？"]
    assert stored(page, "outbox") == 0
    assert stored(page, "households") == 0


def test_english_switch_relabels_the_app(page: Page, server: Server, seeded: Seeded):
    log_in(page)
    page.evaluate(GO, "/me")
    page.get_by_test_id("language").select_option("en")
    expect(page.get_by_role("link", name="Today")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_a_check_in_raises_an_issue_in_the_same_step_and_an_interview_is_recorded(
        page: Page, server: Server, seeded: Seeded, artifacts):
    log_in(page)
    issues, interviews = (events_on_server(server.database_url, t) for t in ("Issue.Raised", "Interview.Held"))
    page.evaluate(GO, f"/checkin/{seeded.households[3]['id']}")
    expect(page.locator("[data-testid=gps][data-status=good]")).to_be_visible()
    page.get_by_label("同时登记群众反映的问题").check()
    page.get_by_label("问题类别").select_option("housing")
    page.get_by_label("问题简述").fill("屋顶漏雨，需要修缮")
    shot(page, artifacts, "12-check-in-with-issue")
    page.get_by_test_id("checkin-submit").click()
    expect(page.locator("body[data-usable=today]")).to_be_attached()

    page.evaluate(GO, "/interview")
    page.get_by_label("谈话对象").select_option(label="王部长 · 正科 · 县委组织部")
    page.get_by_label("干部约谈领导").check()
    page.get_by_label("家庭情况").check()
    page.get_by_label("困难诉求").check()
    page.get_by_role("button", name="保存谈话记录").click()
    expect(page.locator("body[data-usable=sync]")).to_be_attached()
    expect(page.get_by_test_id("queued-count")).to_have_text("0")
    eventually(lambda: events_on_server(server.database_url, "Interview.Held") == interviews + 1)
    assert events_on_server(server.database_url, "Issue.Raised") == issues + 1


def test_a_weak_gps_fix_turns_into_a_clear_weak_signal_state_and_can_still_be_saved(
        page: Page, context: BrowserContext, server: Server, seeded: Seeded, artifacts):
    context.set_geolocation({"latitude": 18.64, "longitude": 109.70, "accuracy": 400})
    page.clock.install()
    log_in(page)
    context.set_offline(True)
    page.evaluate(GO, f"/checkin/{seeded.households[5]['id']}")
    gps = page.get_by_test_id("gps")
    expect(gps).to_have_attribute("data-status", "waiting")
    expect(gps).to_contain_text("精度 ±400 米")
    expect(page.get_by_test_id("checkin-submit")).to_have_text("等待定位…（也可直接提交）")
    page.clock.fast_forward("00:31")  # past the 30 s limit for a good fix
    expect(gps).to_have_attribute("data-status", "weak")
    expect(gps).to_contain_text("信号弱")
    shot(page, artifacts, "13-check-in-weak-signal")
    page.get_by_test_id("checkin-submit").click()
    expect(page.locator("body[data-usable=today]")).to_be_attached()
    position = page.evaluate("""() => new Promise((resolve) => {
      const open = indexedDB.open('grassroots');
      open.onsuccess = () => {
        const r = open.result.transaction('outbox').objectStore('outbox').getAll();
        r.onsuccess = () => resolve(r.result[0].payload.position);
      };
    })""")
    assert position == {"lat": 18.64, "lon": 109.70, "accuracy_m": 400, "provider": "web"}


def test_the_demo_county_says_its_data_is_generated(page: Page, server: Server, artifacts):
    page.goto("/")
    expect(page.locator("body[data-usable=login]")).to_be_attached()
    page.get_by_label("账号").fill(DEMO_CADRE_USERNAME)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("body[data-usable=today]")).to_be_attached()
    expect(page.get_by_text("演示环境：村庄、农户和走访记录均为生成数据")).to_be_visible()
    shot(page, artifacts, "14-demo-banner")
