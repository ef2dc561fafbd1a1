"""Reception schedules: which days they fall on (the short-month rule), their revisions, and their commands'
checks."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.domain import InvalidCommand, InvalidState
from services.domain.commands import parse_command
from services.domain.reception import ReceptionSchedule, falls_on


@pytest.mark.parametrize("day, on, expected", [
    (31, date(2026, 4, 30), True), (31, date(2026, 4, 29), False), (31, date(2026, 5, 31), True),
    (30, date(2026, 2, 28), True), (29, date(2028, 2, 29), True), (29, date(2028, 2, 28), False),
    (10, date(2026, 2, 10), True), (10, date(2026, 2, 28), False),
])
def test_a_monthly_day_the_month_lacks_falls_on_its_last_day(day, on, expected):
    assert falls_on("monthly", day, on) is expected


def test_a_weekly_day_is_an_iso_weekday():
    assert falls_on("weekly", 1, date(2026, 12, 7))  # a Monday
    assert falls_on("weekly", 7, date(2026, 12, 6))  # a Sunday
    assert not falls_on("weekly", 7, date(2026, 12, 7))


def _schedule(**changes):
    return parse_command("set_reception_schedule", uuid.uuid4(), {
        "rank": "village_cadre", "place": "村委会", "cadence": "weekly", "day": 1, "starts_on": "2026-01-01",
        **changes})


@pytest.mark.parametrize("changes, field", [
    ({"day": 8}, "day"), ({"cadence": "monthly", "day": 32}, "day"), ({"day": 0}, "day"),
    ({"rank": None}, ""), ({"cadre_id": str(uuid.uuid4())}, ""),
])
def test_a_bad_schedule_names_what_is_wrong_in_both_languages(changes, field):
    with pytest.raises(InvalidCommand) as refused:
        _schedule(**changes)
    problems = refused.value.context["errors"]
    assert [p["field"] for p in problems] == [field]
    assert problems[0]["zh"] and problems[0]["en"]


def test_a_monthly_schedule_may_fall_on_the_31st_and_a_weekly_one_on_sunday():
    assert _schedule(cadence="monthly", day=31).day == 31
    assert _schedule(day=7).day == 7


def _plan() -> ReceptionSchedule:
    return ReceptionSchedule(id=uuid.uuid4(), cadre_id=None, rank="staff", place="联系点", village=None,
                             cadence="monthly", day=20, starts_on="2026-01-01", set_by="admin")


def test_a_revision_applies_from_today_or_later_never_to_days_already_past():
    plan = _plan()
    with pytest.raises(InvalidState) as refused:
        plan.revise(None, "staff", "新联系点", None, "weekly", 2, "2026-12-05", "2026-12-06", "admin")
    assert refused.value.context["field"] == "from_on" and "2026-12-06" in refused.value.en
    plan.revise(None, "village_cadre", "新联系点", None, "weekly", 2, "2026-12-06", "2026-12-06", "admin")
    assert (plan.rank, plan.cadence, plan.day, plan.effective_on, plan.version) == (
        "village_cadre", "weekly", 2, "2026-12-06", 2)
    [revised] = plan.collect_events()[1:]
    assert type(revised).__qualname__ == "ReceptionSchedule.Revised" and revised.from_on == "2026-12-06"


def test_an_ended_schedule_is_not_revised():
    plan = _plan()
    plan.end("2026-06-30", "admin")
    with pytest.raises(InvalidState, match="ended on 2026-06-30"):
        plan.revise(None, "staff", "联系点", None, "monthly", 10, "2026-12-06", "2026-12-06", "admin")


def test_a_revision_names_one_receiver_and_a_day_like_a_new_schedule():
    revise = {"schedule_id": str(uuid.uuid4()), "expected_version": 1, "rank": "staff", "place": "联系点",
              "cadence": "weekly", "day": 3, "from_on": "2026-12-07"}
    assert parse_command("revise_reception_schedule", uuid.uuid4(), revise).day == 3
    for changes in ({"day": 9}, {"cadre_id": str(uuid.uuid4())}, {"from_on": None}):
        with pytest.raises(InvalidCommand):
            parse_command("revise_reception_schedule", uuid.uuid4(), {**revise, **changes})
