"""Schemas: `core` (the county registry) and one `county_<adcode>` per county.

A county is provisioned by an operator (`grassroots county add`), never on the fly by a request.
Everything here is idempotent: running it again changes nothing.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.utils import Environment
from psycopg.errors import UndefinedTable
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from services.departments import DEPARTMENTS_DDL
from services.places import PLACES_DDL, record_map

from . import citus, positions
from .connections import SyncConnection
from .database import connect
from .recorder import (
    APPLICATION_NAME,
    SNAPSHOTS_TABLE,
    CountyAggregateRecorder,
    CountyApplicationRecorder,
    CountyFactory,
    county_env,
)
from .names import EVENTS_TABLE, PROVISIONING_LOCK_CLASS, check_adcode, county_schema

CORE_DDL = """
CREATE SCHEMA IF NOT EXISTS core;
CREATE TABLE IF NOT EXISTS core.counties (
    adcode text PRIMARY KEY CHECK (adcode ~ '^[0-9]{6}$'),
    name text NOT NULL,
    prefecture text,
    province text NOT NULL,
    province_code text,
    centroid_lat float8,
    centroid_lon float8,
    boundary jsonb,
    rules jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Columns added after the first databases were made, added in place only when missing: ALTER TABLE
-- locks the registry against every reader (each session lookup) even when the column is there.
--   demo: `grassroots demo` marks the villages it invents `generated` in the county's map; worked out
--     once when the map is written, not by searching the map on every session lookup.
--   rules_revision / judged_revision: each rules change counts up the first; re-judging the county's
--     history under them (a rebuild) sets the second, so a server that stopped before it finished
--     resumes it at start (services/api/rejudge.py).
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'core.counties'::regclass
                   AND attname = 'demo' AND NOT attisdropped) THEN
        ALTER TABLE core.counties ADD COLUMN demo boolean GENERATED ALWAYS AS
            (coalesce(boundary @> '{"features": [{"properties": {"generated": true}}]}', false)) STORED;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'core.counties'::regclass
                   AND attname = 'judged_revision' AND NOT attisdropped) THEN
        ALTER TABLE core.counties ADD COLUMN rules_revision bigint NOT NULL DEFAULT 0,
                                  ADD COLUMN judged_revision bigint NOT NULL DEFAULT 0;
    END IF;
END $$;
"""

# Personal fields of a household are sealed with its own key: deleting the key erases them from
# every event (crypto-shredding, DESIGN §8).
HOUSEHOLD_KEYS_DDL = """
CREATE TABLE IF NOT EXISTS {schema}.household_keys (
    household_id uuid PRIMARY KEY,
    key bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class CountyRecord:
    adcode: str
    name: str
    province: str
    prefecture: str | None
    province_code: str | None
    centroid: tuple[float, float] | None
    boundary: dict[str, Any] | None
    rules: dict[str, Any]

    @property
    def schema(self) -> str:
        return county_schema(self.adcode)


def ensure_core(url: str) -> None:
    # Two processes starting on a fresh database (server, driver) both run this: concurrent
    # `CREATE … IF NOT EXISTS` of one name can still collide in the catalog, so take turns.
    with connect(url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (PROVISIONING_LOCK_CLASS,))
        conn.execute(CORE_DDL)
        conn.execute(PLACES_DDL)
        conn.execute(DEPARTMENTS_DDL)
        conn.execute(positions.DDL)  # every writer of a county's log keeps its row


def init_database(url: str) -> bool:
    """Prepare a database for Grassroots (`grassroots db init`): every shared table (the registry, the
    identity tables, the positions, the read side's shared tables) and, on a Citus coordinator, their
    placement and the database's settings (services/storage/citus.py). Idempotent; answers whether
    the database is on Citus."""
    from services.identity.tables import ensure_tables as identity_tables

    ensure_core(url)
    with connect(url) as conn:
        identity_tables(conn)
        shared = _read_side_shared()
        if shared is not None:
            with conn.transaction():
                shared(conn)
        on_citus = citus.is_citus(conn)
        if on_citus:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (PROVISIONING_LOCK_CLASS,))
                citus.place_core(conn)
            # Counties made before the database was on Citus: each schema moves to a worker whole.
            for (adcode,) in conn.execute("SELECT adcode FROM core.counties ORDER BY adcode").fetchall():
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (PROVISIONING_LOCK_CLASS, int(adcode)))
                    citus.distribute_schema(conn, county_schema(adcode))
    return on_citus


