"""Domain rules of the aggregates: each accepted path and each refusal (a bilingual DomainError)."""
from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.domain import Cadre, Household, Interview, InvalidState, Issue, Pairing, Visit, clock

RAISED_AT = datetime(2026, 3, 5, 1, 40, tzinfo=UTC)  # 09:40 in China


def household() -> Household:
    return Household(id=uuid4(), village="469029100001", township="469029100", address="新民村", lat=18.6,
                     lon=109.7, tags=["disabled"], size=3, personal="v1.sealed")


def issue() -> Issue:
    return Issue(id=uuid4(), source_kind="visit", source_id=None, household_id=None, village="469029100001",
                 category="医疗", summary="缺药", raised_by=uuid4(), occurred_at=RAISED_AT)


def names(aggregate) -> list[str]:
    return [type(e).__name__ for e in aggregate.collect_events()]


def test_a_household_is_relocated_retagged_and_archived():
    h = household()
    h.relocate("469029100002", "469029100", "新址", 18.61, 109.71)
    h.retag(["disabled", "subsistence"])
    h.archive("户已迁出")
    assert (h.village, h.tags, h.archived, h.version) == ("469029100002", ["disabled", "subsistence"], True, 4)
    assert names(h) == ["Registered", "Relocated", "Retagged", "Archived"]


@pytest.mark.parametrize("change", [
    lambda h: h.relocate("469029100002", "469029100", "新址", 18.6, 109.7),
    lambda h: h.retag([]),
    lambda h: h.archive("again"),
])
def test_an_archived_household_cannot_change(change):
    h = household()
    h.archive("户已迁出")
    with pytest.raises(InvalidState) as caught:
        change(h)
    assert caught.value.code == "household_archived" and "已归档" in caught.value.zh
    assert h.version == 2


def test_a_cadre_changes_rank_transfers_and_departs():
    cadre = Cadre(id=uuid4(), name="王小明", rank="staff", unit="组织部", township=None, phone=None)
    cadre.change_rank("deputy_section_chief")
    cadre.transfer("什玲镇党委", "469029101")
    cadre.depart("退休")
    assert (cadre.rank, cadre.unit, cadre.township, cadre.departed) == (
        "deputy_section_chief", "什玲镇党委", "469029101", True)
    assert names(cadre) == ["Enrolled", "RankChanged", "Transferred", "Departed"]


def test_a_cadre_cannot_be_given_the_rank_it_holds():
    cadre = Cadre(id=uuid4(), name="王小明", rank="staff", unit="组织部", township=None, phone=None)
    with pytest.raises(InvalidState, match="already holds"):
        cadre.change_rank("staff")


@pytest.mark.parametrize("change", [
    lambda c: c.change_rank("section_chief"), lambda c: c.transfer("u", None), lambda c: c.depart("again"),
])
def test_a_departed_cadre_cannot_change(change):
    cadre = Cadre(id=uuid4(), name="王小明", rank="staff", unit="组织部", township=None, phone=None)
    cadre.depart("调离")
    with pytest.raises(InvalidState) as caught:
        change(cadre)
    assert caught.value.zh == "该干部已离岗。"


def pairing() -> Pairing:
    return Pairing(id=uuid4(), cadre_id=uuid4(), target_kind="household", target_id=str(uuid4()),
                   programme="结穷亲", cadence="quarterly", formed_on="2026-01-10")


def test_a_pairing_ends_once():
    p = pairing()
    p.end("已脱贫", "2026-06-30")
    assert p.ended_on == "2026-06-30"
    with pytest.raises(InvalidState, match="already ended"):
        p.end("again", "2026-07-01")


def test_a_pairing_cannot_end_before_it_was_formed():
    with pytest.raises(InvalidState) as caught:
        pairing().end("错误", "2025-12-31")
    assert "2026-01-10" in caught.value.zh and "2026-01-10" in caught.value.en


def visit() -> Visit:
    return Visit(id=uuid4(), cadre_id=uuid4(), target_kind="household", target_id="x", household_id=None,
                 village=None, kind="home", occurred_at=RAISED_AT, received_at=RAISED_AT, position=None, topics=[],
                 note="", companions=[], device_id=None)


def test_a_visit_is_voided_once():
    v = visit()
    v.void("admin-1", "重复记录")
    assert v.voided
    with pytest.raises(InvalidState, match="already been voided"):
        v.void("admin-1", "again")


def test_an_interview_is_held_between_two_cadres():
    interview = Interview.hold(id=uuid4(), interviewer_id=uuid4(), interviewee_id=uuid4(), form="home",
                               direction="cadre_to_leader", topics=["team"], opinions_count=1, follow_up=False,
                               occurred_at=RAISED_AT, received_at=RAISED_AT, note="")
    assert names(interview) == ["Held"]


def test_a_cadre_cannot_interview_themselves():
    me = uuid4()
    with pytest.raises(InvalidState) as caught:
        Interview.hold(id=uuid4(), interviewer_id=me, interviewee_id=me, form="home", direction="cadre_to_leader",
                       topics=[], opinions_count=0, follow_up=False, occurred_at=RAISED_AT, received_at=RAISED_AT,
                       note="")
    assert caught.value.zh == "约谈对象不能是本人。"


