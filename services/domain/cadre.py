"""Cadre (组工干部 / 干部): a person sent down to the grassroots, with a rank, a unit and a township."""
from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate
from services.domain.errors import InvalidState


class Cadre(Aggregate):
    @event("Enrolled")
    def __init__(
        self, id: UUID, name: str, rank: str, unit: str, township: str | None, phone: str | None,
    ) -> None:
        self.name = name
        self.rank = rank
        self.unit = unit
        self.township = township
        self.phone = phone
        self.departed = False

    def change_rank(self, rank: str) -> None:
        self.require_active()
        if rank == self.rank:
            raise InvalidState(
                "rank_unchanged", "该干部已是这一职级。", "The cadre already holds this rank.", rank=rank,
            )
        self._rank_changed(rank=rank)

    def transfer(self, unit: str, township: str | None) -> None:
        self.require_active()
        self._transferred(unit=unit, township=township)

    def depart(self, reason: str) -> None:
        self.require_active()
        self._departed(reason=reason)

    def require_active(self) -> None:
        if self.departed:
            raise InvalidState(
                "cadre_departed", "该干部已离岗。", "This cadre has departed.", cadre_id=str(self.id),
            )

    @event("RankChanged")
    def _rank_changed(self, rank: str) -> None:
        self.rank = rank

    @event("Transferred")
    def _transferred(self, unit: str, township: str | None) -> None:
        self.unit, self.township = unit, township

    @event("Departed")
    def _departed(self, reason: str) -> None:
        self.departed = True
