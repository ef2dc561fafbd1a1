"""The read side's tables in a county schema: every registered projection's tables plus tracking.

`ensure_tables(conn, schema)` takes a sync psycopg connection (`provision_county` calls it);
the driver and rebuild use `ensure_tables_async` on asyncpg. Both run the same idempotent DDL, so
a projection added to the registry later gets its tables when a driver next has events for the county.

A read model whose tables were made by other code (its DDL or `version` changed since: an upgrade) is
*stale*: `CREATE TABLE IF NOT EXISTS` would keep the old shape, and its rows may mean something else.
`projection_versions` keeps each read model's fingerprint; the async path drops a stale read model's
tables, forgets its shared rows and sets its tracking to 0, so the driver replays it from the log. The
sync path (provisioning) leaves a stale read model alone for the driver.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from asyncpg import Record
from psycopg.rows import dict_row

from projections import positions
from projections.base import Projection
from services.storage.connections import AsyncConnection, SyncConnection
from services.storage.names import DRIVER_LOCK_CLASS, REBUILD_SUFFIX, adcode_of

TRACKING = [
    "CREATE TABLE IF NOT EXISTS {schema}.projection_tracking ("
    " projection text PRIMARY KEY, notification_id bigint NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {schema}.projection_versions (projection text PRIMARY KEY, fingerprint text NOT NULL)",
]
# Read before the DDL: the stored fingerprints and positions (the tables may not exist yet).
KNOWN = (
    "SELECT t.projection, t.notification_id, v.fingerprint FROM {schema}.projection_tracking t"
    " LEFT JOIN {schema}.projection_versions v USING (projection)"
)


def fingerprint(projection: Projection) -> str:
    """What built a read model's tables and rows: its DDL and its `version`."""
    text = "\n".join([str(projection.version), *projection.tables, *projection.shared_tables])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stale(projections: list[Projection], known: Sequence[Record] | Sequence[dict[str, Any]]) -> list[Projection]:
    """The projections whose stored rows other code made: a fingerprint that differs, or, in a county
    built before fingerprints were kept (none stored at all), every read model that applied events."""
    by_name = {row["projection"]: row for row in known}
    before_fingerprints = all(row["fingerprint"] is None for row in known)
    result = []
    for projection in projections:
        row = by_name.get(projection.name)
        if row is None:
            continue
        if row["fingerprint"] is None:
            if before_fingerprints and row["notification_id"] > 0:
                result.append(projection)
        elif row["fingerprint"] != fingerprint(projection):
            result.append(projection)
    return result


def _record(schema: str, projections: list[Projection]) -> str:
    """Record the fingerprints not yet stored (never over a stale one's), unless the county was built
    before fingerprints were kept: then `stale` must still see it so."""
    values = ", ".join(f"('{p.name}', '{fingerprint(p)}')" for p in projections)
    return (
        f"INSERT INTO {schema}.projection_versions SELECT v.* FROM (VALUES {values}) v (projection, fingerprint)"
        f" WHERE EXISTS (SELECT FROM {schema}.projection_versions)"
        f" OR NOT EXISTS (SELECT FROM {schema}.projection_tracking WHERE notification_id > 0)"
        f" ON CONFLICT (projection) DO NOTHING"
    )


def statements(schema: str, projections: list[Projection] | None = None, *, shared: bool = True) -> list[str]:
    """DDL for tracking, the log's position (`projections.positions`) and the projections' tables (all
    registered ones by default), plus a tracking row at 0 for each so the driver's row lock always
    has a row to take. `shared=False` leaves out the tables outside the county schema (`ensure_shared`'s)."""
    if projections is None:
        from projections.registry import PROJECTIONS

        projections = PROJECTIONS
    adcode_of(schema.removesuffix(REBUILD_SUFFIX))  # refuses anything but a county schema
    result = [*positions.SHARED] if shared else []
    result.extend(statement.format(schema=schema) for statement in TRACKING)
    if not schema.endswith(REBUILD_SUFFIX):
        result.extend(positions.county_statements(schema))
    for projection in projections:
        if shared:
            result.extend(projection.shared_tables)
        result.extend(projection.ddl(schema))
        result.append(
            f"INSERT INTO {schema}.projection_tracking VALUES ('{projection.name}', 0) ON CONFLICT DO NOTHING"
        )
    if projections:
        result.append(_record(schema, projections))
    return result


