"""`grassroots serve` as a subprocess a test can stop, kill and restart, and phones that sync check-ins
to it the way the PWA's outbox does: the same command ids on every resend, backing off between tries.

Each fault test seeds a county of its own (`seed`), so the tests share the session's PostgreSQL
without seeing each other's events.
"""
from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from projections import positions
from projections.rebuild import rebuild
from projections.registry import PROJECTIONS
from services.county import Actor, County
from services.domain import commands as c
from services.domain import receipt_id
from services.identity import ensure_tables, ensure_user
from services.storage.database import connect
from services.storage.names import county_schema
from services.storage.schemas import provision_county
from services.tenancy import Counties

PASSWORD = "fault-password-1"
CENTROID = (18.64, 109.70)
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0
_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS \{schema\}\.(\w+)")


@dataclass(frozen=True)
class Seeded:
    adcode: str
    cadre: str  # usernames, all with PASSWORD
    admin: str
    households: list[str]
    cadre_id: str  # the cadre's aggregate id: commands recorded without the API act as this cadre


def seed(url: str, adcode: str, households: int = 10) -> Seeded:
    """A county with one cadre, `households` households, a cadre account and a county admin account."""
    township = adcode + "001"
    provision_county(url, adcode, f"故障测试县{adcode}", "测试省", province_code=adcode[:2] + "0000",
                     centroid=CENTROID)
    registry = Counties(url, County)
    try:
        county = registry.get(adcode)
        admin = Actor(user_id="fault-fixture", roles=frozenset({"county_admin"}), county=adcode)

        def run(command: c.Command) -> str:
            outcome = county.execute(command, admin)
            assert outcome.status == "applied", outcome
            return str(outcome.result["id"])

        cadre_id = run(c.EnrolCadre(command_id=uuid.uuid4(), name="故障干部", rank="staff", unit="县委组织部",
                                    township=township))
        ids = [run(c.RegisterHousehold(command_id=uuid.uuid4(), village=township + "001", township=township,
                                       address=f"{n + 1}号", lat=CENTROID[0] + n * 0.001, lon=CENTROID[1],
                                       tags=[], size=2, head_name=f"户主{n + 1}"))
               for n in range(households)]
    finally:
        registry.close()
    with connect(url) as conn:
        ensure_tables(conn)
        ensure_user(conn, f"fault_cadre_{adcode}", roles=["cadre"], password=PASSWORD, county=adcode,
                    cadre_id=cadre_id)
        ensure_user(conn, f"fault_admin_{adcode}", roles=["county_admin"], password=PASSWORD, county=adcode)
    return Seeded(adcode, f"fault_cadre_{adcode}", f"fault_admin_{adcode}", ids, cadre_id)


def record_check_ins(url: str, seeded: Seeded, count: int, rng: random.Random) -> None:
    """`count` check-ins by the seeded cadre, written straight to the county's event store (no server,
    no projector): a log for a projector to catch up with."""
    from services.domain.commands import parse_command

    registry = Counties(url, County)
    try:
        county = registry.get(seeded.adcode)
        actor = Actor(user_id="fault-fixture", roles=frozenset({"cadre"}), county=seeded.adcode,
                      cadre_id=uuid.UUID(seeded.cadre_id))
        for start in range(0, count, 500):
            entries = [check_in(rng.choice(seeded.households)) for _ in range(min(500, count - start))]
            commands = [parse_command(e["type"], uuid.UUID(e["id"]), e["payload"]) for e in entries]
            outcomes = county.execute_many(commands, actor)
            assert all(outcome.status == "applied" for outcome in outcomes), outcomes[0]
    finally:
        registry.close()


def fresh_adcode() -> str:
    """A county code no earlier run used, so a rerun on the same database (TEST_DATABASE_URL) starts from
    an empty county: the checks count every event of the county."""
    return f"94{random.randrange(10_000):04d}"


