"""Rebuild throughput while iterating on the projections: `python -m tests.bench.rebuild_rate [SCALE] [--profile NAME]`.

Keeps one embedded PostgreSQL in `/tmp/gr-rebuild-rate-<scale>` between runs (made and loaded on the first
run: 琼中 at SCALE × the demo's households in the county40k shape; 20 is county40k itself), then times a
rebuild of every read model (rollup included) beside reading and decoding the log alone, and prints the
load average. `--profile NAME` samples the rebuild with py-spy into docs/profiles/NAME.txt; `--per-model`
prints each read model's wall and Python CPU time, `--batch N` replays N events a batch (the driver's
live BATCH_SIZE is 1000) instead of the rebuild's REPLAY_BATCH; `--stop`
stops the kept server (and `--drop` also deletes its data).
"""
from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from services.demo.geography import county
from tests.bench.common import load_average
from tests.bench.datasets import Dataset, Part, real_shape
from tests.bench.geography import BASE


def postgres_cpu(postmaster: int | None) -> float:
    """CPU seconds of every PostgreSQL process so far: the postmaster's ended children and the live ones."""
    tick = os.sysconf("SC_CLK_TCK")

    def fields(pid: int | str) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    assert postmaster is not None
    total = sum(int(x) for x in fields(postmaster)[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = fields(entry.name)
            except OSError:
                continue
            if int(stat[1]) == postmaster:  # ppid
                total += int(stat[11]) + int(stat[12])
    return total / tick


def main(argv: list[str]) -> int:
    import pgserver

    from services.storage.database import embedded_server
    from tests.bench import datasets
    from tests.bench.profile import recording
    from tests.bench.real import decode_rate

    scale = float(next((a for a in argv if not a.startswith("--") and a.replace(".", "").isdigit()), "5"))
    profile = argv[argv.index("--profile") + 1] if "--profile" in argv else None
    datadir = Path(f"/tmp/gr-rebuild-rate-{scale:g}")
    if "--stop" in argv or "--drop" in argv:
        pgserver.get_server(datadir, cleanup_mode="delete" if "--drop" in argv else "stop").cleanup()
        return 0
    fresh = not datadir.exists()
    server = embedded_server(datadir, cleanup_mode=None)
    url = server.get_uri()
    name = "county40k" if scale == 20 else f"rate{scale:g}"
    if fresh:
        part = Part(county(BASE), scale, real_shape(scale))
        original = datasets.dataset
        datasets.dataset = lambda n: Dataset(n, (part,)) if n == name else original(n)  # type: ignore[assignment]
        loaded = datasets.load(name, url)
        print(f"loaded {loaded.events:,} events", flush=True)
    adcode = county(BASE).adcode
    print(f"load average before: {load_average()}", flush=True)
    events, per_second = asyncio.run(decode_rate(url, adcode))
    print(f"read + decode: {events:,} events at {per_second:,.0f} events/s", flush=True)

    from projections import rebuild as rebuilding
    from projections.rebuild import rebuild
    from projections.registry import PROJECTIONS

    if "--batch" in argv:  # e.g. the driver's live BATCH_SIZE, to see a live batch's costs per read model
        rebuilding.REPLAY_BATCH = int(argv[argv.index("--batch") + 1])

    spent: dict[str, tuple[float, float]] = {}
    if "--per-model" in argv:  # wall time of each read model's `apply` (its SQL included)
        for projection in PROJECTIONS:
            def timed(apply, name=projection.name):  # type: ignore[no-untyped-def]
                async def run(*args):  # type: ignore[no-untyped-def]
                    began, cpu = time.perf_counter(), time.process_time()
                    try:
                        return await apply(*args)
                    finally:
                        wall, used = spent.get(name, (0.0, 0.0))
                        spent[name] = (wall + time.perf_counter() - began, used + time.process_time() - cpu)
                return run
            projection.apply = timed(projection.apply)  # type: ignore[method-assign]
    from services.cli import collect_cycles_less_often

    collect_cycles_less_often()  # as in `grassroots rebuild`
    started, cpu, database = time.perf_counter(), time.process_time(), postgres_cpu(server.get_pid())
    if profile:
        with recording(os.getpid(), profile, f"rebuild of every read model at scale {scale:g}"):
            built = asyncio.run(rebuild(url, county=adcode))
    else:
        built = asyncio.run(rebuild(url, county=adcode))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    time.sleep(0.5)  # the closed connection's backend ends and is reaped: its CPU moves to the postmaster's
    database = postgres_cpu(server.get_pid()) - database
    total = sum(b.events for b in built)
    print(f"rebuild: {total:,} events in {seconds:.1f} s = {total / seconds:,.0f} events/s;"
          f" load average after: {load_average()}", flush=True)
    print(f"CPU: Python {cpu:.1f} s = {total / cpu:,.0f} events/s; PostgreSQL {database:.1f} s", flush=True)
    for name, (wall, used) in sorted(spent.items(), key=lambda item: -item[1][0]):
        print(f"  {name:14} wall {wall:6.2f} s, Python CPU {used:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
