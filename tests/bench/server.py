"""Server-side figures on a fresh embedded PostgreSQL (a temp dir, never the developer's .grassroots):

1. the full demo province load (`load_demo`, seed 2026, scale 1.0) through the command path;
2. a rebuild of every read model, for the biggest demo county and for all three (`projections.rebuild`);
3. append-to-visible lag: with the projection driver running, single check-ins through `County.execute`
   one at a time, each timed until its row is in the verdicts read model;
4. sync over real HTTP: `grassroots serve` on loopback, 4 concurrent clients posting check-ins as a demo
   cadre, in batches of 1, 50 and 100, then the batches of 100 resent unchanged (all `duplicate`); the
   reference: asyncpg COPY of the rows the batches of 100 stored, in the same run;
5. the serving process's memory after that load.

A benchmark, not a test: it prints the figures and writes its section of docs/benchmarks.md. Every loop
is bounded in count and time; all traffic is loopback. `.venv/bin/python -m tests.bench.server` (needs
pwa/dist built, as `grassroots serve` serves it).
"""
from __future__ import annotations

import asyncio
import copy as copy_module
import re
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from services.storage.database import embedded_server
from tests.bench.common import Households, cpu_seconds, load_average, machine, memory_kib, percentile, serving_pid
from tests.e2e.seed import ROOT, running_server

SEED, SCALE = 2026, 1.0
LAG_CHECKINS, LAG_SPACING, LAG_TIMEOUT = 50, 0.1, 10.0
CLIENTS = 4
SINGLE_REQUESTS = 60  # per client, one check-in each
BATCHES = ((50, 10), (100, 25))  # (commands per request, requests per client)
COPY_ROWS_PER_CALL, COPY_REPEATS = 10_000, 5
EVENTS_PER_CHECK_IN = 2  # the visit's CheckedIn and the command's receipt
REQUEST_TIMEOUT = 30.0
PHASE_TIMEOUT = 120.0
REPORT = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- server: begin -->", "<!-- server: end -->"


# ---- 1. demo load -----------------------------------------------------------------------------------------------

async def events_per_county(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        adcodes = [r["adcode"] for r in await conn.fetch("SELECT adcode FROM core.counties ORDER BY adcode")]
        return {a: await conn.fetchval(f"SELECT count(*) FROM county_{a}.county_events") for a in adcodes}
    finally:
        await conn.close()


# ---- 3. append-to-visible lag -----------------------------------------------------------------------------------

async def active_households(url: str, adcode: str) -> Households:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            f"SELECT v.household_id, v.lat, v.lon FROM county_{adcode}.verdicts_households v"
            f" JOIN county_{adcode}.coverage_households c USING (household_id)"
            " WHERE c.archived_at IS NULL ORDER BY v.household_id")
    finally:
        await conn.close()
    if not rows:
        raise RuntimeError(f"county {adcode} has no active households in its read models")
    return Households([(r["household_id"], r["lat"], r["lon"]) for r in rows])


def timed(projection, seconds: dict[str, list[float]]):
    """A copy of a projection whose `apply` also records its duration: says where the lag goes."""
    copy = copy_module.copy(projection)

    async def apply(conn, schema, events, rules) -> None:
        started = time.perf_counter()
        await projection.apply(conn, schema, events, rules)
        seconds.setdefault(projection.name, []).append(time.perf_counter() - started)

    copy.apply = apply
    return copy


async def append_lag(url: str, adcode: str, cadre_id: uuid.UUID, households: Households) -> dict[str, list[float]]:
    """Seconds per check-in: `execute` (append, commit) and commit → row in verdicts_checkins; and
    seconds per `apply` call of each projection (key `apply:<name>`) over the run."""
    from projections.driver import run_driver
    from projections.registry import PROJECTIONS
    from services.county import Actor, County
    from services.domain.commands import CheckIn
    from services.tenancy import Counties

    actor = Actor(f"cadre:{cadre_id}", frozenset({"cadre"}), adcode, cadre_id=cadre_id)
    stop = asyncio.Event()
    applies: dict[str, list[float]] = {}
    driver = asyncio.create_task(run_driver(url, stop, projections=[timed(p, applies) for p in PROJECTIONS]))
    counties = Counties(url, County)
    conn = await asyncpg.connect(url)
    appends, lags = [], []
    try:
        app = counties.get(adcode)
        # One unmeasured check-in first: the driver connects and takes the county at its start.
        for n in range(LAG_CHECKINS + 1):
            command = CheckIn(command_id=uuid.uuid4(), **households.checkin(n))
            started = time.perf_counter()
            outcome = await asyncio.to_thread(app.execute, command, actor)
            committed = time.perf_counter()
            if outcome.status != "applied":
                raise RuntimeError(f"check-in not applied: {outcome}")
            deadline = committed + (30.0 if n == 0 else LAG_TIMEOUT)
            while not await conn.fetchval(f"SELECT 1 FROM county_{adcode}.verdicts_checkins WHERE visit_id = $1",
                                          command.command_id):
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"check-in {n} not visible within {deadline - committed:.0f} s")
                await asyncio.sleep(0.001)
            visible = time.perf_counter()
            if n:
                appends.append(committed - started)
                lags.append(visible - committed)
            await asyncio.sleep(LAG_SPACING)
    finally:
        await conn.close()
        stop.set()
        await asyncio.wait_for(driver, 30)
        counties.close()
    return {"append": appends, "lag": lags, **{f"apply:{name}": xs for name, xs in applies.items()}}


