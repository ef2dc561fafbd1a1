"""Leaderboards on hand-written histories: only verified visits count, and ties break as documented."""
from __future__ import annotations

from datetime import date

import asyncpg

from projections import leaderboards, verdicts
from projections.base import Period
from tests.integration.projections.ledger_strategies import Story, project, run_history

ADCODE = "469030"
SCHEMA = f"county_{ADCODE}"
MAY = Period.month(2026, 5)


async def test_ties_break_on_the_next_figures_then_on_the_cadre_id(database_url, county):
    story = Story()
    first, second, third, fourth = (story.cadre((2026, 5, 1, 8)) for _ in range(4))
    homes = [story.household((2026, 5, 1, 8)) for _ in range(2)]
    # Two verified visits each; `second` saw two households, the others one.
    for cadre in (first, second, third, fourth):
        story.visit((2026, 5, 2, 9), cadre, homes[0])
    story.visit((2026, 5, 3, 9), first, homes[0])
    story.visit((2026, 5, 3, 9), second, homes[1])
    story.visit((2026, 5, 3, 9), third, homes[0])
    story.visit((2026, 5, 3, 9), fourth, homes[0])
    story.visit((2026, 5, 4, 9), fourth, homes[1], mock=True)  # a mocked fix never counts
    story.visit((2026, 5, 4, 10), first, homes[1], metres=400)  # nor one 400 m away
    resolved = story.issue((2026, 5, 5, 9), raised_by=third)
    story.then((2026, 5, 5, 10), resolved, "route", "on_the_spot", None, None, "cadre")
    story.then((2026, 5, 5, 11), resolved, "resolve", "done", "cadre")
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        board = await leaderboards.cadres(conn, SCHEMA, MAY, as_of=date(2026, 5, 31))
        got = [(i["rank"], i["cadre_id"], i["verified_visits"], i["distinct_households"], i["issues_resolved"])
               for i in board["items"]]
        # first and fourth tie on every figure: the lower id (first) comes first.
        assert got == [(1, second, 2, 2, 0), (2, third, 2, 1, 1), (3, first, 2, 1, 0), (4, fourth, 2, 1, 0)]
        by_issues = await leaderboards.cadres(conn, SCHEMA, MAY, by="issues_resolved", limit=1, as_of=date(2026, 5, 31))
        assert [i["cadre_id"] for i in by_issues["items"]] == [third] and by_issues["total"] == 4
    finally:
        await conn.close()


async def test_townships_rank_by_where_the_work_happened(database_url, county):
    story = Story()
    cadre = story.cadre((2026, 5, 1, 8), township="469029101")
    near = story.household((2026, 5, 1, 8), village="469029100201")
    far = story.household((2026, 5, 1, 8), village="469029101201")
    story.visit((2026, 5, 2, 9), cadre, near)
    story.visit((2026, 5, 2, 10), cadre, near)
    story.visit((2026, 5, 2, 11), cadre, far)
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        board = await leaderboards.townships(conn, SCHEMA, MAY, as_of=date(2026, 5, 31))
        assert [(i["rank"], i["township"], i["verified_visits"]) for i in board["items"]] == [
            (1, "469029100", 2), (2, "469029101", 1)]
        earlier = await leaderboards.townships(conn, SCHEMA, MAY, as_of=date(2026, 4, 30))
        assert earlier["items"] == []
    finally:
        await conn.close()


async def test_a_visit_logged_after_a_later_days_visit_still_counts_from_its_own_day(database_url, county):
    # The log's order is not quite time order (concurrent writers): the tallies' later versions must
    # take a change recorded on an earlier day.
    story = Story()
    cadre = story.cadre((2026, 5, 1, 8))
    homes = [story.household((2026, 5, 1, 8)) for _ in range(2)]
    head = list(story.events)
    story.visit((2026, 5, 10, 9), cadre, homes[0])
    story.visit((2026, 5, 12, 9), cadre, homes[0])
    later = story.events[len(head):]
    story.visit((2026, 5, 5, 9), cadre, homes[1])
    earlier = story.events[len(head) + len(later):]
    conn = await asyncpg.connect(database_url)
    try:
        await run_history(conn, database_url, county(ADCODE), head + later + earlier, [len(head) + len(later), 1], 1000)
        for day, visits, households in ((4, 0, 0), (5, 1, 1), (10, 2, 2), (12, 3, 2)):
            for period in (MAY, Period(date(2026, 5, 1), date(2026, 5, 20))):  # tallied, and counted from check-ins
                [item] = (await leaderboards.cadres(conn, SCHEMA, period, as_of=date(2026, 5, day)))["items"]
                assert (item["verified_visits"], item["distinct_households"]) == (visits, households), (day, period)
    finally:
        await conn.close()


async def test_a_fix_just_inside_or_outside_the_distance_rule_is_judged_as_the_verdicts_judge_it(database_url, county):
    story = Story()
    cadre = story.cadre((2026, 5, 1, 8))
    home = story.household((2026, 5, 1, 8))
    for hour, metres in enumerate((148, 149, 150, 151, 152)):
        story.visit((2026, 5, 2, 9 + hour), cadre, home, metres=metres)
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        verified = sum(c["verified"] for c in await verdicts.checkins(conn, SCHEMA))
        assert 0 < verified < 5
        [item] = (await leaderboards.cadres(conn, SCHEMA, MAY))["items"]
        assert item["verified_visits"] == verified
    finally:
        await conn.close()


async def test_a_household_visited_in_several_months_counts_once_in_their_quarter_and_year(database_url, county):
    story = Story()
    cadre = story.cadre((2026, 4, 1, 8), township="469029100")
    home = story.household((2026, 4, 1, 8))
    for when in ((2026, 4, 10, 9), (2026, 5, 2, 9), (2026, 5, 20, 9), (2026, 8, 3, 9)):
        story.visit(when, cadre, home)
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        for period, visits in ((Period.month(2026, 4), 1), (Period.month(2026, 5), 2), (Period.quarter(2026, 2), 3),
                               (Period.quarter(2026, 3), 1), (Period.year(2026), 4)):
            [by_cadre] = (await leaderboards.cadres(conn, SCHEMA, period, as_of=date(2026, 12, 31)))["items"]
            [by_township] = (await leaderboards.townships(conn, SCHEMA, period, as_of=date(2026, 12, 31)))["items"]
            for row in (by_cadre, by_township):
                assert (row["verified_visits"], row["distinct_households"]) == (visits, 1), (period, row)
    finally:
        await conn.close()
