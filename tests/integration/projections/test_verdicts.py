"""Visit verdicts: distance, accuracy and mock decide `verified`; impossible travel; voids; as_of."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from projections import completeness, coverage, leaderboards, rollup, verdicts
from projections.base import Period
from projections.driver import Driver, FollowedCounty, decoder
from projections.rebuild import rebuild_county
from projections.registry import by_name
from projections.rules import Rules
from tests.integration.projections.cases import Story, project
from tests.integration.projections.strategies import SHANGHAI, store_events

SCHEMA = "county_469029"
T0 = datetime(2026, 6, 1, 9, tzinfo=SHANGHAI)


async def _pages_agree(conn: Any, as_of: date | None = None, **asked: Any) -> None:
    """`visits` (the admin's pages, read in SQL) and `tally` (a cadre's counts) say what `checkins` says
    filtered and sliced in Python, as of the date."""
    every = await verdicts.checkins(conn, SCHEMA, as_of=as_of, **asked)
    for verified in (None, True, False):
        wanted = sorted((c for c in every if verified in (None, c["verified"])),
                        key=lambda c: (c["occurred_at"], c["visit_id"]), reverse=True)
        got = []
        for offset in range(0, len(wanted) + 1, 2):
            page = await verdicts.visits(conn, SCHEMA, as_of=as_of, verified=verified, limit=2, offset=offset, **asked)
            assert page["total"] == len(wanted)
            got += page["items"]
        assert got == wanted, verified
    if "cadre_id" in asked and "period" in asked:
        assert await verdicts.tally(conn, SCHEMA, asked["cadre_id"], asked["period"], as_of=as_of) == (
            len(every), sum(c["verified"] for c in every))


async def test_a_check_in_is_verified_only_when_near_accurate_and_not_mocked(database_url, county):
    county("469029")
    story = Story()
    cadre = story.cadre(T0, "469029100")
    home = story.household(T0, "469029100201", 18.64, 109.70)
    hour = timedelta(hours=1)
    cases = {
        "near": story.visit(T0 + 1 * hour, cadre, home, north_m=100),
        "far": story.visit(T0 + 2 * hour, cadre, home, north_m=200),
        "inaccurate": story.visit(T0 + 3 * hour, cadre, home, accuracy_m=150),
        "mocked": story.visit(T0 + 4 * hour, cadre, home, mock=True),
        "no fix": story.visit(T0 + 5 * hour, cadre, home, fix=False),
        "enterprise": story.visit(T0 + 6 * hour, cadre, None, lat=18.64, lon=109.70),
    }
    conn = await project(database_url, SCHEMA, story.events)
    try:
        got = {c["visit_id"]: c for c in await verdicts.checkins(conn, SCHEMA)}
        judged = {name: got[visit.id]["verified"] for name, visit in cases.items()}
        assert judged == {"near": True, "far": False, "inaccurate": False, "mocked": False, "no fix": False,
                          "enterprise": True}
        assert 95 < got[cases["near"].id]["distance_m"] < 105
        assert got[cases["no fix"].id]["distance_m"] is None and got[cases["enterprise"].id]["distance_m"] is None
        summary = await verdicts.summary(conn, SCHEMA, period=Period.month(2026, 6))
        assert summary == {"checkins": 6, "verified": 2, "without_position": 1, "mocked": 1, "too_far": 1,
                           "poor_accuracy": 1, "impossible_travel": 0, "backdated": 0, "future": 0}
    finally:
        await conn.close()


async def test_a_county_that_accepts_mock_fixes_verifies_them(database_url, county):
    county("469029")
    story = Story()
    cadre = story.cadre(T0, None)
    home = story.household(T0, "469029100201", 18.64, 109.70)
    story.visit(T0, cadre, home, mock=True)
    conn = await project(database_url, SCHEMA, story.events, Rules(mock_fixes_rejected=False))
    try:
        [checkin] = await verdicts.checkins(conn, SCHEMA)
        assert checkin["verified"] and checkin["is_mock"]
    finally:
        await conn.close()


async def test_impossible_travel_is_judged_between_consecutive_check_ins_even_when_synced_late(database_url, county):
    county("469029")
    story = Story()
    cadre = story.cadre(T0, None)
    here = story.household(T0, "469029100201", 18.64, 109.70)
    far = story.household(T0, "469029101201", 18.64 + 0.45, 109.70)  # 50 km north
    first = story.visit(T0 + timedelta(hours=1), cadre, here)
    second = story.visit(T0 + timedelta(hours=3), cadre, far)  # 50 km in 2 h: 25 km/h, fine
    # Synced a day later: a check-in at `far` 10 minutes after the first one.
    late = story.visit(T0 + timedelta(days=1), cadre, far, occurred_at=T0 + timedelta(hours=1, minutes=10))
    conn = await project(database_url, SCHEMA, story.events)
    try:
        before = {c["visit_id"]: c for c in await verdicts.checkins(conn, SCHEMA, as_of=date(2026, 6, 1))}
        assert not before[second.id]["impossible_travel"]
        assert 24 < before[second.id]["travel_kmh"] < 26
        after = {c["visit_id"]: c for c in await verdicts.checkins(conn, SCHEMA)}
        assert after[late.id]["impossible_travel"] and after[late.id]["previous_visit_id"] == first.id
        assert not after[second.id]["impossible_travel"]  # now 0 km from the late one
        assert after[first.id]["previous_visit_id"] is None
        # Asking about one cadre or one household judges the same chain.
        assert {c["visit_id"]: c for c in await verdicts.checkins(conn, SCHEMA, cadre_id=cadre.id)} == after
        at_far = await verdicts.checkins(conn, SCHEMA, household_id=far.id)
        assert [c for c in at_far if c["impossible_travel"]] == [after[late.id]]
        for as_of in (None, date(2026, 6, 1)):
            await _pages_agree(conn, as_of)
            await _pages_agree(conn, as_of, cadre_id=cadre.id, period=Period.month(2026, 6))
            await _pages_agree(conn, as_of, household_id=far.id, period=Period(date(2026, 6, 1), date(2026, 6, 1)))
    finally:
        await conn.close()


async def test_a_voided_check_in_disappears_from_the_day_it_was_voided(database_url, county):
    county("469029")
    story = Story()
    cadre = story.cadre(T0, None)
    home = story.household(T0, "469029100201", 18.64, 109.70)
    visit = story.visit(T0, cadre, home)
    story.then(T0 + timedelta(days=3), visit, "void", "admin", "entered twice")
    conn = await project(database_url, SCHEMA, story.events)
    try:
        assert [c["visit_id"] for c in await verdicts.checkins(conn, SCHEMA, as_of=date(2026, 6, 3))] == [visit.id]
        assert await verdicts.checkins(conn, SCHEMA, as_of=date(2026, 6, 4)) == []
        assert await verdicts.checkins(conn, SCHEMA) == []
        assert await verdicts.checkins(conn, SCHEMA, as_of=date(2026, 5, 31)) == []  # not yet recorded
        for as_of in (None, date(2026, 5, 31), date(2026, 6, 3), date(2026, 6, 4)):
            await _pages_agree(conn, as_of, cadre_id=cadre.id, period=Period.month(2026, 6))
    finally:
        await conn.close()


async def test_a_check_in_is_judged_against_where_the_household_lived_at_the_time(database_url, county):
    county("469029")
    story = Story()
    cadre = story.cadre(T0, None)
    home = story.household(T0, "469029100201", 18.64, 109.70)
    before = story.visit(T0 + timedelta(hours=1), cadre, home)
    story.then(T0 + timedelta(days=1), home, "relocate", "469029100202", "469029100", "", 18.70, 109.70)
    after = story.visit(T0 + timedelta(days=2), cadre, home)
    conn = await project(database_url, SCHEMA, story.events)
    try:
        got = {c["visit_id"]: c for c in await verdicts.checkins(conn, SCHEMA)}
        assert got[before.id]["verified"] and got[before.id]["distance_m"] < 1
        assert got[after.id]["verified"] and got[after.id]["distance_m"] < 1  # the fix was at the new home
    finally:
        await conn.close()


async def test_a_check_in_received_long_after_it_happened_or_dated_in_the_future_is_not_verified(
        database_url, county):
    county("469029")
    story = Story()
    cadre = story.cadre(T0, None)
    home = story.household(T0, "469029100201", 18.64, 109.70)
    cases = {
        # three weeks offline in the mountains: fine
        "offline": story.visit(T0 + timedelta(days=21), cadre, home, occurred_at=T0 + timedelta(hours=1)),
        # received 40 days after it happened: a phone clock set back, or written up long after
        "backdated": story.visit(T0 + timedelta(days=41), cadre, home, occurred_at=T0 + timedelta(days=1)),
        # dated 5 minutes ahead of the server: clocks drift
        "drift": story.visit(T0 + timedelta(days=42), cadre, home, occurred_at=T0 + timedelta(days=42, minutes=5)),
        # dated 2 hours ahead
        "future": story.visit(T0 + timedelta(days=43), cadre, home, occurred_at=T0 + timedelta(days=43, hours=2)),
    }
    conn = await project(database_url, SCHEMA, story.events)
    try:
        got = {c["visit_id"]: c for c in await verdicts.checkins(conn, SCHEMA)}
        assert {name: (got[v.id]["verified"], got[v.id]["reasons"]) for name, v in cases.items()} == {
            "offline": (True, []), "backdated": (False, ["backdated"]), "drift": (True, []),
            "future": (False, ["future"])}
        audit = await verdicts.page(conn, SCHEMA)
        assert {i["visit_id"]: i["reasons"] for i in audit["items"]} == {
            v.id: got[v.id]["reasons"] for v in cases.values()}
        assert [i["visit_id"] for i in (await verdicts.page(conn, SCHEMA, reason="backdated"))["items"]] == [
            cases["backdated"].id]
        assert [i["visit_id"] for i in (await verdicts.page(conn, SCHEMA, reason="future"))["items"]] == [
            cases["future"].id]
        summary = await verdicts.summary(conn, SCHEMA)
        assert (summary["verified"], summary["backdated"], summary["future"]) == (2, 1, 1)
    finally:
        await conn.close()
    # A county that allows 60 days verifies the one received after 40.
    conn = await project(database_url, SCHEMA, story.events, Rules(backdated_after_days=60))
    try:
        got = {c["visit_id"]: c for c in await verdicts.checkins(conn, SCHEMA)}
        assert got[cases["backdated"].id]["verified"] and got[cases["backdated"].id]["reasons"] == []
    finally:
        await conn.close()


async def test_only_the_kinds_the_rules_count_are_visits_in_every_figure(database_url, county):
    county("469029")
    story = Story()
    cadre = story.cadre(T0, "469029100")
    called = story.household(T0, "469029100201", 18.64, 109.70)
    visited = story.household(T0, "469029100201", 18.65, 109.70)
    story.visit(T0 + timedelta(hours=1), cadre, called, kind="phone")
    story.visit(T0 + timedelta(hours=2), cadre, visited, kind="home")
    mocked = story.household(T0, "469029100201", 18.66, 109.70)
    story.visit(T0 + timedelta(hours=3), cadre, mocked, kind="home", mock=True)  # a visit, not a verified one
    june = Period.month(2026, 6)

    async def figures(rules: Rules) -> tuple[Any, ...]:
        conn = await project(database_url, SCHEMA, story.events, rules,
                             ["verdicts", "coverage", "completeness", "leaderboards"])
        try:
            [whole] = await coverage.coverage(conn, SCHEMA, june, "county")
            [whole_range] = await coverage.coverage(conn, SCHEMA, Period(date(2026, 6, 1), date(2026, 6, 2)),
                                                    "county")
            assert whole_range == {**whole, "key": whole["key"]}
            homes = {h["household_id"]: h["visits_this_year"] for h in await completeness.households(conn, SCHEMA)}
            [board] = (await leaderboards.cadres(conn, SCHEMA, june))["items"]
            contacts = len(await verdicts.checkins(conn, SCHEMA))  # the audit still lists every contact
            return (whole["visits"], whole["verified_visits"], whole["visited_once"], whole["verified_visited"],
                    whole["verified_coverage_pct"], homes[called.id], homes[visited.id], board["verified_visits"],
                    contacts)
        finally:
            await conn.close()

    assert await figures(Rules()) == (2, 1, 2, 1, 33.3, 0, 1, 1, 3)
    assert await figures(Rules(visit_kinds_counted=["home", "phone"])) == (3, 2, 3, 2, 66.7, 1, 1, 2, 3)


async def test_a_verdict_turned_by_a_late_sync_or_a_void_turns_every_figure_from_that_day(database_url, county):
    """Coverage, the leaderboards and the rollup count what the audit says: a check-in synced late that makes an earlier
    verified visit impossible travel takes that visit out of the verified figures on the day it came in, and
    voiding the late one puts it back on the day of the void (as_of sees each day as it was)."""
    county("469029")
    story = Story()
    cadre = story.cadre(T0, None)
    here = story.household(T0, "469029100201", 18.64, 109.70)
    first = story.visit(T0 + timedelta(hours=1), cadre, here)
    # Synced two days later, for `here` but 50 km away (too far: not verified itself), 10 minutes before the
    # first: the first is 300 km/h from it.
    late = story.visit(T0 + timedelta(days=2), cadre, here, north_m=50_000, occurred_at=T0 + timedelta(minutes=50))
    story.then(T0 + timedelta(days=4), late, "void", "admin", "the phone's clock was wrong")
    june = Period.month(2026, 6)

    async def figures(conn: Any, day: date) -> tuple[Any, ...]:
        audit = {c["visit_id"]: c["verified"] for c in await verdicts.checkins(conn, SCHEMA, as_of=day)}
        await _pages_agree(conn, day, cadre_id=cadre.id, period=june)
        by_village = {r["key"]: r["verified_visits"] for r in await coverage.coverage(conn, SCHEMA, june, as_of=day)}
        [board] = (await leaderboards.cadres(conn, SCHEMA, june, as_of=day))["items"]
        [month] = [m for m in await rollup.county_months(conn, "469029", as_of=day) if m["month"] == june.start]
        summary = await verdicts.summary(conn, SCHEMA, period=june, as_of=day)
        return (audit.get(first.id), audit.get(late.id), by_village, board["verified_visits"],
                month["verified_visits"], (summary["checkins"], summary["verified"], summary["impossible_travel"]))

    models = ["verdicts", "coverage", "leaderboards", "rollup"]
    for batch in ([story.events], [story.events[:-2], story.events[-2:]]):
        conn = await project(database_url, SCHEMA, [], names=models)
        try:
            await conn.execute("DELETE FROM rollup.rollup_county_months WHERE county = '469029'")
            for events in batch:  # the second time, the void in a batch of its own
                await store_events(conn, SCHEMA, events)
                await Driver(database_url, [by_name(n) for n in models], decoder(), 1000, 2).process(
                    conn, FollowedCounty("469029", SCHEMA, Rules()))
            assert await figures(conn, date(2026, 6, 2)) == (True, None, {"469029100201": 1}, 1, 1, (1, 1, 0))
            assert await figures(conn, date(2026, 6, 3)) == (False, False, {"469029100201": 0}, 0, 0, (2, 0, 1))
            assert await figures(conn, date(2026, 6, 5)) == (True, None, {"469029100201": 1}, 1, 1, (1, 1, 0))
            await rebuild_county(conn, SCHEMA, [by_name("coverage"), by_name("leaderboards")])
            assert await figures(conn, date(2026, 6, 3)) == (False, False, {"469029100201": 0}, 0, 0, (2, 0, 1))
            assert await figures(conn, date(2026, 6, 5)) == (True, None, {"469029100201": 1}, 1, 1, (1, 1, 0))
        finally:
            await conn.close()


async def test_the_audit_summary_takes_back_a_voided_check_in_as_it_stood_when_voided(database_url, county):
    """A check-in turned impossible travel by a late sync and then voided leaves the kept summary as it left
    the check-ins (neither verified nor impossible travel any more), and each day in between as it stood."""
    county("469029")
    story = Story()
    cadre = story.cadre(T0, None)
    here = story.household(T0, "469029100201", 18.64, 109.70)
    first = story.visit(T0 + timedelta(hours=1), cadre, here)
    stored = len(story.events)
    story.visit(T0 + timedelta(days=2), cadre, here, north_m=50_000, occurred_at=T0 + timedelta(minutes=50))
    story.then(T0 + timedelta(days=3), first, "void", "admin", "visited the wrong home")
    june = Period.month(2026, 6)
    # The sync and the void in one batch after the visit's; then all three in one.
    for batches in ((story.events[:stored], story.events[stored:]), (story.events,)):
        conn = await project(database_url, SCHEMA, [], names=["verdicts"])
        try:
            for events in batches:
                await store_events(conn, SCHEMA, events)
                await Driver(database_url, [by_name("verdicts")], decoder(), 1000, 2).process(
                    conn, FollowedCounty("469029", SCHEMA, Rules()))
            for day, wanted in ((date(2026, 6, 2), (1, 1, 0, 0)), (date(2026, 6, 3), (2, 0, 1, 1)),
                                (date(2026, 6, 4), (1, 0, 0, 1)), (None, (1, 0, 0, 1))):
                summary = await verdicts.summary(conn, SCHEMA, period=june, as_of=day)
                figures = (summary["checkins"], summary["verified"], summary["impossible_travel"], summary["too_far"])
                assert figures == wanted, (len(batches), day)
                # a range no kept figure covers, counted from the check-ins, says the same
                counted = await verdicts.summary(conn, SCHEMA, period=Period.parse("2026-05-31..2026-06-30"),
                                                 as_of=day)
                assert counted == summary
        finally:
            await conn.close()
