"""`GET /audit`: the county's audit log, newest first: logins, rule changes, account changes, erasures,
county admins' reads and exports of households' personal data, and voided visits (kept by
services/identity/sessions.py)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.identity.sessions import audit_entries

from .auth import ADMIN
from .routing import Call, endpoint


class AuditQuery(BaseModel):
    limit: int = Field(100, ge=1, le=500)
    before: int | None = Field(None, ge=1, le=2**63 - 1,  # a bigint id
                               description="the `next` of the previous page: entries older than it")


class AuditEntry(BaseModel):
    id: int
    at: datetime
    action: str = Field(description="login, logout, login.failed, rules.changed, place.added, user.created, "
                                    "user.disabled, user.enabled, user.password_set, household.erased, "
                                    "household.read, household.exported, visit.voided")
    username: str | None
    address: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next: int | None = Field(description="pass as `before` for older entries; null on the last page")


@endpoint("GET", "/audit", query=AuditQuery, response=AuditPage, roles=ADMIN, tags=["users"],
          summary="My county's audit log, newest first: logins, rule changes, account changes")
async def audit_log(call: Call) -> AuditPage:
    query: AuditQuery = call.query
    async with call.db.acquire() as conn:
        # One more than a page: whether there is a next page.
        rows = await audit_entries(conn, call.county, before=query.before, limit=query.limit + 1)
    items = [AuditEntry(**row) for row in rows[:query.limit]]
    return AuditPage(items=items, next=items[-1].id if len(rows) > query.limit else None)


routes = [audit_log]
