"""Property: days stayed (projections/stays.py) after incremental batches equal a rebuild, a plain fold of the
events and (as_of) a rebuild of only the events up to that day."""
from __future__ import annotations

import asyncio
import uuid
from itertools import pairwise
from datetime import timedelta
from typing import Any

import asyncpg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import leaderboards, stays
from projections.base import Period
from projections.rebuild import rebuild_county
from projections.registry import PROJECTIONS
from projections.rules import Rules
from projections.travel import great_circle_km, speed
from projections.verdicts import judge
from services.domain import Cadre, Household, Visit, clock
from tests.examples import examples
from tests.integration.projections.ledger_strategies import as_of_days, before, run_history
from tests.integration.projections.strategies import SHANGHAI, START, cutoff, name, store_events

ADCODE = "469001"
VILLAGE, LAT, LON = "469001100201", 18.78, 109.52
METRE = 1 / 111_320
RULES = Rules()


@st.composite
def stay_histories(draw: Any) -> list[Any]:
    """Cadres and households, then check-ins (mostly stays of 1..92 days, some home visits) with fixes near,
    far, mocked or missing, some synced days late, and voids, at drawn moments."""
    events: list[Any] = []
    with clock.at(START):
        cadres = [Cadre(id=uuid.UUID(int=1 + i), name=f"干部{i}", rank="staff", unit="组织部",
                        township=VILLAGE[:9], phone=None) for i in range(3)]
        homes = [Household(id=uuid.UUID(int=10 + i), village=VILLAGE, township=VILLAGE[:9], address="",
                           lat=LAT + i * 0.01, lon=LON, personal="sealed", size=2, tags=[]) for i in range(2)]
        for aggregate in [*cadres, *homes]:
            events += aggregate.collect_events()
    visits: list[Visit] = []
    moment = START
    for step in range(draw(st.integers(2, 30))):
        moment += timedelta(minutes=draw(st.integers(1, 60 * 24 * 20)))
        with clock.at(moment):
            if visits and draw(st.integers(0, 4)) == 0:
                visit = visits[draw(st.integers(0, len(visits) - 1))]
                if not visit.voided:
                    visit.void("admin", "重复")
                    events += visit.collect_events()
                continue
            index = draw(st.integers(-1, len(homes) - 1))
            home = homes[index] if index >= 0 else None
            fix = draw(st.sampled_from(["near", "far", "mock", "none"]))
            lat = (home.lat if home else LAT) + {"near": 30, "far": 900}.get(fix, 0) * METRE
            position = None if fix == "none" else {"lat": lat, "lon": LON, "accuracy_m": 10.0, "provider": "gps",
                                                   "is_mock": fix == "mock"}
            kind = draw(st.sampled_from(["stay", "stay", "stay", "home"]))
            visit = Visit(
                id=uuid.UUID(int=100 + step), cadre_id=cadres[draw(st.integers(0, len(cadres) - 1))].id,
                target_kind="household" if home else "community", target_id=str(home.id) if home else "COM-1",
                household_id=home.id if home else None, village=VILLAGE, kind=kind,
                occurred_at=moment - timedelta(days=draw(st.sampled_from([0, 0, 3, 40]))), received_at=moment,
                position=position, topics=[], note="", companions=[], device_id=None,
                days=draw(st.integers(1, 92)) if kind == "stay" else None,
            )
            visits.append(visit)
            events += visit.collect_events()
    return events


def fold(events: list[Any], day: Any, period: Period) -> dict[Any, dict[str, int]]:
    """Per cadre, the stays begun in the period as known at the end of `day`, voided ones left out."""
    seen = [e for e in events if e.timestamp < cutoff(day)]
    homes = {e.originator_id: (e.lat, e.lon) for e in seen if name(e) == "Household.Registered"}
    voided = {e.originator_id for e in seen if name(e) == "Visit.Voided"}
    contacts = [e for e in seen if name(e) == "Visit.CheckedIn" and e.originator_id not in voided]
    answer: dict[Any, dict[str, int]] = {}
    too_fast = impossible_travel(contacts)
    for e in contacts:
        if e.kind != "stay" or not period.start <= e.occurred_at.astimezone(SHANGHAI).date() <= period.end:
            continue
        verified = judge(e, homes.get(e.household_id), RULES)[1] and e.originator_id not in too_fast
        row = answer.setdefault(e.cadre_id, {"stays": 0, "days": 0, "verified_stays": 0, "verified_days": 0})
        row["stays"] += 1
        row["days"] += e.days
        row["verified_stays"] += verified
        row["verified_days"] += e.days if verified else 0
    return answer


def impossible_travel(contacts: list[Any]) -> set[Any]:
    """The check-ins reached from the one before them (each cadre's fixes in time order) too fast."""
    chains: dict[Any, list[Any]] = {}
    for e in sorted((e for e in contacts if e.position), key=lambda e: (e.occurred_at, e.originator_id)):
        chains.setdefault(e.cadre_id, []).append(e)
    return {after.originator_id for chain in chains.values() for before, after in pairwise(chain)
            if speed(great_circle_km(before.position["lat"], before.position["lon"], after.position["lat"],
                                     after.position["lon"]),
                     (after.occurred_at - before.occurred_at).total_seconds() / 3600) > RULES.impossible_travel_kmh}


def periods(day: Any) -> list[Period]:
    return [Period.month(day.year, day.month), Period.year(day.year), Period(day - timedelta(days=45), day)]


async def answer(conn: Any, schema: str, day: Any) -> list[Any]:
    result = []
    for period in periods(day):
        result.append(await stays.by_cadre(conn, schema, period, as_of=day))
        listed = await stays.stays(conn, schema, period, as_of=day)
        assert sum(row["days"] for row in listed) == sum(r["days"] for r in result[-1].values())
        # The cadres' board shows each row's verified days, read for the page's cadres alone.
        board = await leaderboards.cadres(conn, schema, period, limit=1000, as_of=day)
        assert {row["cadre_id"]: row["stay_days"] for row in board["items"] if row["stay_days"]} \
            == {cadre: r["verified_days"] for cadre, r in result[-1].items() if r["verified_days"]}
    return result


async def check(url: str, schema: str, events: list[Any], chunks: list[int], batch_size: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await run_history(conn, url, schema, events, chunks, batch_size)
        middle, last = as_of_days(events)
        incremental = {day: await answer(conn, schema, day) for day in (middle, last)}
        await rebuild_county(conn, schema, PROJECTIONS)
        for day, expected in incremental.items():
            assert await answer(conn, schema, day) == expected, f"rebuild differs on {day}"
            assert expected == [fold(events, day, period) for period in periods(day)], day
        await run_history(conn, url, schema, [], [1], 1)
        await store_events(conn, schema, before(events, middle))
        await rebuild_county(conn, schema, PROJECTIONS)
        assert await answer(conn, schema, middle) == incremental[middle], f"as_of {middle} differs from a cut rebuild"
    finally:
        await conn.close()


@settings(max_examples=examples(8), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=stay_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40))
def test_days_stayed_are_the_same_incrementally_rebuilt_folded_and_cut(database_url, county, events, chunks,
                                                                      batch_size):
    asyncio.run(check(database_url, county(ADCODE), events, chunks, batch_size))
