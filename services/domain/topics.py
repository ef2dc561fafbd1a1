"""Stored topics: the fixed names under which aggregates and events are written to the event store.

By default eventsourcing stores `module:QualName`, so moving or renaming a module would leave stored
events that no longer resolve. Here every stored class gets an explicit `TOPIC`, which the library's
`get_topic` prefers over the module path, and is registered so that `resolve_topic` finds it. These
strings are part of the stored data: never change one; to rename a class, keep its old string.
"""
from __future__ import annotations

from eventsourcing.utils import get_topic, register_topic

from services.domain.assessment import AssessmentScore
from services.domain.cadre import Cadre
from services.domain.campaign import Campaign
from services.domain.household import Household
from services.domain.interview import Interview
from services.domain.issue import Issue
from services.domain.pairing import Pairing
from services.domain.proposal import HouseholdProposal
from services.domain.receipt import CommandReceipt
from services.domain.reception import Reception, ReceptionSchedule
from services.domain.research import ResearchReport, ResearchTopic
from services.domain.review import ReviewMinutes
from services.domain.target import ContactTarget, TargetRegister
from services.domain.visit import Visit

STORED_EVENTS: dict[type, tuple[str, ...]] = {
    Household: ("Registered", "Relocated", "Retagged", "Archived"),
    Cadre: ("Enrolled", "RankChanged", "Transferred", "Departed"),
    Pairing: ("Formed", "Ended"),
    Visit: ("CheckedIn", "Voided"),
    Interview: ("Held",),
    Issue: ("Raised", "Routed", "Resolved", "Replied", "Rated", "Reopened"),
    CommandReceipt: ("Recorded",),
    Campaign: ("Defined",),
    HouseholdProposal: ("Proposed", "Confirmed", "Merged", "Refused"),
    ReviewMinutes: ("Recorded",),
    ContactTarget: ("Registered", "Revised", "Archived"),
    TargetRegister: ("Opened",),
    ReceptionSchedule: ("Set", "Revised", "Ended"),
    Reception: ("Recorded",),
    ResearchTopic: ("Assigned",),
    ResearchReport: ("Filed",),
    AssessmentScore: ("Entered",),
}


def stored_topics() -> dict[str, type]:
    """Every fixed topic string and the class it names (aggregates and their events)."""
    topics: dict[str, type] = {}
    for aggregate, events in STORED_EVENTS.items():
        topics[f"grassroots:{aggregate.__name__}"] = aggregate
        for name in events:
            topics[f"grassroots:{aggregate.__name__}.{name}"] = getattr(aggregate, name)
    return topics


def register_stored_topics() -> None:
    for topic, cls in stored_topics().items():
        cls.TOPIC = topic  # type: ignore[attr-defined]
        register_topic(topic, cls)
        if get_topic(cls) != topic:
            # get_topic caches its first answer: a class used before registration keeps its module path.
            raise RuntimeError(f"{cls.__qualname__} was used before its stored topic {topic!r} was registered")
