"""Crypto-shredding: once a household's key is deleted its personal fields read as erased, while every
event still loads."""
from __future__ import annotations

from uuid import UUID, uuid4

from services.county import County
from services.domain import commands as c
from services.storage.names import event_mapper

from .conftest import TOWNSHIP, VILLAGE, applied, cadre_actor, check_in, enrol, place, raise_issue, register


def test_personal_fields_are_stored_sealed_and_read_back_opened(county, admin):
    household = register(county, admin)
    record = county.household(household)
    assert (record["head_name"], record["phone"], record["notes"], record["erased"]) == (
        "黄阿妹", "13800000000", "独居老人", False)
    with county.recorder.datastore.transaction() as cursor:
        cursor.execute(f"SELECT state FROM {county.schema}.county_events")
        stored = b"".join(bytes(row["state"]) for row in cursor.fetchall())
    assert "黄阿妹".encode() not in stored and b"13800000000" not in stored


def test_without_the_key_personal_fields_read_as_erased_but_events_still_load(county: County, admin):
    household = register(county, admin)
    cadre = cadre_actor(county, enrol(county, admin))
    visit = check_in(household)
    county.execute(visit, cadre)
    assert county.visit(visit.command_id)["note"] == "老人腿脚不便"

    assert county.keys.delete(household) is True
    assert county.keys.delete(household) is False

    record = county.household(household)
    assert (record["head_name"], record["phone"], record["notes"], record["erased"]) == (None, None, None, True)
    assert (record["village"], record["tags"]) == (place(county, VILLAGE), ["empty_nest_elderly"])
    erased_visit = county.visit(visit.command_id)
    assert (erased_visit["note"], erased_visit["note_erased"], erased_visit["kind"]) == (None, True, "home")
    mapper = event_mapper()
    decoded = [mapper.to_domain_event(n) for n in county.recorder.select_notifications(start=None, limit=100)]
    assert [type(e).__name__ for e in decoded].count("Registered") == 1
    assert county.repository.get(household).personal.startswith("v1.")


def test_a_visit_with_no_note_stores_no_token(county, admin):
    household = register(county, admin)
    cadre = cadre_actor(county, enrol(county, admin))
    visit = check_in(household, note="")
    county.execute(visit, cadre)
    assert county.repository.get(visit.command_id).note == ""
    assert county.visit(visit.command_id)["note"] == ""


# ---- free text about a household: sealed with its key too ----------------------------------------------------

ADDRESS, NEW_ADDRESS, ARCHIVE_REASON = "保城镇新民村三组12号", "什聘村五组8号", "户主黄阿妹已去世"
SUMMARY, RESOLUTION = "黄阿妹腿疾无钱医治", "已为黄阿妹办理医疗救助"
REPLY, REOPEN = "县民政局答复黄阿妹", "黄阿妹仍未领到"


def stored_events(county: County) -> bytes:
    with county.recorder.datastore.transaction() as cursor:
        cursor.execute(f"SELECT state FROM {county.schema}.county_events")
        return b"".join(bytes(row["state"]) for row in cursor.fetchall())


def a_handled_issue(county: County, admin, household) -> UUID:
    """An issue about the household, resolved, replied to and reopened (each with its own text)."""
    issue = applied(county.execute(raise_issue(county, household, summary=SUMMARY), admin))
    steps = [c.RouteIssue(command_id=uuid4(), issue_id=issue, expected_version=1, route="on_the_spot"),
             c.ResolveIssue(command_id=uuid4(), issue_id=issue, expected_version=2, resolution=RESOLUTION),
             c.ReplyIssue(command_id=uuid4(), issue_id=issue, expected_version=3, reply=REPLY),
             c.ReopenIssue(command_id=uuid4(), issue_id=issue, expected_version=4, reason=REOPEN)]
    for step in steps:
        applied(county.execute(step, admin))
    return issue


