"""Pairing compliance on hand-written histories: quarter boundaries in China's time zone, and quotas."""
from __future__ import annotations

from datetime import date

from projections import pairing
from tests.integration.projections.ledger_strategies import Story, project

ADCODE = "469030"
SCHEMA = f"county_{ADCODE}"


async def _status(conn, day):
    [item] = (await pairing.pairings(conn, SCHEMA, as_of=day))["items"]
    return item["status"], item["due_date"], item["last_visit"]


async def test_a_quarterly_pairing_turns_due_then_overdue_across_quarter_boundaries(database_url, county):
    story = Story()
    cadre = story.cadre((2026, 1, 2, 9))
    home = story.household((2026, 1, 2, 9), tags=["hardship_resident"])
    story.pair((2026, 1, 5, 9), cadre, "household", str(home), "2026-01-05")
    story.visit((2026, 3, 31, 23, 30), cadre, home)  # 15:30 UTC: still the first quarter in China
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        assert await _status(conn, date(2026, 3, 31)) == ("ok", date(2026, 6, 30), date(2026, 3, 31))
        assert await _status(conn, date(2026, 4, 1)) == ("due", date(2026, 6, 30), date(2026, 3, 31))
        assert await _status(conn, date(2026, 7, 1)) == ("overdue", date(2026, 6, 30), date(2026, 3, 31))
        # Formed after the first quarter began: missing it is not held against the pairing.
        assert await _status(conn, date(2026, 3, 1)) == ("due", date(2026, 3, 31), None)
    finally:
        await conn.close()


async def test_a_visit_after_midnight_in_china_counts_for_the_new_quarter(database_url, county):
    story = Story()
    cadre = story.cadre((2026, 1, 2, 9))
    home = story.household((2026, 1, 2, 9))
    story.pair((2026, 1, 2, 9), cadre, "household", str(home), "2026-01-02")
    story.visit((2026, 4, 1, 0, 30), cadre, home)  # 16:30 UTC on 31 March
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        assert await _status(conn, date(2026, 4, 1)) == ("ok", date(2026, 9, 30), date(2026, 4, 1))
        assert (await pairing.summary(conn, SCHEMA, as_of=date(2026, 3, 31)))["overdue"] == 0
    finally:
        await conn.close()


async def test_quotas_count_hardship_households_households_by_rank_and_the_five_contacts(database_url, county):
    story = Story()
    chief = story.cadre((2026, 2, 1, 9), rank="section_chief")
    homes = [story.household((2026, 2, 1, 9), tags=["subsistence"]) for _ in range(5)]
    for home in homes:
        story.pair((2026, 2, 2, 9), chief, "household", str(home), "2026-02-02")
    for kind, target in (("community", "C1"), ("enterprise", "E1"), ("talent", "T1"), ("village_official", "V1")):
        story.pair((2026, 2, 2, 9), chief, kind, target, "2026-02-02")
    with story.at(2026, 2, 3, 9):
        story.world.households[homes[0]].retag(["disabled"])
    story.world.keep(story.world.households[homes[0]])
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        await conn.execute("UPDATE core.counties SET rules = $2 WHERE adcode = $1", ADCODE,
                           '{"five_contacts": ["community", "enterprise", "talent", "village_official", "household"]}')
        [before] = await pairing.quotas(conn, SCHEMA, as_of=date(2026, 2, 2))
        assert before["compliant"] and [(q["rule"], q["actual"]) for q in before["quotas"]] == [
            ("hardship_households", 5), ("households_by_rank", 5), ("five_contacts", 5)]
        [after] = await pairing.quotas(conn, SCHEMA, as_of=date(2026, 2, 3))
        assert not after["compliant"]
        assert [(q["rule"], q["actual"], q["met"]) for q in after["quotas"]] == [
            ("hardship_households", 4, False), ("households_by_rank", 5, True), ("five_contacts", 5, True)]
    finally:
        await conn.execute("UPDATE core.counties SET rules = '{}' WHERE adcode = $1", ADCODE)
        await conn.close()


async def test_county_rules_switch_quotas_off_and_change_the_rank_quota(database_url, county):
    story = Story()
    staff = story.cadre((2026, 2, 1, 9), rank="staff")
    home = story.household((2026, 2, 1, 9))
    story.pair((2026, 2, 2, 9), staff, "household", str(home), "2026-02-02")
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        await conn.execute(
            "UPDATE core.counties SET rules = $2 WHERE adcode = $1", ADCODE,
            '{"hardship_households_per_cadre": null, "five_contacts": null,'
            ' "paired_households_by_rank": {"staff": 1}}',
        )
        [cadre] = await pairing.quotas(conn, SCHEMA, as_of=date(2026, 2, 2))
        assert cadre["compliant"] and [q["rule"] for q in cadre["quotas"]] == ["households_by_rank"]
    finally:
        await conn.execute("UPDATE core.counties SET rules = '{}' WHERE adcode = $1", ADCODE)
        await conn.close()