def provision_county(
    url: str,
    adcode: str,
    name: str,
    province: str,
    prefecture: str | None = None,
    province_code: str | None = None,
    centroid: tuple[float, float] | None = None,
    boundary: dict[str, Any] | None = None,
    rules: dict[str, Any] | None = None,
) -> CountyRecord:
    """Register the county in `core.counties` and make its schema with every table.

    A county already registered keeps its registry row as it is (a second `county add` is no way to
    edit a county); its schema is completed if anything is missing.
    """
    adcode = check_adcode(adcode)
    name, province = (name or "").strip(), (province or "").strip()
    if not name or not province:
        raise ValueError("a county needs a name and a province (e.g. --name 保亭黎族苗族自治县 --province 海南省)")
    if centroid is not None:
        lat, lon = centroid
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"centroid must be (lat, lon) in degrees, got {centroid!r}")
    schema = county_schema(adcode)
    ensure_core(url)
    factory = CountyFactory(Environment(APPLICATION_NAME, county_env(adcode, url)))
    event_tables = [
        CountyApplicationRecorder(factory.datastore, events_table_name=EVENTS_TABLE),
        CountyAggregateRecorder(factory.datastore, events_table_name=SNAPSHOTS_TABLE),
    ]
    shared = _read_side_shared()
    if shared is not None:
        # The read side's tables outside the county (`rollup`, the positions) in a short transaction of
        # their own, so that the county's does not hold their lock (see projections.schema.ensure_tables).
        with connect(url) as conn, conn.transaction():
            shared(conn)
    # One transaction: the registry row appears together with every table, so a county that the
    # registry knows (and tenancy serves) always has them, and a failure leaves nothing half made.
    # The registry row is written last: on Citus `core.counties` is a reference table, and a write to
    # it locks the table's shard on every node until commit, so written first it made every other
    # county's provisioning wait for this one's DDL (4 threads were no faster than 1).
    # Dict rows: the recorders' `_create_table` takes the cursor their own connections give.
    with connect(url) as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", (PROVISIONING_LOCK_CLASS, int(adcode)))
        on_citus = citus.is_citus(conn)
        new_schema = citus.value(conn, "SELECT to_regnamespace(%s) IS NULL", (schema,))
        if on_citus and new_schema:
            citus.distribute_next_schema(conn)  # its tables are born on its worker
        cursor.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))
        if on_citus:
            # Only this schema: `CREATE SCHEMA IF NOT EXISTS core` would take `core` over too.
            conn.execute("SET LOCAL citus.enable_schema_based_sharding = off")
        for recorder in event_tables:
            # The body of the recorder's create_table() (which would run it in a transaction of its
            # own); ours have no composite types or adapters, the only other things it does.
            recorder._create_table(cursor)
        cursor.execute(SQL(HOUSEHOLD_KEYS_DDL).format(schema=Identifier(schema)))
        projection_tables = _projection_tables()
        if projection_tables is not None:
            projection_tables(conn, schema, new=new_schema and shared is not None)
        if on_citus and not new_schema:
            citus.distribute_schema(conn, schema)  # made before this database was on Citus
        cursor.execute(
            "INSERT INTO core.counties (adcode, name, prefecture, province, province_code, centroid_lat,"
            " centroid_lon, boundary, rules) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (adcode) DO NOTHING",
            (adcode, name, prefecture, province, province_code,
             centroid[0] if centroid else None, centroid[1] if centroid else None,
             Jsonb(boundary) if boundary is not None else None, Jsonb(rules or {})),
        )
        record_map(cursor, adcode)  # the registry row's map, which a second `county add` does not replace
    record = get_county(url, adcode)
    assert record is not None
    return record


def _projection_tables() -> Callable[..., None] | None:
    """`projections.schema.ensure_tables`, when the read side is installed."""
    module = _read_side()
    if module is None:
        return None
    ensure_tables: Callable[..., None] = module.ensure_tables
    return ensure_tables


def _read_side_shared() -> Callable[[SyncConnection], None] | None:
    """`projections.schema.ensure_shared`, when the read side is installed."""
    module = _read_side()
    if module is None:
        return None
    ensure_shared: Callable[[SyncConnection], None] = module.ensure_shared
    return ensure_shared


def _read_side() -> Any:
    try:
        return importlib.import_module("projections.schema")
    except ModuleNotFoundError as error:
        if error.name != "projections.schema":
            raise  # the module is there but something it imports is not: that is a bug, say so
        return None


def _record(row: dict[str, Any]) -> CountyRecord:
    lat, lon = row["centroid_lat"], row["centroid_lon"]
    return CountyRecord(
        adcode=row["adcode"], name=row["name"], province=row["province"], prefecture=row["prefecture"],
        province_code=row["province_code"], centroid=(lat, lon) if lat is not None and lon is not None else None,
        boundary=row["boundary"], rules=row["rules"],
    )


_SELECT = (
    "SELECT adcode, name, province, prefecture, province_code, centroid_lat, centroid_lon, boundary, rules"
    " FROM core.counties"
)


def list_counties(url: str) -> list[CountyRecord]:
    with connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        try:
            return [_record(row) for row in cur.execute(_SELECT + " ORDER BY adcode")]
        except UndefinedTable:  # a fresh database: no county was ever added
            return []


def get_county(url: str, adcode: str) -> CountyRecord | None:
    adcode = check_adcode(adcode)
    with connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        try:
            row = cur.execute(_SELECT + " WHERE adcode = %s", (adcode,)).fetchone()
        except UndefinedTable:
            return None
    return _record(row) if row else None
