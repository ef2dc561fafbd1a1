"""A rules change re-judges the county's history while phones sync (issue 15): the rebuild the change
starts makes sure of the county's read-model tables while the projector applies the phones' batches,
and the two once deadlocked (PostgreSQL killed one of them: a failed re-judge, or the county's read
models set aside for 30 s). Now every re-judge completes, nothing is lost, and the read models equal a
full rebuild afterwards.

Two counties sync at once, so the other county's batches (and their province rollup rows) run beside
each re-judge too. `GRASSROOTS_FAULT_REJUDGES` rules changes (4 in `make test`)."""
from __future__ import annotations

import asyncio
import os
import random
import threading
import time

import asyncpg
import httpx

from .harness import (Phone, Server, caught_up, check_in, differences_from_a_rebuild, fresh_adcode, login,
                      record_check_ins, seed, stored_receipts, stored_visits)

REJUDGES = int(os.environ.get("GRASSROOTS_FAULT_REJUDGES", "4"))
HISTORY = 1500  # check-ins in the log before the load: each re-judge replays them
# Per county. The phones stop when the re-judges end; their supply must outlast them: with 2,000 each, runs alone
# answered 5,675-7,730 of the 8,000 before the fourth re-judge ended, and one full `make test` ran out first.
PHONES, CHECK_INS = 2, 6000
REJUDGE_TIMEOUT = 60.0


async def _judged(url: str, adcode: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow("SELECT rules_revision, judged_revision FROM core.counties WHERE adcode = $1",
                                  adcode)
        return row["rules_revision"], row["judged_revision"]
    finally:
        await conn.close()


def test_rules_changes_rejudge_history_while_phones_sync(database_url, tmp_path):
    rng = random.Random(15)
    changed, other = seed(database_url, fresh_adcode()), seed(database_url, fresh_adcode())
    record_check_ins(database_url, changed, HISTORY, rng)
    server = Server(database_url, tmp_path / "serve.log")
    stop = threading.Event()
    phones: list[Phone] = []
    took: list[float] = []
    try:
        server.start()
        asyncio.run(caught_up(database_url, changed.adcode, 60))
        for seeded in (changed, other):
            token = login(server.url, seeded.cadre).json()["token"]
            phones += [Phone(server.url, token, [check_in(rng.choice(seeded.households)) for _ in range(CHECK_INS)],
                             stop) for _ in range(PHONES)]
        for phone in phones:
            phone.start()
        admin = httpx.Client(base_url=server.url, timeout=30, headers={
            "Authorization": f"Bearer {login(server.url, changed.admin).json()['token']}"})
        with admin:
            for n in range(REJUDGES):
                rules = admin.get("/api/v1/rules").json()
                rules["verified_max_distance_m"] = 100 + 50 * (n % 3)
                started = time.monotonic()
                response = admin.put("/api/v1/rules", json=rules)
                assert response.status_code == 200, response.text
                while True:  # the re-judge it started has finished (a failed one never records its revision)
                    revision, judged = asyncio.run(_judged(database_url, changed.adcode))
                    if judged >= revision:
                        break
                    assert time.monotonic() - started < REJUDGE_TIMEOUT, \
                        f"re-judge {n + 1} did not finish in {REJUDGE_TIMEOUT:.0f} s:\n{server.log()[-3000:]}"
                    time.sleep(0.1)
                took.append(time.monotonic() - started)
                assert all(phone.is_alive() for phone in phones), "the load ended before the re-judges"
        stop.set()
        for phone in phones:
            phone.join(30)
        for seeded in (changed, other):
            asyncio.run(caught_up(database_url, seeded.adcode, 60))
    finally:
        stop.set()
        server.close()

    log = server.log()
    print(f"\n{REJUDGES} re-judges of {HISTORY:,}+ check-ins under a sync load: "
          f"{', '.join(f'{t:.1f}' for t in took)} s; {sum(len(p.answers) for p in phones):,} check-ins answered")
    assert not [phone.error for phone in phones if phone.error]  # never a 500 (Phone asserts it)
    assert "deadlock" not in log.lower(), [line for line in log.splitlines() if "deadlock" in line.lower()]
    assert '"level": "error"' not in log, [line for line in log.splitlines() if '"level": "error"' in line][:5]
    for seeded, county_phones in ((changed, phones[:PHONES]), (other, phones[PHONES:])):
        acknowledged = set().union(*(phone.acknowledged for phone in county_phones))
        sent = set().union(*(phone.sent for phone in county_phones))
        stored = stored_visits(database_url, seeded.adcode)
        assert acknowledged and all(stored[id_] == 1 for id_ in acknowledged), "an acknowledged check-in is lost"
        from_phones = {id_ for id_ in stored if id_ in sent}
        assert max(stored.values()) == 1 and stored_receipts(database_url, seeded.adcode, from_phones) == len(
            from_phones)
        assert differences_from_a_rebuild(database_url, seeded.adcode) == []
