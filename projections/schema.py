"""The read side's tables in a county schema: every registered projection's tables plus tracking.

`ensure_tables(conn, schema)` takes a sync psycopg connection (`provision_county` calls it);
the driver and rebuild use `ensure_tables_async` on asyncpg. Both run the same idempotent DDL, so
a projection added to the registry later gets its tables when a driver next has events for the county.
"""
from __future__ import annotations

import re
from typing import Any

COUNTY_SCHEMA = re.compile(r"^county_(\d{6})$")
REBUILD_SUFFIX = "__rebuild"

TRACKING = [
    "CREATE TABLE IF NOT EXISTS {schema}.projection_tracking ("
    " projection text PRIMARY KEY, notification_id bigint NOT NULL)",
]


def county_schema(adcode: str) -> str:
    if not re.fullmatch(r"\d{6}", str(adcode)):
        raise ValueError(f"a county adcode is 6 digits, not {adcode!r}")
    return f"county_{adcode}"


def adcode_of(schema: str) -> str:
    match = COUNTY_SCHEMA.match(schema)
    if not match:
        raise ValueError(f"not a county schema: {schema!r}")
    return match.group(1)


def rebuild_schema(schema: str) -> str:
    return f"{county_schema(adcode_of(schema))}{REBUILD_SUFFIX}"


def statements(schema: str, projections: list[Any] | None = None) -> list[str]:
    """DDL for tracking, the log's position (`projections.positions`) and the projections' tables (all
    registered ones by default), plus a tracking row at 0 for each so the driver's row lock always
    has a row to take."""
    from projections import positions

    if projections is None:
        from projections.registry import PROJECTIONS

        projections = PROJECTIONS
    adcode_of(schema.removesuffix(REBUILD_SUFFIX))  # refuses anything but a county schema
    result = [*positions.SHARED, *(statement.format(schema=schema) for statement in TRACKING)]
    if not schema.endswith(REBUILD_SUFFIX):
        result.extend(positions.county_statements(schema))
    for projection in projections:
        result.extend(projection.shared_tables)
        result.extend(projection.ddl(schema))
        result.append(
            f"INSERT INTO {schema}.projection_tracking VALUES ('{projection.name}', 0) ON CONFLICT DO NOTHING"
        )
    return result


def ensure_tables(conn: Any, schema: str) -> None:
    """Create the read side's tables in `schema` (sync psycopg connection; the schema must exist).
    Runs in the caller's transaction if one is open; takes the same DDL lock as the async variant."""
    conn.execute("SELECT pg_advisory_xact_lock(2, 0)")
    for statement in statements(schema):
        conn.execute(statement)


async def ensure_tables_async(conn: Any, schema: str, projections: list[Any] | None = None) -> None:
    """The same on an asyncpg connection. Two drivers (or a driver and a rebuild) may run it at once,
    and concurrent `CREATE TABLE IF NOT EXISTS` of one name can still collide in the catalog: advisory
    lock (2, 0) serialises the read side's DDL (0 is no adcode)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(2, 0)")
        for statement in statements(schema, projections):
            await conn.execute(statement)
