"""The phone's outbox through a bad day, in Debian's Chromium against the real server (issue 15 item 5):
200 check-ins queued offline, then the signal comes and goes 20 times and the page is reloaded 3 times
while the outbox flushes. Every check-in reaches the server exactly once and the outbox ends empty.
"""
from __future__ import annotations

import random
import re
import time
from collections import Counter
from contextlib import suppress

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Page, Response, expect

from .conftest import Server
from .seed import COUNTY, Seeded
from .slow_link import slow_link
from .test_field_app import GO, check_in, controlled_by_service_worker, log_in, shot, stored, visits_on_server

pytestmark = pytest.mark.e2e

QUEUED = 200
TOGGLES = 20
RELOAD_AFTER = {5, 11, 17}  # toggle numbers after which the page is reloaded (3 reloads)
LATENCY = 0.25  # seconds each answer of the server spends on the slow link

# 199 more check-ins of exactly the shape the app's own check-in screen queued (the first one, made
# through the UI): cloned in one IndexedDB transaction, because 200 trips through the form would take
# minutes on a shared CPU. Each clone gets its own client UUID, household and device time, as a real
# day of visits would. The flush that sends them is the app's own.
CLONE = """async ({ n, households }) => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('grassroots');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => resolve(open.result);
  });
  const read = db.transaction('outbox').objectStore('outbox').getAll();
  const [{ seq, ...first }] = await new Promise((resolve) => { read.onsuccess = () => resolve(read.result); });
  const tx = db.transaction('outbox', 'readwrite');
  const ids = [first.id];
  for (let i = 1; i <= n; i += 1) {
    const id = crypto.randomUUID();
    ids.push(id);
    const occurred_at = new Date(Date.parse(first.payload.occurred_at) - i * 1000).toISOString();
    const payload = { ...first.payload, target_id: households[i % households.length], occurred_at,
                      note: `混乱测试 ${i + 1}` };
    tx.objectStore('outbox').add({ ...first, id, payload, queued_at: new Date().toISOString() });
  }
  await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
  db.close();
  return ids;
}"""


def count_answers(response: Response, answers: Counter[str]) -> None:
    if not response.url.endswith("/api/v1/sync") or not response.ok:
        return
    with suppress(Error):  # the body lost on the way is exactly the case the resend covers
        answers.update(result["status"] for result in response.json()["results"])


