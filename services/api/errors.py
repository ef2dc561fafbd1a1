"""One error shape for the whole API: RFC 9457 problem details, in English and Chinese.

Every error a client can meet is `application/problem+json` with `{type, title, status, detail,
detail_zh, errors?}`; `errors` lists field problems as `{field, message, message_zh}`. Handlers raise
`ApiError` (or a helper below); the exception handlers installed by `install(app)` turn it, Starlette's
own 404/405 and pydantic's validation errors into that shape, and anything unexpected into a logged
500 that still has the shape (and reveals nothing). A database that cannot be reached (a connection
reset, refused or timed out) is not the server's fault: 503 with Retry-After, so clients resend later.
"""
from __future__ import annotations

import logging
from typing import Any

import asyncpg
import psycopg
from eventsourcing import persistence
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from services.domain.errors import shown

log = logging.getLogger("grassroots.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://grassroots.example/problems/"

# Seconds a client is told to wait when the database cannot be reached: a pool reconnects within that.
DATABASE_RETRY_AFTER = 2
# What the drivers raise when the database cannot be reached (not when a query is wrong): asyncpg (the
# read side), psycopg and eventsourcing's wrappers of it (the write side), and the socket's own errors.
UNREACHABLE: tuple[type[BaseException], ...] = (
    ConnectionError, TimeoutError,
    asyncpg.PostgresConnectionError,  # including "connection was closed in the middle of operation"
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, a cancelled statement
    psycopg.OperationalError,  # including psycopg_pool.PoolTimeout
    persistence.OperationalError, persistence.InterfaceError,
)

# Titles (English, Chinese) for the statuses the API answers with.
TITLES: dict[int, tuple[str, str]] = {
    400: ("Bad request", "请求格式错误"),
    401: ("Not logged in", "未登录或登录已过期"),
    403: ("Forbidden", "无权执行此操作"),
    404: ("Not found", "未找到"),
    405: ("Method not allowed", "不支持该请求方法"),
    409: ("Conflict", "数据冲突"),
    413: ("Request too large", "请求内容过大"),
    415: ("Unsupported media type", "不支持的内容类型"),
    422: ("Invalid input", "输入内容有误"),
    429: ("Too many attempts", "尝试次数过多"),
    500: ("Server error", "服务器内部错误"),
    503: ("Service unavailable", "服务暂不可用"),
}


class FieldError(BaseModel):
    field: str
    message: str
    message_zh: str


class Problem(BaseModel):
    """The body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    detail_zh: str
    errors: list[FieldError] | None = None


class ApiError(Exception):
    """An error with everything its response needs: raise it anywhere in a handler."""

    def __init__(
        self,
        status: int,
        detail: str,
        detail_zh: str,
        *,
        kind: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.detail_zh = detail_zh
        self.kind = kind or TITLES.get(status, ("error", ""))[0].lower().replace(" ", "-")
        self.errors = errors
        self.headers = headers or {}

    def problem(self) -> Problem:
        """The answer's body. Details and field names may echo the request (an unknown key, a value
        pydantic quotes): their control characters never go back."""
        title = TITLES.get(self.status, ("Error", "错误"))[0]
        errors = None if self.errors is None else [
            FieldError(field=shown(e.field), message=shown(e.message), message_zh=shown(e.message_zh))
            for e in self.errors]
        return Problem(type=TYPE_BASE + self.kind, title=title, status=self.status, detail=shown(self.detail),
                       detail_zh=shown(self.detail_zh), errors=errors)


def problem_response(error: ApiError) -> JSONResponse:
    body = error.problem().model_dump(mode="json", exclude_none=True)
    return JSONResponse(body, status_code=error.status, headers=error.headers, media_type=PROBLEM_MEDIA_TYPE)


def not_found(what: str = "object", what_zh: str = "对象") -> ApiError:
    # The same answer whether the object does not exist or belongs to another county: reveals nothing.
    return ApiError(404, f"No such {what}.", f"{what_zh}不存在。", kind="not-found")


def unauthorized() -> ApiError:
    return ApiError(401, "Log in first, or log in again: the session is missing, expired or revoked.",
                    "请先登录或重新登录：会话不存在、已过期或已注销。", kind="unauthorized",
                    headers={"WWW-Authenticate": 'Bearer realm="grassroots"'})


def database_unavailable() -> ApiError:
    return ApiError(503, "The database cannot be reached just now: nothing of this request was lost if it is sent "
                    "again (the same command ids count once). Try again shortly.",
                    "暂时无法连接数据库。请稍后重新发送（相同的命令编号只记一次，不会重复）。", kind="unavailable",
                    headers={"Retry-After": str(DATABASE_RETRY_AFTER)})


def forbidden(detail: str = "Your role may not do this.", detail_zh: str = "您的角色无权执行此操作。") -> ApiError:
    return ApiError(403, detail, detail_zh, kind="forbidden")


# Chinese messages for pydantic's error types; the English comes from pydantic itself.
_ZH: dict[str, str] = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "string_type": "应为文本",
    "string_too_short": "文本过短",
    "string_too_long": "文本过长",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为是或否",
    "bool_parsing": "应为是或否",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "应为 UUID",
    "uuid_version": "UUID 版本不正确",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "datetime_type": "应为带时区的时间",
    "datetime_parsing": "应为带时区的时间",
    "datetime_from_date_parsing": "应为带时区的时间",
    "timezone_aware": "时间须带时区",
    "literal_error": "不是允许的取值",
    "enum": "不是允许的取值",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "too_short": "条目过少",
    "too_long": "条目过多",
    "greater_than": "数值过小",
    "greater_than_equal": "数值过小",
    "less_than": "数值过大",
    "less_than_equal": "数值过大",
    "finite_number": "应为有限数字",
    "value_error": "取值无效",
    "assertion_error": "取值无效",
    "json_invalid": "不是合法的 JSON",
    "json_type": "不是合法的 JSON",
    "union_tag_invalid": "类型不正确",
    "union_tag_not_found": "缺少类型字段",
}


def field_errors(error: ValidationError, prefix: str = "") -> list[FieldError]:
    """Pydantic's errors as `{field, message, message_zh}`, the field as a dotted path."""
    result = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"])
        field = ".".join(part for part in (prefix, path) if part) or "body"
        # Custom errors (the domain's) carry their Chinese in the context.
        zh = str((item.get("ctx") or {}).get("zh") or _ZH.get(item["type"], "取值无效"))
        result.append(FieldError(field=field, message=item["msg"], message_zh=zh))
    return result


