"""`grassroots serve` runs its projector as a child process (services/api/projector.py): the child makes
check-ins visible, is started again when it dies, stops with the server, and does not outlive a server
killed with `kill -9`."""
from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx

from .harness import REQUEST_TIMEOUT, Server, caught_up, check_in, fresh_adcode, login, seed

TIMEOUT = 20.0


def projector_children(server_pid: int) -> list[int]:
    """The live `grassroots projector` processes whose parent is the server."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue  # gone meanwhile
        if int(ppid) == server_pid and b"projector" in argv and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for(condition, what: str):
    deadline = time.monotonic() + TIMEOUT
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return value


def alive(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


def sync_one(server: Server, token: str, household: str) -> None:
    response = httpx.post(f"{server.url}/api/v1/sync", json={"device_id": "process-test", "commands": [
        check_in(household)]}, headers={"Authorization": f"Bearer {token}"}, timeout=REQUEST_TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "applied"


def test_the_projector_child_projects_restarts_and_ends_with_the_server(database_url, tmp_path):
    seeded = seed(database_url, fresh_adcode(), households=3)
    server = Server(database_url, tmp_path / "serve.log")
    server.start()
    try:
        first = wait_for(lambda: projector_children(server.pid), "serve started no projector process")
        assert len(first) == 1
        # A session of its own: a Ctrl-C in the terminal reaches the server, which then stops it in order.
        assert os.getsid(first[0]) != os.getsid(server.pid)
        token = login(server.url, seeded.cadre).json()["token"]
        sync_one(server, token, seeded.households[0])
        asyncio.run(caught_up(database_url, seeded.adcode, TIMEOUT))

        os.kill(first[0], signal.SIGKILL)
        second = wait_for(lambda: [p for p in projector_children(server.pid) if p != first[0]],
                          "the server did not start its projector again")
        sync_one(server, token, seeded.households[1])
        asyncio.run(caught_up(database_url, seeded.adcode, TIMEOUT))
        assert "starting it again" in server.log()

        server.signal(signal.SIGTERM)
        assert server.process is not None and server.process.wait(TIMEOUT) == 0
        assert not alive(second[0]), "the projector outlived a server that stopped"

        server.start()  # the same port and database
        third = wait_for(lambda: projector_children(server.pid), "serve started no projector process")
        server.kill()  # kill -9: no shutdown of any kind
        wait_for(lambda: not alive(third[0]), "the projector outlived a server killed with kill -9")
    finally:
        server.close()