def test_address_archive_reason_and_issue_texts_are_stored_sealed_and_read_back_opened(county: County, admin):
    household = register(county, admin, address=ADDRESS)
    issue = a_handled_issue(county, admin, household)
    applied(county.execute(c.RelocateHousehold(command_id=uuid4(), household_id=household, expected_version=1,
                                               village=place(county, VILLAGE), township=place(county, TOWNSHIP),
                                               address=NEW_ADDRESS, lat=18.65, lon=109.71), admin))
    applied(county.execute(c.ArchiveHousehold(command_id=uuid4(), household_id=household, expected_version=2,
                                              reason=ARCHIVE_REASON), admin))
    stored = stored_events(county)
    for text in (ADDRESS, NEW_ADDRESS, ARCHIVE_REASON, SUMMARY, RESOLUTION, REPLY, REOPEN, "黄阿妹"):
        assert text.encode() not in stored, text
    assert county.household(household)["address"] == NEW_ADDRESS
    record = county.issue(issue)
    assert (record["summary"], record["resolution"], record["reply"], record["erased"]) == (
        SUMMARY, RESOLUTION, REPLY, False)


def test_after_erasure_the_texts_read_as_erased_and_the_issue_can_still_be_closed(county: County, admin):
    household = register(county, admin, address=ADDRESS)
    issue = a_handled_issue(county, admin, household)
    assert county.keys.delete(household)

    assert county.household(household)["address"] is None
    record = county.issue(issue)
    assert (record["summary"], record["resolution"], record["reply"], record["erased"]) == (None, None, None, True)
    assert (record["state"], record["category"]) == ("reopened", "医疗")  # the handling remains

    # Text about an erased household is not kept: resolving and archiving still work, without it.
    applied(county.execute(c.ResolveIssue(command_id=uuid4(), issue_id=issue, expected_version=5,
                                          resolution="再次办结：黄阿妹已领到"), admin))
    assert county.repository.get(issue).resolution == ""
    assert county.issue(issue)["state"] == "resolved"
    applied(county.execute(c.ArchiveHousehold(command_id=uuid4(), household_id=household, expected_version=1,
                                              reason="本人申请删除后归档"), admin))
    assert county.repository.get(household).archive_reason == ""
    assert "黄阿妹".encode() not in stored_events(county)


def test_no_new_text_is_recorded_about_an_erased_household(county: County, admin):
    household = register(county, admin)
    county.keys.delete(household)
    raised = county.execute(raise_issue(county, household, summary="黄阿妹又来反映"), admin)
    assert raised.status == "rejected" and "erased" in raised.reason["en"]
    moved = county.execute(c.RelocateHousehold(command_id=uuid4(), household_id=household, expected_version=1,
                                               village=place(county, VILLAGE), township=place(county, TOWNSHIP),
                                               address=NEW_ADDRESS, lat=18.65, lon=109.71), admin)
    assert moved.status == "rejected" and "erased" in moved.reason["en"]


def test_an_issue_about_no_household_keeps_its_summary_plain(county: County, admin):
    issue = applied(county.execute(raise_issue(county, None, summary="村道塌方需修复"), admin))
    assert county.repository.get(issue).summary == "村道塌方需修复"
    assert county.issue(issue)["summary"] == "村道塌方需修复" and county.issue(issue)["erased"] is False


def test_void_and_pairing_end_reasons_about_a_household_are_sealed_too(county: County, admin):
    household = register(county, admin)
    cadre = enrol(county, admin)
    visit = check_in(household)
    applied(county.execute(visit, cadre_actor(county, cadre)))
    applied(county.execute(c.VoidVisit(command_id=uuid4(), visit_id=visit.command_id, expected_version=1,
                                       reason="黄阿妹当天不在家"), admin))
    pairing = applied(county.execute(c.FormPairing(command_id=uuid4(), cadre_id=cadre, target_kind="household",
                                                   target_id=str(household), programme="结穷亲",
                                                   formed_on="2026-01-05"), admin))
    applied(county.execute(c.EndPairing(command_id=uuid4(), pairing_id=pairing, expected_version=1,
                                        reason="黄阿妹搬去女儿家", ended_on="2026-06-30"), admin))
    assert "黄阿妹".encode() not in stored_events(county)
    assert county.repository.get(visit.command_id).void_reason.startswith("v1.")
    assert county.repository.get(pairing).end_reason.startswith("v1.")
