"""Contact targets (联系点 / 五个一): the county's register of what cadres keep contact with besides
households: Party branches (with the "weak and scattered" flag, 软弱涣散), enterprises, talents, projects
and contact points. Each has a place (a township of the county, and the village when it is in one) and,
when the office knows them, coordinates, against which a check-in there is judged (projections/verdicts.py).

`TargetRegister` is a marker, one per county with a fixed id: it exists from the county's first registered
target on, and from then pairings and check-ins naming a target other than a household must name one
of the register (as places and departments bind once a county lists them). Before, they keep the free
text counties used to write.
"""
from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate
from services.domain.errors import InvalidState

# The marker's id in every county's event store (each county has its own store: no clash).
REGISTER_ID = UUID("5c0f6a2e-8d7b-5e41-9a3c-7f2b1d4e6a90")


class TargetRegister(Aggregate):
    @event("Opened")
    def __init__(self, id: UUID, opened_by: str) -> None:
        self.opened_by = opened_by


class ContactTarget(Aggregate):
    @event("Registered")
    def __init__(self, id: UUID, kind: str, name: str, township: str, village: str | None, lat: float | None,
                 lon: float | None, weak: bool) -> None:
        self.kind = kind
        self.name = name
        self.township = township
        self.village = village
        self.lat = lat
        self.lon = lon
        self.weak = weak
        self.archived = False

    def revise(self, name: str, township: str, village: str | None, lat: float | None, lon: float | None,
               weak: bool) -> None:
        self.require_active()
        self._revised(name=name, township=township, village=village, lat=lat, lon=lon, weak=weak)

    def archive(self, reason: str) -> None:
        self.require_active()
        self._archived(reason=reason)

    def require_active(self) -> None:
        if self.archived:
            raise InvalidState("target_archived", "该联系对象已停用。", "This contact target is archived.",
                               target_id=str(self.id))

    @event("Revised")
    def _revised(self, name: str, township: str, village: str | None, lat: float | None, lon: float | None,
                 weak: bool) -> None:
        self.name, self.township, self.village, self.lat, self.lon, self.weak = name, township, village, lat, lon, weak

    @event("Archived")
    def _archived(self, reason: str) -> None:
        self.archived = True
        self.archive_reason = reason
