"""A county's accounts as its admin keeps them (list, create, disable or enable, new password), and what
happens to accounts when the county's records change: a cadre who left loses access at once.

Every change ends the account's open sessions and is written to the audit log, in one transaction.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from services.storage.connections import AsyncConnection

from .sessions import audit, end_sessions

_ACCOUNT = "id, username, display_name, roles, cadre_id, department, disabled_at IS NOT NULL AS disabled"


async def county_accounts(conn: AsyncConnection, county: str) -> list[dict[str, Any]]:
    """The county's accounts by username: `{id, username, display_name, roles, cadre_id, department, disabled}`."""
    rows = await conn.fetch(f"SELECT {_ACCOUNT} FROM core.users WHERE county = $1 ORDER BY username", county)
    return [dict(row) for row in rows]


async def create_account(conn: AsyncConnection, user_id: UUID, username: str, display_name: str, password_hash: str,
                         roles: Sequence[str], county: str, cadre_id: UUID | None, department: str | None,
                         by: str) -> bool:
    """A new account of the county (its province is the county's); False when the username is taken, which
    is never overwritten."""
    async with conn.transaction():
        province = await conn.fetchval("SELECT province_code FROM core.counties WHERE adcode = $1", county)
        created = await conn.fetchval(
            "INSERT INTO core.users (id, username, display_name, password_hash, roles, county, province, cadre_id,"
            " department) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (username) DO NOTHING RETURNING id",
            user_id, username, display_name, password_hash, list(roles), county, province, cadre_id, department)
        if created is None:
            return False
        await audit(conn, "user.created", user_id, username, county, detail={"by": by, "roles": list(roles)})
    return True


async def change_account(conn: AsyncConnection, user_id: UUID, county: str, *, disabled: bool | None,
                         password_hash: str | None, keep_token: str | None, by: str) -> dict[str, Any] | None:
    """Disable or enable an account of the county, or set its password (None: leave as it is). Every
    session of the account ends except the one holding `keep_token` (an admin setting their own new
    password stays logged in where they did it). None when the county has no such account."""
    async with conn.transaction():
        # The transaction's now(), passed in: Citus refuses a non-immutable function inside CASE or
        # coalesce on its (reference) table.
        now = await conn.fetchval("SELECT now()")
        row = await conn.fetchrow(
            "UPDATE core.users SET"
            " disabled_at = CASE WHEN $3::boolean IS NULL THEN disabled_at"
            "   WHEN $3 THEN coalesce(disabled_at, $5::timestamptz) ELSE NULL END,"
            " password_hash = coalesce($4, password_hash)"
            f" WHERE id = $1 AND county = $2 RETURNING {_ACCOUNT}",
            user_id, county, disabled, password_hash, now)
        if row is None:
            return None
        await end_sessions(conn, [user_id], keep_token=keep_token)
        for action, changed in (("user.disabled", disabled is True), ("user.enabled", disabled is False),
                                ("user.password_set", password_hash is not None)):
            if changed:
                await audit(conn, action, user_id, row["username"], county, detail={"by": by})
    return dict(row)


async def end_departed_accounts(conn: AsyncConnection, county: str, cadre_ids: Sequence[UUID], by: str) -> None:
    """A cadre who left keeps no access to the county's households (their personal data): the accounts
    tied to them are disabled, their sessions end and the audit log says why (an admin can enable one
    again). Run after a `depart_cadre` command is applied (or resent), whichever path carried it
    (its endpoint, sync); `by` is the username that sent it."""
    if not cadre_ids:
        return
    async with conn.transaction():
        rows = await conn.fetch(
            "UPDATE core.users SET disabled_at = now() WHERE county = $1 AND cadre_id = ANY($2)"
            " AND disabled_at IS NULL RETURNING id, username", county, list(cadre_ids))
        if not rows:
            return
        await end_sessions(conn, [row["id"] for row in rows])
        for row in rows:
            await audit(conn, "user.disabled", row["id"], row["username"], county,
                        detail={"by": by, "why": "cadre departed"})
