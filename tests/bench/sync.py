"""Check-ins posted to `POST /api/v1/sync` from concurrent clients, as phones send them: the phases the
server and real-size benchmarks time."""
from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass

from tests.bench.common import REQUEST_TIMEOUT, Households

KEEP_ALIVE = 5.0  # seconds: uvicorn's timeout_keep_alive, which `grassroots serve` leaves at its default


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


class Phone:
    """One phone's keep-alive HTTP/1.1 connection, posting its sync batches as JSON.

    The load generator's own few lines rather than httpx: httpx took about 1.4 ms of CPU a request, on the same
    two cores as the server it measures, where a phone's CPU is its own; this takes about 0.2 ms. It reads a
    response by its Content-Length (the API sets one on every JSON answer) and refuses anything else. Like any
    client it connects again when the server has closed the connection while it sat idle (uvicorn closes one
    idle for KEEP_ALIVE seconds: the sustained stage's probe waits that long for its check-in to show)."""

    def __init__(self, base: str, token: str) -> None:
        self.host, port = base.removeprefix("http://").split(":")
        self.port, self.token = int(port), token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0  # monotonic time of the last answer

    async def __aenter__(self) -> Phone:
        await self._connect()
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.writer is not None
        self.writer.close()

    async def _connect(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.used = time.monotonic()

    async def post(self, path: str, body: dict) -> dict:
        assert self.reader is not None and self.writer is not None
        if self.reader.at_eof() or time.monotonic() - self.used >= KEEP_ALIVE - 1:
            await self._connect()
            assert self.reader is not None and self.writer is not None
        payload = json.dumps(body).encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.token}\r\n"
                          f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
                          + payload)
        status = (await self.reader.readline()).split(maxsplit=2)
        if len(status) < 2:
            raise RuntimeError(f"{path}: the server closed the connection without an answer")
        headers = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise RuntimeError(f"{path} answered {status} without a Content-Length: {headers}")
        answer = await self.reader.readexactly(int(headers["content-length"]))
        self.used = time.monotonic()
        if status[1] != b"200":
            raise RuntimeError(f"{path} answered {b' '.join(status[1:]).decode().strip()}: {answer[:500]!r}")
        return json.loads(answer)


async def post(phone: Phone, batch: list[dict], statuses: dict[str, int]) -> None:
    """One sync request (at most REQUEST_TIMEOUT); counts its results by status."""
    answer = await asyncio.wait_for(phone.post("/api/v1/sync", {"device_id": "bench", "commands": batch}),
                                    REQUEST_TIMEOUT)
    for result in answer["results"]:
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1


async def sync_phase(name: str, base: str, tokens: list[str], batches: list[list[list[dict]]],
                     timeout: float) -> Phase:
    """Each client posts its list of batches one after another; all clients at once."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}

    async def client(token: str, mine: list[list[dict]]) -> None:
        async with Phone(base, token) as phone:
            for batch in mine:
                started = time.perf_counter()
                await post(phone, batch, statuses)
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(client(t, b) for t, b in zip(tokens, batches, strict=True))), timeout)
    seconds = time.perf_counter() - started
    return Phase(name, sum(len(b) for mine in batches for b in mine), seconds, latencies, statuses)
