"""Reads over real HTTP at a real size (issue 12's read targets): each endpoint asked one request at a
time, as the admin pages, a cadre's phone and the province view ask it, with p50 and p95 per endpoint.

Only public endpoints and their JSON are used, never a table, so the read models can change underneath.
"""
from __future__ import annotations

import os
import re
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl
from uuid import UUID

import httpx

from services.api.phone import CURSOR_SLACK, _cursor
from tests.bench.common import REQUEST_TIMEOUT, bearer, ms, percentile

REPEATS = int(os.environ.get("BENCH_READ_REPEATS", "20"))  # timed requests per endpoint, after one warm-up
AS_OF = "2026-06-30"
UUID_TEXT = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
READ_TARGET, H3_TARGET, PROVINCE_TARGET = 0.100, 0.300, 0.050  # p95 seconds (issue 12)


@dataclass(frozen=True)
class Read:
    name: str
    path: str
    who: str  # admin | cadre | viewer
    target: float


@dataclass
class Timed:
    read: Read
    seconds: list[float]
    status: int
    size: int  # bytes sent (gzipped where the server compressed it: the CSV) of the last answer
    items: int | None  # items of the last answer, where it is a page or a FeatureCollection

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 95)

    @property
    def met(self) -> bool:
        return self.status == 200 and self.p95 <= self.read.target


def county_reads(cadre_id: UUID, bbox: tuple[float, float, float, float]) -> list[Read]:
    box = ",".join(f"{x:.6f}" for x in bbox)
    reads = [Read(f"coverage {level}{' as_of' if as_of else ''}",
                  f"/api/v1/coverage?level={level}{f'&as_of={AS_OF}' if as_of else ''}", "admin",
                  H3_TARGET if level == "h3" else READ_TARGET)
             for level in ("village", "township", "county", "h3") for as_of in (False, True)]
    return reads + [
        Read("completeness summary", "/api/v1/completeness", "admin", READ_TARGET),
        Read("completeness first page", "/api/v1/completeness/households?limit=50", "admin", READ_TARGET),
        Read("/me/due first page (cadre)", "/api/v1/me/due", "cadre", READ_TARGET),
        Read("/cadres/{id}/due", f"/api/v1/cadres/{cadre_id}/due?limit=50", "admin", READ_TARGET),
        Read("pairings summary", "/api/v1/pairings/summary", "admin", READ_TARGET),
        Read("pairings first page", "/api/v1/pairings?limit=50", "admin", READ_TARGET),
        Read("leaderboard cadres", "/api/v1/leaderboards/cadres", "admin", READ_TARGET),
        Read("leaderboard townships", "/api/v1/leaderboards/townships", "admin", READ_TARGET),
        Read("households in a village's bbox", f"/api/v1/completeness/households?bbox={box}&limit=500", "admin",
             READ_TARGET),
        Read("province counties (rollup)", "/api/v1/province/counties", "viewer", PROVINCE_TARGET),
        Read("province rankings (rollup)", f"/api/v1/province/rankings?month={AS_OF[:7]}", "viewer", PROVINCE_TARGET),
    ]


def other_reads() -> list[Read]:
    """Reads beyond issue 12's list that phones and admin pages make often, held to the same 100 ms for
    reference: a phone's refresh (what changed since its cursor, about ten minutes back as the server gives
    it; its stats; the cadres it names), the issue board, the quota table, the composite score board and the
    visit audit's summary."""
    since = _cursor(datetime.now(UTC) - CURSOR_SLACK)
    return [
        Read("/me/households?since= (a refresh)", f"/api/v1/me/households?since={since}", "cadre", READ_TARGET),
        Read("/me/households first page (a first download)", "/api/v1/me/households?limit=1000", "cadre",
             READ_TARGET),
        Read("/me/stats", "/api/v1/me/stats", "cadre", READ_TARGET),
        Read("/me/cadres", "/api/v1/me/cadres", "cadre", READ_TARGET),
        Read("issues first page", "/api/v1/issues?limit=50", "admin", READ_TARGET),
        Read("pairing quotas first page", "/api/v1/pairings/quotas?limit=50", "admin", READ_TARGET),
        Read("leaderboard cadres by score", "/api/v1/leaderboards/cadres?by=score", "admin", READ_TARGET),
        Read("visit audit summary (this year)", "/api/v1/visits/summary", "admin", READ_TARGET),
    ]


def _items(answer: object) -> int | None:
    if isinstance(answer, dict):
        for key in ("items", "features", "households"):
            if isinstance(answer.get(key), list):
                return len(answer[key])
    return None


