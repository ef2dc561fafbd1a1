"""Pairing (结对子 / 结穷亲 / 联系点 / 五个一): a cadre's standing commitment to a target, with a cadence."""
from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate
from services.domain.errors import InvalidState


class Pairing(Aggregate):
    @event("Formed")
    def __init__(
        self, id: UUID, cadre_id: UUID, target_kind: str, target_id: str, programme: str, cadence: str | None,
        formed_on: str,
    ) -> None:
        self.cadre_id = cadre_id
        self.target_kind = target_kind
        self.target_id = target_id
        self.programme = programme
        self.cadence = cadence  # None: the county's default cadence (its rules), judged by the read model
        self.formed_on = formed_on
        self.ended_on: str | None = None

    def end(self, reason: str, ended_on: str) -> None:
        if self.ended_on is not None:
            raise InvalidState("pairing_ended", "该结对已结束。", "This pairing has already ended.")
        # ISO dates compare correctly as strings.
        if ended_on < self.formed_on:
            raise InvalidState(
                "ended_before_formed", f"结束日期不能早于结对日期 {self.formed_on}。",
                f"The end date cannot be before the pairing was formed ({self.formed_on}).",
            )
        self._ended(reason=reason, ended_on=ended_on)

    @event("Ended")
    def _ended(self, reason: str, ended_on: str) -> None:
        self.ended_on = ended_on
        self.end_reason = reason
