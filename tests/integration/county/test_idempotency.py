"""Resends, reused ids and stale versions, against real PostgreSQL."""
from __future__ import annotations

from uuid import uuid4

from services.county import County
from services.domain import commands as c

from .conftest import TOWNSHIP, VILLAGE, cadre_actor, check_in, enrol, place, register


def events(county: County, originator_id) -> list[str]:
    return [e.topic for e in county.recorder.select_events(originator_id)]


def test_one_visit_resent_five_times_is_one_event_and_one_applied_answer(county, admin):
    household = register(county, admin)
    cadre = cadre_actor(county, enrol(county, admin))
    visit = check_in(household)
    answers = [county.execute(visit, cadre) for _ in range(5)]
    assert [a.status for a in answers] == ["applied"] + ["duplicate"] * 4
    assert all(a.result == {"id": str(visit.command_id), "version": 1} for a in answers)
    assert events(county, visit.command_id) == ["grassroots:Visit.CheckedIn"]
    all_topics = [n.topic for n in county.recorder.select_notifications(start=None, limit=100)]
    assert all_topics.count("grassroots:Visit.CheckedIn") == 1


def test_a_resend_of_a_change_answers_with_the_original_result(county, admin):
    household = register(county, admin)
    retag = c.RetagHousehold(command_id=uuid4(), household_id=household, expected_version=1, tags=["disabled"])
    first = county.execute(retag, admin)
    # Even after the household moved on, the resend is recognised, not judged as stale.
    county.execute(c.RetagHousehold(command_id=uuid4(), household_id=household, expected_version=2, tags=[]), admin)
    again = county.execute(retag, admin)
    assert (first.status, again.status) == ("applied", "duplicate")
    assert again.result == first.result == {"id": str(household), "version": 2}
    assert len(events(county, household)) == 3


def test_the_same_command_id_with_another_payload_is_a_conflict(county, admin):
    household = register(county, admin)
    cadre = cadre_actor(county, enrol(county, admin))
    visit = check_in(household)
    assert county.execute(visit, cadre).status == "applied"
    altered = visit.model_copy(update={"note": "改过的备注"})
    answer = county.execute(altered, cadre)
    assert answer.status == "conflict"
    assert "already used" in answer.reason["en"] and "编号" in answer.reason["zh"]
    assert county.visit(visit.command_id)["note"] == "老人腿脚不便"


def test_a_command_id_reused_for_another_command_type_is_a_conflict(county, admin):
    command_id = uuid4()
    enrol = c.EnrolCadre(command_id=command_id, name="甲", rank="staff", unit="u")
    assert county.execute(enrol, admin).status == "applied"
    other = c.DepartCadre(command_id=command_id, cadre_id=command_id, expected_version=1, reason="调离")
    assert county.execute(other, admin).status == "conflict"
    assert county.cadre(command_id)["departed"] is False


def test_a_stale_expected_version_is_a_conflict_and_changes_nothing(county, admin):
    household = register(county, admin)
    county.execute(c.RetagHousehold(command_id=uuid4(), household_id=household, expected_version=1, tags=[]), admin)
    stale = c.ArchiveHousehold(command_id=uuid4(), household_id=household, expected_version=1, reason="迁出")
    answer = county.execute(stale, admin)
    assert answer.status == "conflict"
    assert "version 2" in answer.reason["en"] and "第 2 版" in answer.reason["zh"]
    assert county.household(household)["archived"] is False
    # Nothing was recorded, so the same command id is free once the client has reloaded.
    fresh = stale.model_copy(update={"expected_version": 2})
    assert county.execute(fresh, admin).status == "applied"


def test_a_rejected_command_leaves_no_receipt_and_is_judged_afresh(county, admin):
    cadre_id = enrol(county, admin)
    cadre = cadre_actor(county, cadre_id)
    household_id = uuid4()
    visit = check_in(household_id)
    assert county.execute(visit, cadre).status == "rejected"  # the household is not registered yet
    county.execute(c.RegisterHousehold(command_id=household_id, village=place(county, VILLAGE),
                                       township=place(county, TOWNSHIP), address="a", lat=18.6, lon=109.7, size=1,
                                       head_name="李"), admin)
    assert county.execute(visit, cadre).status == "applied"
