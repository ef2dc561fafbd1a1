"""Where every county's log and its read models stand, in two small tables of `core`.

- `core.county_positions(county, last_notification_id, events, households, cadres)`: the log's last
  committed id and its counts, kept by a statement trigger on each county's `county_events`, in the
  inserting transaction. So every writer keeps it (the recorder, the demo loader's COPY, bulk loads,
  tests) without a statement or round trip of its own; a rolled-back insert leaves it as it was, and
  truncating the log forgets the county's positions.
- `core.projection_positions(county, notification_id)`: the lowest tracking position of the
  county's read models, written by the driver in each batch's transaction and by rebuild.

`/readyz`, `/metrics`, `/status` and the driver's sweep read these: a constant number of queries
whatever the number of counties (with 3,000 counties, a query per schema made `/readyz` run 6,000
queries in 1.2–3.5 s, and a backend that has touched every schema holds 70–220 MiB).
(Citus: the trigger writes a `core` table from a county's node; see DESIGN §13 before distributing.)
"""
from __future__ import annotations

from typing import Any

from services.storage.connections import AsyncConnection
from services.storage.names import EVENTS_TABLE, adcode_of

SHARED = [
    "CREATE SCHEMA IF NOT EXISTS core",
    "CREATE TABLE IF NOT EXISTS core.county_positions (county text PRIMARY KEY,"
    " last_notification_id bigint NOT NULL, events bigint NOT NULL, households bigint NOT NULL,"
    " cadres bigint NOT NULL)",
    "CREATE TABLE IF NOT EXISTS core.projection_positions (county text PRIMARY KEY, notification_id bigint NOT NULL)",
    """DO $do$ BEGIN IF to_regprocedure('core.count_county_events()') IS NULL THEN
    CREATE FUNCTION core.count_county_events() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            DELETE FROM core.county_positions WHERE county = substr(TG_TABLE_SCHEMA, 8);
            DELETE FROM core.projection_positions WHERE county = substr(TG_TABLE_SCHEMA, 8);
        ELSE
            INSERT INTO core.county_positions AS p
            SELECT substr(TG_TABLE_SCHEMA, 8), max(notification_id), count(*),
                   count(*) FILTER (WHERE topic = 'grassroots:Household.Registered'),
                   count(*) FILTER (WHERE topic = 'grassroots:Cadre.Enrolled')
            FROM inserted HAVING count(*) > 0
            ON CONFLICT (county) DO UPDATE SET
                last_notification_id = greatest(p.last_notification_id, excluded.last_notification_id),
                events = p.events + excluded.events, households = p.households + excluded.households,
                cadres = p.cadres + excluded.cadres;
        END IF;
        RETURN NULL;
    END $fn$;
    END IF; END $do$""",
]


def county_statements(schema: str) -> list[str]:
    """The county's triggers and its position counted from the log (the log is locked meanwhile: a
    trigger's creation holds off inserts until the transaction ends, so none is counted twice or missed)."""
    adcode = adcode_of(schema)
    return [
        f"""DO $do$ BEGIN IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = '{schema}.{EVENTS_TABLE}'::regclass
            AND tgname = 'county_events_positions') THEN
            CREATE TRIGGER county_events_positions AFTER INSERT ON {schema}.{EVENTS_TABLE}
                REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION core.count_county_events();
            CREATE TRIGGER county_events_forgotten AFTER TRUNCATE ON {schema}.{EVENTS_TABLE}
                FOR EACH STATEMENT EXECUTE FUNCTION core.count_county_events();
            INSERT INTO core.county_positions
            SELECT '{adcode}', coalesce(max(notification_id), 0), count(*),
                   count(*) FILTER (WHERE topic = 'grassroots:Household.Registered'),
                   count(*) FILTER (WHERE topic = 'grassroots:Cadre.Enrolled')
            FROM {schema}.{EVENTS_TABLE}
            ON CONFLICT (county) DO UPDATE SET last_notification_id = excluded.last_notification_id,
                events = excluded.events, households = excluded.households, cadres = excluded.cadres;
        END IF; END $do$""",
    ]


async def record_projected(conn: AsyncConnection, schema: str, names: list[str]) -> None:
    """Store the county's lowest tracking position of `names` (in the caller's transaction)."""
    await conn.execute(
        "INSERT INTO core.projection_positions SELECT $1, coalesce(min(notification_id), 0)"
        f" FROM {schema}.projection_tracking WHERE projection = ANY($2)"
        " ON CONFLICT (county) DO UPDATE SET notification_id = excluded.notification_id",
        adcode_of(schema), names,
    )


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
