"""Check-ins posted to `POST /api/v1/sync` from concurrent clients, as phones send them: the phases the
server and real-size benchmarks time."""
from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass

import httpx

from tests.bench.common import REQUEST_TIMEOUT, Households, bearer


@dataclass
class Phase:
    name: str
    commands: int
    seconds: float
    latencies: list[float]
    statuses: dict[str, int]

    @property
    def rate(self) -> float:
        return self.commands / self.seconds


class Outbox:
    """Sync entries for check-ins at the households, round-robin, each with a fresh command id."""

    def __init__(self, households: Households) -> None:
        self.households = households
        self.counter = itertools.count()

    def entries(self, size: int) -> list[dict]:
        return [{"id": str(uuid.uuid4()), "type": "check_in", "payload": self.households.checkin(next(self.counter))}
                for _ in range(size)]


async def post(http: httpx.AsyncClient, batch: list[dict], statuses: dict[str, int]) -> None:
    response = await http.post("/api/v1/sync", json={"device_id": "bench", "commands": batch})
    response.raise_for_status()
    for result in response.json()["results"]:
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1


async def sync_phase(name: str, base: str, tokens: list[str], batches: list[list[list[dict]]],
                     timeout: float) -> Phase:
    """Each client posts its list of batches one after another; all clients at once."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}

    async def client(token: str, mine: list[list[dict]]) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT, headers=bearer(token)) as http:
            for batch in mine:
                started = time.perf_counter()
                await post(http, batch, statuses)
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(client(t, b) for t, b in zip(tokens, batches, strict=True))), timeout)
    seconds = time.perf_counter() - started
    return Phase(name, sum(len(b) for mine in batches for b in mine), seconds, latencies, statuses)
