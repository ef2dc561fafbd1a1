"""What happens to accounts when the county's records change: a cadre who left loses access at once."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from .sessions import audit, end_sessions


async def end_departed_accounts(conn: Any, county: str, cadre_ids: Sequence[UUID], by: str) -> None:
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
