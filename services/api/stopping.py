"""Stopping cleanly: what `grassroots serve` does between a stop signal and its exit (issue 15).

uvicorn stops accepting connections and waits for the responses in flight, for at most its
`timeout_graceful_shutdown`; then it cancels what is left and answers 500 where no response has started.
Two kinds of request would otherwise reach that deadline:

- event streams never end by themselves: `Server` ends them at the signal (`sse.close_streams`);
- a phone stalled half-way through uploading its batch: once the server is stopping, a request still
  waiting for its body after CUT_SECONDS is answered 503 with Retry-After (`UnfinishedBodies`), and
  the phone resends the same command ids to the restarted server, which changes nothing.

A request whose body has arrived runs to its end (a batch of 500 check-ins takes about a second).
"""
from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError
from .sse import StreamClosingServer

CUT_SECONDS = 1.0
RETRY_AFTER_SECONDS = 5
_BODYLESS = {"GET", "HEAD", "OPTIONS"}


class Stopping:
    """The app's stop: `begin()` from any thread or signal handler; `cut` is set CUT_SECONDS later."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.cut = asyncio.Event()

    def begin(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.call_later, CUT_SECONDS, self.cut.set)


def stopping_of(app: Any) -> Stopping | None:
    return getattr(app.state, "stopping", None)


class Server(StreamClosingServer):
    """uvicorn's server, except that a stop signal also ends the event streams and starts the cut of
    unfinished uploads. Use it as `Server(uvicorn.Config(app, ...)).run()`."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        if isinstance(self.config.app, Starlette):
            stopping = stopping_of(self.config.app)
            if stopping is not None:
                stopping.begin()
        super().handle_exit(sig, frame)


class UnfinishedBodies:
    """ASGI middleware: once the server is stopping, a request body that has not arrived CUT_SECONDS
    later ends the request with 503 and Retry-After."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODYLESS:
            await self.app(scope, receive, send)
            return
        arrived = False

        async def receive_until_cut() -> Message:
            nonlocal arrived
            stopping = stopping_of(scope["app"]) if "app" in scope else None
            if arrived or stopping is None:
                return await receive()  # after the body: only a disconnect is left to hear
            receiving = asyncio.ensure_future(receive())
            cutting = asyncio.ensure_future(stopping.cut.wait())
            try:
                await asyncio.wait((receiving, cutting), return_when=asyncio.FIRST_COMPLETED)
            finally:
                cutting.cancel()
            if not receiving.done():
                receiving.cancel()
                raise ApiError(503, "The server is restarting: send this again in a few seconds.",
                               "服务器正在重启，请稍后重新提交。", kind="restarting",
                               headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
            message = receiving.result()
            arrived = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, receive_until_cut, send)
