"""Interview (约谈 / 谈心谈话): a talk between two cadres. Notes stay minimal by design
(不评价、不暗示、不记账): what was covered and how many opinions, not what anyone said."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate
from services.domain.errors import InvalidState


class Interview(Aggregate):
    @classmethod
    def hold(cls, *, id: UUID, interviewer_id: UUID, interviewee_id: UUID, **fields: Any) -> Interview:
        # A rule checked once, when the talk is recorded (not on every replay of the event).
        if interviewer_id == interviewee_id:
            raise InvalidState(
                "interview_self", "约谈对象不能是本人。", "A cadre cannot interview themselves.",
            )
        return cls(id=id, interviewer_id=interviewer_id, interviewee_id=interviewee_id, **fields)

    @event("Held")
    def __init__(
        self, id: UUID, interviewer_id: UUID, interviewee_id: UUID, form: str, direction: str,
        topics: list[str], opinions_count: int, follow_up: bool, occurred_at: datetime,
        received_at: datetime, note: str,
    ) -> None:
        self.interviewer_id = interviewer_id
        self.interviewee_id = interviewee_id
        self.form = form
        self.direction = direction
        self.topics = topics
        self.opinions_count = opinions_count
        self.follow_up = follow_up
        self.occurred_at = occurred_at
        self.received_at = received_at
        self.note = note
