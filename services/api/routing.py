"""`endpoint`: one decorator that makes a Starlette route and records its OpenAPI operation.

What the decorator declares is what the wrapper enforces: the body and query are validated with the
same pydantic models the OpenAPI document is generated from, the roles are checked before the
handler runs, and the handler's return value is validated against the response model. So
`/api/v1/openapi.json` (services/api/openapi.py) says what the server really does.

    @endpoint("POST", "/households/{household_id:uuid}/archive", body=ArchiveBody, response=Outcome,
              roles={"county_admin"}, summary="Archive a household", errors={409, 422})
    async def archive_household(call: Call) -> Outcome: ...

    routes = [archive_household]          # each API module exposes its routes; app.py mounts them

A handler gets a `Call` and returns a pydantic model, a dict (validated by `response`), or a
Starlette `Response` for other media types (declare them with `content=`).
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, State, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from services.domain.errors import shown
from services.identity import Session
from services.storage.connections import AsyncPool

from .auth import authenticate, county_of, require
from .errors import ApiError, FieldError, database_unavailable, invalid

log = logging.getLogger("grassroots.api")

# No request waits longer for its answer (issue 15), counted from the arrival of its body (a phone on a
# slow network may take long to upload): a database that stopped answering (a network partition, a
# blackhole) would otherwise hold it, and the phone, until the socket times out. The request is answered
# 503 with Retry-After; its work goes on in the background and ends when the database answers or its
# connection dies (a command that was stored is answered `duplicate` when the phone resends it). A batch
# of 500 check-ins takes about a second. Files and streams (`content=`) and uploads take as long as the
# county is big: no deadline. GRASSROOTS_REQUEST_DEADLINE (seconds) sets another.
REQUEST_DEADLINE = float(os.environ.get("GRASSROOTS_REQUEST_DEADLINE") or 10.0)

Handler = Callable[["Call"], Awaitable[Any]]

# {name} or {name:convertor} in a Starlette path
_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-z]+))?}")
PARAM_SCHEMAS: dict[str | None, dict[str, Any]] = {
    None: {"type": "string"}, "str": {"type": "string"}, "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer", "minimum": 0},
}


@dataclass(frozen=True)
class Operation:
    """One API operation as declared: the routing wrapper and the OpenAPI generator both read it."""

    method: str
    path: str  # Starlette path, with convertors: /households/{household_id:uuid}
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    roles: frozenset[str] | None = None  # None: public
    status: int = 200
    tags: tuple[str, ...] = ()
    upload: bool = False  # multipart/form-data with one `file` part
    content: dict[str, dict[str, Any]] | None = None  # non-JSON success media types -> their schema
    errors: frozenset[int] = frozenset()  # statuses the handler itself may raise
    description: str = ""
    reject_nul: bool = True  # 422 for NUL characters in the body (sync rejects them per command instead)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def openapi_path(self) -> str:
        return _PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)

    def path_parameters(self) -> list[tuple[str, dict[str, Any]]]:
        return [(m.group(1), PARAM_SCHEMAS[m.group(2)]) for m in _PARAM.finditer(self.path)]

    def error_statuses(self) -> set[int]:
        """Every error status this operation can answer with (documented in OpenAPI)."""
        # The database unreachable, or no answer by REQUEST_DEADLINE: any operation, 503 with Retry-After.
        statuses = {*self.errors, 503}
        if self.roles is not None:
            statuses |= {401, 403}
        if self.body is not None or self.upload:
            statuses |= {400, 413, 422}
        if self.query is not None:
            statuses.add(422)
        if self.path_parameters():
            statuses.add(404)
        return statuses


@dataclass
class Call:
    """What a handler gets: the validated inputs and the caller."""

    request: Request
    session: Session | None
    body: Any = None
    query: Any = None
    upload: UploadFile | None = None
    form: FormData | None = None
    path: dict[str, Any] = field(default_factory=dict)

    @property
    def county(self) -> str:
        """The caller's county: the only one this call may touch."""
        if self.session is None:
            raise ApiError(401, "Log in first.", "请先登录。", kind="unauthorized")
        return county_of(self.session)

    @property
    def db(self) -> AsyncPool:
        """The asyncpg pool."""
        pool: AsyncPool = self.request.app.state.db
        return pool

    @property
    def app_state(self) -> State:
        state: State = self.request.app.state
        return state


class ApiRoute(Route):
    """A Starlette route that knows its OpenAPI operation."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation

        async def run(request: Request) -> Response:
            return await _run(operation, request)

        super().__init__(operation.path, run, methods=[operation.method], name=operation.operation_id)
        self.allowed = sorted(self.methods or ())  # every method of this path: see `share_paths`

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Starlette answers a wrong method with the first route of the path it met, naming only that
        # route's methods; the path's other routes serve the rest.
        if scope["type"] == "http" and self.methods and scope["method"] not in self.methods:
            raise HTTPException(status_code=405, headers={"Allow": ", ".join(self.allowed)})
        await super().handle(scope, receive, send)


def share_paths(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The routes, each knowing every method its path is served with (a 405's `Allow`): a path is
    often declared by several modules (GET /cadres reads, POST /cadres enrols)."""
    methods: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, ApiRoute):
            methods.setdefault(route.path, set()).update(route.methods or ())
    for route in routes:
        if isinstance(route, ApiRoute):
            route.allowed = sorted(methods[route.path])
    return routes


