"""Property: impossible travel stored by the verdicts read model, check-ins arriving in any order, in
batches of any size, some voided, equals a plain fold judging the whole history at once; and `as_of`
a day equals the fold of what had arrived by then."""
from __future__ import annotations

import asyncio
import math
import uuid
from datetime import date, datetime, timedelta
from itertools import pairwise

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections import verdicts
from projections.base import Period
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from services.domain import Visit, clock
from tests.examples import examples
from tests.integration.projections.strategies import METRE, SHANGHAI, cutoff, reset_county, store_events

ADCODE = "469031"
BASE = datetime(2026, 6, 1, 8, tzinfo=SHANGHAI)
# Places a cadre may check in at: the same spot, 3 km, 50 km and 200 km north of it.
NORTH_M = [0, 3_000, 50_000, 200_000]
RULES = Rules()


@st.composite
def arrivals(draw):
    """(check-ins as (cadre, minutes after BASE, metres north or None without a fix), arrival order, voids:
    for some arrivals, the check-in voided right after it arrived)."""
    cadres = [uuid.UUID(int=n + 1) for n in range(draw(st.integers(1, 2)))]
    checkins = draw(st.lists(st.tuples(
        st.sampled_from(cadres),
        st.sampled_from([0, 5, 30, 90, 240, 600, 60 * 24, 60 * 24 + 10]),  # collisions, minutes and days apart
        st.one_of(st.none(), st.sampled_from(NORTH_M)),
    ), min_size=2, max_size=16))
    order = draw(st.permutations(range(len(checkins))))
    voided = draw(st.sets(st.sampled_from(range(len(checkins))), max_size=3))
    return checkins, order, voided


def _events(checkins, order, voided):
    """Events in arrival order, one a day from 4 days after BASE (well inside the backdating rule)."""
    events, visits, ids = [], {}, {}
    moment = BASE + timedelta(days=4)
    for n in order:
        cadre, minutes, north = checkins[n]
        ids[n] = uuid.UUID(int=(n * 7919 % 97) << 64 | n + 1)  # ids' order unlike arrival order (ties)
        position = None if north is None else {"lat": 18.64 + north * METRE, "lon": 109.70, "accuracy_m": 10.0,
                                               "provider": "gps", "is_mock": False}
        with clock.at(moment):
            visit = Visit(id=ids[n], cadre_id=cadre, target_kind="enterprise", target_id="ENT-1", household_id=None,
                          village=None, kind="chat", occurred_at=BASE + timedelta(minutes=minutes),
                          received_at=moment, position=position, topics=[], note="", companions=[], device_id=None)
            events += visit.collect_events()
            visits[n] = visit
            if n in voided:
                visit.void("admin", "duplicate")
                events += visit.collect_events()
        moment += timedelta(days=1)
    return events, ids


def fold(events, until: datetime | None = None) -> dict[uuid.UUID, tuple]:
    """visit -> (previous check-in, km/h rounded, impossible, verified): the whole history judged at once."""
    live: dict[uuid.UUID, object] = {}
    for e in events:
        if until is not None and e.timestamp >= until:
            continue
        if type(e).__qualname__ == "Visit.CheckedIn":
            live[e.originator_id] = e
        else:
            del live[e.originator_id]
    result = {v: (None, None, False, e.position is not None) for v, e in live.items()}
    chains: dict[uuid.UUID, list] = {}
    for e in live.values():
        if e.position is not None:
            chains.setdefault(e.cadre_id, []).append(e)
    for chain in chains.values():
        chain.sort(key=lambda e: (e.occurred_at, e.originator_id))
        for before, after in pairwise(chain):
            a, b = before.position, after.position
            km = 2 * 6371.0088 * math.asin(math.sqrt(
                math.sin(math.radians(b["lat"] - a["lat"]) / 2) ** 2
                + math.cos(math.radians(a["lat"])) * math.cos(math.radians(b["lat"]))
                * math.sin(math.radians(b["lon"] - a["lon"]) / 2) ** 2))
            hours = (after.occurred_at - before.occurred_at).total_seconds() / 3600
            kmh = km / hours if hours > 0 else (0.0 if km == 0 else math.inf)
            bad = kmh > RULES.impossible_travel_kmh
            result[after.originator_id] = (before.originator_id, None if kmh == math.inf else round(kmh, 1), bad,
                                           not bad)
    return result


async def _check(url: str, schema: str, events: list, chunks: list[int], batch_size: int, as_of: date) -> None:
    conn = await asyncpg.connect(url)
    try:
        await reset_county(conn, schema)
        driver = Driver(url, [by_name("verdicts")], decoder(), batch_size, 2.0)
        county = FollowedCounty(ADCODE, schema, RULES)
        stored = 0
        for size in [*chunks, len(events)]:  # stored and projected a chunk at a time, then the rest
            if stored < len(events):
                await store_events(conn, schema, events[stored:stored + size])
                stored += size
                await driver.process(conn, county)

        def judged(items):
            return {i["visit_id"]: (i["previous_visit_id"], i["travel_kmh"], i["impossible_travel"], i["verified"])
                    for i in items}

        assert judged(await verdicts.checkins(conn, schema)) == fold(events)
        assert judged(await verdicts.checkins(conn, schema, as_of=as_of)) == fold(events, cutoff(as_of))
        # the audit's pages say the same
        page = (await verdicts.page(conn, schema, limit=500, as_of=as_of))["items"]
        then = fold(events, cutoff(as_of))
        assert {i["visit_id"]: (i["previous_visit_id"], i["travel_kmh"], "impossible_travel" in i["reasons"])
                for i in page if i["verdict"] != "voided"} == {v: j[:3] for v, j in then.items()}
        # The audit's summary: the figures kept per calendar period equal a count of the check-ins. Every
        # check-in happened on 1 or 2 June, so this range holds the same ones, and no kept figure covers it.
        for day in (None, as_of):
            counted = await verdicts.summary(conn, schema, period=Period.parse("2026-05-31..2026-06-30"), as_of=day)
            assert counted["checkins"] == len(fold(events, None if day is None else cutoff(day)))
            for kept in (Period.month(2026, 6), Period.quarter(2026, 2), Period.year(2026)):
                assert await verdicts.summary(conn, schema, period=kept, as_of=day) == counted
    finally:
        await conn.close()


@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(drawn=arrivals(), chunks=st.lists(st.integers(1, 6), max_size=4), batch_size=st.integers(1, 8),
       days=st.integers(0, 20))
def test_stored_impossible_travel_equals_judging_the_whole_history_whatever_the_arrival_order(
        database_url, county, drawn, chunks, batch_size, days):
    events, _ = _events(*drawn)
    as_of = (BASE + timedelta(days=4 + days)).date()
    asyncio.run(_check(database_url, county(ADCODE), events, chunks, batch_size, as_of))
