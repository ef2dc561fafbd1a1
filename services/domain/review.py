"""The monthly review meeting (一月一议): its minutes. Each save of a month's minutes is one record
(the read model, `projections.reviews`, shows the latest per month); the meeting's decisions are
routes of its agenda's issues (`Issue.decide`)."""
from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate


class ReviewMinutes(Aggregate):
    @event("Recorded")
    def __init__(self, id: UUID, month: str, minutes: str, attendees: list[str], recorded_by: str) -> None:
        self.month = month  # the meeting's month, YYYY-MM
        self.minutes = minutes
        self.attendees = attendees
        self.recorded_by = recorded_by
