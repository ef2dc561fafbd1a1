"""Sessions: an opaque random token for the client, only its SHA-256 in the database.

A session lasts SESSION_DAYS so that a phone stays logged in through weeks of offline work; logging
out revokes it at once. Resolving a token is one indexed lookup per request (asyncpg).
"""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from anyio import to_thread
from asyncpg import Record

from services.storage.connections import AsyncConnection, SyncConnection, SyncCursor

from . import throttle
from .users import verify_password

SESSION_DAYS = 30


@dataclass(frozen=True)
class Session:
    """Who is calling: everything authorisation needs, read fresh from the database on each request."""

    user_id: uuid.UUID
    username: str
    display_name: str
    roles: frozenset[str]
    county: str | None
    county_name: str | None
    province: str | None
    cadre_id: uuid.UUID | None
    department: str | None
    expires_at: datetime
    demo: bool = False  # the county (or a county of the province) has generated demo data
    prefecture: str | None = None  # a prefecture viewer's prefecture (6-digit code)

    def user(self) -> dict[str, Any]:
        """The `user` object of the API (docs/contracts.md)."""
        return {"id": self.user_id, "username": self.username, "display_name": self.display_name,
                "roles": sorted(self.roles), "county": self.county, "county_name": self.county_name,
                "province": self.province, "cadre_id": self.cadre_id, "department": self.department,
                "demo": self.demo, "prefecture": self.prefecture}


@dataclass(frozen=True)
class LoginResult:
    token: str | None = None
    session: Session | None = None
    lockout: throttle.Lockout | None = None


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


_SESSION_SQL = """
SELECT u.id, u.username, u.display_name, u.roles, u.county, c.name AS county_name, u.province,
       u.cadre_id, u.department, u.prefecture, s.expires_at,
       coalesce((SELECT bool_or(d.demo) FROM core.counties d
                 WHERE d.adcode = u.county OR (u.county IS NULL AND d.province_code = u.province)), false) AS demo
FROM core.sessions s
JOIN core.users u ON u.id = s.user_id
LEFT JOIN core.counties c ON c.adcode = u.county
WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.disabled_at IS NULL
"""


def _uuid(value: object) -> uuid.UUID | None:
    # asyncpg gives its own UUID class; the write side serialises only the standard one.
    return uuid.UUID(str(value)) if value is not None else None


def _session(row: Record) -> Session:
    return Session(user_id=uuid.UUID(str(row["id"])), username=row["username"], display_name=row["display_name"],
                   roles=frozenset(row["roles"]), county=row["county"], county_name=row["county_name"],
                   province=row["province"], cadre_id=_uuid(row["cadre_id"]), department=row["department"],
                   expires_at=row["expires_at"], demo=row["demo"], prefecture=row["prefecture"])


async def resolve(conn: AsyncConnection, token: str) -> Session | None:
    """The live session of this token, or None (unknown, expired, revoked or account disabled)."""
    if not token or len(token) > 256:
        return None
    row = await conn.fetchrow(_SESSION_SQL, token_hash(token))
    return _session(row) if row else None


async def login(conn: AsyncConnection, username: str, password: str, address: str,
                user_agent: str | None = None) -> LoginResult:
    """Check the password (throttled) and open a session; every attempt is recorded and audited."""
    locked = await throttle.lockout(conn, username, address)
    if locked:
        await audit(conn, "login.throttled", None, username, None, address=address)
        return LoginResult(lockout=locked)
    row = await conn.fetchrow(
        "SELECT id, password_hash, county FROM core.users WHERE username = $1 AND disabled_at IS NULL", username)
    # argon2 takes tens of milliseconds of CPU: keep it off the event loop.
    ok = await to_thread.run_sync(verify_password, row["password_hash"] if row else None, password)
    await throttle.record_attempt(conn, username, address, ok)
    if not ok:
        await audit(conn, "login.failed", row["id"] if row else None, username, row["county"] if row else None,
                    address=address)
        return LoginResult()
    assert row is not None  # verify_password refuses an unknown account
    token = secrets.token_urlsafe(32)
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO core.sessions (token_hash, user_id, expires_at, address, user_agent)"
            " VALUES ($1, $2, now() + $3::interval, $4, $5)",
            token_hash(token), row["id"], timedelta(days=SESSION_DAYS), address, (user_agent or "")[:300])
        await audit(conn, "login", row["id"], username, row["county"], address=address)
    session = await resolve(conn, token)
    assert session is not None
    return LoginResult(token=token, session=session)


