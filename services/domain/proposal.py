"""Household proposal (新增农户申报): a cadre who finds a household missing from the county's records
proposes it from the phone (offline too); the county office confirms it (the household is registered),
merges it into a household already on record, or refuses it with a reason.

The proposal names the household it would become (`household_id`) from the start, and its personal fields
(head's name, phone, notes) and address arrive sealed with that household's key (`services.personal`):
confirming registers the household with the same sealed tokens, and erasing the household, or deleting the
key of a proposal merged or refused, erases the proposal's copy too.
"""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate
from services.domain.errors import InvalidState

PROPOSAL_STATES = ("pending", "confirmed", "merged", "refused")


class HouseholdProposal(Aggregate):
    @event("Proposed")
    def __init__(
        self, id: UUID, household_id: UUID, village: str, township: str, address: str, lat: float, lon: float,
        tags: list[str], size: int, personal: str, proposed_by: UUID, occurred_at: datetime,
    ) -> None:
        self.household_id = household_id  # the household a confirmation registers
        self.village = village
        self.township = township
        self.address = address
        self.lat = lat
        self.lon = lon
        self.tags = tags
        self.size = size
        self.personal = personal
        self.proposed_by = proposed_by
        self.occurred_at = occurred_at
        self.state = "pending"
        self.decided_by: str | None = None
        self.merged_into: UUID | None = None
        self.reason: str | None = None

    def confirm(self, decided_by: str) -> None:
        self._require_pending()
        self._confirmed(decided_by=decided_by)

    def merge(self, into: UUID, decided_by: str) -> None:
        self._require_pending()
        self._merged(into=into, decided_by=decided_by)

    def refuse(self, reason: str, decided_by: str) -> None:
        self._require_pending()
        self._refused(reason=reason, decided_by=decided_by)

    def _require_pending(self) -> None:
        if self.state != "pending":
            raise InvalidState("proposal_decided", "该申报已处理，不能再次处理。",
                               f"This proposal was already {self.state}.", state=self.state)

    @event("Confirmed")
    def _confirmed(self, decided_by: str) -> None:
        self.state, self.decided_by = "confirmed", decided_by

    @event("Merged")
    def _merged(self, into: UUID, decided_by: str) -> None:
        self.state, self.merged_into, self.decided_by = "merged", into, decided_by

    @event("Refused")
    def _refused(self, reason: str, decided_by: str) -> None:
        self.state, self.reason, self.decided_by = "refused", reason, decided_by
