"""Upgrades: a read model whose tables or meaning changed since its county was built is replayed."""
from __future__ import annotations

import asyncpg
import pytest

from projections import verdicts
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import PROJECTIONS, by_name
from projections.rules import Rules
from projections.schema import ensure_tables, ensure_tables_async, fingerprint
from services.storage.database import connect
from tests.integration.projections.strategies import reset_county, store_events
from tests.integration.projections.test_rebuild import visit_at_distance

ADCODE = "469029"
SCHEMA = f"county_{ADCODE}"


@pytest.fixture
async def conn(database_url, county):
    county(ADCODE)
    connection = await asyncpg.connect(database_url)
    await reset_county(connection, SCHEMA)
    await store_events(connection, SCHEMA, visit_at_distance(20))
    await Driver(database_url, PROJECTIONS, decoder(), 100, 2).process(
        connection, FollowedCounty(ADCODE, SCHEMA, Rules()))
    yield connection
    await ensure_tables_async(connection, SCHEMA)  # a test may leave an old table behind
    await reset_county(connection, SCHEMA)
    await connection.close()


async def positions(conn) -> dict[str, int]:
    rows = await conn.fetch(f"SELECT projection, notification_id FROM {SCHEMA}.projection_tracking")
    return {row["projection"]: row["notification_id"] for row in rows}


async def old_verdicts_table(conn) -> None:
    """The verdicts read model as an older release left it: a column it no longer has, one it lacks,
    and the fingerprint of that release."""
    await conn.execute(f"ALTER TABLE {SCHEMA}.verdicts_checkins ADD COLUMN legacy int, DROP COLUMN occurred_at")
    await conn.execute(f"UPDATE {SCHEMA}.projection_versions SET fingerprint = 'older' WHERE projection = 'verdicts'")


async def test_every_read_model_of_a_built_county_records_the_code_that_built_it(conn):
    stored = dict(await conn.fetch(f"SELECT projection, fingerprint FROM {SCHEMA}.projection_versions"))
    assert stored == {p.name: fingerprint(p) for p in PROJECTIONS}


async def test_a_changed_read_model_is_dropped_and_replayed_and_the_others_are_kept(conn, database_url):
    before = await positions(conn)
    assert before["verdicts"] == before["coverage"] > 0
    await old_verdicts_table(conn)
    await ensure_tables_async(conn, SCHEMA)
    after = await positions(conn)
    assert after["verdicts"] == 0 and {k: v for k, v in after.items() if k != "verdicts"} == {
        k: v for k, v in before.items() if k != "verdicts"}
    columns = {r["column_name"] for r in await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
        SCHEMA, "verdicts_checkins")}
    assert "occurred_at" in columns and "legacy" not in columns
    assert await conn.fetchval(f"SELECT fingerprint FROM {SCHEMA}.projection_versions WHERE projection = 'verdicts'"
                               ) == fingerprint(by_name("verdicts"))
    await Driver(database_url, PROJECTIONS, decoder(), 100, 2).process(conn, FollowedCounty(ADCODE, SCHEMA, Rules()))
    [checkin] = await verdicts.checkins(conn, SCHEMA)
    assert checkin["verified"] and 15 < checkin["distance_m"] < 25
    assert (await positions(conn))["verdicts"] == before["verdicts"]


async def test_a_county_built_before_fingerprints_were_kept_is_replayed(conn):
    await conn.execute(f"DELETE FROM {SCHEMA}.projection_versions")
    await ensure_tables_async(conn, SCHEMA)
    assert set((await positions(conn)).values()) == {0}
    stored = dict(await conn.fetch(f"SELECT projection, fingerprint FROM {SCHEMA}.projection_versions"))
    assert stored == {p.name: fingerprint(p) for p in PROJECTIONS}


async def test_a_read_model_added_to_a_county_that_keeps_fingerprints_is_only_recorded(conn):
    before = await positions(conn)
    await conn.execute(f"DELETE FROM {SCHEMA}.projection_versions WHERE projection = 'leaderboards'")
    await ensure_tables_async(conn, SCHEMA)
    assert await positions(conn) == before


async def test_provisioning_again_leaves_a_changed_read_model_for_the_driver(conn, database_url):
    await old_verdicts_table(conn)
    with connect(database_url) as sync:
        ensure_tables(sync, SCHEMA)  # would fail creating an index on a column the old table lacks, if it tried
    assert (await positions(conn))["verdicts"] > 0
    assert await conn.fetchval(f"SELECT fingerprint FROM {SCHEMA}.projection_versions WHERE projection = 'verdicts'"
                               ) == "older"
