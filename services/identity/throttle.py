"""Login throttling: too many failed logins answer 429 with Retry-After. Failures are counted three ways
within WINDOW:

- one account from one address (PAIR_FAILURES, counted since that address's last successful login to
  the account): a guessing loop stops after a few tries, while the real user still logs in from any
  other address;
- one address, any accounts (ADDRESS_FAILURES, higher: a township office shares one address): guessing
  across accounts;
- one account, every address (ACCOUNT_FAILURES, counted since its last successful login): guessing
  spread over many addresses. One address alone never gets there, as its attempts stop being tried
  (and counted) at PAIR_FAILURES: no single address can lock a user out.

While a lock holds, even the right password is refused where it holds, or guessing would simply go on.
Refused attempts are not counted, so a loop that keeps knocking does not make its own lock last longer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from services.storage.connections import AsyncConnection

WINDOW = timedelta(minutes=15)
PAIR_FAILURES = 5
ADDRESS_FAILURES = 20
ACCOUNT_FAILURES = 20


@dataclass(frozen=True)
class Lockout:
    retry_after: int  # seconds


# Each counts at most `limit` recent failures (O(limit), on the (username, at) or (address, at) index);
# $1 the key(s), $2 the window, $3 the limit.
_PAIR_SQL = """
SELECT count(*), min(at) FROM (
    SELECT at FROM core.login_attempts
    WHERE username = $1 AND address = $4 AND NOT succeeded AND at > now() - $2::interval
      AND at > coalesce((SELECT max(at) FROM core.login_attempts
                         WHERE username = $1 AND address = $4 AND succeeded), '-infinity')
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
_ACCOUNT_SQL = """
SELECT count(*), min(at) FROM (
    SELECT at FROM core.login_attempts
    WHERE username = $1 AND NOT succeeded AND at > now() - $2::interval
      AND at > coalesce((SELECT max(at) FROM core.login_attempts WHERE username = $1 AND succeeded), '-infinity')
    ORDER BY at DESC LIMIT $3
) recent
"""


async def lockout(conn: AsyncConnection, username: str, address: str) -> Lockout | None:
    """The lockout in force for this account from this address, if any (asyncpg connection)."""
    checks = ((_PAIR_SQL, (username, WINDOW, PAIR_FAILURES, address), PAIR_FAILURES),
              (_ADDRESS_SQL, (address, WINDOW, ADDRESS_FAILURES), ADDRESS_FAILURES),
              (_ACCOUNT_SQL, (username, WINDOW, ACCOUNT_FAILURES), ACCOUNT_FAILURES))
    for sql, args, limit in checks:
        # The limit-th most recent failure: the lock lifts when it leaves the window.
        row = await conn.fetchrow(sql, *args)
        assert row is not None  # an aggregate without GROUP BY returns one row
        count, oldest = row
        if count >= limit:
            now = await conn.fetchval("SELECT now()")
            return Lockout(retry_after=max(1, math.ceil((oldest + WINDOW - now).total_seconds())))
    return None


async def record_attempt(conn: AsyncConnection, username: str, address: str, succeeded: bool) -> None:
    await conn.execute("INSERT INTO core.login_attempts (username, address, succeeded) VALUES ($1, $2, $3)",
                       username, address, succeeded)