def check_ins_stored(database_url: str, ids: list[str]) -> dict[str, int]:
    """How many Visit.CheckedIn events each visit id has in the county's event store."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT originator_id::text, count(*) FROM county_{COUNTY}.county_events"
            " WHERE topic = 'grassroots:Visit.CheckedIn' AND originator_id = ANY(%s::uuid[])"
            " GROUP BY originator_id", (ids,)).fetchall()
    return {row[0]: row[1] for row in rows}


@pytest.fixture
def slow_phone(browser: Browser, browser_context_args: dict, server: Server):
    """A phone whose link to the server is slow (its own origin: the relay's port)."""
    with slow_link(server.url, LATENCY) as url:
        context = browser.new_context(**{**browser_context_args, "base_url": url})
        yield context, context.new_page()
        context.close()


def test_two_hundred_queued_check_ins_arrive_exactly_once_through_toggles_and_reloads(
        slow_phone: tuple[BrowserContext, Page], server: Server, seeded: Seeded, artifacts):
    context, page = slow_phone
    log_in(page)
    controlled_by_service_worker(page)
    context.set_offline(True)
    expect(page.get_by_test_id("connectivity")).to_have_text("离线")
    households = [h["id"] for h in seeded.households]
    check_in(page, households[0], "混乱测试 1")
    assert stored(page, "outbox") == 1
    ids = page.evaluate(CLONE, {"n": QUEUED - 1, "households": households})
    assert len(set(ids)) == QUEUED
    assert stored(page, "outbox") == QUEUED
    assert check_ins_stored(server.database_url, ids) == {}
    before = visits_on_server(server.database_url)

    page.reload()  # offline: the service worker serves the shell, IndexedDB the outbox
    expect(page.get_by_test_id("queued-badge")).to_have_text(f"{QUEUED} 条待同步")
    page.evaluate(GO, "/sync")
    expect(page.get_by_test_id("queued-count")).to_have_text(str(QUEUED))

    answers: Counter[str] = Counter()  # the answers that made it back through the chaos, page's and worker's
    context.on("response", lambda response: count_answers(response, answers))

    # The signal comes and goes while the outbox flushes; the page is reloaded three times, once
    # offline. Seeded, so that a failure replays the same schedule.
    rng = random.Random(15)
    seen: list[int] = []
    started = time.monotonic()
    for toggle in range(1, TOGGLES + 1):
        context.set_offline(False)
        page.wait_for_timeout(rng.randint(40, 250))
        context.set_offline(True)
        seen.append(stored(page, "outbox"))
        if toggle in RELOAD_AFTER:
            if toggle == 11:
                page.reload()  # offline, mid-flush
            else:
                context.set_offline(False)
                page.wait_for_timeout(rng.randint(0, 80))
                page.reload()  # online: a batch may be in flight and its answer lost
            expect(page.locator("body[data-usable=sync]")).to_be_attached(timeout=15000)
        page.wait_for_timeout(rng.randint(20, 150))
    context.set_offline(False)
    deadline = time.monotonic() + 90
    while (left := stored(page, "outbox")) > 0:
        if time.monotonic() > deadline:
            shot(page, artifacts, "chaos-stuck")
            pytest.fail(f"{left} still queued 90 s after the chaos; outbox at each toggle {seen},"
                        f" answers received {dict(answers)}")
        time.sleep(0.2)
    flush_seconds = time.monotonic() - started

    expect(page.get_by_test_id("queued-count")).to_have_text("0")
    shot(page, artifacts, "chaos-done")
    stored_counts = check_ins_stored(server.database_url, ids)
    assert len(stored_counts) == QUEUED, f"{QUEUED - len(stored_counts)} check-ins lost"
    assert set(stored_counts.values()) == {1}, "a check-in stored twice"
    # ... and nothing else: a resend under a new id would be a second visit that the ids above miss.
    assert visits_on_server(server.database_url) == before + QUEUED
    assert stored(page, "answered") == 0  # none rejected or in conflict
    # The chaos overlapped the flush: some toggles found the outbox part-sent.
    assert len({n for n in seen if 0 < n < QUEUED}) >= 3, seen
    persisted = page.evaluate("navigator.storage.persisted()")  # Chromium's own answer, for the record
    (artifacts / "pwa-chaos.txt").write_text(
        f"queued {QUEUED}, toggles {TOGGLES}, reloads {len(RELOAD_AFTER)}, flushed in {flush_seconds:.2f} s,"
        f" outbox at each toggle {seen}, answers received {dict(answers)}, storage persisted {persisted}\n")


# navigator.storage as a browser that refuses (or grants) persistent storage: Chromium decides by
# site engagement, so the real answer differs between runs and machines.
STORAGE_ANSWERS = """granted => {
  const storage = navigator.storage;
  storage.persisted = async () => granted;
  storage.persist = async () => granted;
}"""


def answer_persistence(page: Page, granted: bool) -> None:
    page.add_init_script(f"({STORAGE_ANSWERS})({'true' if granted else 'false'})")


def test_refused_persistent_storage_warns_how_many_queued_records_a_cleared_browser_loses(
        page: Page, context: BrowserContext, server: Server, seeded: Seeded, artifacts):
    answer_persistence(page, granted=False)
    log_in(page)
    warning = page.get_by_test_id("storage-warning")
    expect(warning).to_have_count(0)  # nothing queued, nothing to lose
    context.set_offline(True)
    check_in(page, seeded.households[4]["id"], "存储未持久 1")
    expect(warning).to_contain_text("1 条未同步记录会丢失")
    check_in(page, seeded.households[5]["id"], "存储未持久 2")
    expect(warning).to_contain_text("2 条未同步记录会丢失")
    assert stored(page, "outbox") == 2
    shot(page, artifacts, "storage-at-risk")

    # The browser's data is cleared: exactly what the warning said is gone.
    cdp = context.new_cdp_session(page)
    cdp.send("Storage.clearDataForOrigin", {"origin": server.url, "storageTypes": "all"})
    context.set_offline(False)
    page.goto("/")
    expect(page.locator("body[data-usable=login]")).to_be_attached()
    assert stored(page, "outbox") == 0


def test_granted_persistent_storage_shows_no_warning(page: Page, context: BrowserContext, seeded: Seeded):
    answer_persistence(page, granted=True)
    log_in(page)
    context.set_offline(True)
    check_in(page, seeded.households[6]["id"], "存储已持久")
    expect(page.get_by_test_id("queued-badge")).to_have_text("1 条待同步")
    expect(page.get_by_test_id("storage-warning")).to_have_count(0)


def test_sync_screen_tells_the_truth_after_download_and_offline(
        page: Page, context: BrowserContext, server: Server, seeded: Seeded, artifacts):
    log_in(page)  # the households are downloaded; nothing was ever sent
    page.evaluate(GO, "/sync")
    expect(page.get_by_test_id("queued-count")).to_have_text("0")
    expect(page.get_by_test_id("last-sync")).not_to_have_text("从未同步")
    expect(page.get_by_test_id("last-sync")).to_have_text(re.compile(r"\d{2}:\d{2}"))
    button = page.get_by_test_id("sync-now")
    expect(button).to_have_text("立即同步")

    context.set_offline(True)
    expect(button).to_have_text("离线：没有待发送的记录")
    check_in(page, seeded.households[7]["id"], "同步页")
    page.evaluate(GO, "/sync")
    expect(button).to_have_text("离线：联网后自动发送 1 条")
    expect(button).to_be_disabled()
    shot(page, artifacts, "sync-offline-button")

    context.set_offline(False)  # the connection returns: it goes out without a press
    expect(page.get_by_test_id("queued-count")).to_have_text("0")
    expect(button).to_have_text("立即同步")
    expect(button).to_be_enabled()