# ---- 4. sync over HTTP ------------------------------------------------------------------------------------------

@dataclass
class Phase:
    name: str
    commands: int
    seconds: float
    latencies: list[float]
    statuses: dict[str, int]
    cpu: dict[str, float]  # CPU seconds spent meanwhile: "server" (API + projector), "postgres"

    @property
    def rate(self) -> float:
        return self.commands / self.seconds

    @property
    def events_rate(self) -> float:
        """Events stored per second: each applied check-in stores its event and its command receipt."""
        return self.statuses.get("applied", 0) * EVENTS_PER_CHECK_IN / self.seconds


async def sync_phase(name: str, base: str, tokens: list[str], batches: list[list[list[dict]]],
                     pids: dict[str, int]) -> Phase:
    """Each client posts its list of batches one after another; all clients at once. `pids`: the
    processes whose CPU time to count (the server, PostgreSQL's postmaster)."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}

    async def client(token: str, mine: list[list[dict]]) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT,
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            for batch in mine:
                started = time.perf_counter()
                response = await http.post("/api/v1/sync", json={"device_id": "bench", "commands": batch})
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
                for result in response.json()["results"]:
                    statuses[result["status"]] = statuses.get(result["status"], 0) + 1

    cpu = {key: cpu_seconds(pid) for key, pid in pids.items()}
    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(client(t, b) for t, b in zip(tokens, batches, strict=True))), PHASE_TIMEOUT)
    seconds = time.perf_counter() - started
    cpu = {key: cpu_seconds(pid) - cpu[key] for key, pid in pids.items()}
    return Phase(name, sum(len(b) for mine in batches for b in mine), seconds, latencies, statuses, cpu)


async def latest_notification_id(url: str, adcode: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(f"SELECT coalesce(max(notification_id), 0) FROM county_{adcode}.county_events")
    finally:
        await conn.close()


@dataclass
class CopyReference:
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


async def copy_reference(url: str, adcode: str, first: int, last: int) -> CopyReference:
    """asyncpg COPY of the event rows with notification ids in (first, last] into a table like the
    county's event table (same columns and indexes), COPY_ROWS_PER_CALL rows per call: the raw write
    speed of the same rows in the same run, against which sync is reported. The median of
    COPY_REPEATS runs (one run takes a fraction of a second, so one run alone is noisy)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            f"SELECT originator_id, originator_version, topic, state, notification_id"
            f" FROM county_{adcode}.county_events WHERE notification_id > $1 AND notification_id <= $2"
            " ORDER BY notification_id", first, last)
        records = [tuple(r) for r in rows]
        await conn.execute(f"CREATE TABLE public.copy_reference (LIKE county_{adcode}.county_events INCLUDING INDEXES)")
        runs = []
        try:
            for _ in range(COPY_REPEATS):
                await conn.execute("TRUNCATE public.copy_reference")
                started = time.perf_counter()
                for start in range(0, len(records), COPY_ROWS_PER_CALL):
                    await conn.copy_records_to_table(
                        "copy_reference", schema_name="public", records=records[start:start + COPY_ROWS_PER_CALL],
                        columns=["originator_id", "originator_version", "topic", "state", "notification_id"])
                runs.append(time.perf_counter() - started)
        finally:
            await conn.execute("DROP TABLE public.copy_reference")
    finally:
        await conn.close()
    return CopyReference(len(records), statistics.median(runs))


