"""A county moved to another Citus worker while phones sync into it (issue 14, item 5): `grassroots county
move` runs during the load, syncs are answered while it copies, every acknowledged check-in is stored
exactly once (with one receipt) afterwards, and the projector keeps up: the read models catch up with
the whole log and equal a full rebuild.

The server (`grassroots serve`, with its projector) and the phones are those of the fault tests
(tests/fault/harness.py); the database is one of the test's own, so the projector follows only this
county. Run with `-s` to see the figures.
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import threading
import time

import pytest

from services.storage.database import connect
from services.storage.moves import county_nodes, workers
from tests.fault.harness import (Phone, Server, caught_up, check_in, differences_from_a_rebuild, fresh_adcode,
                                 grassroots, login, seed, stored_receipts, stored_visits)
from tests.integration.storage.test_county_moves import on_citus

PHONES, BATCH = 3, 5
LOAD = 150  # check-ins answered before the move starts, and again after it is done
LOAD_TIMEOUT = 120.0
CATCH_UP_TIMEOUT = 60.0


def answered(phones: list[Phone]) -> int:
    return sum(len(phone.answers) for phone in phones)


def wait_for_answers(phones: list[Phone], count: int) -> None:
    deadline = time.monotonic() + LOAD_TIMEOUT
    while answered(phones) < count:
        assert time.monotonic() < deadline, f"only {answered(phones)} of {count} check-ins answered"
        assert not [phone.error for phone in phones if phone.error], [phone.error for phone in phones]
        time.sleep(0.01)


def projected_to(url: str, adcode: str) -> int:
    """The last notification id the county's read models applied."""
    with connect(url) as conn:
        row = conn.execute("SELECT notification_id FROM core.projection_positions WHERE county = %s",
                           (adcode,)).fetchone()
    return int(row[0]) if row else 0


def test_a_county_moved_while_phones_sync_into_it_loses_and_doubles_nothing_and_stays_projected(
        database_url, new_database, tmp_path):
    if not on_citus(database_url):
        pytest.skip("Citus only: on plain PostgreSQL a county has no other node to move to")
    url = new_database("movesync")
    seeded = seed(url, fresh_adcode())
    with connect(url) as conn:
        source = county_nodes(conn)[seeded.adcode]
        target = next(node for node in workers(conn) if node != source)
    server = Server(url, tmp_path / "serve.log")
    stop = threading.Event()
    rng = random.Random()
    phones: list[Phone] = []
    try:
        server.start()
        token = login(server.url, seeded.cadre).json()["token"]
        # More check-ins than they get to send: the load stops after the move.
        phones = [Phone(server.url, token, [check_in(rng.choice(seeded.households)) for _ in range(5000)], stop,
                        batch=BATCH) for _ in range(PHONES)]
        for phone in phones:
            phone.start()
        wait_for_answers(phones, LOAD)
        before, started, projected = answered(phones), time.monotonic(), projected_to(url, seeded.adcode)
        moved = subprocess.run([grassroots(), "county", "move", seeded.adcode, "--to", str(target)],
                               env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, timeout=300)
        took, during = time.monotonic() - started, answered(phones) - before
        assert moved.returncode == 0, moved.stderr
        assert all(phone.is_alive() for phone in phones), "the move must happen during the load"
        assert during > 0, "no sync was answered while the county was being copied"
        assert projected_to(url, seeded.adcode) > projected, "the projector stood still during the move"
        wait_for_answers(phones, before + during + LOAD)  # and it goes on on the county's new worker
        stop.set()
        for phone in phones:
            phone.join(LOAD_TIMEOUT)
        asyncio.run(caught_up(url, seeded.adcode, CATCH_UP_TIMEOUT))
        server.signal(signal.SIGTERM)
        assert server.process is not None
        server.process.wait(10)
    finally:
        stop.set()
        server.close()

    with connect(url) as conn:
        assert county_nodes(conn)[seeded.adcode] == target
    assert not [phone.error for phone in phones if phone.error], [phone.error for phone in phones]
    answers: dict[str, str] = {}
    for phone in phones:
        answers.update(phone.answers)
    sent = set().union(*(phone.sent for phone in phones))
    assert set(answers.values()) <= {"applied", "duplicate"}, set(answers.values())
    acknowledged = set(answers)
    stored = stored_visits(url, seeded.adcode)
    lost = acknowledged - set(stored)
    duplicates = sum(count - 1 for count in stored.values())
    # The last batches in flight when the phones stopped may be stored unanswered, never anything unsent.
    assert not lost and not duplicates and acknowledged <= set(stored) <= sent, (len(lost), duplicates)
    assert stored_receipts(url, seeded.adcode, set(stored)) == len(stored)
    assert not differences_from_a_rebuild(url, seeded.adcode)
    resent = sum(sum(phone.failures.values()) for phone in phones)
    slowest = max(seconds for phone in phones for _, seconds, _ in phone.requests)
    print(f"\ncounty move {source} -> {target} under {PHONES} syncing phones: {took:.1f} s, {during} check-ins"
          f" answered meanwhile; {len(acknowledged)} acknowledged, 0 lost, 0 doubled; {resent} batches resent;"
          f" slowest sync {slowest:.2f} s")
