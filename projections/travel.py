"""Impossible travel: each cadre's check-ins with a fix, in `occurred_at` order (then id), form a chain,
and a check-in is judged by the leg from the one before it: faster than the county's
`impossible_travel_kmh` is impossible. Voided check-ins leave the chain.

Phones sync late, so a check-in can arrive between two others, and a void takes one out: either moves
the check-in after it onto a new leg. `Chains` replays one batch's arrivals and voids in order over the
part of the chains the batch can touch (its own check-ins and the stored ones next to each of them,
read by `projections.verdicts`), so each verdict changes at the moment of the event that changed it,
whatever the batch boundaries: O(the batch), whatever a cadre's history.

Pure Python, no SQL: `projections.verdicts` reads and stores.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

Key = tuple[datetime, UUID]  # (occurred_at, visit id): a chain's order
Leg = tuple[UUID | None, float | None]  # (the previous check-in, km/h from it); (None, None) at a chain's start


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (lat1, lon1, lat2, lon2))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def speed(km: float, hours: float) -> float:
    """km/h between two fixes `hours` apart (infinite for two places at one moment)."""
    return km / hours if hours > 0 else (0.0 if km == 0 else math.inf)


def impossible(leg: Leg, threshold_kmh: float) -> bool:
    return leg[1] is not None and leg[1] > threshold_kmh


@dataclass
class Change:
    """A check-in's leg changed at `at`, by the arrival or void of `caused_by`."""

    visit_id: UUID
    at: datetime
    caused_by: UUID
    before: Leg
    after: Leg


@dataclass
class Chains:
    """The touched parts of cadres' chains: members with their place and current leg."""

    keys: dict[UUID, list[Key]] = field(default_factory=dict)  # cadre -> members, sorted
    places: dict[UUID, tuple[float, float]] = field(default_factory=dict)
    legs: dict[UUID, Leg] = field(default_factory=dict)
    cadres: dict[UUID, tuple[UUID, Key]] = field(default_factory=dict)  # visit -> (cadre, key)
    changes: list[Change] = field(default_factory=list)

    def know(self, cadre: UUID, key: Key, lat: float, lon: float, leg: Leg) -> None:
        """A stored live member, with its stored leg."""
        if key[1] not in self.places:
            self._insert(cadre, key, lat, lon)
            self.legs[key[1]] = leg

    def arrive(self, cadre: UUID, key: Key, lat: float, lon: float, at: datetime) -> None:
        """A check-in comes in: judged on arrival, and the one after it moves onto a leg from it."""
        self._insert(cadre, key, lat, lon)
        members = self.keys[cadre]
        i = bisect.bisect_left(members, key)
        self.legs[key[1]] = self._leg(members, i)
        self._rejudge(cadre, i + 1, at, key[1])

    def leave(self, visit: UUID, at: datetime) -> None:
        """A member is voided: the one after it moves onto a leg from the one before."""
        if visit not in self.cadres:
            return
        cadre, key = self.cadres.pop(visit)
        members = self.keys[cadre]
        i = bisect.bisect_left(members, key)
        del members[i]
        self._rejudge(cadre, i, at, visit)

    def _insert(self, cadre: UUID, key: Key, lat: float, lon: float) -> None:
        bisect.insort(self.keys.setdefault(cadre, []), key)
        self.places[key[1]] = (lat, lon)
        self.cadres[key[1]] = (cadre, key)

    def _leg(self, members: list[Key], i: int) -> Leg:
        if i == 0:
            return (None, None)
        before, here = members[i - 1], members[i]
        km = great_circle_km(*self.places[before[1]], *self.places[here[1]])
        return (before[1], speed(km, (here[0] - before[0]).total_seconds() / 3600.0))

    def _rejudge(self, cadre: UUID, i: int, at: datetime, caused_by: UUID) -> None:
        members = self.keys[cadre]
        if i >= len(members):
            return
        visit = members[i][1]
        leg = self._leg(members, i)
        if leg != self.legs[visit]:
            self.changes.append(Change(visit, at, caused_by, self.legs[visit], leg))
            self.legs[visit] = leg