async def sync_over_http(url: str, adcode: str, base: str, username: str, password: str,
                         households: Households, pids: dict[str, int]) -> tuple[list[Phase], CopyReference]:
    async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT) as http:
        tokens = []
        for _ in range(CLIENTS):  # one session per client, as four phones would have
            response = await http.post("/api/v1/session", json={"username": username, "password": password})
            response.raise_for_status()
            tokens.append(response.json()["token"])
    counter = iter(range(10 ** 9))

    def entries(size: int) -> list[dict]:
        return [{"id": str(command_id), "type": "check_in", "payload": households.checkin(next(counter))}
                for command_id in (uuid.uuid4() for _ in range(size))]

    await sync_phase("warm-up", base, tokens, [[entries(1)] for _ in tokens], pids)
    phases = [await sync_phase("batches of 1", base, tokens,
                               [[entries(1) for _ in range(SINGLE_REQUESTS)] for _ in tokens], pids)]
    for size, requests in BATCHES:
        batches = [[entries(size) for _ in range(requests)] for _ in tokens]
        before = await latest_notification_id(url, adcode)
        phases.append(await sync_phase(f"batches of {size}", base, tokens, batches, pids))
        after = await latest_notification_id(url, adcode)
    phases.append(await sync_phase(f"batches of {size}, identical resend", base, tokens, batches, pids))
    # The rows of the last (largest) batch size: its events and receipts, as stored.
    return phases, await copy_reference(url, adcode, before, after)


# ---- the run ----------------------------------------------------------------------------------------------------

def write_report(text: str) -> None:
    section = f"{BEGIN}\n{text}\n{END}"
    current = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n\nFigures measured on the project's machines.\n"
    if BEGIN in current:
        current = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: section, current, flags=re.S)
    else:
        current = current.rstrip("\n") + "\n\n" + section + "\n"
    REPORT.write_text(current)


