"""Visit (走访 / 拉家常 / …): a fact recorded on the phone. Its id is the phone's UUID, so a resend can
never create a second visit. Two cadres visiting one household is no conflict: each visit stands alone.
Verdicts (was the fix close enough, accurate enough, not mocked) are left to the projections."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate
from services.domain.errors import InvalidState


class Visit(Aggregate):
    @event("CheckedIn")
    def __init__(
        self, id: UUID, cadre_id: UUID, target_kind: str, target_id: str, household_id: UUID | None,
        village: str | None, kind: str, occurred_at: datetime, received_at: datetime,
        position: dict[str, Any] | None, topics: list[str], note: str, companions: list[str],
        device_id: str | None, days: int | None = None,
    ) -> None:
        self.cadre_id = cadre_id
        self.target_kind = target_kind
        self.target_id = target_id
        self.household_id = household_id
        self.village = village
        self.kind = kind
        self.occurred_at = occurred_at
        self.received_at = received_at
        self.position = position
        self.topics = topics
        self.note = note
        self.companions = companions
        self.device_id = device_id
        # A stay's (蹲点) whole days; None for every other kind (and for visits recorded before stays had days).
        self.days = days
        self.voided = False

    def void(self, voided_by: str, reason: str) -> None:
        if self.voided:
            raise InvalidState("visit_voided", "该走访记录已作废。", "This visit has already been voided.")
        self._voided(voided_by=voided_by, reason=reason)

    @event("Voided")
    def _voided(self, voided_by: str, reason: str) -> None:
        self.voided = True
        self.void_reason = reason