def endpoint(
    method: str,
    path: str,
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    roles: Iterable[str] | None = None,
    status: int = 200,
    tags: Iterable[str] = (),
    upload: bool = False,
    content: dict[str, dict[str, Any]] | None = None,
    errors: Iterable[int] = (),
    description: str = "",
    reject_nul: bool = True,
) -> Callable[[Handler], ApiRoute]:
    def decorate(handler: Handler) -> ApiRoute:
        return ApiRoute(Operation(
            method=method.upper(), path=path, handler=handler, summary=summary, body=body, query=query,
            response=response, roles=frozenset(roles) if roles is not None else None, status=status,
            tags=tuple(tags), upload=upload, content=content, errors=frozenset(errors),
            description=description or (handler.__doc__ or "").strip(), reject_nul=reject_nul,
        ))

    return decorate


def nul_fields(value: Any, path: str = "") -> list[str]:
    """Where a value holds a NUL character: PostgreSQL cannot store one in text, so none gets in."""
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):  # a key names the field: shown, since the answer echoes it
        return [f for k, v in value.items()
                for f in nul_fields(k, path) + nul_fields(v, f"{path}.{shown(str(k))}".lstrip("."))]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [f for i, v in enumerate(value) for f in nul_fields(v, f"{path}.{i}".lstrip("."))]
    return []


def _refuse_nul(value: Any, prefix: str = "") -> None:
    fields = nul_fields(value, prefix)
    if fields:
        raise ApiError(422, "Text may not contain NUL characters.", "文字中不能含有空字符（NUL）。", kind="invalid",
                       errors=[FieldError(field=f, message="contains a NUL character", message_zh="含有空字符（NUL）")
                               for f in fields])


def _query_values(model: type[BaseModel], request: Request) -> dict[str, Any]:
    """Query parameters as the model expects them: repeated keys for list fields, single values otherwise."""
    values: dict[str, Any] = {}
    params = request.query_params
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in params:
            continue
        annotation = info.annotation
        is_list = get_origin(annotation) is list or any(get_origin(a) is list for a in get_args(annotation))
        values[key] = params.getlist(key) if is_list else params[key]
    return values


async def _run(op: Operation, request: Request) -> Response:
    if op.content is not None or op.upload:
        return await _answer(op, request)
    # In a task of its own, so the deadline never waits for it: cancelling a query whose database does
    # not answer waits for that database too (asyncpg sends the cancel over a new connection, and a
    # thread in a psycopg call cannot be interrupted).
    if op.body is not None:
        await request.body()  # the request keeps it for the handler
    work = asyncio.ensure_future(_answer(op, request))
    try:
        done, _ = await asyncio.wait({work}, timeout=REQUEST_DEADLINE)
    except asyncio.CancelledError:  # the request itself is cancelled (the server stops): so is its work
        work.cancel()
        raise
    if work in done:
        return work.result()
    work.cancel()
    work.add_done_callback(_late)
    log.warning("no answer within %.0f s: answered 503", REQUEST_DEADLINE, extra={"path": request.url.path})
    raise database_unavailable()


def _late(work: asyncio.Future[Response]) -> None:
    """A request answered 503 at its deadline has ended: what it met is no longer anyone's to handle."""
    if not work.cancelled() and work.exception() is not None:
        log.info("a request answered at its deadline ended with %r", work.exception())


async def _answer(op: Operation, request: Request) -> Response:
    request.scope["grassroots.route"] = op.path  # the metrics label: the template, not the concrete path
    call = Call(request=request, session=None, path=dict(request.path_params))
    if op.roles is not None:
        call.session = await require(request, op.roles)
    else:
        call.session = await authenticate(request)
    if op.query is not None:
        try:
            call.query = op.query.model_validate(_query_values(op.query, request))
        except ValidationError as error:
            raise invalid(error, "query") from None
        _refuse_nul(call.query, "query")
    if op.body is not None:
        raw = await request.body()
        try:
            call.body = op.body.model_validate_json(raw or b"")
        except ValidationError as error:
            if any(e["type"] in ("json_invalid", "json_type") for e in error.errors()):
                raise ApiError(400, "The body is not valid JSON.", "请求内容不是合法的 JSON。",
                               kind="malformed-json") from None
            raise invalid(error) from None
        if op.reject_nul:
            _refuse_nul(call.body)
    if op.upload:
        call.form = await request.form(max_files=1, max_fields=20, max_part_size=1024 * 1024)
        file = call.form.get("file")
        if not isinstance(file, UploadFile):
            raise ApiError(422, "Attach the file as the multipart part named `file`.",
                           "请以名为 file 的表单字段上传文件。", kind="invalid")
        call.upload = file
    try:
        result = await op.handler(call)
    finally:
        if call.form is not None:
            await call.form.close()
    if isinstance(result, Response):
        return result
    if op.response is None:
        assert result is None, f"{op.operation_id} returned a body but declares no response model"
        return Response(status_code=op.status)
    model = result if isinstance(result, op.response) else op.response.model_validate(result)
    return Response(model.model_dump_json(), status_code=op.status, media_type="application/json")
