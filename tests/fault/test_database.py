"""Database faults (issue 15, item 3): with our own TCP proxy (proxy.py) between `grassroots serve` and
PostgreSQL, during a sync load the proxy resets connections, adds latency, blackholes, and refuses
connections, one fault after the other.

Throughout, every answer is 200 or 503 with Retry-After (the phones fail the test on anything else),
and none takes longer than ANSWER_LIMIT: the requests the blackhole holds are answered 503 at the
server's deadline (services/api/routing.py). Within RECOVERY_LIMIT seconds of each fault's end a new
check-in is acknowledged and shows in the county's read models: the pools have reconnected and the
projector follows again. Afterwards every acknowledged check-in is stored exactly once, nothing was
stored that no phone sent, and the read models equal a full rebuild.

The quick version (in `make test`) lasts FAULT_SECONDS a fault; the long one sets
GRASSROOTS_DB_FAULT_SECONDS=10. Run with `-s` to see the figures.
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable

import asyncpg
import httpx

from services.api.routing import REQUEST_DEADLINE

from .harness import (Phone, Server, caught_up, check_in, differences_from_a_rebuild, fresh_adcode, login, seed,
                      stored_receipts, stored_visits)
from .proxy import Proxy

FAULT_SECONDS = float(os.environ.get("GRASSROOTS_DB_FAULT_SECONDS", "2"))
LATENCY = 0.25  # seconds each way: 500 ms more a round trip
RECOVERY_LIMIT = 5.0
# The server's request deadline: its own in the long run; in the quick one, shorter than the blackhole,
# so that requests meet it there too.
DEADLINE = REQUEST_DEADLINE if FAULT_SECONDS >= REQUEST_DEADLINE else FAULT_SECONDS * 0.75
ANSWER_LIMIT = DEADLINE + 2.0  # no request waits longer for its answer (the phones' own timeout is 30 s)
PHONES, BATCH, CHECK_INS = 3, 5, 5000  # per phone: more than they can send in the test
CATCH_UP_TIMEOUT = 60.0


def faults(proxy: Proxy) -> dict[str, Callable[[], None]]:
    return {"reset": proxy.resets, "latency": lambda: proxy.delay(LATENCY), "blackhole": proxy.blackhole,
            "refuse": proxy.refuse}


def acknowledged_check_in(url: str, token: str, household: str, deadline: float) -> str:
    """One check-in, resent until it is acknowledged: its id."""
    entry = check_in(household)
    with httpx.Client(base_url=url, timeout=ANSWER_LIMIT, headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            assert time.monotonic() < deadline, "no check-in acknowledged in time after the fault"
            try:
                response = client.post("/api/v1/sync", json={"device_id": "probe", "commands": [entry]})
            except httpx.TransportError:
                pass
            else:
                assert response.status_code in (200, 503), response.text
                if response.status_code == 200:
                    assert response.json()["results"][0]["status"] in ("applied", "duplicate"), response.text
                    return str(entry["id"])
            time.sleep(0.05)


async def shown(database_url: str, adcode: str, visit: str, deadline: float) -> None:
    """Wait until the visit is in the county's read models (read straight from the database)."""
    conn = await asyncpg.connect(database_url)
    try:
        while not await conn.fetchval(f"SELECT EXISTS (SELECT FROM county_{adcode}.verdicts_checkins"
                                      " WHERE visit_id = $1)", uuid.UUID(visit)):
            assert time.monotonic() < deadline, "the new check-in did not show in the read models in time"
            await asyncio.sleep(0.02)
    finally:
        await conn.close()


def test_database_faults_answer_503_and_recover_with_nothing_acknowledged_lost(database_url, tmp_path):
    seeded = seed(database_url, fresh_adcode())
    proxy = Proxy(database_url).start()
    server = Server(proxy.url, tmp_path / "serve.log", env={"GRASSROOTS_REQUEST_DEADLINE": str(DEADLINE)})
    stop = threading.Event()
    rng = random.Random()
    phones: list[Phone] = []
    figures: dict[str, dict[str, float]] = {}
    probes: set[str] = set()  # the check-ins that showed recovery, each acknowledged
    try:
        server.start()
        token = login(server.url, seeded.cadre).json()["token"]
        phones = [Phone(server.url, token, [check_in(rng.choice(seeded.households)) for _ in range(CHECK_INS)], stop,
                        batch=BATCH) for _ in range(PHONES)]
        for phone in phones:
            phone.start()
        time.sleep(1.0)  # the load is under way
        for name, begin in faults(proxy).items():
            began = time.monotonic()
            begin()
            time.sleep(FAULT_SECONDS)
            proxy.heal()
            healed = time.monotonic()
            deadline = healed + 6 * RECOVERY_LIMIT  # measured here, judged below with the figures shown
            visit = acknowledged_check_in(server.url, token, rng.choice(seeded.households), deadline)
            answered = time.monotonic() - healed
            probes.add(visit)
            asyncio.run(shown(database_url, seeded.adcode, visit, deadline))
            recovered = time.monotonic() - healed
            time.sleep(0.5)  # requests sent during the fault have had their answers
            # The requests under way at some moment of the fault.
            during = [r for phone in phones for r in list(phone.requests) if r[0] < healed and r[0] + r[1] > began]
            figures[name] = {"requests": len(during), "503": sum(1 for r in during if r[2] == 503),
                             "200": sum(1 for r in during if r[2] == 200),
                             "no answer": sum(1 for r in during if r[2] == 0),
                             "max answer s": max((r[1] for r in during), default=0.0),
                             "answered s": answered, "recovered s": recovered}
        stop.set()
        for phone in phones:
            phone.join(ANSWER_LIMIT + 5)
        asyncio.run(caught_up(database_url, seeded.adcode, CATCH_UP_TIMEOUT))
        server.signal(signal.SIGTERM)
        server.process.wait(10)
    finally:
        stop.set()
        server.close()
        proxy.close()

    for name, figure in figures.items():
        print(f"\n{name} ({FAULT_SECONDS:.0f} s): " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                                            for k, v in figure.items()), end="")
    print()
    assert not [phone.error for phone in phones if phone.error], [phone.error for phone in phones]
    slowest = max(r[1] for phone in phones for r in phone.requests)
    assert slowest < ANSWER_LIMIT, slowest
    assert not [r for phone in phones for r in phone.requests if r[2] == 0], "a request got no answer"
    assert all(figure["recovered s"] < RECOVERY_LIMIT for figure in figures.values()), "slow to recover"
    assert figures["blackhole"]["503"], "requests held by the blackhole were not answered at the deadline"
    acknowledged = set().union(*(phone.acknowledged for phone in phones)) | probes
    sent = set().union(*(phone.sent for phone in phones))
    stored = stored_visits(database_url, seeded.adcode)
    assert acknowledged - set(stored) == set(), "acknowledged check-ins were lost"
    assert not sum(count - 1 for count in stored.values()), "check-ins stored twice"
    assert set(stored) <= sent | probes, "a check-in no one sent was stored"
    assert stored_receipts(database_url, seeded.adcode, acknowledged) == len(acknowledged)
    assert not differences_from_a_rebuild(database_url, seeded.adcode)
