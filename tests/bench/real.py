"""Issue 12's figures at a real size: `make bench SCALE=county40k|county290k|province38|tenants3000`
(`python -m tests.bench.real SCALE`).

On a fresh embedded PostgreSQL (or the database at BENCH_DATABASE_URL): the dataset (tests/bench/datasets.py,
bulk path, cached), a rebuild of every read model (rollup included) beside reading and decoding the log
alone, then `grassroots serve` and, over real HTTP: the reads (beside `/healthz`), ingest (beside asyncpg
COPY of the same rows), the projector under sustained `/sync` load and at rest, and at tenants3000 the
statements `/readyz`, `/metrics` and the projector's sweep send. Where a target is missed, py-spy profiles
the serving process (or the rebuild) into docs/profiles/. Writes its section of docs/benchmarks.md.

Environment: BENCH_DATABASE_URL is an empty database prepared by `grassroots db init` (e.g. a Citus
coordinator's) to measure instead of the embedded server; its section and profiles are named by the server
(`## Real size: county40k on Citus`, `real-county40k-citus`), beside the embedded server's. BENCH_LABEL
names the code measured (e.g. "before (main @ d73cb68)"; default the branch and commit) and, by its first
word, the section (`real-<scale>-<word>`); BENCH_SUSTAIN_SECONDS, BENCH_READ_REPEATS, BENCH_IDLE_SECONDS
and the others in the modules shorten a quick run.
"""
from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

import asyncpg

from tests.bench import ingest, projector, reads
from tests.bench.common import (
    commit, describe_machine, load_average, login, memory_kib, ms, my_households, now_utc, percentile, serving_pid,
    wait_ready,
    write_section,
)
from tests.bench.datasets import NAMES, PASSWORD, Loaded, Server, bench_database, load
from tests.bench.profile import PROFILES, recording
from tests.bench.statements import StatementLog
from tests.e2e.seed import running_server

REBUILD_TARGET = 50_000  # events/s (issue 12, at county290k)
RSS_TARGET_MIB = 300
READY_TIMEOUT = float(os.environ.get("BENCH_READY_SECONDS", "1800"))
PROBES = int(os.environ.get("BENCH_PROBES", "100"))  # append→visible probes at rest (tenants3000)
DECODE_BATCH = 10_000


async def decode_rate(url: str, adcode: str) -> tuple[int, float]:
    """(events, events/s) of reading the county's log and decoding every event, nothing else: the floor
    under any rebuild in Python."""
    from projections.driver import decode, decoder

    mapper, events, last = decoder(), 0, 0
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        while rows := await conn.fetch(
                f"SELECT notification_id, originator_id, originator_version, topic, state"
                f" FROM county_{adcode}.county_events WHERE notification_id > $1 ORDER BY notification_id LIMIT $2",
                last, DECODE_BATCH):
            for row in rows:
                decode(mapper, row)
            events += len(rows)
            last = rows[-1]["notification_id"]
        return events, events / (time.perf_counter() - started)
    finally:
        await conn.close()


def rebuild_all(url: str, scale: str, adcodes: list[str]) -> tuple[list, float]:
    """Every read model of the counties with data, rollup included (the empty ones of tenants3000 are the
    projector's to start)."""
    from projections.rebuild import rebuild
    from services.cli import collect_cycles_less_often

    collect_cycles_less_often()  # as in `grassroots rebuild`, which this process stands in for

    async def every() -> list:
        return [built for adcode in adcodes for built in await rebuild(url, county=adcode)]

    started = time.perf_counter()
    with recording(os.getpid(), f"{scale}-rebuild", f"rebuild of every read model at {scale}, {commit()}"):
        built = asyncio.run(every())
    return built, time.perf_counter() - started


