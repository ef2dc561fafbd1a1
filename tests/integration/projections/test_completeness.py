"""Household-visit completeness: status against the annual rule, the cadre's due list, percentages."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from projections import completeness
from projections.rules import Rules
from tests.integration.projections.cases import Story, project
from tests.integration.projections.strategies import SHANGHAI

SCHEMA = "county_469029"
T0 = datetime(2026, 1, 3, 9, tzinfo=SHANGHAI)


def test_the_years_visits_are_due_at_the_ends_of_equal_runs_of_months():
    assert completeness.due_dates(2026, 2) == [date(2026, 6, 30), date(2026, 12, 31)]
    assert completeness.due_dates(2026, 4) == [date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30),
                                                date(2026, 12, 31)]
    rules = Rules()
    assert completeness.judge_household(0, date(2026, 5, 1), rules) == ("ok", date(2026, 6, 30))
    assert completeness.judge_household(0, date(2026, 6, 1), rules) == ("due", date(2026, 6, 30))
    assert completeness.judge_household(0, date(2026, 7, 1), rules) == ("overdue", date(2026, 6, 30))
    assert completeness.judge_household(1, date(2026, 7, 1), rules) == ("ok", date(2026, 12, 31))
    assert completeness.judge_household(2, date(2026, 7, 1), rules) == ("ok", date(2027, 6, 30))


def story():
    s = Story()
    cadre = s.cadre(T0, "469029100")
    other = s.cadre(T0, None)
    homes = {name: s.household(T0, village, 18.64 + i / 100, 109.70) for i, (name, village) in enumerate([
        ("never", "469029100201"), ("once", "469029100201"), ("twice", "469029100202"),
        ("paired", "469029101201"), ("new pair", "469029101202"), ("gone", "469029100201")])}
    s.visit(T0 + timedelta(days=60), other, homes["once"])
    s.visit(T0 + timedelta(days=20), other, homes["twice"])
    s.visit(T0 + timedelta(days=160), other, homes["twice"])
    s.pair(T0, cadre, homes["paired"], "quarterly", "2026-01-03")
    s.visit(T0 + timedelta(days=30), cadre, homes["paired"])  # February: Q1 only
    s.pair(datetime(2026, 7, 1, 9, tzinfo=SHANGHAI), cadre, homes["new pair"], "monthly", "2026-07-01")
    s.then(T0 + timedelta(days=5), homes["gone"], "archive", "moved away")
    return s, cadre, other, homes


async def test_statuses_due_list_and_percentages_on_a_day_in_july(database_url, county):
    county("469029")
    s, cadre, other, homes = story()
    conn = await project(database_url, SCHEMA, s.events)
    names = {home.id: name for name, home in homes.items()}
    try:
        july = date(2026, 7, 5)
        statuses = {names[h["household_id"]]: (h["visits_this_year"], h["status"], h["next_due"])
                    for h in await completeness.households(conn, SCHEMA, as_of=july)}
        assert statuses == {
            "never": (0, "overdue", date(2026, 6, 30)), "once": (1, "ok", date(2026, 12, 31)),
            "twice": (2, "ok", date(2027, 6, 30)), "paired": (1, "ok", date(2026, 12, 31)),
            "new pair": (0, "overdue", date(2026, 6, 30)),
        }
        due = [(names[i["household_id"]], i["reason"], i["status"], i["due_date"])
               for i in await completeness.due_list(conn, SCHEMA, cadre.id, as_of=july)]
        overdue = sorted([("never", "annual_rule", "overdue", date(2026, 6, 30)),
                          ("paired", "pairing", "overdue", date(2026, 6, 30))],
                         key=lambda item: str(homes[item[0]].id))
        assert due == [*overdue, ("new pair", "pairing", "due", date(2026, 7, 31))]
        assert await completeness.due_list(conn, SCHEMA, other.id, as_of=july) == []  # no township, no pairs
        shares = await completeness.percentages(conn, SCHEMA, as_of=july)
        assert shares["county"] == {"households": 5, "complete": 1, "complete_pct": 20.0, "ok": 3, "due": 0,
                                    "overdue": 2}
        assert [(t["township"], t["households"], t["complete"]) for t in shares["townships"]] == [
            ("469029100", 3, 1), ("469029101", 2, 0)]
        # In May nothing was due yet, and the July pairing did not exist.
        may = await completeness.due_list(conn, SCHEMA, cadre.id, as_of=date(2026, 5, 10))
        assert [(names[i["household_id"]], i["status"]) for i in may] == [("paired", "due")]
    finally:
        await conn.close()


async def test_a_departed_cadre_has_nothing_due(database_url, county):
    county("469029")
    s, cadre, _, _ = story()
    s.then(datetime(2026, 7, 2, tzinfo=SHANGHAI), cadre, "depart", "retired")
    conn = await project(database_url, SCHEMA, s.events)
    try:
        assert await completeness.due_list(conn, SCHEMA, cadre.id, as_of=date(2026, 7, 5)) == []
        assert len(await completeness.due_list(conn, SCHEMA, cadre.id, as_of=date(2026, 7, 1))) == 3
    finally:
        await conn.close()


async def test_two_pairings_with_one_household_put_it_on_the_due_list_by_the_more_urgent_cadence(
        database_url, county):
    county("469029")
    s = Story()
    cadre = s.cadre(T0, None)
    home = s.household(T0, "469029100201", 18.64, 109.70)
    s.pair(T0, cadre, home, "quarterly", "2026-01-03")  # formed first: a first-come pick would take it
    s.pair(T0, cadre, home, "monthly", "2026-01-03")
    conn = await project(database_url, SCHEMA, s.events)
    try:
        due = await completeness.due_list(conn, SCHEMA, cadre.id, as_of=date(2026, 4, 1))
        # March, the monthly pairing's previous month, went unvisited: overdue since 31 March, not due in June.
        assert [(i["household_id"], i["reason"], i["status"], i["due_date"]) for i in due] == [
            (home.id, "pairing", "overdue", date(2026, 3, 31))]
    finally:
        await conn.close()
