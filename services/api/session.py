"""Logging in and out: `POST /session`, `DELETE /session`, `GET /me`."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field
from starlette.requests import Request

from services import identity

from .auth import bearer_token
from .errors import ApiError
from .routing import Call, endpoint


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class User(BaseModel):
    id: UUID
    username: str
    display_name: str
    roles: list[str]
    county: str | None
    county_name: str | None
    province: str | None
    cadre_id: UUID | None
    department: str | None


class LoggedIn(BaseModel):
    token: str
    expires_at: datetime
    user: User


def client_address(request: Request) -> str:
    # The direct peer. Behind a reverse proxy, run uvicorn with --forwarded-allow-ips so that this is
    # the real client (uvicorn rewrites the peer from X-Forwarded-For only for trusted proxies).
    return request.client.host if request.client else "unknown"


@endpoint("POST", "/session", body=Credentials, response=LoggedIn, status=201, tags=["session"], errors={401, 429},
          summary="Log in: exchange a username and password for a bearer token")
async def log_in(call: Call) -> LoggedIn:
    """Failed logins are throttled per account and per address: the answer is then 429 with Retry-After."""
    async with call.db.acquire() as conn:
        result = await identity.login(conn, call.body.username, call.body.password, client_address(call.request),
                                      call.request.headers.get("user-agent"))
    metrics = getattr(call.app_state, "metrics", None)
    if result.lockout is not None:
        if metrics:
            metrics.logins.labels("throttled").inc()
        minutes = max(1, round(result.lockout.retry_after / 60))
        raise ApiError(429, f"Too many failed logins. Try again in about {minutes} minutes.",
                       f"登录失败次数过多，请约 {minutes} 分钟后再试。", kind="too-many-logins",
                       headers={"Retry-After": str(result.lockout.retry_after)})
    if result.session is None:
        if metrics:
            metrics.logins.labels("failed").inc()
        raise ApiError(401, "Wrong username or password.", "用户名或密码错误。", kind="bad-credentials")
    if metrics:
        metrics.logins.labels("succeeded").inc()
    assert result.token is not None
    return LoggedIn(token=result.token, expires_at=result.session.expires_at, user=User(**result.session.user()))


@endpoint("DELETE", "/session", roles=identity.ROLES, status=204, tags=["session"],
          summary="Log out: revoke this session's token at once")
async def log_out(call: Call) -> None:
    token = bearer_token(call.request)
    assert token is not None  # `roles` made sure there is a live session
    async with call.db.acquire() as conn:
        await identity.logout(conn, token, client_address(call.request))


@endpoint("GET", "/me", response=User, roles=identity.ROLES, tags=["session"], summary="Who am I")
async def me(call: Call) -> User:
    assert call.session is not None
    return User(**call.session.user())


routes = [log_in, log_out, me]