def _registered(projections: list[Projection] | None) -> list[Projection]:
    if projections is None:
        from projections.registry import PROJECTIONS

        return PROJECTIONS
    return projections


def ensure_shared(conn: SyncConnection) -> None:
    """Create the read side's tables outside the county schemas (`core`'s positions, `rollup`) on a sync
    psycopg connection, in the caller's transaction (`grassroots db init`, `provision_county`).

    Nothing is run when they are all there already (a few catalog reads): the rollup's `ADD COLUMN IF
    NOT EXISTS` and `CREATE INDEX IF NOT EXISTS` lock the shared table even when there is nothing to add,
    so provisioning a county waited for every open transaction that wrote the province rollup (another
    county's rebuild holds one for its whole swap), and every province query queued behind it."""
    shared = [*positions.SHARED, *(s for p in _registered(None) for s in p.shared_tables)]
    if conn.execute(MISSING.format("%s", "%s", "%s"), _wanted(shared)).fetchone() == (0,):
        return
    conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (DRIVER_LOCK_CLASS,))
    for statement in shared:
        conn.execute(statement)


def ensure_tables(conn: SyncConnection, schema: str, *, new: bool = False) -> None:
    """Create the read side's tables in `schema` (sync psycopg connection; the schema must exist).
    Runs in the caller's transaction if one is open; takes the same DDL lock as the async variant.
    A stale read model is left for the driver (its old tables may lack what the new DDL indexes).

    `new`: the caller's open transaction made the schema and has run `ensure_shared` before it (both
    `provision_county`). Then only the county's own tables are made, without the DDL lock: no other
    session can see the schema before that transaction commits, so none can be making tables in it, and
    the lock held until commit (a county's DDL takes 1-2 s on Citus) would make every other county's
    provisioning wait for this one."""
    if new:
        for statement in statements(schema, shared=False):
            conn.execute(statement)
        return
    ensure_shared(conn)  # no DDL on the shared tables when they are complete (its docstring says why)
    conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (DRIVER_LOCK_CLASS,))
    for statement in TRACKING:
        conn.execute(statement.format(schema=schema))
    cursor = conn.cursor(row_factory=dict_row)
    known = cursor.execute(KNOWN.format(schema=schema)).fetchall()
    left = stale(_registered(None), known)
    for statement in statements(schema, [p for p in _registered(None) if p not in left], shared=False):
        conn.execute(statement)


async def ensure_tables_async(conn: AsyncConnection, schema: str, projections: list[Projection] | None = None) -> None:
    """The same on an asyncpg connection, replaying stale read models (module doc). Two drivers (or a
    driver and a rebuild) may run it at once, and concurrent `CREATE TABLE IF NOT EXISTS` of one name
    can still collide in the catalog: advisory lock (DRIVER_LOCK_CLASS, 0) serialises the read side's
    DDL (0 is no adcode).

    `CREATE INDEX IF NOT EXISTS` locks its table (SHARE) even when the index is there, and the rollup's
    `ALTER TABLE … ADD COLUMN IF NOT EXISTS` locks its shared table whole, each until the transaction
    ends: run while the driver applied a batch to the same tables in another order (a rules change's
    rebuild while phones sync), the DDL and the batch deadlocked and PostgreSQL killed one of them. So a
    county whose read side is complete and current (every table and index there, every read model's
    fingerprint stored and its own) runs no DDL at all; and one that needs some first takes the county's
    tracking rows, as a batch does first: the county's batches wait for the DDL, or it for them, and
    neither ever holds a table the other waits for."""
    chosen = _registered(projections)
    county = not schema.endswith(REBUILD_SUFFIX)
    if county and await _complete(conn, schema, chosen):
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1, 0)", DRIVER_LOCK_CLASS)
            for statement in [*positions.SHARED, *positions.county_statements(schema)]:
                await conn.execute(statement)  # no table lock when there is nothing to do
        return
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, 0)", DRIVER_LOCK_CLASS)
        if county:
            for statement in TRACKING:
                await conn.execute(statement.format(schema=schema))
            # The batches' lock order: the tracking rows (by projection), then the read models' tables.
            await conn.execute(f"SELECT FROM {schema}.projection_tracking ORDER BY projection FOR UPDATE")
            for projection in stale(chosen, await conn.fetch(KNOWN.format(schema=schema))):
                await _forget(conn, schema, projection)
        for statement in statements(schema, chosen):
            await conn.execute(statement)


