"""Household (户 / 民情档案): where a family lives and why it is looked after.

Personal fields (head's name, phone, notes) arrive already sealed with the household's own key
(`services.personal`), so the events never hold them in clear text and deleting the key erases them.
"""
from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate
from services.domain.errors import InvalidState


class Household(Aggregate):
    @event("Registered")
    def __init__(
        self, id: UUID, village: str, township: str, address: str, lat: float, lon: float,
        tags: list[str], size: int, personal: str,
    ) -> None:
        self.village = village
        self.township = township
        self.address = address
        self.lat = lat
        self.lon = lon
        self.tags = tags
        self.size = size
        self.personal = personal
        self.archived = False
        self.archive_reason: str | None = None

    def relocate(self, village: str, township: str, address: str, lat: float, lon: float) -> None:
        self._require_active()
        self._relocated(village=village, township=township, address=address, lat=lat, lon=lon)

    def retag(self, tags: list[str]) -> None:
        self._require_active()
        self._retagged(tags=tags)

    def archive(self, reason: str) -> None:
        self._require_active()
        self._archived(reason=reason)

    def _require_active(self) -> None:
        if self.archived:
            raise InvalidState(
                "household_archived", "该户已归档，不能再修改。",
                "This household is archived and can no longer change.",
                household_id=str(self.id),
            )

    @event("Relocated")
    def _relocated(self, village: str, township: str, address: str, lat: float, lon: float) -> None:
        self.village, self.township, self.address, self.lat, self.lon = village, township, address, lat, lon

    @event("Retagged")
    def _retagged(self, tags: list[str]) -> None:
        self.tags = tags

    @event("Archived")
    def _archived(self, reason: str) -> None:
        self.archived = True
        self.archive_reason = reason
