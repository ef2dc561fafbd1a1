"""Two writers on one household at once: exactly one wins, the other is told it conflicted."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

from services.county import County
from services.domain import commands as c
from services.storage.recorder import county_env

from .conftest import TOWNSHIP, cadre_actor, check_in, enrol, place, register


class RacingCounty(County):
    """Both writers decide (and pass the version check) before either saves: the race the database
    must settle, which timing alone would produce only now and then."""

    name = "County"  # the application name decides the table names
    barrier: threading.Barrier

    def _decide(self, command, actor, work):
        refusal = super()._decide(command, actor, work)
        self.barrier.wait(timeout=10)
        return refusal


def test_two_concurrent_writers_on_one_household_one_succeeds_one_conflicts(database_url, county, admin):
    household = register(county, admin)
    racing = RacingCounty(env=county_env(county.adcode, database_url))
    racing.barrier = threading.Barrier(2)
    commands = [
        c.RelocateHousehold(command_id=uuid4(), household_id=household, expected_version=1,
                            village=place(county, "100002"), township=place(county, TOWNSHIP), address="新址一",
                            lat=18.65, lon=109.71),
        c.ArchiveHousehold(command_id=uuid4(), household_id=household, expected_version=1, reason="迁出"),
    ]
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda command: racing.execute(command, admin), commands))
    assert sorted(o.status for o in outcomes) == ["applied", "conflict"]
    loser = next(o for o in outcomes if o.status == "conflict")
    assert "reload" in loser.reason["en"] and "刷新" in loser.reason["zh"]
    assert [e.originator_version for e in county.recorder.select_events(household)] == [1, 2]
    winner = commands[[o.status for o in outcomes].index("applied")]
    assert county.household(household)["archived"] is isinstance(winner, c.ArchiveHousehold)


def test_many_writers_with_the_same_expected_version_leave_exactly_one_change(county, admin):
    household = register(county, admin)
    commands = [c.RetagHousehold(command_id=uuid4(), household_id=household, expected_version=1, tags=[tag])
                for tag in ("disabled", "subsistence", "monitored", "hardship_member")]
    with ThreadPoolExecutor(4) as pool:
        statuses = [o.status for o in pool.map(lambda command: county.execute(command, admin), commands)]
    assert statuses.count("applied") == 1 and statuses.count("conflict") == 3
    assert county.household(household)["version"] == 2


def test_the_same_visit_sent_concurrently_is_applied_once(database_url, county, admin):
    household = register(county, admin)
    cadre = cadre_actor(county, enrol(county, admin))
    racing = RacingCounty(env=county_env(county.adcode, database_url))
    racing.barrier = threading.Barrier(3)
    visit = check_in(household)
    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(lambda _: racing.execute(visit, cadre), range(3)))
    assert sorted(o.status for o in outcomes) == ["applied", "duplicate", "duplicate"]
    assert len({tuple(o.result.items()) for o in outcomes}) == 1
