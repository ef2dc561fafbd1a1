"""Completeness and coverage filtered by household tag ("every left-behind child visited this year"):
counted one by one from the households carrying the tag, they must agree with the summaries when every
household carries it, and leave out the households that do not."""
from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from projections import completeness, coverage
from projections.base import Period
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from tests.integration.projections.strategies import reset_county, store_events
from tests.integration.projections.test_campaigns_cases import VILLAGE_A, VILLAGE_B, CampaignStory, at

ADCODE = "469038"
SCHEMA = f"county_{ADCODE}"
CHILD = "left_behind_child"
PERIODS = [Period.year(2026), Period.quarter(2026, 3), Period.month(2026, 9), Period(date(2026, 8, 20),
                                                                                      date(2026, 10, 3))]
DAYS = [None, date(2026, 9, 5), date(2026, 9, 20), date(2026, 10, 1)]


async def project(url: str, events: list[Any]) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await reset_county(conn, SCHEMA)
    await store_events(conn, SCHEMA, events)
    await Driver(url, [by_name(n) for n in ("verdicts", "coverage", "completeness", "campaigns")], decoder(), 7,
                 2).process(conn, FollowedCounty(ADCODE, SCHEMA, Rules()))
    return conn


def history(untagged: bool) -> tuple[CampaignStory, list[Any]]:
    story = CampaignStory()
    cadre = story.cadre(at(8, 1), None)
    homes = [story.tagged(at(8, 1), village, [CHILD, *extra])
             for village, extra in ((VILLAGE_A, []), (VILLAGE_A, ["disabled"]), (VILLAGE_B, []), (VILLAGE_B, []))]
    others = [story.tagged(at(8, 1), VILLAGE_A, ["disabled"]) for _ in range(2)] if untagged else []
    # In the order the server recorded them, as a log is.
    steps: list[tuple[Any, ...]] = [
        (at(8, 25), "visit", homes[0]), (at(9, 2), "visit", homes[0]), (at(9, 10), "move", homes[1]),
        (at(9, 12), "visit", homes[1]), (at(9, 14), "far", homes[2]), (at(9, 15), "archive", homes[3]),
        (at(9, 30), "visit", homes[2]),
        *((moment, "visit", other) for other in others for moment in (at(8, 22), at(9, 3)))]
    for moment, what, home in sorted(steps, key=lambda step: step[0]):
        if what == "visit":
            story.festival_visit(moment, cadre, home, kind="home")
        elif what == "far":
            story.festival_visit(moment, cadre, home, north_m=500, kind="chat")  # not verified
        elif what == "move":
            story.then(moment, home, "relocate", VILLAGE_B, VILLAGE_B[:9], "", 18.61, 109.71)
        else:
            story.then(moment, home, "archive", "迁出")
    return story, homes


def _without_coordinates(rows: list[dict]) -> list[dict]:
    return [{k: round(v, 9) if isinstance(v, float) else v for k, v in row.items()} for row in rows]


async def test_a_tag_every_household_carries_gives_the_summaries_figures(database_url, county):
    county(ADCODE)
    story, _ = history(untagged=False)
    conn = await project(database_url, story.events)
    try:
        for day in DAYS:
            for period in PERIODS:
                for level in ("village", "township", "county", "h3"):
                    assert _without_coordinates(await coverage.coverage(conn, SCHEMA, period, level, as_of=day,
                                                                        tag=CHILD)) == \
                        _without_coordinates(await coverage.coverage(conn, SCHEMA, period, level, as_of=day)), (
                            day, period, level)
            assert await completeness.percentages(conn, SCHEMA, as_of=day, tag=CHILD) == \
                await completeness.percentages(conn, SCHEMA, as_of=day), day
            assert await completeness.households(conn, SCHEMA, as_of=day, tag=CHILD) == \
                await completeness.households(conn, SCHEMA, as_of=day), day
            assert await completeness.count_households(conn, SCHEMA, as_of=day, tag=CHILD) == \
                await completeness.count_households(conn, SCHEMA, as_of=day), day
        assert await coverage.coverage(conn, SCHEMA, Period.year(2026), "county", tag="monitored") == []
    finally:
        await conn.close()


async def test_households_without_the_tag_are_left_out(database_url, county):
    county(ADCODE)
    story, homes = history(untagged=True)
    conn = await project(database_url, story.events)
    try:
        year = Period.year(2026)
        [everyone] = await coverage.coverage(conn, SCHEMA, year, "county")
        [children] = await coverage.coverage(conn, SCHEMA, year, "county", tag=CHILD)
        # The archived child still counts for the year it was archived in (coverage's rule).
        assert (everyone["households"], everyone["visited_twice"]) == (6, 4)
        assert (children["households"], children["visited_once"], children["visited_twice"]) == (4, 3, 2)
        listed = await completeness.households(conn, SCHEMA, tag="disabled")
        assert {h["household_id"] for h in listed} == {homes[1].id} | {
            e.originator_id for e in story.events if getattr(e, "tags", None) == ["disabled"]}
        shares = await completeness.percentages(conn, SCHEMA, tag=CHILD)
        assert (shares["county"]["households"], shares["county"]["complete"]) == (3, 2)
    finally:
        await conn.close()
