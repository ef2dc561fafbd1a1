"""The Starlette application: middleware, the `/api/v1` mount, operations, status page and the PWA.

`create_app()` is all a server or a test needs. Its lifespan makes sure the `core` tables exist, opens
the asyncpg pool (queries, sessions), the registry of County applications (writes, on the shared
psycopg pool) and, unless told not to, runs the projection driver as a task of this process.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import asyncpg
from anyio import to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.ledger import XLSX_MEDIA_TYPE
from services.storage.connections import AsyncPool
from services.storage.database import connect, database_url
from services.storage.schemas import ensure_core

from . import errors, ops, status, stopping
from .errors import ApiError, problem_response
from .projector import supervise
from .pwa import DEFAULT_DIST, PwaFiles
from .rejudge import Rejudging
from .routing import share_paths

if TYPE_CHECKING:
    from services.county import County
    from services.tenancy import Counties

log = logging.getLogger("grassroots.app")

# Every module under services/api that serves part of /api/v1, by resource or audience; each exposes `routes`.
API_MODULES = (
    "session", "openapi", "sync", "phone",                                          # the field app and everyone
    "coverage", "completeness", "pairings", "interviews", "issues", "leaderboards",  # read models
    "visits", "households", "people", "accounts", "audit", "places", "rules",        # the county admin
    "imports", "exports", "sse", "province", "campaigns", "worklog", "proposals",
    "departments", "reviews", "targets", "receptions", "stays", "research",
    "assessment",
)

JSON_LIMIT = 2 * 1024 * 1024  # sync batches of 500 check-ins are ~0.5 MiB
UPLOAD_LIMIT = 10 * 1024 * 1024  # household files (CSV/XLSX)
# One SIGTERM stops the server within 5 s (issue 15; services/api/stopping.py): requests in flight get
# GRACEFUL_SECONDS to finish (a batch of 500 check-ins takes about a second; an upload still unfinished
# is answered 503 before that), then the projector gets PROJECTOR_STOP_SECONDS to commit its batch before
# it is cancelled (the batch's transaction then rolls back with its tracking rows: nothing half-applied),
# then the pools get POOL_CLOSE_SECONDS before their connections are dropped.
GRACEFUL_SECONDS = 2
PROJECTOR_STOP_SECONDS = 1.0
POOL_CLOSE_SECONDS = 0.5
HOUSEKEEPING_EVERY = 3600.0  # seconds
# Smaller bodies gain less than gzip's header and CPU cost them. Starlette leaves text/event-stream
# uncompressed (it would buffer the stream), so SSE still streams.
GZIP_MINIMUM_SIZE = 1024
# zlib's own default, not Starlette's 9: on a cadre's due list (500 KB of JSON) level 9 took 54 ms and
# level 6 17 ms for a body 2 % larger; /me/due missed its 100 ms target mostly in the compressor.
GZIP_LEVEL = 6
# Starlette's list, and XLSX: a workbook is a zip, already compressed.
GZIP_EXCLUDED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, XLSX_MEDIA_TYPE)


def api_routes() -> list[BaseRoute]:
    return share_paths([route for name in API_MODULES
                        for route in importlib.import_module(f"services.api.{name}").routes])


class BodyLimit:
    """ASGI middleware: 413 for bodies over the limit, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, json_limit: int = JSON_LIMIT, upload_limit: int = UPLOAD_LIMIT) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    def _too_large(self, limit: int) -> ApiError:
        return ApiError(413, f"The request body is larger than {limit // (1024 * 1024)} MiB.",
                        f"请求内容超过 {limit // (1024 * 1024)} MiB。", kind="too-large")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
        limit = self.upload_limit if multipart else self.json_limit
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await problem_response(self._too_large(limit))(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise self._too_large(limit)  # handled like any ApiError: a 413 problem
            return message

        await self.app(scope, counting_receive, send)


def create_app(url: str | None = None, *, projector: Literal["process", "inline"] | None = "process",
               pwa_dir: Path | None = DEFAULT_DIST) -> Starlette:
    """The app for the database at `url` (default: `database_url()`), with the projection driver in a child
    process of its own (services/api/projector.py), on this event loop (`inline`: one process, as the API
    tests run it) or nowhere (`None`)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db_url = url if url else await to_thread.run_sync(database_url)  # not `or`: mypy types that str | None
        await to_thread.run_sync(_prepare_core, db_url)
        app.state.url = db_url
        app.state.metrics = ops.Metrics()
        app.state.openapi = None
        app.state.stopping = stopping.Stopping()
        # Recycled after max_queries: a backend keeps the catalog of every county schema it touched (DESIGN §9).
        # Planned for each call's values: after five calls PostgreSQL may keep a generic plan, and the read
        # models' filters and cutoffs (`$n IS NULL OR …`, `coalesce($1, 'infinity')`) leave it guessing a
        # few dozen rows, so it probes by index what it should hash (at 290,000 households the cadres'
        # pairing figures took 150 ms from the sixth call on, 31 ms planned each time; planning takes 1–3 ms).
        app.state.db = await asyncpg.create_pool(db_url, min_size=1, max_size=10, max_queries=20_000,
                                                 server_settings={"plan_cache_mode": "force_custom_plan"},
                                                 reset=_nothing_to_reset)
        app.state.counties = _counties(db_url)
        app.state.rejudging = Rejudging(db_url, app.state.db)
        await app.state.rejudging.resume()
        stop = asyncio.Event()
        if projector == "process":  # it kills its process itself after PROJECTOR_STOP_SECONDS
            driver = asyncio.create_task(supervise(db_url, stop, PROJECTOR_STOP_SECONDS), name="projector")
        elif projector == "inline":
            driver = asyncio.create_task(_run_projector(db_url, stop), name="projector")
        else:
            driver = None
        housekeeping = asyncio.create_task(_housekeeping(app.state.db, stop), name="housekeeping")
        try:
            yield
        finally:
            stop.set()
            if projector == "process" and driver is not None:
                await driver
            elif driver is not None:
                try:
                    await asyncio.wait_for(driver, PROJECTOR_STOP_SECONDS)
                except TimeoutError:
                    log.warning("the projector's batch did not finish in %s s; cancelled (it rolls back)",
                                PROJECTOR_STOP_SECONDS)
            housekeeping.cancel()
            await asyncio.gather(housekeeping, return_exceptions=True)
            await app.state.rejudging.close()
            await to_thread.run_sync(app.state.counties.close)
            try:
                await asyncio.wait_for(app.state.db.close(), POOL_CLOSE_SECONDS)
            except TimeoutError:
                app.state.db.terminate()  # a connection still held by a cancelled request

    routes: list[BaseRoute] = [
        Mount("/api/v1", routes=api_routes()),
        *ops.routes,
        Route("/status", status.page, methods=["GET"]),
    ]
    if pwa_dir is not None and (Path(pwa_dir) / "index.html").is_file():
        routes.append(Mount("/", app=PwaFiles(Path(pwa_dir))))
    return Starlette(
        routes=routes,
        middleware=[Middleware(ops.RequestContext),
                    Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_SIZE, compresslevel=GZIP_LEVEL,
                               exclude_content_types=GZIP_EXCLUDED),
                    Middleware(BodyLimit), Middleware(stopping.UnfinishedBodies)],
        exception_handlers=errors.handlers(),
        lifespan=lifespan,
    )


def _prepare_core(url: str) -> None:
    from services.identity import ensure_tables

    ensure_core(url)
    with connect(url) as conn:
        ensure_tables(conn)


def _counties(url: str) -> Counties[County]:
    from services.county import County
    from services.tenancy import Counties

    return Counties(url, County)


async def _nothing_to_reset(_conn: asyncpg.Connection) -> None:
    """The pool's reset: none. asyncpg's default sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` on every release, a round trip for each request (most make one or two). The API's connections
    keep no session state: no SET (only SET LOCAL), no LISTEN, no session advisory lock, no cursor WITH HOLD;
    and asyncpg still rolls back a transaction left open before this runs."""


async def _housekeeping(pool: AsyncPool, stop: asyncio.Event) -> None:
    """Every HOUSEKEEPING_EVERY seconds: forget ended sessions and old login attempts (the audit log
    keeps the record of both), so neither table grows with every login for ever."""
    from services.identity import purge

    while not stop.is_set():
        try:
            async with pool.acquire() as conn:
                sessions, attempts = await purge(conn)
            if sessions or attempts:
                log.info("purged %d ended sessions and %d old login attempts", sessions, attempts)
        except (OSError, asyncpg.PostgresError):
            log.exception("housekeeping failed; trying again later")
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HOUSEKEEPING_EVERY)


async def _run_projector(url: str, stop: asyncio.Event) -> None:
    from projections.driver import run_driver

    try:
        await run_driver(url, stop)
    except Exception:
        # The API keeps serving without it; /readyz turns 503 as the lag grows.
        log.exception("the projection driver stopped")


def serve(args: argparse.Namespace) -> int:
    """`grassroots serve`: uvicorn on --host/--port, JSON logs, the projector unless --no-projector."""
    import uvicorn

    ops.configure_logging()
    # uvicorn re-raises the stop signal after its shutdown so that the process dies of it; a stop that
    # was asked for is a clean stop here: the re-raised signal meets this handler and the exit code is 0.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda signum, frame: None)
    app = create_app(projector=None if args.no_projector else "process")
    if not (DEFAULT_DIST / "index.html").is_file():
        log.warning("no built PWA in %s: serving the API only (build it with `make pwa`)", DEFAULT_DIST)
    # The server that ends open event streams and unfinished uploads on a stop signal (services/api/stopping.py).
    # uvloop and httptools (C) rather than asyncio's loop and h11 (pure Python): a single check-in's request took
    # 19 % less CPU. Named, not left to uvicorn's "auto", so that a missing one fails here instead of costing that.
    # What is alive now (the modules, the app) lives as long as the process: a full collection then skips it.
    # Without this, every few hundred requests one paused for a full collection of 100,000 objects: 50–60 ms.
    gc.freeze()
    stopping.Server(uvicorn.Config(app, host=args.host, port=args.port, log_config=None, access_log=False,
                                   loop="uvloop", http="httptools", proxy_headers=True, server_header=False,
                                   timeout_graceful_shutdown=GRACEFUL_SECONDS)).run()
    return 0
