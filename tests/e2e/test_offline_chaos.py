"""The phone's outbox through a bad day, in Debian's Chromium against the real server (issue 15 item 5):
200 check-ins queued offline, then the signal comes and goes 20 times and the page is reloaded 3 times
while the outbox flushes. Every check-in reaches the server exactly once and the outbox ends empty.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from contextlib import suppress

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Page, Response, expect

from .conftest import Server
from .seed import COUNTY, Seeded
from .slow_link import slow_link
from .test_field_app import GO, check_in, controlled_by_service_worker, eventually, log_in, shot, stored

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
            expect(page.locator("body[data-usable=sync]")).to_be_attached()
        page.wait_for_timeout(rng.randint(20, 150))
    context.set_offline(False)
    eventually(lambda: stored(page, "outbox") == 0, timeout=90, every=0.2)
    flush_seconds = time.monotonic() - started

    expect(page.get_by_test_id("queued-count")).to_have_text("0")
    shot(page, artifacts, "chaos-done")
    stored_counts = check_ins_stored(server.database_url, ids)
    assert len(stored_counts) == QUEUED, f"{QUEUED - len(stored_counts)} check-ins lost"
    assert set(stored_counts.values()) == {1}, "a check-in stored twice"
    assert stored(page, "answered") == 0  # none rejected or in conflict
    # The chaos overlapped the flush: some toggles found the outbox part-sent.
    assert len({n for n in seen if 0 < n < QUEUED}) >= 3, seen
    (artifacts / "pwa-chaos.txt").write_text(
        f"queued {QUEUED}, toggles {TOGGLES}, reloads {len(RELOAD_AFTER)}, flushed in {flush_seconds:.2f} s,"
        f" outbox at each toggle {seen}, answers received {dict(answers)}\n")
