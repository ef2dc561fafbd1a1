"""Browser tests of the field PWA: Debian's Chromium driven by pytest-playwright against a REAL server.

The server is `grassroots serve` in a subprocess on a free loopback port, with DATABASE_URL pointing at
the test session's PostgreSQL, serving the built pwa/dist (make test builds it first). The test county
(adcode 930001, outside the demo's and the API tests' ranges) gets one cadre account, two villages of
households near the county's centroid and pairings, so the cadre has a due list.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from services.county import Actor, County
from services.domain import commands as c
from services.identity import ensure_user
from services.storage.database import connect
from services.storage.schemas import provision_county
from services.tenancy import Counties

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "pwa" / "dist"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"

COUNTY = "930001"
TOWNSHIP = "930001001"
VILLAGES = {"930001001001": "测试一村", "930001001002": "测试二村"}
CENTROID = (18.64, 109.70)
HOUSEHOLDS = 12
CADRE_USERNAME = "e2e_cadre"
PASSWORD = "e2e-password-1"
PHONE_VIEWPORT = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Seeded:
    cadre_id: str
    households: list[dict]


@dataclass(frozen=True)
class Server:
    url: str
    database_url: str


@pytest.fixture(scope="session")
def seeded(database_url: str) -> Seeded:
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
            if n < 4:  # paired long ago and never visited: due or overdue
                run(c.FormPairing(command_id=uuid.uuid4(), cadre_id=cadre_id, target_kind="household",
                                  target_id=household_id, programme="结对帮扶",
                                  formed_on=date.today() - timedelta(days=200)))
    finally:
        registry.close()
    with connect(database_url) as conn:
        ensure_user(conn, CADRE_USERNAME, roles=["cadre"], password=PASSWORD, county=COUNTY,
                    display_name="李测试", cadre_id=cadre_id)
    return Seeded(cadre_id=cadre_id, households=households)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server(database_url: str, seeded: Seeded, tmp_path_factory) -> Server:
    if not (DIST / "index.html").is_file():
        pytest.fail("pwa/dist is not built: run `make pwa` (make test does it first)")
    port = _free_port()
    log = (tmp_path_factory.mktemp("server") / "serve.log").open("w")
    grassroots = shutil.which("grassroots", path=str(Path(sys.executable).parent)) or "grassroots"
    process = subprocess.Popen([grassroots, "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env={**os.environ, "DATABASE_URL": database_url}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"grassroots serve exited with {process.returncode}: see {log.name}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"grassroots serve did not answer /healthz within 30 s: see {log.name}")
            time.sleep(0.2)
        yield Server(url=url, database_url=database_url)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def base_url(server: Server) -> str:
    # Replaces pytest-base-url's fixture (an instance-method session fixture that pytest 9 warns about).
    return server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make debs)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A phone standing in the first village, with a good GPS fix.
    return {
        **browser_context_args,
        "viewport": PHONE_VIEWPORT,
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "geolocation": {"latitude": CENTROID[0], "longitude": CENTROID[1], "accuracy": 12},
        "permissions": ["geolocation"],
        "service_workers": "allow",
    }


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