def main() -> int:
    from projections.rebuild import rebuild
    from services.demo.loader import DEMO_PASSWORD, load_demo

    host = machine()
    load_at = {"start": load_average()}
    began = time.monotonic()
    datadir = tempfile.mkdtemp(prefix="gr-bench-server-", dir="/tmp")
    server = embedded_server(datadir, cleanup_mode="stop")
    try:
        url = server.get_uri()
        print("1. demo load …", flush=True)
        loaded = load_demo(url, seed=SEED, scale=SCALE)
        if loaded.outcomes.keys() - {"applied"}:
            raise RuntimeError(f"demo load was not all applied: {loaded.outcomes}")
        events = asyncio.run(events_per_county(url))
        biggest = max(events, key=events.get)
        prefix = {"469029": "baoting", "469030": "qiongzhong", "469001": "wuzhishan"}[biggest]
        cadre = next(a for a in loaded.accounts if a.username == f"{prefix}.cadre")

        print("2. rebuild …", flush=True)
        load_at["rebuild"] = load_average()
        rebuilt_one = asyncio.run(rebuild(url, county=biggest))[0]
        rebuilt_all = asyncio.run(rebuild(url))

        print("3. append-to-visible lag …", flush=True)
        load_at["lag"] = load_average()
        households = asyncio.run(active_households(url, biggest))
        lag = asyncio.run(append_lag(url, biggest, cadre.cadre_id, households))

        print("4. sync over HTTP …", flush=True)
        load_at["sync"] = load_average()
        log = Path(datadir) / "serve.log"
        with running_server(url, log) as base:
            pid = serving_pid(int(base.rsplit(":", 1)[1]))
            memory_idle = memory_kib(pid)
            postmaster = int((Path(datadir) / "postmaster.pid").read_text().split()[0])
            phases, copied = asyncio.run(sync_over_http(url, biggest, base, cadre.username, DEMO_PASSWORD,
                                                        households, {"server": pid, "postgres": postmaster}))
            memory_after = memory_kib(pid)
    finally:
        server.cleanup()
        shutil.rmtree(datadir, ignore_errors=True)
    load_at["end"] = load_average()
    total_seconds = time.monotonic() - began

    total_events = sum(events.values())
    all_events = sum(r.events for r in rebuilt_all)
    all_seconds = sum(r.seconds for r in rebuilt_all)
    ms = lambda xs: f"{statistics.median(xs) * 1000:.1f} ms"  # noqa: E731
    p = lambda xs, q: f"{percentile(xs, q) * 1000:.1f} ms"  # noqa: E731
    mib = lambda kib: f"{kib / 1024:.0f} MiB"  # noqa: E731
    single = phases[0]
    largest = next(ph for ph in phases if ph.name == f"batches of {BATCHES[-1][0]}")
    rows = "\n".join(
        f"| {ph.name} | {ph.commands:,} in {len(ph.latencies)} requests | {ph.rate:,.0f} | {ph.events_rate:,.0f} |"
        f" {ph.events_rate / copied.rate:.3f} | {ms(ph.latencies)} | {p(ph.latencies, 99)} |"
        f" {ph.cpu['server'] / ph.commands * 1e6:,.0f} / {ph.cpu['postgres'] / ph.commands * 1e6:,.0f} µs |"
        f" {', '.join(f'{k} {v:,}' for k, v in sorted(ph.statuses.items()))} |"
        for ph in phases)
    text = f"""## Server: demo load, rebuild, projection lag, sync over HTTP, memory

Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m tests.bench.server` in
{total_seconds:.0f} s on {host['cpus']} × {host['cpu']}, {host['memory_gib']:.1f} GiB memory; a fresh
embedded PostgreSQL 16 (pgserver) in a temp dir. Load average (1/5/15 min) at the start {load_at['start']},
before the rebuild {load_at['rebuild']}, the lag test {load_at['lag']}, the sync test {load_at['sync']}, at
the end {load_at['end']}. The benchmark alone keeps the two cores busy (a load near 2); a higher load means
other work shared them and the figures are lower bounds of this machine.

**1. Demo province load** (`load_demo`, seed {SEED}, scale {SCALE}; three counties, one thread each,
through `County.execute` / `execute_many`): {loaded.commands:,} commands in {loaded.seconds:.1f} s =
**{loaded.commands / loaded.seconds:,.0f} commands/s**; {total_events:,} events stored (each command's
events plus its command receipt), {total_events / loaded.seconds:,.0f} events/s.

**2. Rebuild of every read model** (`projections.rebuild.rebuild`, events counted as the module counts them,
receipts included): the biggest county {biggest} ({events[biggest]:,} events) {rebuilt_one.seconds:.1f} s =
**{rebuilt_one.events_per_second:,.0f} events/s**; all three counties {all_events:,} events in
{all_seconds:.1f} s = **{all_events / all_seconds:,.0f} events/s**
({', '.join(f'{r.county} {r.events_per_second:,.0f}/s' for r in rebuilt_all)}).

**3. Append → visible**: the projection driver (`run_driver`) in an asyncio task, {len(lag['lag'])} single
check-ins in county {biggest} through `County.execute` one at a time, {LAG_SPACING * 1000:.0f} ms apart; the
lag is from `execute` returning (committed) until the visit's row is in `verdicts_checkins` (polled every
millisecond): **median {ms(lag['lag'])}, p90 {p(lag['lag'], 90)}** (max {max(lag['lag']) * 1000:.1f} ms).
The append itself took median {ms(lag['append'])}, p90 {p(lag['append'], 90)}. Where the lag goes: the
county's read models commit a batch in one transaction, then the rollup (`deferred`) applies it in its
own; median `apply` per batch: {', '.join(f"{k.removeprefix('apply:')} {ms(v)}" for k, v in lag.items()
                                    if k.startswith('apply:'))}.

**4. Sync over HTTP**: `grassroots serve` (with its projector) on loopback, {CLIENTS} concurrent clients
(httpx, one session each) posting `check_in` to `POST /api/v1/sync` as the cadre `{cadre.username}` of
{biggest}, to its active households with a good GPS fix; after one unmeasured request per client. All four
write to one county, so their saves queue on that county's write lock (advisory lock class 1).
The reference, in the same run: asyncpg COPY of the {copied.rows:,} event rows the batches of
{BATCHES[-1][0]} stored (check-ins and receipts, as stored) into a table like `county_events` (same
indexes), {COPY_ROWS_PER_CALL:,} rows per call, median of {COPY_REPEATS} runs: **{copied.rate:,.0f} rows/s**;
"÷ COPY" is each phase's
events stored per second divided by it. CPU per command: the serving process's CPU time (API and
projector) and PostgreSQL's (every backend: the API's, the projector's) during the phase, per command;
on a shared machine these vary less than the rates. Targets (issue 12): batches of 100 ≥ 10,000 events stored/s
(here {largest.events_rate:,.0f}: {'met' if largest.events_rate >= 10_000 else 'missed'}); one check-in per
request ≥ 1,000 commands/s (here {single.rate:,.0f}: {'met' if single.rate >= 1_000 else 'missed'}).

| phase | commands | commands/s | events stored/s | ÷ COPY | p50 per request | p99 per request | CPU per command: server / PostgreSQL | answers |
|---|---|---|---|---|---|---|---|---|
{rows}

DESIGN §9's peer, ODK Central, took 102–123 form submissions/s from 4 concurrent clients with p50 31–38 ms
and p99 59–73 ms on a machine like this one; here one check-in per request gave {single.rate:,.0f}
commands/s with p50 {ms(single.latencies)} and p99 {p(single.latencies, 99)}. The conditions differ (another
day's load on the machine, a different payload and server, ODK's figures without a projector beside the
server), so the comparison is of order only.

**5. Memory**: the serving process (`grassroots serve`; its projector runs in a child process) had RSS
{mib(memory_idle['VmRSS'])} after start-up, **{mib(memory_after['VmRSS'])}** after the
sync load (peak {mib(memory_after['VmHWM'])}).
"""  # noqa: E501 (a markdown table's row cannot wrap)
    print(text)
    write_report(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
