"""Who is calling and what they may see.

A request carries `Authorization: Bearer <token>`; `authenticate` resolves it to a `Session` (once per
request, cached on `request.state`). `require` checks roles. County scoping is by construction: every
county-bound endpoint takes the county from `county_of(session)`, never from the request, so an id
from another county is simply not found there (404, same answer as a missing id). Within a county, a
department sees only the issues routed to it (`department_scope`), and commands run as `actor_of`.
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Iterable

from starlette.requests import Request

from services.county import Actor
from services.identity import Session, resolve

from .errors import ApiError, forbidden, unauthorized

__all__ = ["Session", "actor_of", "authenticate", "bearer_token", "county_of", "department_scope", "may_see_issue",
           "require"]

COUNTY_ROLES = frozenset({"cadre", "county_admin", "department", "operator"})
# Who may call what, by audience (an endpoint's `roles`).
ADMIN = frozenset({"county_admin"})
PERSONAL_ROLES = frozenset({"cadre", "county_admin"})  # may see household heads' names and phones (DESIGN §8)
ISSUE_READERS = frozenset({"county_admin", "department"})
RANK_READERS = frozenset({"county_admin", "cadre"})  # leaderboards carry no personal data
# Province and prefecture viewers read the same rollups, each of its own area (services/api/province.py).
PROVINCE = frozenset({"province_viewer", "prefecture_viewer"})


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def authenticate(request: Request) -> Session | None:
    """The caller's live session, or None."""
    if hasattr(request.state, "session"):
        known: Session | None = request.state.session
        return known
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


def actor_of(session: Session, county: str) -> Actor:
    """Who sends a command, as the County application knows them: from the session, never the request."""
    return Actor(user_id=str(session.user_id), roles=session.roles, county=county, cadre_id=session.cadre_id,
                 department=session.department)


def department_scope(session: Session, asked: str | None = None) -> str | None:
    """The department whose issues the caller may see or handle: None for every issue. A department user
    (not also a county admin) gets only its own, whatever it asked; everyone else gets `asked` (a filter)."""
    if "department" not in session.roles or "county_admin" in session.roles:
        return asked
    return session.department or ""  # no department is named "": an account without one sees nothing


def may_see_issue(session: Session, route: str | None, department: str | None,
                  same: Callable[[str, str], bool] = operator.eq) -> bool:
    """Whether an issue routed so is visible to the caller (a department's: only those routed to it).
    `same` says whether two department texts name one department (services/departments.py: by key)."""
    scope = department_scope(session)
    return scope is None or (route == "department" and department is not None and same(department, scope))
