"""Live updates: a Server-Sent Events stream telling admin pages that their county's read models changed.

The projection driver commits each batch together with its `projection_tracking` rows, so a tracking
position that moved means a read model changed. A rebuild (e.g. after `PUT /rules`) swaps in re-judged
tables at the same position but rewrites the tracking rows, so the watcher also compares each row's
`xmin` (the transaction that last wrote it). One watcher per county (shared by every open stream
of that county in this process) polls the county's tracking table twice a second; no extra channel is
needed and nothing is missed while a LISTEN connection would be down. Each stream gets

    event: changed
    id: <highest tracking position>
    data: {"projections": ["coverage", "issues"], "position": 1234}

and a comment line as heartbeat every HEARTBEAT_SECONDS so proxies keep the connection open. A browser
that reconnects sends `Last-Event-ID`; if the read models moved meanwhile it gets a `changed` at once.

A stream ends when the client goes away (Starlette cancels it) or when the server shuts down:
`close_streams(app)` sends every stream a final `event: shutdown` and ends it (a server must call it
before it waits for open connections: `StreamClosingServer` does, from uvicorn's `handle_exit`), and
EventSource reconnects after `retry` milliseconds to whichever server is up.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.responses import StreamingResponse

from projections.schema import tracking_positions
from services.storage.connections import AsyncPool
from services.storage.names import county_schema

from .routing import Call, endpoint

log = logging.getLogger("grassroots.api.sse")

POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 3000
STREAM_ROLES = {"county_admin", "department", "operator"}

# projection -> (tracking position, xmin of its tracking row)
Positions = dict[str, tuple[int, str]]


class _CountyWatch:
    """Polls one county's tracking positions while anyone listens; hands each change to every listener."""

    def __init__(self, hub: EventHub, adcode: str) -> None:
        self.hub = hub
        self.adcode = adcode
        self.listeners: set[asyncio.Queue[Positions | None]] = set()
        self.positions: Positions | None = None
        self.task: asyncio.Task[None] | None = None

    async def read(self) -> Positions:
        async with self.hub.pool.acquire() as conn:
            return await tracking_positions(conn, county_schema(self.adcode))

    async def run(self) -> None:
        while self.listeners:
            await asyncio.sleep(POLL_SECONDS)
            try:
                current = await self.read()
            except Exception:  # a database restart must not end the streams: try again next tick
                log.warning("reading projection_tracking of %s failed", self.adcode, exc_info=True)
                continue
            if current != self.positions:
                self.positions = current
                for queue in self.listeners:
                    queue.put_nowait(current)


class EventHub:
    """Every open stream of one app, grouped by county."""

    def __init__(self, pool: AsyncPool) -> None:
        self.pool = pool
        self.watches: dict[str, _CountyWatch] = {}
        self.closing = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    async def subscribe(self, adcode: str) -> tuple[asyncio.Queue[Positions | None], Positions]:
        watch = self.watches.get(adcode)
        if watch is None:
            watch = self.watches[adcode] = _CountyWatch(self, adcode)
        if watch.positions is None:
            watch.positions = await watch.read()
        queue: asyncio.Queue[Positions | None] = asyncio.Queue()
        watch.listeners.add(queue)
        if watch.task is None or watch.task.done():
            watch.task = asyncio.create_task(watch.run(), name=f"sse-watch-{adcode}")
        return queue, watch.positions

    def unsubscribe(self, adcode: str, queue: asyncio.Queue[Positions | None]) -> None:
        watch = self.watches.get(adcode)
        if watch is None:
            return
        watch.listeners.discard(queue)
        if not watch.listeners:
            # The watch's loop ends at its next tick; dropping it here lets a new subscriber start afresh.
            del self.watches[adcode]

    def close(self) -> None:
        """End every stream. Safe from any thread or a signal handler: the work runs on the hub's loop."""
        self.loop.call_soon_threadsafe(self._close)

    def _close(self) -> None:
        self.closing.set()
        for watch in self.watches.values():
            for queue in watch.listeners:
                queue.put_nowait(None)


def hub_of(app: Starlette) -> EventHub:
    hub = getattr(app.state, "event_hub", None)
    if hub is None:
        hub = app.state.event_hub = EventHub(app.state.db)
    return hub


def close_streams(app: Starlette) -> None:
    """End every open stream of `app` with a `shutdown` event, from any thread or signal handler.

    uvicorn waits for open responses before it runs the lifespan shutdown, so a server must call this
    when it is told to stop (e.g. in `uvicorn.Server.handle_exit`), or shutdown waits for the streams."""
    hub = getattr(app.state, "event_hub", None)
    if hub is not None:
        hub.close()


class StreamClosingServer(uvicorn.Server):
    """uvicorn's server, except that a stop signal first ends the open event streams.

    uvicorn waits for open responses before it shuts the app down, and an event stream never ends
    by itself, so a plain `uvicorn.run` would wait for every admin page to close. Use it as
    `StreamClosingServer(uvicorn.Config(app, ...)).run()`."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        if isinstance(self.config.app, Starlette):
            close_streams(self.config.app)
        super().handle_exit(sig, frame)


def _position(positions: Positions) -> int:
    return max((position for position, _ in positions.values()), default=0)


def _changed(before: Positions, after: Positions) -> str:
    names = sorted(name for name, position in after.items() if before.get(name) != position)
    data = json.dumps({"projections": names, "position": _position(after)})
    return f"event: changed\nid: {_position(after)}\ndata: {data}\n\n"


async def _stream(hub: EventHub, adcode: str, last_seen: int | None) -> AsyncIterator[str]:
    queue, positions = await hub.subscribe(adcode)
    try:
        yield f"retry: {RETRY_MILLISECONDS}\nevent: ready\nid: {_position(positions)}\n" \
              f"data: {json.dumps({'position': _position(positions)})}\n\n"
        if last_seen is not None and _position(positions) > last_seen:
            yield _changed({}, positions)
        while not hub.closing.is_set():
            try:
                current = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if current is None:
                break
            yield _changed(positions, current)
            positions = current
        yield "event: shutdown\ndata: {}\n\n"
    finally:
        hub.unsubscribe(adcode, queue)


@endpoint("GET", "/events/stream", roles=STREAM_ROLES, tags=["live"],
          summary="Server-Sent Events: the county's read models changed",
          content={"text/event-stream": {"schema": {"type": "string"}}})
async def event_stream(call: Call) -> StreamingResponse:
    """`changed` events (with the projections that moved) whenever the county's read models are
    updated, `: heartbeat` comments every 15 s, `shutdown` when the server stops."""
    last_event_id = call.request.headers.get("last-event-id", "")
    last_seen = int(last_event_id) if last_event_id.isdigit() else None
    return StreamingResponse(
        _stream(hub_of(call.request.app), call.county, last_seen),
        media_type="text/event-stream",
        # no-transform and X-Accel-Buffering: proxies (nginx) must pass events through unbuffered.
        headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
    )


routes = [event_stream]