def fresh_address() -> str:
    """A client address of its own, so login throttling by address never spills over between runs."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def grassroots() -> str:
    """The `grassroots` command of this virtualenv."""
    return shutil.which("grassroots", path=str(Path(sys.executable).parent)) or "grassroots"


class Server:
    """`grassroots serve` on one loopback port for its whole life, so clients keep their URL across restarts.
    Every run appends its stdout and stderr to `log_path`."""

    def __init__(self, url: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.database_url, self.log_path, self.env = url, log_path, env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start it and wait for /healthz; returns the seconds that took."""
        started = time.monotonic()
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [grassroots(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env={**os.environ, "DATABASE_URL": self.database_url, **self.env}, stdout=log, stderr=log)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"grassroots serve exited with {self.process.returncode}: see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            if time.monotonic() - started > START_TIMEOUT:
                raise RuntimeError(f"grassroots serve did not answer /healthz in {START_TIMEOUT} s: {self.log_path}")
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def kill(self) -> None:
        """`kill -9`: no shutdown of any kind."""
        self.signal(signal.SIGKILL)
        assert self.process is not None
        self.process.wait(10)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def login(url: str, username: str, password: str = PASSWORD, address: str | None = None) -> httpx.Response:
    """POST /session; `address` is sent as X-Forwarded-For, which uvicorn trusts from loopback."""
    headers = {"X-Forwarded-For": address} if address else {}
    return httpx.post(f"{url}/api/v1/session", json={"username": username, "password": password}, headers=headers,
                      timeout=REQUEST_TIMEOUT)


def check_in(household_id: str, note: str = "身体还好") -> dict:
    return {"id": str(uuid.uuid4()), "type": "check_in", "payload": {
        "target_kind": "household", "target_id": household_id, "kind": "home",
        "occurred_at": datetime.now(UTC).isoformat(),
        "position": {"lat": CENTROID[0], "lon": CENTROID[1], "accuracy_m": 12.0, "provider": "gps", "is_mock": False},
        "topics": ["health"], "note": note, "companions": []}}


class Phone(threading.Thread):
    """Sends its check-ins in batches until each is answered, as the PWA's outbox does: a batch that got
    no answer (connection refused or cut, 429, 502-504) is resent with the same ids after a backoff
    that doubles up to `max_backoff`. A 500, or a 429 or 503 without Retry-After, fails the test. Stops
    early when `stop` is set."""

    def __init__(self, url: str, token: str, commands: list[dict], stop: threading.Event, batch: int = 5,
                 max_backoff: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.commands, self.stop, self.batch = url, token, commands, stop, batch
        self.max_backoff = max_backoff
        self.answers: dict[str, str] = {}  # command id -> the status last answered
        self.sent: set[str] = set()
        self.failures: Counter[str] = Counter()  # what made it resend, by kind
        self.error: BaseException | None = None
        # Every request: (time.monotonic() when sent, seconds to its answer, its status or 0 for none).
        self.requests: list[tuple[float, float, int]] = []
        self.lock = threading.Lock()  # the test reads `answers` while this thread writes it

    def run(self) -> None:
        try:
            self._send_all()
        except BaseException as error:  # the test asserts on it: a thread's exception is otherwise lost
            self.error = error

    def _send_all(self) -> None:
        pending = list(self.commands)
        backoff = 0.05
        with httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT,
                          headers={"Authorization": f"Bearer {self.token}"}) as client:
            while pending and not self.stop.is_set():
                batch = pending[:self.batch]
                self.sent.update(entry["id"] for entry in batch)
                sent = time.monotonic()
                try:
                    response = client.post("/api/v1/sync", json={"device_id": "fault-phone", "commands": batch})
                except httpx.TransportError as error:
                    self.failures[type(error).__name__] += 1
                    with self.lock:
                        self.requests.append((sent, time.monotonic() - sent, 0))
                else:
                    with self.lock:
                        self.requests.append((sent, time.monotonic() - sent, response.status_code))
                    if response.status_code == 200:
                        results = response.json()["results"]
                        with self.lock:
                            self.answers.update((result["id"], result["status"]) for result in results)
                        del pending[:len(batch)]
                        backoff = 0.05
                        continue
                    self.failures[str(response.status_code)] += 1
                    assert response.status_code in (429, 502, 503, 504), response.text  # never a 500
                    if response.status_code in (429, 503):  # says when to come back
                        assert "retry-after" in response.headers, response.headers
                self.stop.wait(backoff * random.uniform(0.5, 1.5))
                backoff = min(backoff * 2, self.max_backoff)

    @property
    def acknowledged(self) -> set[str]:
        with self.lock:
            return {id_ for id_, status in self.answers.items() if status in ("applied", "duplicate")}


def stored_visits(url: str, adcode: str) -> Counter[str]:
    """How many times each visit's first event (its check-in) is in the county's event store."""
    with connect(url) as conn:
        rows = conn.execute(f"SELECT originator_id::text, count(*) FROM county_{adcode}.county_events"
                            " WHERE topic = 'grassroots:Visit.CheckedIn' GROUP BY originator_id").fetchall()
    return Counter({row[0]: row[1] for row in rows})


def stored_receipts(url: str, adcode: str, ids: set[str]) -> int:
    """How many command receipts (one per executed command) the ids have in the county's event store."""
    receipts = [receipt_id(uuid.UUID(id_)) for id_ in ids]
    with connect(url) as conn:
        return int(conn.execute(f"SELECT count(*) FROM county_{adcode}.county_events WHERE originator_id = ANY(%s)",
                                (receipts,)).fetchone()[0])


async def read_models(url: str, adcode: str) -> dict[str, list[str]]:
    """Every row of every read-model table of the county (its own tables and its rows in shared ones),
    sorted, as text."""
    schema = county_schema(adcode)
    tables = [f"{schema}.{name}" for p in PROJECTIONS for ddl in p.tables for name in _TABLE.findall(ddl)]
    conn = await asyncpg.connect(url)
    try:
        rows = {table: sorted(str(tuple(r)) for r in await conn.fetch(f"SELECT * FROM {table}")) for table in tables}
        for shared in ("rollup.rollup_county_months", "rollup.rollup_counties"):
            rows[shared] = sorted(str(tuple(r)) for r in await conn.fetch(f"SELECT * FROM {shared} WHERE county = $1",
                                                                         adcode))
        return rows
    finally:
        await conn.close()


async def caught_up(url: str, adcode: str, timeout: float) -> None:
    """Wait until the county's read models have applied every event of its log."""
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + timeout
        while (await positions.lag(conn)).get(adcode, 0) > 0:
            assert time.monotonic() < deadline, "the projector did not catch up"
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


def differences_from_a_rebuild(url: str, adcode: str) -> list[str]:
    """The county's read-model tables whose rows differ from those of a full rebuild (run it with no
    projector running)."""
    incremental = asyncio.run(read_models(url, adcode))
    asyncio.run(rebuild(url, county=adcode))
    rebuilt = asyncio.run(read_models(url, adcode))
    assert rebuilt[f"{county_schema(adcode)}.verdicts_checkins"], "the comparison must not be of empty tables"
    return [table for table in rebuilt if incremental.get(table) != rebuilt[table]]
