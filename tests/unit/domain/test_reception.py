"""Reception schedules: which days they fall on (the short-month rule), and their commands' checks."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.domain import InvalidCommand
from services.domain.commands import parse_command
from services.domain.reception import falls_on


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
