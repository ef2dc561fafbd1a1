"""Application rules: who may send which command, and what the county's data allows."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from services.county import Actor, County
from services.domain import NotFound, clock
from services.domain import commands as c

from .conftest import TOWNSHIP, applied, cadre_actor, check_in, enrol, place, raise_issue, register


def department(county: County, name: str = "县卫健委") -> Actor:
    return Actor(user_id=f"dept-{name}", roles={"department"}, county=county.adcode, department=name)


def test_every_command_is_applied_through_its_whole_path(county, admin):
    household = register(county, admin)
    cadre_id = enrol(county, admin)
    other_cadre = enrol(county, admin, name="张书记")
    cadre = cadre_actor(county, cadre_id)
    run = county.execute
    assert run(c.RelocateHousehold(command_id=uuid4(), household_id=household, expected_version=1,
                                   village=place(county, "100002"), township=place(county, TOWNSHIP), address="新址",
                                   lat=18.7, lon=109.6), admin).result["version"] == 2
    assert run(c.RetagHousehold(command_id=uuid4(), household_id=household, expected_version=2,
                                tags=["disabled"]), admin).status == "applied"
    assert run(c.ChangeRank(command_id=uuid4(), cadre_id=other_cadre, expected_version=1,
                            rank="section_chief"), admin).status == "applied"
    assert run(c.TransferCadre(command_id=uuid4(), cadre_id=other_cadre, expected_version=2, unit="什玲镇",
                               township=place(county, "101")), admin).status == "applied"
    pairing = applied(run(c.FormPairing(command_id=uuid4(), cadre_id=cadre_id, target_kind="household",
                                        target_id=str(household), programme="结穷亲", formed_on=date(2026, 1, 10)),
                          admin))
    assert county.pairing(pairing)["cadence"] is None  # left out: the county's default, applied by the read model
    assert run(c.EndPairing(command_id=uuid4(), pairing_id=pairing, expected_version=1, reason="已脱贫",
                            ended_on=date(2026, 6, 30)), admin).status == "applied"
    visit = applied(run(check_in(household), cadre))
    void = c.VoidVisit(command_id=uuid4(), visit_id=visit, expected_version=1, reason="误报")
    assert run(void, admin).status == "applied"
    interview = c.HoldInterview(command_id=uuid4(), interviewee_id=other_cadre, form="one_on_one",
                                direction="cadre_to_leader", topics=["team"], occurred_at=datetime.now(UTC))
    assert run(interview, cadre).status == "applied"
    issue = applied(run(raise_issue(county, household), cadre))
    for command, actor in [
        (c.RouteIssue(command_id=uuid4(), issue_id=issue, expected_version=1, route="department",
                      department="县卫健委", deadline=date.today() + timedelta(days=14)), admin),
        (c.ResolveIssue(command_id=uuid4(), issue_id=issue, expected_version=2, resolution="已补药"),
         department(county)),
        (c.ReplyIssue(command_id=uuid4(), issue_id=issue, expected_version=3, reply="已答复"), department(county)),
        (c.RateIssue(command_id=uuid4(), issue_id=issue, expected_version=4, satisfaction="unsatisfied"), cadre),
        (c.ReopenIssue(command_id=uuid4(), issue_id=issue, expected_version=5, reason="仍缺药"), cadre),
    ]:
        assert run(command, actor).status == "applied", command.type
    assert county.issue(issue)["state"] == "reopened"
    assert run(c.DepartCadre(command_id=uuid4(), cadre_id=other_cadre, expected_version=3, reason="调离"),
               admin).status == "applied"
    assert run(c.ArchiveHousehold(command_id=uuid4(), household_id=household, expected_version=3,
                                  reason="迁出"), admin).status == "applied"
    visit_record = county.visit(visit)
    assert (visit_record["voided"], visit_record["village"], visit_record["cadre_id"]) == (
        True, place(county, "100002"), str(cadre_id))  # the village the household lived in when visited


def test_a_cadre_cannot_register_households_or_enrol_cadres(county, admin):
    cadre = cadre_actor(county, enrol(county, admin))
    answer = county.execute(c.EnrolCadre(command_id=uuid4(), name="冒名", rank="staff", unit="u"), cadre)
    assert answer.status == "rejected"
    assert answer.reason == {"zh": "您的角色无权执行此操作。", "en": "Your role may not enrol cadre."}


def test_an_actor_of_another_county_is_rejected(county, admin):
    stranger = Actor(user_id="admin-9", roles={"county_admin"}, county="469030")
    answer = county.execute(c.EnrolCadre(command_id=uuid4(), name="甲", rank="staff", unit="u"), stranger)
    assert answer.status == "rejected" and "another county" in answer.reason["en"]


def test_a_check_in_is_recorded_as_the_actors_own_cadre(county, admin):
    household = register(county, admin)
    cadre_id = enrol(county, admin)
    visit = applied(county.execute(check_in(household), cadre_actor(county, cadre_id)))
    assert county.visit(visit)["cadre_id"] == str(cadre_id)


def test_a_user_without_a_cadre_record_cannot_check_in(county, admin):
    household = register(county, admin)
    answer = county.execute(check_in(household), admin)
    assert answer.status == "rejected" and "not linked to a cadre" in answer.reason["en"]


def test_a_departed_cadre_cannot_check_in(county, admin):
    household = register(county, admin)
    cadre_id = enrol(county, admin)
    county.execute(c.DepartCadre(command_id=uuid4(), cadre_id=cadre_id, expected_version=1, reason="调离"), admin)
    answer = county.execute(check_in(household), cadre_actor(county, cadre_id))
    assert (answer.status, answer.reason["zh"]) == ("rejected", "该干部已离岗。")


def test_no_check_in_against_an_archived_household(county, admin):
    household = register(county, admin)
    county.execute(c.ArchiveHousehold(command_id=uuid4(), household_id=household, expected_version=1,
                                      reason="迁出"), admin)
    answer = county.execute(check_in(household), cadre_actor(county, enrol(county, admin)))
    assert answer.status == "rejected" and "archived" in answer.reason["en"]


def test_no_check_in_against_an_unknown_household(county, admin):
    answer = county.execute(check_in(uuid4()), cadre_actor(county, enrol(county, admin)))
    assert answer.reason == {"zh": "找不到该农户。", "en": "No such household in this county."}


def test_no_pairing_with_an_unknown_cadre_or_archived_household(county, admin):
    household = register(county, admin)
    unknown = county.execute(c.FormPairing(command_id=uuid4(), cadre_id=uuid4(), target_kind="household",
                                           target_id=str(household), programme="结穷亲", formed_on=date(2026, 1, 1)),
                             admin)
    assert unknown.reason["en"] == "No such cadre in this county."
    county.execute(c.ArchiveHousehold(command_id=uuid4(), household_id=household, expected_version=1,
                                      reason="迁出"), admin)
    archived = county.execute(c.FormPairing(command_id=uuid4(), cadre_id=enrol(county, admin), target_kind="household",
                                            target_id=str(household), programme="结穷亲", formed_on=date(2026, 1, 1)),
                              admin)
    assert archived.status == "rejected" and "archived" in archived.reason["en"]


def test_an_interview_needs_a_known_interviewee_other_than_oneself(county, admin):
    cadre_id = enrol(county, admin)
    cadre = cadre_actor(county, cadre_id)
    for interviewee, message in [(uuid4(), "No such cadre"), (cadre_id, "cannot interview themselves")]:
        answer = county.execute(c.HoldInterview(command_id=uuid4(), interviewee_id=interviewee, form="phone",
                                                direction="leader_to_cadre", occurred_at=datetime.now(UTC)),
                                cadre)
        assert answer.status == "rejected" and message in answer.reason["en"]


def test_a_department_handles_only_issues_routed_to_it(county, admin):
    cadre = cadre_actor(county, enrol(county, admin))
    issue = applied(county.execute(raise_issue(county), cadre))
    county.execute(c.RouteIssue(command_id=uuid4(), issue_id=issue, expected_version=1, route="department",
                                department="县住建局", deadline=date.today() + timedelta(days=7)), admin)
    resolve = c.ResolveIssue(command_id=uuid4(), issue_id=issue, expected_version=2, resolution="已修")
    answer = county.execute(resolve, department(county, "县卫健委"))
    assert answer.status == "rejected" and "your department" in answer.reason["en"]
    assert county.execute(resolve, department(county, "县住建局")).status == "applied"
    reply = c.ReplyIssue(command_id=uuid4(), issue_id=issue, expected_version=3, reply="已答复")
    assert county.execute(reply, department(county, "县卫健委")).status == "rejected"
    assert county.execute(reply, cadre).status == "rejected"


def test_a_cadre_takes_their_own_issue_on_the_spot_but_routes_nothing_else(county, admin):
    cadre = cadre_actor(county, enrol(county, admin))
    colleague = cadre_actor(county, enrol(county, admin, name="同事"), user_id="cadre-2")
    issue = applied(county.execute(raise_issue(county), cadre))
    to_department = c.RouteIssue(command_id=uuid4(), issue_id=issue, expected_version=1, route="department",
                                 department="县卫健委", deadline=date.today() + timedelta(days=7))
    assert county.execute(to_department, cadre).status == "rejected"
    on_the_spot = c.RouteIssue(command_id=uuid4(), issue_id=issue, expected_version=1, route="on_the_spot")
    assert county.execute(on_the_spot, colleague).status == "rejected"
    assert county.execute(on_the_spot, cadre).status == "applied"
    resolve = c.ResolveIssue(command_id=uuid4(), issue_id=issue, expected_version=2, resolution="当场解决")
    assert county.execute(resolve, colleague).status == "rejected"
    assert county.execute(resolve, cadre).status == "applied"
    rate = c.RateIssue(command_id=uuid4(), issue_id=issue, expected_version=3, satisfaction="satisfied")
    assert county.execute(rate, colleague).status == "rejected"
    assert county.execute(rate, cadre).status == "applied"


def test_rating_an_unresolved_issue_is_rejected_with_the_domain_reason(county, admin):
    issue = applied(county.execute(raise_issue(county), cadre_actor(county, enrol(county, admin))))
    answer = county.execute(c.RateIssue(command_id=uuid4(), issue_id=issue, expected_version=1,
                                        satisfaction="satisfied"), admin)
    assert answer.reason == {"zh": "问题当前状态为“已提出”，不能评价。", "en": "Cannot rate an issue that is raised."}


def test_event_timestamps_and_received_at_follow_the_clock(county, admin):
    moment = datetime(2025, 9, 17, 2, 30, tzinfo=UTC)
    household = register(county, admin)
    cadre = cadre_actor(county, enrol(county, admin))
    with clock.at(moment):
        visit = applied(county.execute(check_in(household, occurred_at=moment - timedelta(hours=1)), cadre))
    [event] = county.recorder.select_events(visit)
    decoded = county.mapper.to_domain_event(event)
    assert decoded.timestamp == moment and decoded.received_at == moment
    assert decoded.occurred_at == moment - timedelta(hours=1)
    assert county.repository.get(visit).created_on == moment


def test_reading_an_unknown_or_mistyped_id_is_not_found(county, admin):
    household = register(county, admin)
    with pytest.raises(NotFound):
        county.household(uuid4())
    with pytest.raises(NotFound, match="No such cadre"):
        county.cadre(household)


def test_only_a_county_admin_defines_a_campaign_and_it_reads_back(county, admin):
    command = c.DefineCampaign(command_id=uuid4(), festival="mid_autumn", starts_on=date(2026, 9, 20),
                               ends_on=date(2026, 10, 8), tags=["hardship_member", "empty_nest_elderly"])
    cadre = cadre_actor(county, enrol(county, admin))
    assert county.execute(command, cadre).status == "rejected"
    campaign = applied(county.execute(command, admin))
    assert county.campaign(campaign) == {
        "id": str(campaign), "version": 1, "festival": "mid_autumn", "starts_on": "2026-09-20",
        "ends_on": "2026-10-08", "tags": ["empty_nest_elderly", "hardship_member"]}
    assert county.execute(command, admin).status == "duplicate"
