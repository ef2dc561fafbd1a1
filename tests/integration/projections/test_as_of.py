"""`as_of` answers equal what a rebuild from only the events before that date answers."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from tests.examples import examples
from tests.integration.projections.answers import answers
from tests.integration.projections.strategies import SHANGHAI, cutoff, histories, reset_county, store_events

# The read models these tests check (the other read models have their own property tests).
MINE = [by_name(name) for name in ("verdicts", "coverage", "completeness")]


async def _check(url: str, full: str, cut: str, events: list, days_back: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        as_of = events[-1].timestamp.astimezone(SHANGHAI).date() - timedelta(days=days_back)
        for schema, stored in ((full, events), (cut, [e for e in events if e.timestamp < cutoff(as_of)])):
            await reset_county(conn, schema)
            await store_events(conn, schema, stored)
            await Driver(url, MINE, decoder(), 1000, 2.0).process(
                conn, FollowedCounty(schema.removeprefix("county_"), schema, Rules()))
        assert _anonymous(await answers(conn, full, as_of)) == _anonymous(await answers(conn, cut, as_of))
    finally:
        await conn.close()


def _anonymous(result: dict) -> dict:
    """The county-level rows are keyed by adcode, which is all that differs between the two counties."""
    return {k: [{**r, "key": "county"} for r in v] if k.endswith(" county") else v for k, v in result.items()}


@settings(max_examples=examples(8), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=histories(min_steps=10), days_back=st.integers(0, 40))
def test_as_of_answers_equal_a_rebuild_from_the_events_before_that_date(database_url, county, events, days_back):
    # The rules of both counties are the defaults; only their logs differ.
    asyncio.run(_check(database_url, county("469029"), county("469030"), events, days_back))