async def logout(conn: AsyncConnection, token: str, address: str) -> bool:
    """Revoke the session; False when the token was not a live session."""
    row = await conn.fetchrow(
        "UPDATE core.sessions s SET revoked_at = now() FROM core.users u"
        " WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND u.id = s.user_id"
        " RETURNING u.id, u.username, u.county", token_hash(token))
    if row:
        await audit(conn, "logout", row["id"], row["username"], row["county"], address=address)
    return row is not None


_AUDIT = ("INSERT INTO core.audit_log (action, user_id, username, county, address, detail)"
          " VALUES ({}, {}, {}, {}, {}, {}::jsonb)")


async def audit(conn: AsyncConnection, action: str, user_id: uuid.UUID | None, username: str | None,
                county: str | None, *, address: str | None = None,
                detail: dict[str, Any] | None = None) -> None:
    """One line of core.audit_log (asyncpg), in the caller's transaction."""
    await conn.execute(_AUDIT.format("$1", "$2", "$3", "$4", "$5", "$6"), action, user_id, username, county, address,
                       json.dumps(detail or {}, ensure_ascii=False))


def audit_sync(conn: SyncConnection | SyncCursor, action: str, user_id: uuid.UUID | None, username: str | None,
               county: str | None, *, address: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """The same line from a sync psycopg connection (the command line)."""
    conn.execute(_AUDIT.format(*["%s"] * 6), (action, user_id, username, county, address,
                                              json.dumps(detail or {}, ensure_ascii=False)))


async def audit_entries(conn: AsyncConnection, county: str, *, before: int | None, limit: int) -> list[dict[str, Any]]:
    """The county's audit log, newest first: up to `limit` entries older than `before` (an id), if given."""
    rows = await conn.fetch(
        "SELECT id, at, action, username, address, detail FROM core.audit_log"
        " WHERE county = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3", county, before, limit)
    return [{**dict(row), "detail": json.loads(row["detail"])} for row in rows]


async def erased_since(conn: AsyncConnection, county: str, moment: datetime) -> set[uuid.UUID]:
    """The county's households whose personal data was erased from `moment` on (asyncpg): erasure
    changes no event, so the phones learn of it from its audit entry."""
    rows = await conn.fetch("SELECT DISTINCT detail->>'household_id' AS household_id FROM core.audit_log"
                            " WHERE action = 'household.erased' AND county = $1 AND at >= $2", county, moment)
    return {uuid.UUID(row["household_id"]) for row in rows}


async def end_sessions(conn: AsyncConnection, user_ids: list[uuid.UUID], keep_token: str | None = None) -> None:
    """Revoke every live session of these accounts, except the one holding `keep_token`."""
    await conn.execute("UPDATE core.sessions SET revoked_at = now() WHERE user_id = ANY($1) AND revoked_at IS NULL"
                       " AND ($2::bytea IS NULL OR token_hash <> $2)",
                       user_ids, token_hash(keep_token) if keep_token else None)


async def purge(conn: AsyncConnection, attempts_older_than: timedelta = timedelta(days=1)) -> tuple[int, int]:
    """Delete ended sessions (expired or revoked: they can never be resolved again) and login attempts
    older than `attempts_older_than` (throttling looks back 15 minutes). Returns (sessions, attempts)."""
    sessions = await conn.fetchval(
        "WITH gone AS (DELETE FROM core.sessions WHERE expires_at <= now() OR revoked_at IS NOT NULL RETURNING 1)"
        " SELECT count(*) FROM gone")
    attempts = await conn.fetchval(
        "WITH gone AS (DELETE FROM core.login_attempts WHERE at < now() - $1::interval RETURNING 1)"
        " SELECT count(*) FROM gone", attempts_older_than)
    return sessions, attempts

