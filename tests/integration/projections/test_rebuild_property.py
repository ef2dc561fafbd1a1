"""Property: for any history, each read model after incremental processing in random batches equals
the same read model after a full rebuild, and equals a plain-Python fold of the events."""
from __future__ import annotations

import asyncio

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.driver import Driver, FollowedCounty, decoder
from projections.rebuild import rebuild_county
from projections.registry import by_name
from projections.rules import Rules
from tests.examples import examples
from tests.integration.projections.answers import answers, matches_fold
from tests.integration.projections.strategies import SHANGHAI, START, Fold, histories, reset_county, store_events

ADCODE = "469029"

# The read models these tests check (the other read models have their own property tests).
MINE = [by_name(name) for name in ("verdicts", "coverage", "completeness")]


async def _check(url: str, schema: str, events: list, chunks: list[int], batch_size: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await reset_county(conn, schema)
        driver = Driver(url, MINE, decoder(), batch_size, 2.0)
        county = FollowedCounty(ADCODE, schema, Rules())
        position = 0
        for size in chunks * (len(events) // max(1, sum(chunks)) + 1):
            if position >= len(events):
                break
            await store_events(conn, schema, events[position:position + size])
            position += size
            await driver.process(conn, county)
        as_of = (events[-1].timestamp if events else START).astimezone(SHANGHAI).date()
        incremental = await answers(conn, schema, as_of)
        await rebuild_county(conn, schema, MINE)
        rebuilt = await answers(conn, schema, as_of)
        assert incremental == rebuilt
        matches_fold(incremental, Fold(events, as_of, Rules()))
    finally:
        await conn.close()


@settings(max_examples=examples(20), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=5), batch_size=st.integers(1, 40))
def test_incremental_batches_equal_a_rebuild_and_a_plain_fold(database_url, county, events, chunks, batch_size):
    asyncio.run(_check(database_url, county(ADCODE), events, chunks, batch_size))
