"""Pairing compliance on hand-written histories: quarter boundaries in China's time zone, and quotas."""
from __future__ import annotations

from datetime import date

import asyncpg

from projections import pairing
from tests.integration.projections.ledger_strategies import Story, project, run_history

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


async def test_a_pairings_verified_visit_stops_counting_once_a_late_check_in_shows_impossible_travel(
        database_url, county):
    """The assessment's completeness part (`by_cadre`): a visit counts as verified until a check-in
    synced later puts its cadre 6.8 km away a minute before it; as of an earlier day it still counted."""
    story = Story()
    cadre = story.cadre((2026, 1, 2, 9))
    home = story.household((2026, 1, 2, 9))
    far = story.household((2026, 1, 2, 9), village="469029101201")
    story.pair((2026, 1, 5, 9), cadre, "household", str(home), "2026-01-05")
    visit = story.visit((2026, 2, 10, 10, 0), cadre, home)
    story.visit((2026, 2, 12, 9), cadre, far, occurred=(2026, 2, 10, 9, 59))  # synced two days late
    conn = await asyncpg.connect(database_url)
    await run_history(conn, database_url, county(ADCODE), story.events, [len(story.events)], 1)  # one by one
    try:
        assert await pairing.by_cadre(conn, SCHEMA, as_of=date(2026, 2, 11)) == {cadre: (1, 1, 1)}
        assert await pairing.by_cadre(conn, SCHEMA, as_of=date(2026, 2, 12)) == {cadre: (1, 1, 0)}
        # what answers now: the verdict kept with the pairing's visit
        assert await conn.fetchval(f"SELECT verified FROM {SCHEMA}.pairing_visits WHERE visit_id = $1", visit) \
            is False
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


async def test_a_pairing_ends_when_its_household_is_archived_and_says_why(database_url, county):
    # Once, an archived household's pairing stayed overdue for ever (check-ins there are refused).
    story = Story()
    cadre = story.cadre((2026, 1, 2, 9))
    home = story.household((2026, 1, 2, 9))
    paired = story.pair((2026, 1, 5, 9), cadre, "household", str(home), "2026-01-05")
    story.then((2026, 5, 10, 9), story.world.households[home], "archive", "搬迁到县城")
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        assert [i["pairing_id"] for i in (await pairing.pairings(conn, SCHEMA, as_of=date(2026, 5, 9)))["items"]] \
            == [paired]
        assert (await pairing.pairings(conn, SCHEMA, as_of=date(2026, 7, 1)))["items"] == []
        assert (await pairing.compliance(conn, SCHEMA, as_of=date(2026, 7, 1)))["pairings"] == 0
        ended = await pairing.one(conn, SCHEMA, paired)
        assert (ended["ended_on"], ended["ended_reason"]) == (date(2026, 5, 10), "household_archived")
        assert (await pairing.needing_a_cadre(conn, SCHEMA))["items"] == []  # nobody to pair: it is archived
    finally:
        await conn.close()


async def test_a_pairing_ends_when_its_cadre_departs_and_the_household_waits_for_a_new_cadre(database_url, county):
    story = Story()
    leaving, staying = story.cadre((2026, 1, 2, 9)), story.cadre((2026, 1, 2, 9))
    alone, shared = story.household((2026, 1, 2, 9)), story.household((2026, 1, 2, 9))
    first = story.pair((2026, 1, 5, 9), leaving, "household", str(alone), "2026-01-05")
    story.pair((2026, 1, 5, 9), leaving, "household", str(shared), "2026-01-05")
    story.pair((2026, 1, 5, 9), staying, "household", str(shared), "2026-01-05")
    departing = story.world.cadres[leaving]
    story.then((2026, 7, 10, 9), departing, "depart", "调离")
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        assert (await pairing.compliance(conn, SCHEMA, as_of=date(2026, 7, 1)))["pairings"] == 3
        after = await pairing.compliance(conn, SCHEMA, as_of=date(2026, 10, 1))
        assert (after["pairings"], after["overdue"]) == (1, 1)  # only the staying cadre's, who never visited
        ended = await pairing.one(conn, SCHEMA, first)
        assert (ended["ended_on"], ended["ended_reason"]) == (date(2026, 7, 10), "cadre_departed")
        # `shared` still has a cadre; `alone` needs a new one.
        needing = (await pairing.needing_a_cadre(conn, SCHEMA))["items"]
        assert [(i["household_id"], i["pairing_id"], i["ended_reason"]) for i in needing] == [
            (alone, first, "cadre_departed")]
    finally:
        await conn.close()

    story.pair((2026, 7, 20, 9), staying, "household", str(alone), "2026-07-20")
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        assert (await pairing.needing_a_cadre(conn, SCHEMA))["items"] == []  # paired again
    finally:
        await conn.close()


async def test_ending_by_hand_after_the_household_was_archived_keeps_the_first_end(database_url, county):
    story = Story()
    cadre = story.cadre((2026, 1, 2, 9))
    home = story.household((2026, 1, 2, 9))
    paired = story.pair((2026, 1, 5, 9), cadre, "household", str(home), "2026-01-05")
    story.then((2026, 5, 10, 9), story.world.households[home], "archive", "搬迁")
    story.then((2026, 6, 1, 9), story.world.pairings[paired], "end", "户已搬迁", "2026-06-01")
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        ended = await pairing.one(conn, SCHEMA, paired)
        assert (ended["ended_on"], ended["ended_reason"]) == (date(2026, 5, 10), "household_archived")
    finally:
        await conn.close()
