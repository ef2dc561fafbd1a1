"""Where every county's log and its read models stand, in two small tables of `core`.

- `core.county_positions(county, last_notification_id, events, households, cadres)`: the log's last
  committed id and its counts, kept by every writer of the log in the inserting transaction
  (services/storage/positions.py), so a rolled-back insert leaves it as it was.
- `core.projection_positions(county, notification_id)`: the lowest tracking position of the
  county's read models, written by the driver in each batch's transaction and by rebuild.

`/readyz`, `/metrics`, `/status` and the driver's sweep read these: a constant number of queries
whatever the number of counties (with 3,000 counties, a query per schema made `/readyz` run 6,000
queries in 1.2–3.5 s, and a backend that has touched every schema holds 70–220 MiB).
"""
from __future__ import annotations

from typing import Any

from services.storage import positions as log_positions
from services.storage.connections import AsyncConnection
from services.storage.names import COUNTY_LOCK_CLASS, EVENTS_TABLE, POSITION_LOCK_CLASS, adcode_of

SHARED = [
    "CREATE SCHEMA IF NOT EXISTS core",
    log_positions.DDL,
    "CREATE TABLE IF NOT EXISTS core.projection_positions (county text PRIMARY KEY, notification_id bigint NOT NULL)",
]


def county_statements(schema: str) -> list[str]:
    """The county's position counted from its log when it has none yet, and the statement triggers that
    kept it before the writers did dropped (Citus refuses triggers on distributed tables). Either takes
    the county's write lock first, so that no insert is counted twice or missed; a county that has its
    position and no trigger takes no lock (a driver runs this for each county it follows)."""
    adcode = adcode_of(schema)
    lock = f"PERFORM pg_advisory_xact_lock({COUNTY_LOCK_CLASS}, {int(adcode)});"
    return [
        f"""DO $do$ BEGIN
        IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = '{schema}.{EVENTS_TABLE}'::regclass
                   AND tgname = 'county_events_positions') THEN
            {lock}
            DROP TRIGGER county_events_positions ON {schema}.{EVENTS_TABLE};
            DROP TRIGGER IF EXISTS county_events_forgotten ON {schema}.{EVENTS_TABLE};
        END IF;
        IF NOT EXISTS (SELECT FROM {log_positions.TABLE} WHERE county = '{adcode}') THEN
            {lock}
            {log_positions.count_log(schema)};
        END IF;
        END $do$""",
    ]


async def record_projected(conn: AsyncConnection, schema: str, names: list[str]) -> None:
    """Store the county's lowest tracking position of `names` (in the caller's transaction).

    The driver's two lanes each store it before they commit. Each takes the county's position lock
    first, in a statement of its own: its minimum is then read after the other lane's commit (read
    committed takes a snapshot per statement), never before it, which could store an older position."""
    county = adcode_of(schema)
    await conn.execute(
        f"SELECT pg_advisory_xact_lock({POSITION_LOCK_CLASS}, {int(county)});"
        " INSERT INTO core.projection_positions SELECT '" + county + "', coalesce(min(notification_id), 0)"
        f" FROM {schema}.projection_tracking WHERE projection IN ({', '.join(map(_literal, names))})"
        " ON CONFLICT (county) DO UPDATE SET notification_id = excluded.notification_id"
    )


def _literal(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a projection name: {name!r}")
    return f"'{name}'"


async def forget(conn: AsyncConnection, schema: str) -> None:
    """Drop the county's positions, after its log was emptied (a test's reset)."""
    for table in ("core.county_positions", "core.projection_positions"):
        await conn.execute(f"DELETE FROM {table} WHERE county = $1", adcode_of(schema))


async def _exists(conn: AsyncConnection) -> bool:
    exists: bool = await conn.fetchval("SELECT to_regclass('core.projection_positions') IS NOT NULL")
    return exists


async def lag(conn: AsyncConnection) -> dict[str, int]:
    """Events not yet applied by the slowest read model, per county (0 when up to date): two queries."""
    if not await _exists(conn):
        return {}  # no county was ever provisioned
    rows = await conn.fetch(
        "SELECT c.adcode, greatest(coalesce(w.last_notification_id, 0) - coalesce(r.notification_id, 0), 0) AS lag"
        " FROM core.counties c LEFT JOIN core.county_positions w ON w.county = c.adcode"
        " LEFT JOIN core.projection_positions r ON r.county = c.adcode ORDER BY c.adcode"
    )
    return {r["adcode"]: r["lag"] for r in rows}


async def lagging(conn: AsyncConnection) -> set[str]:
    """Adcodes of the counties whose log is ahead of their read models: one query."""
    rows = await conn.fetch(
        "SELECT w.county FROM core.county_positions w LEFT JOIN core.projection_positions r USING (county)"
        " WHERE w.last_notification_id > coalesce(r.notification_id, 0)"
    )
    return {r["county"] for r in rows}


async def unpositioned(conn: AsyncConnection) -> list[str]:
    """Counties whose log has no position yet (provisioned before positions were kept)."""
    rows = await conn.fetch(
        "SELECT adcode FROM core.counties c WHERE NOT EXISTS"
        " (SELECT FROM core.county_positions p WHERE p.county = c.adcode) ORDER BY adcode"
    )
    return [r["adcode"] for r in rows]


async def counts(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Per county: adcode, name, province, events, households registered, cadres enrolled: two queries."""
    if not await _exists(conn):
        rows = await conn.fetch("SELECT adcode, name, province, 0 AS events, 0 AS households, 0 AS cadres"
                                " FROM core.counties ORDER BY adcode")
        return [dict(r) for r in rows]
    rows = await conn.fetch(
        "SELECT c.adcode, c.name, c.province, coalesce(p.events, 0) AS events,"
        " coalesce(p.households, 0) AS households, coalesce(p.cadres, 0) AS cadres"
        " FROM core.counties c LEFT JOIN core.county_positions p ON p.county = c.adcode ORDER BY c.adcode"
    )
    return [dict(r) for r in rows]