def slug(words: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", words.lower())


def section_name(scale: str, label: str | None, server: Server) -> str:
    return f"real-{scale}" + (f"-{slug(server.kind)}" if server.kind else "") + (
        f"-{slug(label.split()[0])}" if label else "")


def measure(scale: str) -> tuple[str, Server]:
    label = os.environ.get("BENCH_LABEL")
    loads = {"start": load_average()}
    began = time.monotonic()
    profiles: list[str] = []
    with bench_database() as server:
        url = server.url
        run = scale + (f"-{slug(server.kind)}" if server.kind else "")  # names its profiles
        print(f"1. {scale}: loading …", flush=True)
        loaded = load(scale, url)
        first = loaded.adcodes[0]
        loads["rebuild"] = load_average()
        print("2. rebuild …", flush=True)
        decoded, decode_per_second = asyncio.run(decode_rate(url, first))
        built, rebuild_seconds = rebuild_all(url, run, loaded.adcodes)
        rebuilt_events = sum(r.events for r in built)
        rebuild_rate = rebuilt_events / rebuild_seconds
        if rebuild_rate >= REBUILD_TARGET:
            (PROFILES / f"{run}-rebuild.txt").unlink(missing_ok=True)
        else:
            profiles.append(f"{run}-rebuild")
        log = Path(tempfile.gettempdir()) / f"gr-bench-serve-{os.getpid()}.log"
        with running_server(url, log) as base:
            pid = serving_pid(int(base.rsplit(":", 1)[1]))
            print("3. waiting for /readyz …", flush=True)
            ready_after = wait_ready(base, READY_TIMEOUT)
            tokens = {who: login(base, account.username, PASSWORD) for who, account in loaded.accounts.items()}
            memory_start = memory_kib(pid)
            loads["reads"] = load_average()
            print("4. reads …", flush=True)
            place = loaded.dataset.parts[0].place
            village = place.villages[0].boundary
            bbox = (min(p[0] for p in village), min(p[1] for p in village),
                    max(p[0] for p in village), max(p[1] for p in village))
            floor = reads.measure(base, tokens, [reads.Read("/healthz", "/healthz", "admin", 1.0)])[0]
            timed = reads.measure(base, tokens, reads.county_reads(loaded.accounts["cadre"].cadre_id, bbox))
            walked = [reads.walk(base, tokens["cadre"], "/api/v1/me/due"),
                      reads.walk(base, tokens["cadre"], "/api/v1/me/households?limit=1000", key="households")]
            others = reads.measure(base, tokens, reads.other_reads(), repeats=min(reads.REPEATS, 10))
            downloaded = reads.ledger_downloads(base, tokens["admin"])
            missed = [t.read for t in timed if not t.met and t.status == 200]
            if missed:
                with recording(pid, f"{run}-reads", f"serving the missed reads at {run}, {commit()}"):
                    reads.measure(base, tokens, missed, repeats=2)
                profiles.append(f"{run}-reads")
            memory_reads = memory_kib(pid)
            text = [header(scale, label, server, began), dataset_text(loaded),
                    rebuild_text(built, rebuild_seconds, decoded, decode_per_second, ready_after),
                    reads_text(timed, walked, others, downloaded, floor, memory_start, memory_reads)]
            if scale in ("county40k", "county290k"):
                loads["ingest"] = load_average()
                text.append(stage("Ingest", lambda: ingest_stage(url, base, first, tokens, pid, run, profiles)))
                loads["sustained"] = load_average()
                text.append(stage("Projector under sustained ingest",
                                  lambda: sustained_stage(base, pid, run, tokens, profiles)))
            if scale == "tenants3000":
                loads["tenants"] = load_average()
                print("5. tenants: probes, statements …", flush=True)
                text.append(stage("Tenants", lambda: tenants_text(url, base, tokens, loaded)))
                # /sync throughput beside 3,000 counties (issue 14 item 6), after the probes so that they
                # are at rest; not the sustained stage, whose catch-up alone can take minutes on Citus.
                loads["ingest"] = load_average()
                text.append(stage("Ingest", lambda: ingest_stage(url, base, first, tokens, pid, run, profiles)))
            print("7. idle CPU …", flush=True)
            text.append(stage("Idle", lambda: idle_text(pid)))
    loads["end"] = load_average()
    text.append(f"Load average (1/5/15 min) at the start {loads['start']}, "
                + ", ".join(f"before {k} {v}" for k, v in loads.items() if k not in ("start", "end"))
                + f", at the end {loads['end']}. The machine has 2 cores and was shared with other work today:"
                  " a load above 2 means the figures are lower bounds of this machine.")
    if profiles:
        text.append("Profiles (py-spy, text): " + ", ".join(f"`docs/profiles/{p}.txt`" for p in profiles) + ".")
    return "\n\n".join(text).replace("{TOTAL}", f"{time.monotonic() - began:.0f}"), server


def stage(name: str, measure_it) -> str:
    """A stage's text, or what stopped it: a failure late in a long run keeps the figures before it."""
    try:
        return measure_it()
    except Exception as error:  # noqa: BLE001 - reported in the section, with the traceback on stderr
        traceback.print_exc()
        return f"**{name}**: failed: `{type(error).__name__}: {error}`."


def ingest_stage(url: str, base: str, adcode: str, tokens: dict[str, str], pid: int, run: str,
                 profiles: list[str]) -> str:
    """The two /sync phases; when either misses its target they run again under py-spy (not while measured:
    sampling takes CPU from the same two cores), for the profile that says why."""
    print("5. ingest …", flush=True)
    households = my_households(base, tokens["cadre"])
    sessions = [login(base, "bench.cadre", PASSWORD) for _ in range(ingest.CLIENTS)]
    results = ingest.run(url, base, adcode, sessions, households)
    batched, single = results
    if batched.events_per_second < ingest.EVENTS_TARGET or single.phase.rate < ingest.COMMANDS_TARGET:
        with recording(pid, f"{run}-ingest", f"serving /sync (batches of 100, then one check-in per request) at {run},"
                                             f" {commit()}"):
            ingest.run(url, base, adcode, sessions, households)
        profiles.append(f"{run}-ingest")
    return ingest_text(results)


def sustained_stage(base: str, pid: int, scale: str, tokens: dict[str, str], profiles: list[str]) -> str:
    print(f"6. sustained /sync for {projector.SUSTAIN_SECONDS:.0f} s …", flush=True)
    households, probes = my_households(base, tokens["cadre"]), my_households(base, tokens["prober"])
    sessions = [login(base, "bench.cadre", PASSWORD) for _ in range(projector.CLIENTS)]
    with recording(pid, f"{scale}-sustained", f"serving sustained /sync at {scale}, {commit()}"):
        sustained = asyncio.run(projector.sustain(base, sessions, tokens["prober"], tokens["admin"], households,
                                                  probes))
    profiles.append(f"{scale}-sustained")
    return ("**Projector under sustained ingest** (targets at county40k: append→visible p99 ≤ 1 s, `/readyz` 200"
            " throughout):\n" + projector.sustained_text(sustained))


def idle_text(pid: int) -> str:
    idle = projector.idle_cpu(pid)
    return (f"**Idle**: with no requests, `grassroots serve` (the API and its projector process) used"
            f" {idle:.1f} % of a core over {projector.IDLE_SECONDS:.0f} s (/proc/<pid>/stat;"
            " target at tenants3000 ≤ 2 %).")


def header(scale: str, label: str | None, server: Server, began: float) -> str:
    command = f"make bench SCALE={scale}" if os.environ.get("SCALE") else "make bench"  # without: the quick run
    return (f"## Real size: {scale}{f' on {server.kind}' if server.kind else ''}{f' — {label}' if label else ''}\n\n"
            f"Measured {now_utc()} on `{commit()}` by `{command}`"
            f" (`python -m tests.bench.real {scale}`) in {{TOTAL}} s on {describe_machine()}; {server.description};"
            " `grassroots serve` (the API, and the projector in a child process) on loopback.")


def dataset_text(loaded: Loaded) -> str:
    d = loaded.dataset
    made = (f"decided in memory in {loaded.decide_seconds:.0f} s" if len(loaded.cached) < len(d.parts)
            else "logs from the cache (.grassroots-bench)")
    return (f"**Dataset** {d.name}: {d.description}; {len(d.parts)} count{'y' if len(d.parts) == 1 else 'ies'}"
            " with data"
            + (f" and {len(d.empty):,} provisioned without" if d.empty else "")
            + f": {loaded.commands:,} commands, {loaded.events:,} events (each command's event and its receipt)."
            f" Bulk path: {made}; COPY {loaded.copy_seconds:.1f} s"
            f" = {loaded.events / max(loaded.copy_seconds, 1e-9):,.0f} events/s;"
            f" provisioning {loaded.provision_seconds:.1f} s.")


def rebuild_text(built: list, seconds: float, decoded: int, decode_per_second: float, ready_after: float) -> str:
    events = sum(r.events for r in built)
    rate = events / seconds
    return (f"**Rebuild** of every read model, rollup included (`projections.rebuild.rebuild`, all counties):"
            f" {events:,} events in {seconds:.1f} s = **{rate:,.0f} events/s** (target ≥ {REBUILD_TARGET:,}"
            f" at county290k: {'met' if rate >= REBUILD_TARGET else 'missed'}). Same-run reference: reading and"
            f" decoding the first county's log alone ({decoded:,} events) ran at {decode_per_second:,.0f} events/s."
            f" After it, `grassroots serve` answered `/readyz` 200 in {ready_after:.0f} s.")


def reads_text(timed: list, walked: list[tuple[float, int, int]], others: list, downloaded: list, floor,
               memory_start: dict, memory_reads: dict) -> str:
    met = sum(t.met for t in timed)
    rss = memory_reads["VmHWM"] / 1024
    (seconds, pages, items), (download, download_pages, households) = walked
    return (f"**Reads** over HTTP, one request at a time, {reads.REPEATS} timed after one warm-up each; as the"
            f" county admin, the cadre `bench.cadre` (its phone) or the province viewer; `as_of` {reads.AS_OF}."
            f" Same-run reference: `/healthz` p50 {ms(floor.p50)}, p95 {ms(floor.p95)}. {met} of {len(timed)} met.\n\n"
            f"{reads.table(timed)}\n\n"
            f"The phone's whole due list (`/me/due`, every page one after another, median of 3): {items:,} items in"
            f" {pages} pages, {ms(seconds)}. Its household download (`/me/households?limit=1000`, its township and"
            f" its pairings elsewhere, every page one after another, median of 3): {households:,} households in"
            f" {download_pages} pages, {ms(download)}.\n\n"
            f"Beyond issue 12's list, reads phones and admin pages make often, held to the same 100 ms for"
            f" reference (not issue 12's targets):\n\n{reads.table(others)}\n\n"
            f"The county's ledgers (exports) as an admin downloads them, each once, the whole county:\n\n"
            f"{reads.downloads_table(downloaded)}\n\n"
            f"Serving RSS: {memory_start['VmRSS'] / 1024:.0f} MiB before the reads, peak **{rss:.0f} MiB** after them"
            " and the ledgers"
            f" (target ≤ {RSS_TARGET_MIB} MiB: {'met' if rss <= RSS_TARGET_MIB else 'missed'}).")


def ingest_text(ingested: list) -> str:
    return (f"**Ingest** (`POST /api/v1/sync` as `bench.cadre`, check-ins with a good fix at its households; each"
            f" phase's stored rows then copied again with asyncpg COPY, {ingest.COPY_ROWS_PER_CALL:,} rows"
            " per call):\n\n"
            + ingest.table(ingested))


def tenants_text(url: str, base: str, tokens: dict[str, str], loaded: Loaded) -> str:
    import httpx

    from projections.driver import APPLICATION_NAME, SWEEP_SECONDS

    probes = my_households(base, tokens["prober"])
    lags, unseen = projector.lag_probes(base, tokens["prober"], tokens["admin"], probes, PROBES)
    with StatementLog(url) as statements:
        counts = {}
        for path in ("/readyz", "/metrics"):
            mark = statements.mark()
            httpx.get(base + path, timeout=120)
            time.sleep(0.5)
            counts[path] = sum(n for app, n in statements.since(mark).items() if app != APPLICATION_NAME)
        window = 10 * SWEEP_SECONDS
        mark = statements.mark()
        time.sleep(window)
        sweep = statements.since(mark)[APPLICATION_NAME] / (window / SWEEP_SECONDS)
    met = bool(lags) and not unseen and percentile(lags, 99) <= 0.2
    return (f"**{len(loaded.dataset.parts) + len(loaded.dataset.empty):,} counties**: append→visible at rest in"
            f" {loaded.adcodes[0]} (target p99 ≤ 200 ms: {'met' if met else 'missed'}): "
            f"{projector.lag_summary(lags, unseen)}. Statements sent to PostgreSQL (counted with `log_statement = all`"
            f" and the application name in the log prefix; pgserver has no pg_stat_statements), target a constant"
            f" number: one `/readyz` {counts['/readyz']:,}, one `/metrics` {counts['/metrics']:,},"
            f" the projector's idle sweep {sweep:,.0f} per {SWEEP_SECONDS:.0f} s sweep (over {window:.0f} s).")


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    scale = (args[0] if args else os.environ.get("SCALE")) or "county40k"
    if scale not in NAMES:
        print(f"unknown SCALE {scale!r}: {', '.join(NAMES)}", file=sys.stderr)
        return 2
    text, server = measure(scale)
    print(text)
    write_section(section_name(scale, os.environ.get("BENCH_LABEL"), server), text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
