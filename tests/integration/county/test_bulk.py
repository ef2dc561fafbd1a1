"""execute_many: the bulk path (demo loader) keeps every rule and every answer of execute."""
from __future__ import annotations

from uuid import uuid4

from services.county import Actor
from services.domain import commands as c
from services.domain.receipt import CommandReceipt
from services.storage.recorder import MAX_EVENTS_PER_SAVE

from .conftest import TOWNSHIP, VILLAGE, cadre_actor, check_in, enrol, place


def households(county, count: int) -> list[c.RegisterHousehold]:
    return [c.RegisterHousehold(command_id=uuid4(), village=place(county, VILLAGE), township=place(county, TOWNSHIP),
                                address=f"{n}号", lat=18.64, lon=109.70, size=2, head_name=f"户主{n}", notes="")
            for n in range(count)]


def test_a_bulk_load_applies_everything_in_saves_of_at_most_500_events(county, admin, monkeypatch):
    saves: list[int] = []
    insert = county.recorder.insert_events
    monkeypatch.setattr(county.recorder, "insert_events",
                        lambda events, **kw: saves.append(len(events)) or insert(events, **kw))
    registrations = households(county, 300)
    cadre = cadre_actor(county, enrol(county, admin))
    saves.clear()
    outcomes = county.execute_many(registrations, admin)
    # Visits may refer to households registered earlier in the same call.
    visits = [check_in(r.command_id, note=f"第{n}次") for n, r in enumerate(registrations)]
    outcomes += county.execute_many(visits, cadre)
    assert {o.status for o in outcomes} == {"applied"}
    assert [o.result["id"] for o in outcomes] == [str(x.command_id) for x in registrations + visits]
    assert max(saves) <= MAX_EVENTS_PER_SAVE and sum(saves) == 1200 and len(saves) == 4
    assert county.household(registrations[7].command_id)["head_name"] == "户主7"
    assert county.visit(visits[7].command_id)["note"] == "第7次"


def test_one_call_may_register_a_household_and_visit_it(county, admin):
    [registration] = households(county, 1)
    cadre_id = enrol(county, admin)
    # The loader acts for many people; here the same call carries both (as one admin who is also a cadre).
    actor = Actor(user_id="a", roles={"county_admin", "cadre"}, county=county.adcode, cadre_id=cadre_id)
    outcomes = county.execute_many([registration, check_in(registration.command_id)], actor)
    assert [o.status for o in outcomes] == ["applied", "applied"]


def test_a_bulk_load_answers_duplicates_conflicts_and_rejections_one_by_one(county, admin):
    registrations = households(county, 3)
    cadre = cadre_actor(county, enrol(county, admin))
    changed = registrations[1].model_copy(update={"size": 5})
    commands = [registrations[0], registrations[0], registrations[1], changed,
                check_in(uuid4()), registrations[2]]
    statuses = [o.status for o in county.execute_many(commands, admin)]
    assert statuses == ["applied", "duplicate", "applied", "conflict", "rejected", "applied"]
    cadre_try = county.execute_many([check_in(registrations[0].command_id)], cadre)
    assert cadre_try[0].status == "applied"


def test_a_second_bulk_load_finds_everything_already_there(county, admin):
    registrations = households(county, 40)
    first = county.execute_many(registrations, admin)
    again = county.execute_many(registrations, admin)
    assert [o.status for o in again] == ["duplicate"] * 40
    assert [o.result for o in again] == [o.result for o in first]
    registered = [n for n in county.recorder.select_notifications(start=None, limit=1000)
                  if n.topic == "grassroots:Household.Registered"]
    assert len(registered) == 40


def test_a_batch_that_meets_an_integrity_error_is_answered_command_by_command(county, admin, monkeypatch):
    registrations = households(county, 5)
    county.execute(registrations[2], admin)
    # As if a concurrent resend landed between the receipt look-up and the save.
    read = county.read

    def read_missing_receipts(aggregate_ids, household_ids):
        aggregates, keys = read(aggregate_ids, household_ids)
        return {i: a for i, a in aggregates.items() if not isinstance(a, CommandReceipt)}, keys

    monkeypatch.setattr(county, "read", read_missing_receipts)
    statuses = [o.status for o in county.execute_many(registrations, admin)]
    assert statuses == ["applied", "applied", "duplicate", "applied", "applied"]
    assert len([n for n in county.recorder.select_notifications(start=None, limit=100)
                if n.topic == "grassroots:Household.Registered"]) == 5
