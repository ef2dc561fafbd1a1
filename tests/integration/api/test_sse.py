"""GET /api/v1/events/stream: admin pages learn within 2 s that their county's read models changed."""
from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from services.api import sse
from services.api.app import create_app
from services.domain import commands as c
from tests.integration.api.conftest import COUNTY_A, COUNTY_B


class Server:
    def __init__(self, app, url: str, server: uvicorn.Server, task: asyncio.Task) -> None:
        self.app, self.url, self.server, self.task = app, url, server, task


@pytest.fixture
async def server(database_url, api) -> AsyncIterator[Server]:
    """A real HTTP server (httpx's ASGI transport buffers whole responses, so it cannot stream) without a
    projector of its own: the `api` app's projector runs in this process and moves the tracking rows."""
    app = create_app(database_url, projector=None, pwa_dir=None)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uv = sse.StreamClosingServer(config)
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started:
        await asyncio.sleep(0.02)
    yield Server(app, f"http://127.0.0.1:{sock.getsockname()[1]}", uv, task)
    sse.close_streams(app)
    uv.should_exit = True
    await asyncio.wait_for(task, 10)
    sock.close()


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, dict | None, str | None]]:
    """(event name, data, id) for each event of an SSE response; heartbeats as ("heartbeat", None, None)."""
    name, data, event_id = "message", None, None
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield "heartbeat", None, None
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])
        elif line.startswith("id: "):
            event_id = line[4:]
        elif line == "":
            if data is not None or name != "message":
                yield name, data, event_id
            name, data, event_id = "message", None, None


def register(api, county: str) -> None:
    outcome = api.execute(county, c.RegisterHousehold(
        command_id=uuid.uuid4(), village=f"{county}100201", township=f"{county}100", address="SSE 测试",
        lat=18.64, lon=109.70, size=2, head_name="流式", tags=[]))
    assert outcome.status == "applied", outcome


async def next_event(stream, wanted: str, timeout: float):
    async def find():
        async for name, data, event_id in stream:
            if name == wanted:
                return data, event_id
    return await asyncio.wait_for(find(), timeout)


async def test_a_write_reaches_an_open_stream_within_two_seconds(server, api):
    token = await api.token("county_admin")
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        async with client.stream("GET", "/api/v1/events/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            # httpx asks for gzip; a compressed stream would be buffered, so the stream is sent as is.
            assert "content-encoding" not in response.headers
            stream = events(response)
            ready, _ = await next_event(stream, "ready", 5)
            await asyncio.sleep(sse.POLL_SECONDS * 2)  # let earlier tests' writes settle out of the stream
            started = time.monotonic()
            register(api, COUNTY_A)
            data, event_id = await next_event(stream, "changed", 2.0)
            elapsed = time.monotonic() - started
            assert "coverage" in data["projections"] and data["position"] > ready["position"]
            assert event_id == str(data["position"])
            print(f"write -> SSE changed: {elapsed * 1000:.0f} ms")


async def test_another_countys_writes_are_not_announced(server, api, monkeypatch):
    monkeypatch.setattr(sse, "HEARTBEAT_SECONDS", 0.3)
    token = await api.token("county_admin", COUNTY_A)
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        async with client.stream("GET", "/api/v1/events/stream") as response:
            stream = events(response)
            await next_event(stream, "ready", 5)
            await asyncio.sleep(sse.POLL_SECONDS * 2)
            register(api, COUNTY_B)
            seen = []
            deadline = time.monotonic() + 1.5
            async for name, _, _ in stream:
                seen.append(name)
                if time.monotonic() > deadline:
                    break
            assert "changed" not in seen and "heartbeat" in seen


async def test_a_rebuild_is_announced_though_the_position_stays(server, api, database_url):
    """After `PUT /rules` the re-judged tables come in at the same position: pages must still reload."""
    from projections.rebuild import rebuild

    token = await api.token("county_admin", COUNTY_A)
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        async with client.stream("GET", "/api/v1/events/stream") as response:
            stream = events(response)
            ready, _ = await next_event(stream, "ready", 5)
            await asyncio.sleep(sse.POLL_SECONDS * 2)
            [result] = await rebuild(database_url, county=COUNTY_A, projection="verdicts")
            data, _ = await next_event(stream, "changed", 2.0)
            assert data["projections"] == ["verdicts"] and result.events > 0


async def test_a_reconnect_with_an_old_last_event_id_is_told_at_once(server, api):
    token = await api.token("county_admin")
    headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": "0"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
        register(api, COUNTY_A)
        await asyncio.sleep(1)
        async with client.stream("GET", "/api/v1/events/stream") as response:
            data, _ = await next_event(events(response), "changed", 2)
            assert data["position"] > 0


async def test_a_disconnected_client_leaves_no_watcher_behind(server, api):
    token = await api.token("county_admin")
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        async with client.stream("GET", "/api/v1/events/stream") as response:
            await next_event(events(response), "ready", 5)
            hub = sse.hub_of(server.app)
            assert COUNTY_A in hub.watches
    deadline = time.monotonic() + 2
    while COUNTY_A in hub.watches and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert COUNTY_A not in hub.watches


async def test_server_shutdown_ends_open_streams_with_a_shutdown_event(server, api, monkeypatch):
    # uvicorn re-raises the stop signal once it has stopped; here that would stop the test run itself.
    reraised: list[int] = []
    monkeypatch.setattr(signal, "raise_signal", reraised.append)
    token = await api.token("department")
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        async with client.stream("GET", "/api/v1/events/stream") as response:
            stream = events(response)
            await next_event(stream, "ready", 5)
            server.server.handle_exit(signal.SIGTERM, None)  # what a stop signal runs
            await next_event(stream, "shutdown", 2)
            remaining = [name async for name, _, _ in stream]  # the response ends
            assert remaining == []
    await asyncio.wait_for(server.task, 5)  # and the server stops without waiting for anyone
    assert reraised == [signal.SIGTERM]


async def test_the_stream_needs_a_county_session(api):
    anonymous = api.anonymous()
    assert (await anonymous.get("/api/v1/events/stream")).status_code == 401
    for role in ("cadre", "province_viewer"):
        client = await api.client(role)
        assert (await client.get("/api/v1/events/stream")).status_code == 403, role
