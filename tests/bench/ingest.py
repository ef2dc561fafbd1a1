"""Ingest (issue 12): `/sync` in batches of 100 from 4 clients (events/s) and one check-in per request
(commands/s), each beside asyncpg COPY of the very rows those phases stored, in the same run.

The COPY reference reads the phase's rows back from the county's event log (the storage contract's
`county_events`, not a read model) and copies them into a temporary table of the same shape, 10,000
rows per call (DESIGN §9's reference).
"""
from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

import asyncpg

from tests.bench.common import Households, median_ms, ms, percentile
from tests.bench.sync import Outbox, Phase, sync_phase

CLIENTS, BATCH = 4, 100
BATCH_REQUESTS = int(os.environ.get("BENCH_BATCH_REQUESTS", "25"))  # per client: 4 × 25 × 100 = 10,000 check-ins
SINGLE_REQUESTS = int(os.environ.get("BENCH_SINGLE_REQUESTS", "150"))  # per client
COPY_ROWS_PER_CALL = 10_000
PHASE_TIMEOUT = 900.0
EVENTS_TARGET, COMMANDS_TARGET = 10_000, 1_000  # per second (issue 12)


@dataclass
class Ingested:
    phase: Phase
    events: int  # rows the phase stored (each command's event and its receipt)
    copy_rows_per_second: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.phase.seconds


async def log_head(url: str, adcode: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(f"SELECT coalesce(max(notification_id), 0) FROM county_{adcode}.county_events")
    finally:
        await conn.close()


async def copy_reference(url: str, adcode: str, after: int) -> tuple[int, float]:
    """(rows, rows/s): the rows stored after notification `after`, copied again with asyncpg COPY."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT originator_id, originator_version, topic, state, notification_id"
                                f" FROM county_{adcode}.county_events"
                                " WHERE notification_id > $1 ORDER BY notification_id", after)
        await conn.execute(f"CREATE TEMP TABLE copied (LIKE county_{adcode}.county_events)")
        records = [tuple(r) for r in rows]
        started = time.perf_counter()
        for start in range(0, len(records), COPY_ROWS_PER_CALL):
            await conn.copy_records_to_table("copied", records=records[start:start + COPY_ROWS_PER_CALL],
                                             columns=["originator_id", "originator_version", "topic", "state",
                                                      "notification_id"])
        seconds = time.perf_counter() - started
        return len(records), len(records) / seconds if seconds else 0.0
    finally:
        await conn.close()


async def ingest(url: str, base: str, adcode: str, tokens: list[str], households: Households) -> list[Ingested]:
    outbox = Outbox(households)
    await sync_phase("warm-up", base, tokens, [[outbox.entries(1)] for _ in tokens], PHASE_TIMEOUT)
    results = []
    for name, size, requests in ((f"batches of {BATCH} from {CLIENTS} clients", BATCH, BATCH_REQUESTS),
                                 (f"one check-in per request from {CLIENTS} clients", 1, SINGLE_REQUESTS)):
        batches = [[outbox.entries(size) for _ in range(requests)] for _ in tokens]
        head = await log_head(url, adcode)
        phase = await sync_phase(name, base, tokens, batches, PHASE_TIMEOUT)
        rows, copy_rate = await copy_reference(url, adcode, head)
        results.append(Ingested(phase, rows, copy_rate))
        print(f"    {name}: {phase.rate:,.0f} commands/s, {rows / phase.seconds:,.0f} events/s;"
              f" COPY {copy_rate:,.0f} rows/s", flush=True)
    return results


def table(results: list[Ingested]) -> str:
    rows = []
    for r, (unit, target) in zip(results, (("events/s", EVENTS_TARGET), ("commands/s", COMMANDS_TARGET)), strict=True):
        rate = r.events_per_second if unit == "events/s" else r.phase.rate
        rows.append(
            f"| {r.phase.name} | {r.phase.commands:,} commands, {r.events:,} events in {r.phase.seconds:.1f} s |"
            f" **{rate:,.0f} {unit}** | ≥ {target:,} {unit} | {'met' if rate >= target else 'missed'} |"
            f" {r.copy_rows_per_second:,.0f} rows/s | {r.events_per_second / r.copy_rows_per_second:.3f} |"
            f" {median_ms(r.phase.latencies)} / {ms(percentile(r.phase.latencies, 99))} |"
            f" {', '.join(f'{k} {v:,}' for k, v in sorted(r.phase.statuses.items()))} |")
    return "\n".join(["| phase | stored | rate | target | | asyncpg COPY of the same rows"
                      " | ratio (events/s ÷ COPY rows/s) | request p50 / p99 | answers |",
                      "|---|---|---|---|---|---|---|---|---|", *rows])


def run(url: str, base: str, adcode: str, tokens: list[str], households: Households) -> list[Ingested]:
    return asyncio.run(ingest(url, base, adcode, tokens, households))
