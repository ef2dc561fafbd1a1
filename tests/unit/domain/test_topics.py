"""Stored topics are fixed strings, so moving a module never breaks stored events."""
from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from eventsourcing.utils import get_topic, resolve_topic

from services.domain import Visit
from services.domain.topics import stored_topics
from services.storage.names import event_mapper

CONTRACT_EVENTS = {
    "Household": {"Registered", "Relocated", "Retagged", "Archived"},
    "Cadre": {"Enrolled", "RankChanged", "Transferred", "Departed"},
    "Pairing": {"Formed", "Ended"},
    "Visit": {"CheckedIn", "Voided"},
    "Interview": {"Held"},
    "Issue": {"Raised", "Routed", "Resolved", "Replied", "Rated", "Reopened"},
    "CommandReceipt": {"Recorded"},
    "Campaign": {"Defined"},
    "HouseholdProposal": {"Proposed", "Confirmed", "Merged", "Refused"},
    "ReviewMinutes": {"Recorded"},
    "ContactTarget": {"Registered", "Revised", "Archived"},
    "TargetRegister": {"Opened"},
    "ReceptionSchedule": {"Set", "Revised", "Ended"},
    "Reception": {"Recorded"},
    "ResearchTopic": {"Assigned"},
    "ResearchReport": {"Filed"},
    "AssessmentScore": {"Entered"},
}


def test_every_event_of_the_contract_has_a_fixed_topic():
    expected = {f"grassroots:{a}" for a in CONTRACT_EVENTS} | {
        f"grassroots:{a}.{e}" for a, events in CONTRACT_EVENTS.items() for e in events}
    assert set(stored_topics()) == expected


def test_each_fixed_topic_is_what_get_topic_gives_and_resolves_back():
    for topic, cls in stored_topics().items():
        assert get_topic(cls) == topic
        assert resolve_topic(topic) is cls


def test_a_stored_event_carries_the_fixed_topic_and_decodes_back():
    now = datetime.now(UTC)
    visit = Visit(id=uuid4(), cadre_id=uuid4(), target_kind="enterprise", target_id="EN-1", household_id=None,
                  village=None, kind="forum", occurred_at=now, received_at=now, position=None, topics=["用工"],
                  note="", companions=[], device_id="phone-1")
    mapper = event_mapper()
    stored = mapper.to_stored_event(visit.collect_events()[0])
    assert stored.topic == "grassroots:Visit.CheckedIn"
    assert b"grassroots:Visit" in stored.state  # the created event names its aggregate by fixed topic too
    assert b"services.domain" not in stored.state
    event = mapper.to_domain_event(stored)
    assert type(event) is Visit.CheckedIn and event.occurred_at == now and event.topics == ["用工"]
    assert event.mutate(None).target_id == "EN-1"
