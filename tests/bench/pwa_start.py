"""Field PWA start times on a cheap phone's terms (issue 5): Debian's Chromium, CPU throttled 4x and the
network at DevTools' "Slow 3G" (2,000 ms round trip, 50 KB/s each way), set through the DevTools
protocol. A benchmark, not a test: it prints the figures and writes them into docs/benchmarks.md.

- first visit: a fresh profile opens `/` until the login screen is usable;
- offline start: with the app installed (service worker + data), the network off, a new tab opens
  `/today` until Today is usable;
- flush: 50 check-ins queued offline, then online: time until the outbox is empty (loopback, and
  over Slow 3G).

"Usable" is the app's own `usable:<screen>` performance mark, set after the screen rendered with its
data; times are from navigation start. Runs on its own embedded PostgreSQL:
`.venv/bin/python -m tests.bench.pwa_start` (needs pwa/dist built).
"""
from __future__ import annotations

import gzip
import os
import re
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from services.storage.database import embedded_server
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE_VIEWPORT
from tests.e2e.seed import CADRE_USERNAME, CENTROID, DIST, PASSWORD, ROOT, running_server, seed_county

RUNS = 5
SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
CPU_SLOWDOWN = 4
FLUSH_ITEMS = 50
REPORT = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- pwa-start: begin -->", "<!-- pwa-start: end -->"
CONTEXT = {"viewport": PHONE_VIEWPORT, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
           "locale": "zh-CN", "timezone_id": "Asia/Shanghai", "permissions": ["geolocation"],
           "geolocation": {"latitude": CENTROID[0], "longitude": CENTROID[1], "accuracy": 12}}
COUNT = """(store) => new Promise((resolve) => {
  const open = indexedDB.open('grassroots');
  open.onsuccess = () => {
    const r = open.result.transaction(store).objectStore(store).count();
    r.onsuccess = () => { resolve(r.result); open.result.close(); };
  };
})"""


def throttle(page: Page, network: dict) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", network)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})


def usable_ms(page: Page, screen: str, timeout_ms: float = 60_000) -> float:
    page.wait_for_selector(f"body[data-usable={screen}]", state="attached", timeout=timeout_ms)
    return page.evaluate(f"performance.getEntriesByName('usable:{screen}')[0].startTime")


def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.05)


def first_visit(browser, url: str) -> float:
    context = browser.new_context(base_url=url, **CONTEXT)
    page = context.new_page()
    throttle(page, SLOW_3G)
    page.goto("/", wait_until="commit")
    result = usable_ms(page, "login")
    context.close()
    return result


def installed_context(browser, url: str):
    """A phone with the app installed: logged in, data downloaded, the service worker in control."""
    context = browser.new_context(base_url=url, **CONTEXT)
    page = context.new_page()
    page.goto("/")
    page.get_by_label("账号").fill(CADRE_USERNAME)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_selector("body[data-usable=today]", state="attached")
    wait_for(lambda: page.evaluate(COUNT, "households") > 0)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    return context, page


def offline_start(browser, url: str) -> list[float]:
    context, page = installed_context(browser, url)
    page.close()
    context.set_offline(True)
    times = []
    for _ in range(RUNS):
        page = context.new_page()
        throttle(page, OFFLINE)
        page.goto("/today", wait_until="commit")
        times.append(usable_ms(page, "today"))
        page.close()
    context.close()
    return times


def flush_time(browser, url: str, network: dict | None) -> float:
    context, page = installed_context(browser, url)
    households = page.evaluate("""() => new Promise((resolve) => {
      const open = indexedDB.open('grassroots');
      open.onsuccess = () => {
        const r = open.result.transaction('households').objectStore('households').getAllKeys();
        r.onsuccess = () => resolve(r.result);
      };
    })""")
    context.set_offline(True)
    for n in range(FLUSH_ITEMS):
        page.evaluate("path => { history.pushState(null, '', path); dispatchEvent(new PopStateEvent('popstate')); }",
                      f"/checkin/{households[n % len(households)]}")
        page.wait_for_selector("[data-testid=gps][data-status=good]")
        page.get_by_test_id("checkin-submit").click()
        page.wait_for_selector("body[data-usable=today]", state="attached")
    assert page.evaluate(COUNT, "outbox") == FLUSH_ITEMS
    if network:
        throttle(page, network)
    started = time.monotonic()
    context.set_offline(False)
    wait_for(lambda: page.evaluate(COUNT, "outbox") == 0)
    elapsed = time.monotonic() - started
    context.close()
    return elapsed


