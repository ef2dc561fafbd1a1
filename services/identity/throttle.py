"""Login throttling: too many failed logins for one account, or from one address, answer 429.

An account is locked after ACCOUNT_FAILURES failures within WINDOW (counted since its last successful
login); an address after ADDRESS_FAILURES (higher: a township office shares one address). While
locked, even the right password is refused, or guessing would simply go on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

WINDOW = timedelta(minutes=15)
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20


@dataclass(frozen=True)
class Lockout:
    retry_after: int  # seconds


_ACCOUNT_SQL = """
SELECT count(*), min(at) FROM (
    SELECT at FROM core.login_attempts
    WHERE username = $1 AND NOT succeeded AND at > now() - $2::interval
      AND at > coalesce((SELECT max(at) FROM core.login_attempts WHERE username = $1 AND succeeded), '-infinity')
    ORDER BY at DESC LIMIT $3
) recent
"""
_ADDRESS_SQL = """
SELECT count(*), min(at) FROM (
    SELECT at FROM core.login_attempts
    WHERE address = $1 AND NOT succeeded AND at > now() - $2::interval
    ORDER BY at DESC LIMIT $3
) recent
"""


async def lockout(conn, username: str, address: str) -> Lockout | None:
    """The lockout in force for this account or address, if any (asyncpg connection)."""
    for sql, key, limit in ((_ACCOUNT_SQL, username, ACCOUNT_FAILURES), (_ADDRESS_SQL, address, ADDRESS_FAILURES)):
        # The limit-th most recent failure: the lock lifts when it leaves the window.
        count, oldest = await conn.fetchrow(sql, key, WINDOW, limit)
        if count >= limit:
            now = await conn.fetchval("SELECT now()")
            return Lockout(retry_after=max(1, math.ceil((oldest + WINDOW - now).total_seconds())))
    return None


async def record_attempt(conn, username: str, address: str, succeeded: bool) -> None:
    await conn.execute("INSERT INTO core.login_attempts (username, address, succeeded) VALUES ($1, $2, $3)",
                       username, address, succeeded)
