"""The test county, its cadre and households, and `grassroots serve` in a subprocess: shared by the
browser tests (conftest.py) and the start-time benchmark (tests/bench/pwa_start.py).

The county (adcode 930001, outside the demo's and the API tests' ranges) gets one cadre account, a
section chief to interview, two villages of households near the centroid and pairings formed 200 days
ago, so the cadre has a due list.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx

from services.county import Actor, County
from services.domain import commands as c
from services.identity import ensure_user
from services.storage.database import connect
from services.storage.schemas import provision_county
from services.tenancy import Counties

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "pwa" / "dist"
COUNTY = "930001"
TOWNSHIP = "930001001"
VILLAGES = {"930001001001": "测试一村", "930001001002": "测试二村"}
CENTROID = (18.64, 109.70)
HOUSEHOLDS = 12
CADRE_USERNAME = "e2e_cadre"
PASSWORD = "e2e-password-1"


class ServerFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Seeded:
    cadre_id: str
    households: list[dict]


def seed_county(database_url: str) -> Seeded:
    provision_county(database_url, COUNTY, "测试走访县", "测试省", province_code="930000", centroid=CENTROID)
    registry = Counties(database_url, County)
    try:
        county = registry.get(COUNTY)
        admin = Actor(user_id="e2e-fixture", roles=frozenset({"county_admin"}), county=COUNTY)

        def run(command: c.Command) -> dict:
            outcome = county.execute(command, admin)
            assert outcome.status == "applied", outcome
            return outcome.result

        cadre_id = str(run(c.EnrolCadre(command_id=uuid.uuid4(), name="李测试", rank="staff", unit="县委组织部",
                                        township=TOWNSHIP))["id"])
        run(c.EnrolCadre(command_id=uuid.uuid4(), name="王部长", rank="section_chief", unit="县委组织部"))
        households = []
        for n in range(HOUSEHOLDS):
            village = list(VILLAGES)[n % 2]
            household = {"command_id": uuid.uuid4(), "village": village, "township": TOWNSHIP,
                         "address": f"{VILLAGES[village]}{n + 1}号", "lat": CENTROID[0] + n * 0.002,
                         "lon": CENTROID[1] + n * 0.002, "tags": ["left_behind_child"] if n % 3 == 0 else [],
                         "size": 3, "head_name": f"户主{n + 1:02d}"}
            household_id = str(run(c.RegisterHousehold(**household))["id"])
            households.append({**household, "id": household_id})
            if n < 4:
                run(c.FormPairing(command_id=uuid.uuid4(), cadre_id=cadre_id, target_kind="household",
                                  target_id=household_id, programme="结对帮扶",
                                  formed_on=date.today() - timedelta(days=200)))
    finally:
        registry.close()
    with connect(database_url) as conn:
        ensure_user(conn, CADRE_USERNAME, roles=["cadre"], password=PASSWORD, county=COUNTY,
                    display_name="李测试", cadre_id=cadre_id)
    return Seeded(cadre_id=cadre_id, households=households)


DEMO_COUNTY = "930002"
DEMO_CADRE_USERNAME = "e2e_demo_cadre"


def seed_demo_county(database_url: str) -> None:
    """A county whose map has a village marked `generated`, as `grassroots demo` leaves it: its users
    are told (`user.demo`) that the data is generated."""
    boundary = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"generated": True, "code": "930002001001"}, "geometry": None}]}
    provision_county(database_url, DEMO_COUNTY, "演示测试县", "测试省", province_code="930000", centroid=CENTROID,
                     boundary=boundary)
    registry = Counties(database_url, County)
    try:
        admin = Actor(user_id="e2e-fixture", roles=frozenset({"county_admin"}), county=DEMO_COUNTY)
        outcome = registry.get(DEMO_COUNTY).execute(
            c.EnrolCadre(command_id=uuid.uuid4(), name="演示干部", rank="staff", unit="县委组织部"), admin)
        assert outcome.status == "applied", outcome
    finally:
        registry.close()
    with connect(database_url) as conn:
        ensure_user(conn, DEMO_CADRE_USERNAME, roles=["cadre"], password=PASSWORD, county=DEMO_COUNTY,
                    display_name="演示干部", cadre_id=str(outcome.result["id"]))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(database_url: str, log_path: Path, *options: str, env: dict[str, str] | None = None
                   ) -> Iterator[str]:
    """`grassroots serve` (API, built PWA, projector) on a free loopback port, with more command-line
    `options` and environment `env` if given; yields its base URL."""
    if not (DIST / "index.html").is_file():
        raise ServerFailed("pwa/dist is not built: run `make pwa` (make test does it first)")
    port = _free_port()
    grassroots = shutil.which("grassroots", path=str(Path(sys.executable).parent)) or "grassroots"
    with log_path.open("w") as log:
        process = subprocess.Popen([grassroots, "serve", "--host", "127.0.0.1", "--port", str(port), *options],
                                   env={**os.environ, "DATABASE_URL": database_url, **(env or {})}, stdout=log,
                                   stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise ServerFailed(f"grassroots serve exited with {process.returncode}: see {log_path}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise ServerFailed(f"grassroots serve did not answer /healthz within 30 s: see {log_path}")
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_projected(database_url: str, timeout: float = 60.0) -> None:
    """Until every county's read models have applied its whole log: data written through the command
    path (not the server) reaches the server's answers only through its projector process."""
    import asyncio

    import asyncpg

    from projections import positions

    async def caught_up() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            deadline = time.monotonic() + timeout
            while any((await positions.lag(conn)).values()):
                if time.monotonic() > deadline:
                    raise ServerFailed(f"the projector did not catch up within {timeout:.0f} s")
                await asyncio.sleep(0.1)
        finally:
            await conn.close()

    # In a thread of its own: Playwright's sync API may already run an event loop in this one (when a test
    # file's first fixture is a browser page, not this server).
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, caught_up()).result()
