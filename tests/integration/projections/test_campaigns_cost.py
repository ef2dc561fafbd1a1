"""The campaign reads cost O(their answer), not O(county): on a county of 4,000 households with a
campaign over 1 in 7 of them, every query is EXPLAIN ANALYZEd and the rows each table gave up stay
near the answer's size (the list a page, progress its villages, a township's phone list its own, the
households carrying a tag those households)."""
from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from projections import campaigns, completeness, coverage
from projections.base import Period
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from services.domain import Campaign, Household, Visit, clock
from tests.integration.projections.strategies import METRE, SHANGHAI, reset_county, store_events
from tests.integration.plans import INDEXES_ONLY
from tests.integration.projections import test_read_costs

ADCODE = "469037"
SCHEMA = f"county_{ADCODE}"
HOUSEHOLDS, VISITS = 4000, 2000
CAMPAIGN = uuid.UUID(int=7, version=4)
TOWNSHIP = f"{ADCODE}100"


def _history() -> list[Any]:
    rng, events = random.Random(7), []
    start = datetime(2026, 9, 1, 9, tzinfo=SHANGHAI)

    def keep(aggregate: Any) -> Any:
        events.extend(aggregate.collect_events())
        return aggregate

    with clock.at(start):
        homes = [keep(Household(id=uuid.uuid4(), village=(v := f"{ADCODE}{100 + i % 5:03d}{200 + i % 40:03d}"),
                                township=v[:9], address="", lat=19.0 + rng.uniform(0, 0.2),
                                lon=109.8 + rng.uniform(0, 0.2),
                                tags=["left_behind_child"] if i % 7 == 0 else ["disabled"], size=3,
                                personal="sealed")) for i in range(HOUSEHOLDS)]
        keep(Campaign(id=CAMPAIGN, festival="mid_autumn", starts_on="2026-09-15", ends_on="2026-09-30",
                      tags=["left_behind_child"], defined_by="admin"))
    cadre = uuid.uuid4()
    for i in range(VISITS):
        moment = start + timedelta(days=14, minutes=10 * i)
        home = rng.choice(homes)
        with clock.at(moment):
            keep(Visit(id=uuid.uuid4(), cadre_id=cadre, target_kind="household", target_id=str(home.id),
                       household_id=home.id, village=home.village, kind=rng.choice(["festival", "home"]),
                       occurred_at=moment, received_at=moment,
                       position={"lat": home.lat + 30 * METRE, "lon": home.lon, "accuracy_m": 10.0,
                                 "provider": "gps", "is_mock": False},
                       topics=[], note="", companions=[], device_id=None))
    return events


@pytest.fixture(scope="module")
def seeded(database_url: str, county: Any) -> str:
    async def seed() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await reset_county(conn, county(ADCODE))
            await store_events(conn, SCHEMA, _history())
            followed = FollowedCounty(ADCODE, SCHEMA, Rules())
            driver = Driver(database_url, [by_name(n) for n in ("verdicts", "coverage", "completeness", "campaigns")],
                            decoder(), 5000, 2.0)
            await driver.process(conn, followed)
            await driver.analyze(conn, followed)
        finally:
            await conn.close()

    asyncio.run(seed())
    return database_url


class Explained(test_read_costs.Explained):
    """Rows read per table of this test's county (the pairing cost test's class counts its own)."""

    schema = SCHEMA


DAY = date(2026, 9, 25)
# read -> (its answer's size, the most rows it may read from the campaign's tables)
READS = {
    "campaigns as of a day": (lambda c: campaigns.campaigns(c, SCHEMA, as_of=DAY), lambda n: 4),
    "progress as of a day": (lambda c: campaigns.progress(c, SCHEMA, CAMPAIGN, as_of=DAY), lambda n: 4 * 50),
    "first page still to visit": (lambda c: campaigns.remaining(c, SCHEMA, CAMPAIGN, limit=20), lambda n: 3 * 20),
    "a village's page still to visit": (
        lambda c: campaigns.remaining(c, SCHEMA, CAMPAIGN, village=f"{TOWNSHIP}200", limit=20), lambda n: 3 * 20),
    "a township's phone list": (
        lambda c: campaigns.still_to_visit(c, SCHEMA, DAY, township=TOWNSHIP), lambda n: 4 * n + 10),
    "left-behind children's completeness": (
        lambda c: completeness.households(c, SCHEMA, tag="left_behind_child"), lambda n: 4 * n + 10),
    "left-behind children's coverage this year": (
        lambda c: coverage.coverage(c, SCHEMA, Period.year(2026), tag="left_behind_child"), lambda n: 600 * 6),
    "left-behind children's coverage in a range as of a day": (
        lambda c: coverage.coverage(c, SCHEMA, Period(date(2026, 9, 1), DAY), tag="left_behind_child", as_of=DAY),
        lambda n: 600 * 6),
    "left-behind children's completeness as of a day": (
        lambda c: completeness.households(c, SCHEMA, tag="left_behind_child", as_of=DAY), lambda n: 4 * n + 10),
}


@pytest.mark.parametrize("read", sorted(READS))
def test_a_campaign_read_touches_about_its_answer(seeded: str, read: str) -> None:
    query, allowed = READS[read]

    async def run() -> tuple[Any, Any]:
        conn = await asyncpg.connect(seeded)
        try:
            # Tables this small are cheaper to scan whole, so the planner would: what is checked is that
            # an index answers each read, as it will when the county is large.
            async with conn.transaction():
                for statement in INDEXES_ONLY:
                    await conn.execute(statement)
                explained = Explained(conn)
                return await query(explained), explained
        finally:
            await conn.close()

    answer, explained = asyncio.run(run())
    size = len(answer) if isinstance(answer, list) else len(answer["villages"])
    assert size > 0, "the read answered nothing: the seeded county is not what this test expects"
    assert explained.read, "no table of the county seen in the plans"
    touched = sum(rows for table, rows in explained.read.items()
                  if table.startswith(("campaigns_", "coverage_current", "verdicts_")))
    assert touched <= allowed(size), (read, size, dict(explained.read))
    assert not explained.scanned & {"campaigns_targets", "campaigns_households", "coverage_current"}, explained.scanned
