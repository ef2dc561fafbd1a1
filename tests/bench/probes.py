"""The probes without an account at 3,000 counties (issue 13): `/status`, `/readyz` and `/metrics` timed
over real HTTP against `grassroots serve` on a fresh embedded PostgreSQL holding tenants3000's 3,000
provisioned counties (no events: what a probe costs is per county, not per event), beside `/healthz`
(no database) as the floor.

A benchmark, not a test: it prints the figures and writes its section of docs/benchmarks.md.
`.venv/bin/python -m tests.bench.probes` (needs pwa/dist built, as `grassroots serve` serves it).
"""
from __future__ import annotations

import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.bench.common import describe_machine, load_average, percentile
from tests.bench.datasets import PROVISIONING_THREADS, TENANTS, dataset, embedded_database, provision
from tests.e2e.seed import ROOT, running_server
from services.storage.schemas import ensure_core

PATHS = ("/healthz", "/status", "/readyz", "/metrics")
REQUESTS = 50  # per path, one at a time
REPORT = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- probes: begin -->", "<!-- probes: end -->"


def timed(base: str, path: str) -> tuple[list[float], set[int], int]:
    """Seconds per request, the statuses seen and the last body's size."""
    seconds, statuses, size = [], set(), 0
    with httpx.Client(base_url=base, timeout=120) as client:
        client.get(path)  # warm: the first request of a path opens pool connections
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = client.get(path)
            seconds.append(time.perf_counter() - started)
            statuses.add(response.status_code)
            size = len(response.content)
    return seconds, statuses, size


def run() -> str:
    counties = dataset("tenants3000").empty
    began = time.monotonic()
    with embedded_database() as url, tempfile.TemporaryDirectory() as logs:
        ensure_core(url)
        started = time.monotonic()
        with ThreadPoolExecutor(PROVISIONING_THREADS) as pool:
            list(pool.map(lambda place: provision(url, place, TENANTS, None), counties))
        provisioned = time.monotonic() - started
        print(f"{len(counties):,} counties provisioned in {provisioned:.0f} s", flush=True)
        load = load_average()
        with running_server(url, Path(logs) / "serve.log") as base:
            time.sleep(5)  # the projector's first pass over every county, before timing
            rows = []
            for path in PATHS:
                seconds, statuses, size = timed(base, path)
                rows.append(f"| `{path}` | {percentile(seconds, 50) * 1000:.1f} | {percentile(seconds, 95) * 1000:.1f}"
                            f" | {', '.join(map(str, sorted(statuses)))} | {size:,} |")
                print(rows[-1], flush=True)
    return "\n".join([
        "## Probes at 3,000 counties (issue 13)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `.venv/bin/python -m tests.bench.probes`"
        f" in {time.monotonic() - began:.0f} s on {describe_machine()}: {len(counties):,} counties provisioned"
        f" (in {provisioned:.0f} s) on a fresh embedded PostgreSQL, `grassroots serve` on loopback, {REQUESTS}"
        f" requests per path one at a time after one to warm up. Load average (1/5/15 min) before timing: {load}"
        " (the machine has 2 cores; above 2, the figures are upper bounds).",
        "",
        "| probe | p50 ms | p95 ms | status | body bytes |",
        "|---|---:|---:|---|---:|",
        *rows,
    ])


def write(section: str) -> None:
    text = REPORT.read_text()
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        marker = "## Earlier runs"
        text = text.replace(marker, f"{block}\n\n{marker}", 1) if marker in text else f"{text}\n{block}\n"
    REPORT.write_text(text)


if __name__ == "__main__":
    report = run()
    write(report)
    print(report)
