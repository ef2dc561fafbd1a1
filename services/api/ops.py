"""Operations: request ids, structured JSON logs, Prometheus metrics, `/healthz` and `/readyz`.

- Every request gets an id (the client's `X-Request-ID` when it is sane, else a new one), echoed in
  the response and carried by every log line written while the request runs.
- `/healthz`: the process answers. `/readyz`: the database answers and no county's read models are
  more than `MAX_LAG` events behind its log (the projector keeps up).
- `/metrics`: request counts and latencies by route template, sync outcomes, logins, projector lag.
"""
from __future__ import annotations

import contextvars
import hmac
import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from projections import positions
from services.storage.connections import AsyncConnection

from .errors import ApiError
from .routing import Call, endpoint

MAX_LAG = int(os.environ.get("GRASSROOTS_READY_MAX_LAG", "5000"))
METRICS_TOKEN = "GRASSROOTS_METRICS_TOKEN"  # when set, /metrics wants it as a bearer token (Prometheus'
# `authorization` scrape setting); read per request so a restart is all a change needs
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
log = logging.getLogger("grassroots.http")


class Metrics:
    """The app's metrics, in a registry of its own (several apps may live in one test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("grassroots_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("grassroots_http_request_seconds", "HTTP request duration", ["method", "route"],
                                 registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.sync_commands = Counter("grassroots_sync_commands", "Synced commands by outcome", ["status"],
                                     registry=self.registry)
        self.logins = Counter("grassroots_logins", "Login attempts by outcome", ["outcome"], registry=self.registry)
        self.lag = Gauge("grassroots_projector_lag_events", "Events not yet projected, by county", ["county"],
                         registry=self.registry)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any `extra` fields."""

    # uvicorn adds `color_message` (the message with terminal colours) to its records: not for JSON.
    _standard = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if request_id.get():
            entry["request_id"] = request_id.get()
        entry.update({k: v for k, v in vars(record).items() if k not in self._standard})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """JSON logs on stderr for our loggers and uvicorn's (the server calls this; tests do not)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("grassroots", "projections", "uvicorn"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


class RequestContext:
    """ASGI middleware: request id, access log line, request metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("grassroots.route") or ("static" if status < 400 else "unmatched")
            metrics: Metrics | None = getattr(scope["app"].state, "metrics", None) if "app" in scope else None
            if metrics is not None:
                metrics.requests.labels(scope["method"], route, str(status)).inc()
                metrics.latency.labels(scope["method"], route).observe(elapsed)
            log.info("request", extra={"method": scope["method"], "path": scope["path"], "route": route,
                                       "status": status, "ms": round(elapsed * 1000, 1)})
            request_id.reset(token)


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    max_lag: int
    lag: dict[str, int]  # events not yet projected, by county


async def projector_lag(conn: AsyncConnection) -> dict[str, int]:
    """Events not yet applied by the slowest projection, per county (0 when up to date): a constant
    number of queries whatever the number of counties (`projections.positions`)."""
    return await positions.lag(conn)


@endpoint("GET", "/healthz", response=Health, tags=["operations"], summary="Liveness: the process answers")
async def healthz(call: Call) -> Health:
    return Health(status="ok")


@endpoint("GET", "/readyz", response=Readiness, tags=["operations"], errors={503},
          summary="Readiness: the database answers and the projector keeps up")
async def readyz(call: Call) -> Readiness:
    try:
        async with call.db.acquire(timeout=5) as conn:
            lag = await projector_lag(conn)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise ApiError(503, f"The database does not answer ({type(error).__name__}).", "数据库无响应。",
                       kind="not-ready") from None
    lagging = {county: events for county, events in lag.items() if events > MAX_LAG}
    if lagging:
        raise ApiError(503, f"Read models are behind in {len(lagging)} counties: "
                            + ", ".join(f"{c} by {n} events" for c, n in lagging.items()),
                       f"{len(lagging)} 个县的统计数据尚未更新完毕。", kind="not-ready")
    return Readiness(status="ready", max_lag=MAX_LAG, lag=lag)


@endpoint("GET", "/metrics", tags=["operations"],
          content={CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}, errors={401},
          summary="Prometheus metrics (a bearer token when GRASSROOTS_METRICS_TOKEN is set)")
async def metrics(call: Call) -> Response:
    expected = os.environ.get(METRICS_TOKEN)
    if expected:
        given = call.request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiError(401, f"/metrics wants the bearer token set in {METRICS_TOKEN}.",
                           f"/metrics 需要 {METRICS_TOKEN} 中设置的令牌（Bearer）。", kind="unauthorized")
    registry: Metrics = call.app_state.metrics
    async with call.db.acquire() as conn:
        for county, events in (await projector_lag(conn)).items():
            registry.lag.labels(county).set(events)
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)


routes = [healthz, readyz, metrics]
