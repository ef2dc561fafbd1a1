"""Projector crashes during catch-up (issue 15, item 2): `kill -9` of `grassroots projector` again and
again while it catches a county up with a long log, then the read models equal a full rebuild.

Each kill lands while the projector works: it is restarted, and killed a random 0-0.2 s after the
county's tracking position first moves again (so in or between batches, of the county's read models or
of the deferred rollup). The quick version (in `make test`) kills it KILLS times; the long one sets
GRASSROOTS_PROJECTOR_KILLS=20. Run with `-s` to see the figures.
(tests/integration/projections/test_driver.py kills a driver once, with fewer checks.)
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import statistics
import subprocess
import time
from pathlib import Path

import asyncpg

from .harness import caught_up, differences_from_a_rebuild, fresh_adcode, grassroots, record_check_ins, seed

KILLS = int(os.environ.get("GRASSROOTS_PROJECTOR_KILLS", "3"))
# Two rows a check-in (its event and its command receipt), 1,000 rows a batch: about three batches a kill,
# so every kill comes before the end of the log.
CHECK_INS = 1500 * (KILLS + 1)
BATCH = 1000  # events a batch: each life of the projector applies a few before its kill
MOVE_TIMEOUT = 60.0  # seconds for a restarted projector to move the position
CATCH_UP_TIMEOUT = 120.0


async def position(url: str, schema: str) -> int:
    """How far every read model of the county has got (its slowest tracking row)."""
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(f"SELECT coalesce(min(notification_id), 0) FROM {schema}.projection_tracking"
                                       " HAVING count(*) > 0") or 0)
    finally:
        await conn.close()


async def last_event(url: str, schema: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(f"SELECT max(notification_id) FROM {schema}.county_events"))
    finally:
        await conn.close()


def projector(url: str, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("a") as log:
        return subprocess.Popen([grassroots(), "projector"], env={**os.environ, "DATABASE_URL": url,
                                                                    "GRASSROOTS_PROJECTOR_BATCH": str(BATCH)},
                                stdout=log, stderr=log)


def test_kill_9_of_the_projector_during_a_catch_up_leaves_read_models_equal_to_a_rebuild(database_url, tmp_path):
    rng = random.Random()
    seeded = seed(database_url, fresh_adcode())
    schema = f"county_{seeded.adcode}"
    written = time.monotonic()
    record_check_ins(database_url, seeded, CHECK_INS, rng)
    written = time.monotonic() - written
    last = asyncio.run(last_event(database_url, schema))
    log_path = tmp_path / "projector.log"
    positions_at_kills: list[int] = []
    lives: list[float] = []  # start -> kill of each projector
    process = None
    started_all = time.monotonic()
    try:
        for _ in range(KILLS):
            before = asyncio.run(position(database_url, schema))
            started = time.monotonic()
            process = projector(database_url, log_path)
            while asyncio.run(position(database_url, schema)) == before:
                assert process.poll() is None, f"the projector exited:\n{log_path.read_text()[-3000:]}"
                assert time.monotonic() - started < MOVE_TIMEOUT, "a restarted projector did not move on"
                time.sleep(0.02)
            time.sleep(rng.uniform(0, 0.2))
            process.send_signal(signal.SIGKILL)  # no goodbye: the batch in flight is cut off
            process.wait(10)
            lives.append(time.monotonic() - started)
            positions_at_kills.append(asyncio.run(position(database_url, schema)))
            assert positions_at_kills[-1] < last, "caught up before the kill: make the log longer"
        process = projector(database_url, log_path)
        asyncio.run(caught_up(database_url, seeded.adcode, CATCH_UP_TIMEOUT))
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)
    whole = time.monotonic() - started_all

    assert positions_at_kills == sorted(positions_at_kills)  # a restart resumes, never goes back
    assert asyncio.run(position(database_url, schema)) == last
    assert not differences_from_a_rebuild(database_url, seeded.adcode)
    print(f"\nprojector kill -9: {KILLS} kills during a catch-up of {CHECK_INS} check-ins ({last} events, written in "
          f"{written:.1f} s); start to kill median {statistics.median(lives):.2f} s; positions at the kills "
          f"{positions_at_kills}; caught up and equal to a rebuild after {whole:.1f} s")