def measure(base: str, tokens: dict[str, str], reads: list[Read], repeats: int = REPEATS) -> list[Timed]:
    """Each read once unmeasured, then `repeats` times one after another (the next read starts after)."""
    results = []
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as http:
        for read in reads:
            headers = bearer(tokens[read.who])
            response = http.get(read.path, headers=headers)
            seconds = []
            for _ in range(repeats if response.status_code == 200 else 1):
                started = time.perf_counter()
                response = http.get(read.path, headers=headers)
                seconds.append(time.perf_counter() - started)
            items = _items(response.json()) if response.status_code == 200 else None
            results.append(Timed(read, seconds, response.status_code, len(response.content), items))
            print(f"    {read.name}: p50 {ms(results[-1].p50)}, p95 {ms(results[-1].p95)} ({response.status_code})",
                  flush=True)
    return results


def walk(base: str, token: str, path: str, key: str = "items", repeats: int = 3) -> tuple[float, int, int]:
    """A phone fetching a whole keyset list (`key`, `next` → `after`) page after page: the median seconds of
    `repeats` walks, the pages and the items of the last one."""
    walks, pages, items = [], 0, 0
    path, _, query = path.partition("?")  # httpx's `params` replace a query in the path
    asked = dict(parse_qsl(query))
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT, headers=bearer(token)) as http:
        for _ in range(repeats):
            started, pages, items, after = time.perf_counter(), 0, 0, None
            while True:
                params = {**asked, **({"after": after} if after else {})}
                answer = http.get(path, params=params).raise_for_status().json()
                pages, items, after = pages + 1, items + len(answer[key]), answer["next"]
                if after is None:
                    break
            walks.append(time.perf_counter() - started)
    return statistics.median(walks), pages, items


@dataclass
class Downloaded:
    name: str
    path: str
    status: int
    first_byte: float  # seconds to the first byte of the body
    seconds: float  # to the last
    size: int  # bytes sent (gzipped where the server compressed it: the CSV)


def ledger_downloads(base: str, token: str) -> list[Downloaded]:
    """The county-wide ledgers an admin downloads (exports), each once, as a browser does: the time to the
    body's first byte (a proxy in front cuts a silent response after its timeout, often 60 s) and to its last.
    Their memory counts in the serving RSS peak measured after them."""
    paths = [("completeness ledger (XLSX)", "/api/v1/exports/completeness"),
             ("completeness ledger (CSV)", "/api/v1/exports/completeness?format=csv"),
             ("pairings ledger (XLSX)", "/api/v1/exports/pairings"),
             ("issue ledger (XLSX)", "/api/v1/exports/issues")]
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT * 10, headers=bearer(token)) as http:
        campaigns = http.get("/api/v1/campaigns").raise_for_status().json()["items"]
        if campaigns:  # the biggest campaign's households still to visit
            biggest = max(campaigns, key=lambda c: c["households"] - c["visited"])
            paths.append(("a campaign's households still to visit (XLSX)",
                          f"/api/v1/exports/campaigns/{biggest['campaign_id']}"))
        downloaded = []
        for name, path in paths:
            started, first, size = time.perf_counter(), None, 0
            with http.stream("GET", path) as response:
                for chunk in response.iter_raw():
                    first = first if first is not None else time.perf_counter() - started
                    size += len(chunk)
            downloaded.append(Downloaded(name, path, response.status_code, first or 0.0,
                                         time.perf_counter() - started, size))
            print(f"    {name}: first byte {ms(downloaded[-1].first_byte)}, all {downloaded[-1].seconds:.1f} s",
                  flush=True)
    return downloaded


def downloads_table(downloaded: list[Downloaded]) -> str:
    rows = [f"| {d.name} | `{re.sub(UUID_TEXT, '{id}', d.path.split('?')[0])}` | {ms(d.first_byte)} |"
            f" {d.seconds:.1f} s | {d.status} | {d.size / 1024 / 1024:,.1f} MiB |" for d in downloaded]
    return "\n".join(["| ledger | path | first byte | whole | status | sent |", "|---|---|---|---|---|---|", *rows])


def table(results: list[Timed]) -> str:
    rows = [f"| {t.read.name} | `{t.read.path.split('?')[0]}` | {ms(t.p50)} | **{ms(t.p95)}** | ≤ {ms(t.read.target)} |"
            f" {'met' if t.met else 'missed'} | {t.status} | {'' if t.items is None else f'{t.items:,}'} |"
            f" {t.size / 1024:,.0f} KiB |"
            for t in results]
    return "\n".join(["| read | path | p50 | p95 | target p95 | | status | items | size |",
                      "|---|---|---|---|---|---|---|---|---|", *rows])