def bundle_sizes() -> dict[str, int]:
    """Gzipped bytes of what a cadre's phone loads: the field JS (inlined into index.html, plus any
    chunk outside assets/admin/), the whole index.html, the service worker; admin chunks apart."""
    html = (DIST / "index.html").read_text()
    inline = "".join(re.findall(r'<script type="module">(.*?)</script>', html, flags=re.S))
    sizes = {"field_js": len(gzip.compress(inline.encode(), 9)), "admin_js": 0}
    for path in (DIST / "assets").rglob("*.js"):
        key = "admin_js" if "admin" in path.relative_to(DIST / "assets").parts else "field_js"
        sizes[key] += len(gzip.compress(path.read_bytes(), 9))
    sizes["index_html"] = len(gzip.compress(html.encode(), 9))
    sizes["service_worker"] = len(gzip.compress((DIST / "sw.js").read_bytes(), 9))
    return sizes


def chromium_version() -> str:
    import subprocess

    return subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()


def write_report(text: str) -> None:
    section = f"{BEGIN}\n{text}\n{END}"
    current = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n\nFigures measured on the project's machines.\n"
    if BEGIN in current:
        current = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: section, current, flags=re.S)
    else:
        current = current.rstrip("\n") + "\n\n" + section + "\n"
    REPORT.write_text(current)


def main() -> int:
    datadir = tempfile.mkdtemp(prefix="gr-bench-", dir="/tmp")
    server = embedded_server(datadir, cleanup_mode="stop")
    try:
        database_url = server.get_uri()
        seed_county(database_url)
        with running_server(database_url, Path(datadir) / "serve.log") as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            first = [first_visit(browser, url) for _ in range(RUNS)]
            offline = offline_start(browser, url)
            flush_loopback = flush_time(browser, url, None)
            flush_slow = flush_time(browser, url, SLOW_3G)
            browser.close()
    finally:
        server.cleanup()
        shutil.rmtree(datadir, ignore_errors=True)
    load = os.getloadavg()[0]
    sizes = bundle_sizes()
    kb = lambda n: f"{n / 1024:.1f} KB"  # noqa: E731
    ms = lambda xs: f"median {statistics.median(xs):.0f} ms (min {min(xs):.0f}, max {max(xs):.0f}, n={len(xs)})"  # noqa: E731
    text = f"""## Field PWA: size and start times (issue 5)

Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m tests.bench.pwa_start` on this 2-core machine,
{chromium_version()}, 390×844 phone viewport, CPU throttled {CPU_SLOWDOWN}× and network "Slow 3G"
(2,000 ms round trip, 50 KB/s down and up) through the DevTools protocol; `grassroots serve` on loopback.
Load average when done: {load:.1f} (other work on the machine makes the CPU-bound figures slower and noisier).

| what | figure | target |
|---|---|---|
| field app JavaScript, gzipped (inlined in index.html; nothing else outside `assets/admin/`) | {kb(sizes['field_js'])} | ≤ 60 KB |
| index.html with the inline JS and CSS, gzipped (the one request before login) | {kb(sizes['index_html'])} | |
| service worker, gzipped | {kb(sizes['service_worker'])} | |
| admin chunks, gzipped (not precached) | {kb(sizes['admin_js'])} | |
| first visit → login screen usable | {ms(first)} | ≤ 5,000 ms |
| offline start → Today usable (installed app, new tab) | {ms(offline)} | ≤ 1,000 ms |
| {FLUSH_ITEMS} queued check-ins flushed, loopback network | {flush_loopback * 1000:.0f} ms | |
| {FLUSH_ITEMS} queued check-ins flushed, Slow 3G | {flush_slow * 1000:.0f} ms | |
"""  # noqa: E501 (a markdown table's row cannot wrap)
    print(text)
    write_report(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
