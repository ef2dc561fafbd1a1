"""Crypto-shredding: once a household's key is deleted its personal fields read as erased, while every
event still loads."""
from __future__ import annotations

from services.county import County
from services.storage.names import event_mapper

from .conftest import VILLAGE, cadre_actor, check_in, enrol, place, register


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
