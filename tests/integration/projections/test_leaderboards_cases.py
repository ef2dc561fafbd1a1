"""Leaderboards on hand-written histories: only verified visits count, and ties break as documented."""
from __future__ import annotations

from datetime import date

from projections import leaderboards
from projections.base import Period
from tests.integration.projections.ledger_strategies import Story, project

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
