"""Counties' positions in `core`: kept by every insert, and read in a constant number of queries
by /readyz, /metrics, /status and the driver's sweep, however many counties there are."""
from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
import pytest

from projections import positions
from projections.driver import Driver, decoder
from projections.registry import PROJECTIONS
from services.api import ops
from tests.integration.projections.strategies import SHANGHAI, reset_county, store_events
from tests.integration.projections.test_driver import household_visits

QUERIES = ("execute", "executemany", "fetch", "fetchrow", "fetchval")


class Counted:
    """A real asyncpg connection that counts the statements sent through it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn, self.statements = conn, 0

    def __getattr__(self, name: str):
        method = getattr(self.conn, name)
        if name not in QUERIES:
            return method

        async def counted(*args, **kwargs):
            self.statements += 1
            return await method(*args, **kwargs)

        return counted


async def statements_of(conn: asyncpg.Connection, work) -> tuple[int, object]:
    counted = Counted(conn)
    result = await work(counted)
    return counted.statements, result


async def sweep(database_url: str, conn) -> set[str]:
    driver = Driver(database_url, PROJECTIONS, decoder(), 1000, 2.0)
    await driver.claim(conn)
    return await driver.lagging(conn)


async def test_readyz_status_and_the_sweep_cost_the_same_queries_for_ten_times_the_counties(database_url, county):
    many = [f"7100{n:02d}" for n in range(30)]
    costs = []
    for provisioned in (many[:3], many):
        for adcode in provisioned:
            county(adcode)
        conn = await asyncpg.connect(database_url)
        try:
            await store_events(conn, "county_710001", household_visits(1, 1, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI)))
            lag_queries, lag = await statements_of(conn, ops.projector_lag)
            status_queries, counts = await statements_of(conn, positions.counts)
            sweep_queries, lagging = await statements_of(conn, lambda c: sweep(database_url, c))
        finally:
            await conn.close()
        assert set(provisioned) <= set(lag) and set(provisioned) <= {c["adcode"] for c in counts}
        assert lag["710001"] > 0 and "county_710001" in lagging  # nobody projects it in this test
        costs.append((lag_queries, status_queries, sweep_queries))
    assert costs[0] == costs[1], f"3 counties: {costs[0]}, 30 counties: {costs[1]} (readyz, status, sweep)"
    assert max(costs[1]) <= 5


async def test_the_position_follows_every_insert_but_not_a_rolled_back_one_and_an_emptied_log_counts_anew(
        database_url, county):
    schema = county("710099")
    conn = await asyncpg.connect(database_url)
    try:
        await reset_county(conn, schema)
        events = household_visits(3, 2, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI))  # 1 cadre, 3 homes, 6 visits
        await store_events(conn, schema, events[:4])
        await store_events(conn, schema, events[4:])
        position = ("SELECT last_notification_id, events, households, cadres FROM core.county_positions"
                    " WHERE county = $1")
        assert tuple(await conn.fetchrow(position, "710099")) == (
            await conn.fetchval(f"SELECT max(notification_id) FROM {schema}.county_events"), 10, 3, 1)
        before = tuple(await conn.fetchrow(position, "710099"))
        with pytest.raises(asyncpg.UniqueViolationError):
            await store_events(conn, schema, events[:1])  # a duplicate: the insert rolls back
        assert tuple(await conn.fetchrow(position, "710099")) == before
        await reset_county(conn, schema)  # the log emptied, its positions forgotten and counted again
        assert tuple(await conn.fetchrow(position, "710099")) == (0, 0, 0, 0)
        assert (await positions.lag(conn))["710099"] == 0
    finally:
        await conn.close()


async def test_the_statement_triggers_that_kept_positions_before_are_dropped_and_nothing_is_counted_twice(
        database_url, county):
    from projections.schema import ensure_tables_async

    schema = county("710097")
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')"):
            pytest.skip("Citus refuses triggers on a county's tables, so no county there ever had them")
        await reset_county(conn, schema)
        # as made before the writers kept the position: the trigger counted every insert again
        await conn.execute(
            "CREATE OR REPLACE FUNCTION pg_temp.count_again() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " UPDATE core.county_positions SET events = events + 1000 WHERE county = '710097'; RETURN NULL; END $$")
        await conn.execute(f"CREATE TRIGGER county_events_positions AFTER INSERT ON {schema}.county_events"
                           " FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.count_again()")
        await ensure_tables_async(conn, schema)
        await store_events(conn, schema, household_visits(1, 1, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI)))
        assert await conn.fetchval("SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass",
                                   f"{schema}.county_events") == 0
        assert await conn.fetchval("SELECT events FROM core.county_positions WHERE county = '710097'") == 3
    finally:
        await conn.close()


async def test_two_lanes_committing_at_once_store_the_position_both_reached(database_url, county):
    """The driver's two lanes each store the county's lowest position as they commit. The second waits for
    the first's commit and then counts it: it must not store the minimum it would have read before."""
    schema = county("469029")
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        await first.execute(f"INSERT INTO {schema}.projection_tracking VALUES ('verdicts', 5), ('rollup', 5)"
                            " ON CONFLICT (projection) DO UPDATE SET notification_id = 5")
        names = ["verdicts", "rollup"]
        county_lane, deferred_lane = first.transaction(), second.transaction()
        await county_lane.start()
        await deferred_lane.start()
        move = f"UPDATE {schema}.projection_tracking SET notification_id = 9 WHERE projection = $1"
        await first.execute(move, "verdicts")
        await positions.record_projected(first, schema, names)  # min(9, 5 as committed) = 5
        await second.execute(move, "rollup")
        waiting = asyncio.ensure_future(positions.record_projected(second, schema, names))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # behind the first lane's position lock
        await county_lane.commit()
        await waiting
        await deferred_lane.commit()
        assert await first.fetchval(
            "SELECT notification_id FROM core.projection_positions WHERE county = '469029'") == 9
    finally:
        await first.close()
        await second.close()
