"""`grassroots serve` through a real database restart: the requests after it are answered (no 500s),
writes included, and the projector makes them visible."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import httpx

from services.identity import ensure_tables, ensure_user
from services.storage.database import connect
from services.storage.schemas import provision_county

PASSWORD = "restart-password-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_server_answers_reads_and_writes_after_the_database_restarts(tmp_path, restartable_database):
    url = restartable_database.url
    serving = None
    try:
        provision_county(url, "469029", name="保亭县", province="海南省", province_code="460000")
        with connect(url) as conn:
            ensure_tables(conn)
            ensure_user(conn, "restart_admin", roles=["county_admin"], password=PASSWORD, county="469029")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        with (tmp_path / "serve.log").open("w") as log:
            serving = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
                                       env={**os.environ, "DATABASE_URL": url}, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "grassroots serve did not start"
                time.sleep(0.2)
        token = httpx.post(f"{base}/api/v1/session",
                           json={"username": "restart_admin", "password": PASSWORD}).json()["token"]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:

            def register(name: str) -> httpx.Response:
                return client.post("/api/v1/households", json={
                    "command_id": str(uuid.uuid4()), "village": "469029100201", "township": "469029100",
                    "address": f"{name}家", "lat": 18.64, "lon": 109.70, "size": 2, "head_name": name, "tags": []})

            assert register("甲").status_code == 201

            restartable_database.restart()

            # Every pooled connection died with the restart; each request below must still be answered.
            assert client.get("/api/v1/me").status_code == 200
            assert register("乙").status_code == 201
            assert client.get("/api/v1/completeness").status_code == 200
            deadline = time.monotonic() + 30
            while client.get("/api/v1/completeness").json()["county"]["households"] != 2:
                assert time.monotonic() < deadline, "the projector did not show the household written after the restart"
                time.sleep(0.2)
            assert httpx.get(f"{base}/readyz").status_code == 200
    finally:
        if serving is not None:
            serving.terminate()
            serving.wait(10)
