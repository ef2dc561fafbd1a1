"""The identity tables in schema `core`: users, sessions, login attempts and the audit log.

They are shared by every county, so each row carries its county (or province) and only code in
`services.identity` touches them. Creating them is idempotent and serialised by an advisory lock,
because the server and the CLI may both do it at the same moment.
"""
from __future__ import annotations

import re

from services.storage.connections import AsyncConnection, SyncConnection
from services.storage.names import IDENTITY_LOCK_CLASS

SETUP_LOCK = f"SELECT pg_advisory_xact_lock({IDENTITY_LOCK_CLASS}, 0)"

DDL = """
CREATE SCHEMA IF NOT EXISTS core;
CREATE TABLE IF NOT EXISTS core.users (
    id uuid PRIMARY KEY,
    username text NOT NULL UNIQUE,
    display_name text NOT NULL,
    password_hash text NOT NULL,
    roles text[] NOT NULL CHECK (cardinality(roles) > 0),
    county text CHECK (county ~ '^[0-9]{6}$'),
    province text CHECK (province ~ '^[0-9]{6}$'),
    cadre_id uuid,
    department text,
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
);
CREATE INDEX IF NOT EXISTS users_county ON core.users (county);
-- Prefecture viewers (市州) came later: a database made before gets the column here. Its index also
-- makes the DDL run again on such a database (ALL_MADE below finds it missing).
ALTER TABLE core.users ADD COLUMN IF NOT EXISTS prefecture text CHECK (prefecture ~ '^[0-9]{4}00$');
CREATE INDEX IF NOT EXISTS users_prefecture ON core.users (prefecture) WHERE prefecture IS NOT NULL;
CREATE TABLE IF NOT EXISTS core.sessions (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES core.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    address text,
    user_agent text
);
CREATE INDEX IF NOT EXISTS sessions_user ON core.sessions (user_id);
CREATE TABLE IF NOT EXISTS core.login_attempts (
    id bigserial PRIMARY KEY,
    username text NOT NULL,
    address text NOT NULL,
    succeeded boolean NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS login_attempts_username ON core.login_attempts (username, at);
CREATE INDEX IF NOT EXISTS login_attempts_address ON core.login_attempts (address, at);
CREATE TABLE IF NOT EXISTS core.audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    action text NOT NULL,
    user_id uuid,
    username text,
    county text,
    address text,
    detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_log_at ON core.audit_log (at);
CREATE INDEX IF NOT EXISTS audit_log_county ON core.audit_log (county, id);
-- The erasures of a county since a moment (a phone's cache drops what was erased): O(answer).
CREATE INDEX IF NOT EXISTS audit_log_erasures ON core.audit_log (county, at) WHERE action = 'household.erased';
"""


# Every table and index the DDL makes. When all are there, the DDL is not run: `CREATE INDEX IF NOT
# EXISTS` locks its table before it finds the index, so it waits for every open writer (a paused
# session purge held a start-up for ever), and on Citus it is DDL sent to every node.
_MADE = [name if "." in name else f"core.{name}"
         for name in re.findall(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\S+)", DDL)]
ALL_MADE = ("SELECT bool_and(to_regclass(name) IS NOT NULL) FROM unnest(ARRAY["
            + ", ".join(f"'{name}'" for name in _MADE) + "]) name")


def ensure_tables(conn: SyncConnection) -> None:
    """Create the identity tables (a psycopg connection)."""
    made = conn.execute(ALL_MADE).fetchone()
    if made is not None and made[0]:
        return
    with conn.transaction():
        conn.execute(SETUP_LOCK)
        conn.execute(DDL)


async def ensure_tables_async(conn: AsyncConnection) -> None:
    """Create the identity tables (an asyncpg connection)."""
    if await conn.fetchval(ALL_MADE):
        return
    async with conn.transaction():
        await conn.execute(SETUP_LOCK)
        await conn.execute(DDL)
