"""Interview coverage on hand-written histories: the interviewer's rank against the county's rule."""
from __future__ import annotations

from datetime import date

from projections import interviews
from tests.integration.projections.ledger_strategies import Story, project

ADCODE = "469030"
SCHEMA = f"county_{ADCODE}"


async def test_an_interviewer_of_the_wrong_rank_does_not_cover_the_interviewee(database_url, county):
    story = Story()
    chief = story.cadre((2026, 1, 5, 9), rank="section_chief")
    deputy = story.cadre((2026, 1, 5, 9), rank="deputy_section_chief")
    other_deputy = story.cadre((2026, 1, 5, 9), rank="deputy_section_chief")
    staff = story.cadre((2026, 1, 5, 9), rank="staff")
    wrong = story.interview((2026, 3, 3, 15), staff, chief)  # a staff member cannot interview a section chief
    story.interview((2026, 3, 3, 16), deputy, other_deputy)  # a deputy may interview a deputy
    story.interview((2026, 3, 10, 15), chief, staff)
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        page = await interviews.cadres(conn, SCHEMA, as_of=date(2026, 3, 31))
        status = {c["cadre_id"]: (c["status"], c["interviews_this_year"], c["expected_rank_this_year"])
                  for c in page["items"]}
        assert status == {chief: ("due", 1, 0), deputy: ("due", 0, 0), other_deputy: ("ok", 1, 1),
                          staff: ("ok", 1, 1)}
        [mismatch] = await interviews.rank_mismatches(conn, SCHEMA, as_of=date(2026, 3, 31))
        assert (mismatch["interview_id"], mismatch["interviewer_rank"], mismatch["interviewee_rank"]) == (
            wrong, "staff", "section_chief")
        coverage = await interviews.coverage_by_rank(conn, SCHEMA, as_of=date(2026, 3, 31))
        assert coverage["county"] == {"cadres": 4, "interviewed": 2, "coverage_pct": 50.0, "rank_mismatches": 1}
        assert {r["rank"]: r["rank_mismatches"] for r in coverage["ranks"]} == {
            "deputy_section_chief": 0, "section_chief": 1, "staff": 0}
    finally:
        await conn.close()


async def test_a_county_rule_can_accept_the_interviewer_without_a_rebuild(database_url, county):
    story = Story()
    chief = story.cadre((2026, 1, 5, 9), rank="section_chief")
    staff = story.cadre((2026, 1, 5, 9), rank="staff")
    story.interview((2026, 3, 3, 15), staff, chief)
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        await conn.execute("UPDATE core.counties SET rules = $2 WHERE adcode = $1", ADCODE,
                           '{"interviewer_ranks": {"section_chief": ["section_chief", "staff"]}}')
        assert await interviews.rank_mismatches(conn, SCHEMA, as_of=date(2026, 3, 31)) == []
    finally:
        await conn.execute("UPDATE core.counties SET rules = '{}' WHERE adcode = $1", ADCODE)
        await conn.close()


async def test_a_cadre_missing_last_year_and_this_year_is_overdue(database_url, county):
    story = Story()
    chief = story.cadre((2025, 1, 1, 9), rank="section_chief")
    staff = story.cadre((2025, 1, 1, 9), rank="staff")
    story.interview((2026, 2, 1, 9), staff, chief)  # wrong rank: covers nobody
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        page = await interviews.cadres(conn, SCHEMA, status="overdue", as_of=date(2026, 6, 1))
        assert {c["cadre_id"] for c in page["items"]} == {chief, staff}
        assert (await interviews.cadres(conn, SCHEMA, status="due", as_of=date(2025, 6, 1)))["items"] != []
    finally:
        await conn.close()