_CREATED = re.compile(r"CREATE (?:UNIQUE )?(?:TABLE|INDEX) IF NOT EXISTS (?:(\w+)\.)?(\w+)(?: ON (\w+)\.)?")
_ALTERED = re.compile(r"ALTER TABLE (\w+)\.(\w+) ")
_ADDED = re.compile(r"ADD COLUMN IF NOT EXISTS (\w+)")


# How many of the wanted relations (a table or an index; column "") and columns are not there.
MISSING = (
    "SELECT count(*) FROM unnest({0}::text[], {1}::text[], {2}::text[]) w (nspname, relname, attname)"
    " WHERE NOT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = w.nspname AND c.relname = w.relname"
    " AND (w.attname = '' OR EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid"
    " AND a.attname = w.attname AND NOT a.attisdropped)))"
)


def _wanted(ddl: list[str]) -> tuple[list[str], list[str], list[str]]:
    """MISSING's parameters for what the DDL's `IF NOT EXISTS` statements make: tables and indexes
    (`schema.name`, or `name ON schema.table`) and added columns (`ALTER TABLE schema.table`)."""
    wanted: set[tuple[str, str, str]] = set()
    for statement in ddl:
        created, altered = _CREATED.match(statement), _ALTERED.match(statement)
        if created:
            wanted.add((created[1] or created[3], created[2], ""))
        elif altered:
            wanted.update((altered[1], altered[2], column) for column in _ADDED.findall(statement))
    return [w[0] for w in wanted], [w[1] for w in wanted], [w[2] for w in wanted]


async def _complete(conn: AsyncConnection, schema: str, projections: list[Projection]) -> bool:
    """Whether every table, index and column of the projections (and of tracking) is in place and every
    read model's stored fingerprint is its own: then the DDL would change nothing. A few catalog reads."""
    if await conn.fetchval("SELECT to_regclass($1) IS NULL OR to_regclass($2) IS NULL",
                           f"{schema}.projection_tracking", f"{schema}.projection_versions"):
        return False
    if await conn.fetchval(MISSING.format("$1", "$2", "$3"), *_wanted(statements(schema, projections))):
        return False
    known = {row["projection"]: row["fingerprint"] for row in await conn.fetch(KNOWN.format(schema=schema))}
    return all(known.get(p.name) == fingerprint(p) for p in projections)


async def _forget(conn: AsyncConnection, schema: str, projection: Projection) -> None:
    """Throw away a stale read model: its tables, its shared rows, its position."""
    for table in await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND starts_with(tablename, $2)",
        schema, f"{projection.name}_",
    ):
        await conn.execute(f'DROP TABLE {schema}."{table["tablename"]}"')
    if projection.shared_tables:
        await projection.forget_rows(conn, schema)
    await conn.execute(f"UPDATE {schema}.projection_tracking SET notification_id = 0 WHERE projection = $1",
                       projection.name)
    await conn.execute(f"DELETE FROM {schema}.projection_versions WHERE projection = $1", projection.name)


async def tracking_positions(conn: AsyncConnection, schema: str) -> dict[str, tuple[int, str]]:
    """Per projection: its tracking position and the transaction that last wrote its row (`xmin`: a
    rebuild rewrites the rows at the same position)."""
    rows = await conn.fetch(
        f"SELECT projection, notification_id, xmin::text AS written FROM {schema}.projection_tracking")
    return {row["projection"]: (row["notification_id"], row["written"]) for row in rows}

