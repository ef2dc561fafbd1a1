"""The read side's tables in a county schema: every registered projection's tables plus tracking.

`ensure_tables(conn, schema)` takes a sync psycopg connection (`provision_county` calls it);
the driver and rebuild use `ensure_tables_async` on asyncpg. Both run the same idempotent DDL, so
a projection added to the registry later gets its tables when a driver next takes the county.
"""
from __future__ import annotations

from typing import Any

from services.storage.names import DRIVER_LOCK_CLASS, EVENTS_TABLE, REBUILD_SUFFIX, adcode_of

TRACKING = [
    "CREATE TABLE IF NOT EXISTS {schema}.projection_tracking ("
    " projection text PRIMARY KEY, notification_id bigint NOT NULL)",
]


def statements(schema: str, projections: list[Any] | None = None) -> list[str]:
    """DDL for tracking and the projections' tables (all registered ones by default), plus a
    tracking row at 0 for each so the driver's row lock always has a row to take."""
    if projections is None:
        from projections.registry import PROJECTIONS

        projections = PROJECTIONS
    adcode_of(schema.removesuffix(REBUILD_SUFFIX))  # refuses anything but a county schema
    result = [statement.format(schema=schema) for statement in TRACKING]
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
    conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (DRIVER_LOCK_CLASS,))
    for statement in statements(schema):
        conn.execute(statement)


async def ensure_tables_async(conn: Any, schema: str, projections: list[Any] | None = None) -> None:
    """The same on an asyncpg connection. Two drivers (or a driver and a rebuild) may run it at once,
    and concurrent `CREATE TABLE IF NOT EXISTS` of one name can still collide in the catalog: advisory
    lock (DRIVER_LOCK_CLASS, 0) serialises the read side's DDL (0 is no adcode)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, 0)", DRIVER_LOCK_CLASS)
        for statement in statements(schema, projections):
            await conn.execute(statement)


async def tracking_positions(conn: Any, schema: str) -> dict[str, tuple[int, str]]:
    """Per projection: its tracking position and the transaction that last wrote its row (`xmin`: a
    rebuild rewrites the rows at the same position)."""
    rows = await conn.fetch(f"SELECT projection, notification_id, xmin::text AS written FROM {schema}.projection_tracking")
    return {row["projection"]: (row["notification_id"], row["written"]) for row in rows}


async def lag(conn: Any, schema: str) -> int:
    """Events of the county not yet applied by its slowest projection (0 when up to date)."""
    head = await conn.fetchval(f"SELECT coalesce(max(notification_id), 0) FROM {schema}.{EVENTS_TABLE}")
    tail = await conn.fetchval(f"SELECT coalesce(min(notification_id), 0) FROM {schema}.projection_tracking")
    return max(0, head - tail)
