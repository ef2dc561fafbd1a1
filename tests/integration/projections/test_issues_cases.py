"""The issue ledger on hand-written histories: overdue department routes, department scope, the
monthly-review agenda, satisfaction and reopening."""
from __future__ import annotations

from datetime import date

import pytest

from projections import issues
from tests.integration.projections.ledger_strategies import Story, project

ADCODE = "469030"


async def test_a_department_issue_past_its_deadline_is_overdue_until_resolved(database_url, county):
    story = Story()
    issue = story.issue((2026, 5, 4, 10))
    story.then((2026, 5, 4, 11), issue, "route", "department", "交通局", "2026-05-10", "admin")
    story.then((2026, 5, 12, 9), issue, "resolve", "road mended", "交通局")
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        on = {day: (await issues.issues(conn, f"county_{ADCODE}", as_of=day))["items"][0]["status"]
              for day in (date(2026, 5, 10), date(2026, 5, 11), date(2026, 5, 12))}
        assert on == {date(2026, 5, 10): "open", date(2026, 5, 11): "overdue", date(2026, 5, 12): "resolved"}
        [row] = await issues.ledger(conn, f"county_{ADCODE}", "department", as_of=date(2026, 5, 11))
        assert (row["key"], row["open"], row["overdue"], row["resolved"]) == ("交通局", 1, 1, 0)
        resolved = await issues.summary(conn, f"county_{ADCODE}", as_of=date(2026, 5, 12))
        assert resolved["resolved"] == 1 and resolved["mean_resolution_hours"] == 8 * 24 - 1
    finally:
        await conn.close()


async def test_a_department_user_sees_only_its_own_department(database_url, county):
    story = Story()
    for department, category in (("交通局", "roads"), ("水务局", "water"), ("水务局", "water")):
        issue = story.issue((2026, 6, 1, 10), category=category)
        story.then((2026, 6, 1, 11), issue, "route", "department", department, "2026-06-30", "admin")
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        scoped = await issues.ledger(conn, f"county_{ADCODE}", "category", department="水务局", as_of=date(2026, 6, 2))
        assert [(r["key"], r["total"]) for r in scoped] == [("water", 2)]
        page = await issues.issues(conn, f"county_{ADCODE}", department="交通局", as_of=date(2026, 6, 2))
        assert [i["department"] for i in page["items"]] == ["交通局"]
    finally:
        await conn.close()


async def test_the_review_agenda_holds_issues_routed_since_the_last_friday_meeting(database_url, county):
    # May 2026: the last Friday is the 29th; June's is the 26th.
    story = Story()
    early = story.issue((2026, 5, 20, 9))
    story.then((2026, 5, 20, 10), early, "route", "monthly_review", None, None, "admin")
    story.then((2026, 5, 30, 10), early, "resolve", "settled at May's meeting", "admin")
    meeting_day = story.issue((2026, 5, 29, 9))
    story.then((2026, 5, 29, 10), meeting_day, "route", "monthly_review", None, None, "admin")
    late = story.issue((2026, 6, 3, 9))
    story.then((2026, 6, 3, 10), late, "route", "monthly_review", None, None, "admin")
    elsewhere = story.issue((2026, 6, 4, 9))
    story.then((2026, 6, 4, 10), elsewhere, "route", "leadership", None, None, "admin")
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        agenda = await issues.review_agenda(conn, f"county_{ADCODE}", as_of=date(2026, 6, 10))
        assert (agenda["last_meeting"], agenda["meeting_on"]) == (date(2026, 5, 29), date(2026, 6, 26))
        # May's meeting-day issue is still open: carried to June's agenda; the resolved one is not.
        assert [(i["issue_id"], i["carried_over"]) for i in agenda["items"]] == [(meeting_day.id, True),
                                                                                 (late.id, False)]
        on_meeting_day = await issues.review_agenda(conn, f"county_{ADCODE}", as_of=date(2026, 5, 29))
        assert on_meeting_day["meeting_on"] == date(2026, 5, 29)
        assert [i["issue_id"] for i in on_meeting_day["items"]] == [early.id, meeting_day.id]
    finally:
        await conn.close()


async def test_an_issue_still_open_stays_on_every_months_agenda_until_it_is_resolved(database_url, county):
    # Raised and routed to the monthly review in March 2026; meetings on the last Fridays: 27 March,
    # 24 April, 29 May, 26 June. Still open through April and May, resolved on 3 June.
    story = Story()
    lingering = story.issue((2026, 3, 2, 9), category="饮水")
    story.then((2026, 3, 2, 10), lingering, "route", "monthly_review", None, None, "admin")
    story.then((2026, 6, 3, 10), lingering, "resolve", "新水管已通", "admin")
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        for day, carried in ((date(2026, 3, 10), False), (date(2026, 4, 10), True), (date(2026, 5, 10), True),
                             (date(2026, 6, 2), True)):
            agenda = await issues.review_agenda(conn, f"county_{ADCODE}", as_of=day)
            mine = [i for i in agenda["items"] if i["issue_id"] == lingering.id]
            assert [(i["carried_over"], i["status"] != "resolved") for i in mine] == [(carried, True)], day
        after = await issues.review_agenda(conn, f"county_{ADCODE}", as_of=date(2026, 6, 10))
        assert lingering.id not in {i["issue_id"] for i in after["items"]}
    finally:
        await conn.close()


async def test_satisfaction_counts_basically_satisfied_and_a_reopened_issue_loses_its_rating(database_url, county):
    story = Story()
    kept, reopened = story.issue((2026, 7, 1, 9)), story.issue((2026, 7, 1, 9))
    for issue, rating in ((kept, "basically_satisfied"), (reopened, "unsatisfied")):
        story.then((2026, 7, 1, 10), issue, "route", "on_the_spot", None, None, "cadre")
        story.then((2026, 7, 1, 11), issue, "resolve", "done", "cadre")
        story.then((2026, 7, 2, 9), issue, "rate", rating, "resident")
    story.then((2026, 7, 3, 9), reopened, "reopen", "still broken", "resident")
    conn = await project(database_url, county(ADCODE), story.events)
    try:
        before = await issues.summary(conn, f"county_{ADCODE}", as_of=date(2026, 7, 2))
        after = await issues.summary(conn, f"county_{ADCODE}", as_of=date(2026, 7, 3))
        assert (before["rated"], before["satisfied"], before["satisfaction_pct"]) == (2, 1, 50.0)
        assert (after["rated"], after["satisfied"], after["satisfaction_pct"], after["open"]) == (1, 1, 100.0, 1)
    finally:
        await conn.close()


async def test_a_bad_cursor_or_grouping_is_a_clear_error(database_url, county):
    conn = await project(database_url, county(ADCODE), [])
    try:
        with pytest.raises(ValueError, match="not a cursor"):
            await issues.issues(conn, f"county_{ADCODE}", after="garbage")
        with pytest.raises(ValueError, match="groups by one of"):
            await issues.ledger(conn, f"county_{ADCODE}", "household_id")
    finally:
        await conn.close()