def test_an_issue_goes_through_its_whole_life_and_back():
    i = issue()
    i.route("department", "县卫健委", "2026-03-20", routed_by="admin")
    i.resolve("已补充药品", resolved_by="dept")
    i.reply("已电话答复", replied_by="dept")
    i.rate("unsatisfied", rated_by="cadre")
    i.reopen("仍缺药", reopened_by="cadre")
    i.resolve("再次补充", resolved_by="dept")
    i.rate("satisfied", rated_by="cadre")
    assert (i.state, i.satisfaction, i.department, i.deadline) == ("rated", "satisfied", "县卫健委", "2026-03-20")
    assert names(i) == ["Raised", "Routed", "Resolved", "Replied", "Rated", "Reopened", "Resolved", "Rated"]


def test_a_reopened_issue_can_be_routed_again():
    i = issue()
    i.route("on_the_spot", None, None, routed_by="cadre")
    i.resolve("当场解决", resolved_by="cadre")
    i.reopen("反复", reopened_by="cadre")
    i.route("leadership", None, None, routed_by="admin")
    assert (i.state, i.current_route) == ("routed", "leadership")


def test_an_unresolved_issue_cannot_be_rated():
    i = issue()
    with pytest.raises(InvalidState) as caught:
        i.rate("satisfied", rated_by="cadre")
    assert caught.value.en == "Cannot rate an issue that is raised."
    assert caught.value.zh == "问题当前状态为“已提出”，不能评价。"
    i.route("monthly_review", None, None, routed_by="admin")
    with pytest.raises(InvalidState, match="Cannot rate an issue that is routed"):
        i.rate("satisfied", rated_by="cadre")


@pytest.mark.parametrize(("steps", "action"), [
    ([], lambda i: i.resolve("x", resolved_by="u")),
    ([], lambda i: i.reply("x", replied_by="u")),
    ([], lambda i: i.reopen("x", reopened_by="u")),
    (["route"], lambda i: i.reply("x", replied_by="u")),
    (["route", "resolve"], lambda i: i.route("leadership", None, None, routed_by="u")),
    (["route", "resolve", "reply"], lambda i: i.reply("again", replied_by="u")),
    (["route", "resolve", "reply", "rate"], lambda i: i.rate("satisfied", rated_by="u")),
])
def test_issue_actions_out_of_order_are_refused(steps, action):
    i = issue()
    run = {"route": lambda: i.route("monthly_review", None, None, routed_by="u"),
           "resolve": lambda: i.resolve("x", resolved_by="u"), "reply": lambda: i.reply("x", replied_by="u"),
           "rate": lambda: i.rate("basically_satisfied", rated_by="u")}
    for step in steps:
        run[step]()
    version = i.version
    with pytest.raises(InvalidState):
        action(i)
    assert i.version == version


@pytest.mark.parametrize(("department", "deadline"), [(None, "2026-03-20"), ("县卫健委", None)])
def test_the_domain_refuses_an_incomplete_department_route(department, deadline):
    with pytest.raises(InvalidState) as caught:
        issue().route("department", department, deadline, routed_by="u")
    assert caught.value.code == "department_route_incomplete"


def test_only_the_department_route_names_a_department():
    with pytest.raises(InvalidState, match="Only the department route"):
        issue().route("leadership", "县卫健委", None, routed_by="u")


def test_a_deadline_cannot_precede_the_day_the_issue_was_raised_in_china():
    with pytest.raises(InvalidState, match="2026-03-05"):
        issue().route("department", "县卫健委", "2026-03-04", routed_by="u")
    same_day = issue()
    same_day.route("department", "县卫健委", "2026-03-05", routed_by="u")
    assert same_day.deadline == "2026-03-05"


def test_events_take_their_timestamp_from_the_clock():
    moment = datetime(2025, 2, 1, 3, 0, tzinfo=UTC)
    with clock.at(moment):
        h = household()
        h.retag([])
    assert [e.timestamp for e in h.collect_events()] == [moment, moment]
    assert household().collect_events()[0].timestamp > moment


def test_a_review_decision_routes_the_issue_to_the_department_with_its_deadline():
    from datetime import UTC, datetime
    from uuid import uuid4

    from services.domain import Issue
    issue = Issue(id=uuid4(), source_kind="visit", source_id=None, household_id=None, village="469029100001",
                  category="住房", summary="危房", raised_by=None, occurred_at=datetime(2026, 3, 2, tzinfo=UTC))
    issue.route("monthly_review", None, None, routed_by="admin")
    issue.decide("2026-03", "zhujian", "2026-03-31", "两周内修缮", decided_by="admin")
    assert (issue.state, issue.current_route, issue.department, issue.deadline) == (
        "routed", "department", "zhujian", "2026-03-31")
    routed = issue.collect_events()[-1]
    assert (routed.decision, routed.meeting) == ("两周内修缮", "2026-03")


def test_a_route_stored_before_decisions_existed_still_applies():
    from datetime import UTC, datetime
    from uuid import uuid4

    from services.domain import Issue
    issue = Issue(id=uuid4(), source_kind="visit", source_id=None, household_id=None, village="469029100001",
                  category="住房", summary="危房", raised_by=None, occurred_at=datetime(2026, 3, 2, tzinfo=UTC))
    # As the library's mapper decodes a stored event: its stored state as the object's attributes.
    old = object.__new__(Issue.Routed)
    object.__setattr__(old, "__dict__", {
        "originator_id": issue.id, "originator_version": 2, "timestamp": datetime.now(UTC), "route": "department",
        "department": "县住建局", "deadline": "2026-03-31", "routed_by": "admin"})
    old.mutate(issue)
    assert (issue.state, issue.department) == ("routed", "县住建局")
