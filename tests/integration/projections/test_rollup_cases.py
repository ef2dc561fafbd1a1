"""The province rollup on hand-written histories: county rankings, frozen months, no personal data."""
from __future__ import annotations

from datetime import date

import pytest

from projections import rollup
from projections.base import Period
from tests.integration.projections.ledger_strategies import Story, project

PROVINCE = "460000"
MAY = Period.month(2026, 5)


def _county_story(visited: int, households: int) -> Story:
    story = Story()
    cadre = story.cadre((2026, 5, 1, 8))
    homes = [story.household((2026, 5, 1, 8)) for _ in range(households)]
    for home in homes[:visited]:
        story.visit((2026, 5, 10, 9), cadre, home)
    story.visit((2026, 6, 2, 9), cadre, homes[-1])  # June's work must not change May's figures
    return story


async def test_counties_of_a_province_rank_by_coverage_then_verified_visits_then_adcode(database_url, county):
    for adcode, (visited, households) in {"469030": (1, 4), "469031": (3, 4), "469032": (1, 4)}.items():
        conn = await project(database_url, county(adcode), _county_story(visited, households).events)
        await conn.close()
    conn = await project(database_url, county("469033"), [])  # a county with no events has no row
    try:
        ranked = await rollup.rankings(conn, PROVINCE, MAY)
        assert [(r["rank"], r["county"], r["coverage_pct"]) for r in ranked if r["county"] != "469029"] == [
            (1, "469031", 75.0), (2, "469030", 25.0), (3, "469032", 25.0)]
        [may] = [m for m in await rollup.county_months(conn, "469031") if m["month"] == MAY.start]
        assert (may["as_of_date"], may["households"], may["visited"], may["verified_visits"]) == (
            date(2026, 5, 10), 4, 3, 3)
        mid_may = await rollup.rankings(conn, PROVINCE, MAY, as_of=date(2026, 5, 5))
        assert {r["county"]: r["visited"] for r in mid_may if r["county"] != "469029"} == {
            "469030": 0, "469031": 0, "469032": 0}
        with pytest.raises(ValueError, match="monthly"):
            await rollup.rankings(conn, PROVINCE, Period.quarter(2026, 2))
    finally:
        await conn.close()


async def test_the_rollup_keeps_no_personal_data(database_url, county):
    conn = await project(database_url, county("469030"), _county_story(2, 3).events)
    try:
        columns = {r["column_name"] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'rollup'")}
        assert columns and not columns & {"household_id", "cadre_id", "name", "head_name", "phone", "lat", "lon",
                                          "address", "village", "note", "summary"}
    finally:
        await conn.close()


async def test_the_province_figures_stop_counting_pairings_ended_by_an_archiving_or_a_departure(database_url, county):
    # Three quarterly pairings formed in January, never visited: overdue from July on. One household is
    # archived and one cadre departs in June: only the third pairing is still judged in July.
    story = Story()
    leaving, staying = story.cadre((2026, 1, 2, 9)), story.cadre((2026, 1, 2, 9))
    homes = [story.household((2026, 1, 2, 9)) for _ in range(3)]
    story.pair((2026, 1, 5, 9), leaving, "household", str(homes[0]), "2026-01-05")
    story.pair((2026, 1, 5, 9), staying, "household", str(homes[1]), "2026-01-05")
    story.pair((2026, 1, 5, 9), staying, "household", str(homes[2]), "2026-01-05")
    story.then((2026, 6, 10, 9), story.world.cadres[leaving], "depart", "调离")
    story.then((2026, 6, 11, 9), story.world.households[homes[1]], "archive", "迁出")
    story.visit((2026, 7, 20, 9), staying, homes[2], target=("community", "C1"))  # a July day, no visit of theirs
    conn = await project(database_url, county("469030"), story.events)
    try:
        [july] = [m for m in await rollup.county_months(conn, "469030") if m["month"] == date(2026, 7, 1)]
        assert (july["pairings"], july["pairings_compliant_pct"]) == (1, 0.0)
    finally:
        await conn.close()


async def test_counties_rank_by_verified_coverage_by_default_and_phone_calls_are_no_visits(database_url, county):
    # 469034 visited 3 of 4 households, but with mocked fixes, and phoned the fourth: 75 % coverage,
    # none of it verified. 469035 visited 1 of 4, verified.
    gamed, honest = Story(), Story()
    cadre = gamed.cadre((2026, 5, 1, 8))
    homes = [gamed.household((2026, 5, 1, 8)) for _ in range(4)]
    for home in homes[:3]:
        gamed.visit((2026, 5, 10, 9), cadre, home, mock=True)
    gamed.visit((2026, 5, 10, 10), cadre, homes[3], kind="phone")
    cadre = honest.cadre((2026, 5, 1, 8))
    homes = [honest.household((2026, 5, 1, 8)) for _ in range(4)]
    honest.visit((2026, 5, 10, 9), cadre, homes[0])
    for adcode, story in (("469034", gamed), ("469035", honest)):
        conn = await project(database_url, county(adcode), story.events)
        await conn.close()
    conn = await project(database_url, county("469033"), [])
    try:
        ranked = [r for r in await rollup.rankings(conn, PROVINCE, MAY) if r["county"] in ("469034", "469035")]
        assert [(r["county"], r["visited"], r["coverage_pct"], r["verified_visited"], r["verified_coverage_pct"])
                for r in ranked] == [("469035", 1, 25.0, 1, 25.0), ("469034", 3, 75.0, 0, 0.0)]
        by_any_visit = [r["county"] for r in await rollup.rankings(conn, PROVINCE, MAY, by="coverage_pct")
                        if r["county"] in ("469034", "469035")]
        assert by_any_visit == ["469034", "469035"]
    finally:
        await conn.close()
