"""Who is calling and what they may see.

A request carries `Authorization: Bearer <token>`; `authenticate` resolves it to a `Session` (once per
request, cached on `request.state`). `require` checks roles. County scoping is by construction: every
county-bound endpoint takes the county from `county_of(session)`, never from the request, so an id
from another county is simply not found there (404, same answer as a missing id).
"""
from __future__ import annotations

from typing import Iterable

from starlette.requests import Request

from services.identity import Session, resolve

from .errors import ApiError, forbidden, unauthorized

__all__ = ["Session", "authenticate", "bearer_token", "county_of", "require"]

COUNTY_ROLES = frozenset({"cadre", "county_admin", "department", "operator"})


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def authenticate(request: Request) -> Session | None:
    """The caller's live session, or None."""
    if hasattr(request.state, "session"):
        return request.state.session
    token = bearer_token(request)
    session = None
    if token:
        async with request.app.state.db.acquire() as conn:
            session = await resolve(conn, token)
    request.state.session = session
    return session


async def require(request: Request, roles: Iterable[str]) -> Session:
    """The caller's session if it has one of `roles`: else 401 (no session) or 403 (wrong role)."""
    session = await authenticate(request)
    if session is None:
        raise unauthorized()
    if not session.roles & set(roles):
        raise forbidden()
    return session


def county_of(session: Session) -> str:
    """The one county this session may touch; 403 for sessions bound to no county (province viewers)."""
    if session.county is None:
        raise ApiError(403, "This account belongs to no county.", "此账号不属于任何县（区）。", kind="no-county")
    return session.county