def invalid(error: ValidationError, prefix: str = "") -> ApiError:
    return ApiError(422, "Some fields are invalid: see `errors`.", "部分字段有误，详见 errors。", kind="invalid",
                    errors=field_errors(error, prefix))


# Starlette raises HTTPException itself for unknown routes (404) and wrong methods (405).
_HTTP_ZH = {404: "请求的地址不存在。", 405: "该地址不支持此请求方法。"}


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, ("Error", ""))[0]
    zh = _HTTP_ZH.get(exc.status_code, TITLES.get(exc.status_code, ("", "请求失败"))[1])
    if exc.status_code == 404:
        detail = "No such address."
    return problem_response(ApiError(exc.status_code, detail, zh, headers=dict(exc.headers or {})))


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem_response(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    return problem_response(invalid(exc))


async def _unreachable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unreachable: %s: %s", type(exc).__name__, exc, extra={"path": request.url.path})
    return problem_response(database_unavailable())


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem_response(ApiError(500, "Something went wrong on the server; it has been logged. Try again later.",
                                     "服务器出错，已记录。请稍后重试。", kind="server-error"))


def handlers() -> dict[Any, Any]:
    """The exception handlers for `Starlette(exception_handlers=...)`."""
    return {
        HTTPException: _http_exception,
        ApiError: _api_error,
        ValidationError: _validation_error,
        **dict.fromkeys(UNREACHABLE, _unreachable),
        Exception: _unexpected,
    }
