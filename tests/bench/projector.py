"""The projector under load and at rest (issue 12), over real HTTP against `grassroots serve`:

- sustained ingest: `/sync` at a set rate (5,000 events/s = 2,500 check-ins/s in batches of 100 from 4
  clients) for a set time, while a probe measures append→visible and `/readyz` is sampled every second;
- append→visible: a second cadre posts one check-in at a time to a household the load never touches and
  asks `GET /visits?household_id=…` (the verdicts read model) every 10 ms until the visit is listed;
- idle CPU: the serving process's CPU time (/proc/<pid>/stat) over a quiet minute.

Everything goes through public endpoints, so the read models can change underneath.
"""
from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

import httpx

from tests.bench.common import REQUEST_TIMEOUT, Households, bearer, cpu_seconds, ms, percentile
from tests.bench.sync import Outbox, Phone, post

SUSTAIN_SECONDS = float(os.environ.get("BENCH_SUSTAIN_SECONDS", "300"))
SUSTAIN_EVENTS = float(os.environ.get("BENCH_SUSTAIN_EVENTS", "5000"))  # events/s: two per check-in (event, receipt)
CLIENTS, BATCH = 4, 100
PROBE_EVERY, PROBE_POLL, PROBE_TIMEOUT = 1.0, 0.01, 120.0
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "60"))
CATCH_UP_TIMEOUT = float(os.environ.get("BENCH_CATCH_UP_SECONDS", "900"))


@dataclass
class Sustained:
    seconds: float
    target_events: float
    commands: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    lags: list[float] = field(default_factory=list)  # append→visible, seconds
    unseen: int = 0  # probes not visible within PROBE_TIMEOUT
    readyz: dict[int, int] = field(default_factory=dict)  # status -> samples
    catch_up: float | None = None  # seconds after the load until /readyz answered 200

    @property
    def events_per_second(self) -> float:
        return 2 * self.commands / self.seconds


async def probe(base: str, prober: str, admin: str, households: Households, until: float, lags: list[float],
                every: float = PROBE_EVERY) -> int:
    """Append→visible samples until `until` (monotonic); answers how many never became visible."""
    outbox, unseen = Outbox(households), 0
    async with Phone(base, prober) as phone, httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT) as http:
        while time.monotonic() < until:
            started = time.monotonic()
            entry = outbox.entries(1)
            household = entry[0]["payload"]["target_id"]
            statuses: dict[str, int] = {}
            await post(phone, entry, statuses)
            if set(statuses) != {"applied"}:
                raise RuntimeError(f"probe check-in not applied: {statuses}")
            acknowledged = time.perf_counter()
            deadline = acknowledged + PROBE_TIMEOUT
            while True:
                response = await http.get(f"/api/v1/visits?household_id={household}&limit=500", headers=bearer(admin))
                response.raise_for_status()
                if any(item.get("visit_id") == entry[0]["id"] for item in response.json()["items"]):
                    lags.append(time.perf_counter() - acknowledged)
                    break
                if time.perf_counter() > deadline:
                    unseen += 1
                    break
                await asyncio.sleep(PROBE_POLL)
            await asyncio.sleep(max(0.0, started + every - time.monotonic()))
    return unseen


async def sample_readyz(base: str, until: float, counts: dict[int, int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT) as http:
        while time.monotonic() < until:
            started = time.monotonic()
            status = (await http.get("/readyz")).status_code
            counts[status] = counts.get(status, 0) + 1
            await asyncio.sleep(max(0.0, started + 1.0 - time.monotonic()))


async def sustain(base: str, tokens: list[str], prober: str, admin: str, load: Households, probes: Households,
                  seconds: float = SUSTAIN_SECONDS, events_per_second: float = SUSTAIN_EVENTS) -> Sustained:
    result = Sustained(seconds, events_per_second)
    outbox = Outbox(load)
    period = CLIENTS * BATCH * 2 / events_per_second  # seconds between one client's batches
    started = time.monotonic()
    until = started + seconds

    async def client(k: int, token: str) -> None:
        async with Phone(base, token) as phone:
            n = 0
            # Behind schedule (the server takes less than offered) a client posts at once, but never after `until`.
            while (due := started + (n + k / CLIENTS) * period) < until and time.monotonic() < until:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await post(phone, outbox.entries(BATCH), result.statuses)
                result.commands += BATCH
                n += 1

    unseen, *_ = await asyncio.gather(probe(base, prober, admin, probes, until, result.lags),
                                      sample_readyz(base, until, result.readyz),
                                      *(client(k, t) for k, t in enumerate(tokens)))
    result.unseen = unseen
    result.seconds = time.monotonic() - started
    after = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT) as http:
        while time.monotonic() - after < CATCH_UP_TIMEOUT:
            if (await http.get("/readyz")).status_code == 200:
                result.catch_up = time.monotonic() - after
                break
            await asyncio.sleep(0.5)
    return result


def lag_probes(base: str, prober: str, admin: str, probes: Households, count: int, every: float = 0.25
               ) -> tuple[list[float], int]:
    """Append→visible with nothing else going on: `count` probes `every` seconds apart."""
    lags: list[float] = []
    unseen = asyncio.run(probe(base, prober, admin, probes, time.monotonic() + count * every, lags, every))
    return lags, unseen


def idle_cpu(pid: int, seconds: float = IDLE_SECONDS) -> float:
    """Percent of one core the process used over `seconds` of no requests."""
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - started)


def lag_summary(lags: list[float], unseen: int) -> str:
    if not lags:
        return f"no probe became visible ({unseen} timed out)"
    text = (f"{len(lags)} probes: median {ms(percentile(lags, 50))}, p90 {ms(percentile(lags, 90))},"
            f" **p99 {ms(percentile(lags, 99))}**, max {ms(max(lags))}")
    return text + (f"; {unseen} not visible within {PROBE_TIMEOUT:.0f} s" if unseen else "")


def sustained_text(s: Sustained) -> str:
    answered = ", ".join(f"{status}: {n}" for status, n in sorted(s.readyz.items()))
    met_lag = bool(s.lags) and not s.unseen and percentile(s.lags, 99) <= 1.0
    met_ready = set(s.readyz) == {200}
    return (f"Offered {s.target_events:,.0f} events/s ({s.target_events / 2:,.0f} check-ins/s in batches of {BATCH}"
            f" from {CLIENTS} clients) for {s.seconds:.0f} s; accepted **{s.events_per_second:,.0f} events/s**"
            f" ({s.commands:,} check-ins: {', '.join(f'{k} {v:,}' for k, v in sorted(s.statuses.items()))}).\n"
            f"Append→visible (target p99 ≤ 1 s, {'met' if met_lag else 'missed'}): {lag_summary(s.lags, s.unseen)}.\n"
            f"`/readyz` sampled every second (target: 200 throughout, {'met' if met_ready else 'missed'}): {answered}."
            f" After the load, `/readyz` answered 200 "
            + (f"after {s.catch_up:.1f} s." if s.catch_up is not None else f"not within {CATCH_UP_TIMEOUT:.0f} s."))
