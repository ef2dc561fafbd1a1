"""The bulk path: generated commands decided by the County's own rules in memory, their stored events
then copied into the county's tables (services/storage/bulk.py).

`County.execute_many` is round-trip bound (1,405 commands/s at 40,000 households, DESIGN §9), so a
county of 2 million events would take hours. Here the same command methods decide, the same aggregates
trigger the same events (timestamps from the simulated clock), the same mapper encodes them and every
household's personal fields are sealed with its own key; only the recorder differs: eventsourcing's
in-memory one, whose log is then appended to the county's in notification order, receipts included.
tests/integration/demo/test_bulk.py checks that both paths store the same events.

For an empty county only: nothing stored before is read, so commands on aggregates already in the
database would be rejected as not found.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate as LibraryAggregate

from services.places import KnownPlaces, Level
from services.county import Actor, County
from services.demo.generator import DEPARTMENT_NAMES, Step
from services.demo.loader import batches, list_departments, send
from services.personal import new_key
from services.storage.bulk import EventRow, copy_events, copy_keys
from services.storage.names import check_adcode, county_schema

PAGE = 10_000  # notifications read from the in-memory log at a time


def actor_of(step: Step) -> Actor:
    """Who sends a step when the county has no accounts: the user ids the demo gives senders without
    an account of their own (`cadre:<id>`, `department:<name>`), and `county_admin:<adcode>`."""
    who = step.actor
    if who.role == "county_admin":
        return Actor(f"county_admin:{step.county}", frozenset({"county_admin"}), step.county)
    if who.role == "department":
        return Actor(f"department:{who.department}", frozenset({"department"}), step.county,
                     department=who.department)
    return Actor(f"cadre:{who.cadre_id}", frozenset({"cadre"}), step.county, cadre_id=who.cadre_id)


class MemoryKeys:
    """The household keys of an in-memory county (KeyStore's interface)."""

    def __init__(self) -> None:
        self.keys: dict[UUID, bytes] = {}

    def get(self, household_id: UUID) -> bytes | None:
        return self.keys.get(household_id)

    def get_many(self, household_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        return {i: self.keys[i] for i in household_ids if i in self.keys}

    def create(self, household_id: UUID) -> bytes:
        return self.create_many([household_id])[household_id]

    def create_many(self, household_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        return {i: self.keys.setdefault(i, new_key()) for i in household_ids}

    def delete(self, household_id: UUID) -> bool:
        return self.keys.pop(household_id, None) is not None


class InMemoryCounty(County):
    """A County whose log is in memory and whose aggregates stay cached (each is read once per load,
    not rebuilt from its events on every command)."""

    def __init__(self, adcode: str) -> None:
        # County's own constructor reads its schema from the PostgreSQL datastore, which this has not.
        Application.__init__(self, {
            "PERSISTENCE_MODULE": "eventsourcing.popo",
            "AGGREGATE_CACHE_MAXSIZE": "0",  # unbounded
            "AGGREGATE_CACHE_FASTFORWARD": "n",  # nothing else writes this log
            "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",  # a refused command triggers no event, so no copy needed
        })
        self.adcode = check_adcode(adcode)
        self.schema = county_schema(self.adcode)
        self.memory_keys = MemoryKeys()
        self.keys = self.memory_keys  # type: ignore[assignment]

    def read(self, aggregate_ids: Iterable[UUID],
             household_ids: Iterable[UUID]) -> tuple[dict[UUID, LibraryAggregate], dict[UUID, bytes]]:
        found: dict[UUID, LibraryAggregate] = {}
        for aggregate_id in aggregate_ids:
            with contextlib.suppress(AggregateNotFoundError):
                found[aggregate_id] = self.repository.get(aggregate_id)
        return found, self.keys.get_many(household_ids)

    def learn_places(self, known: KnownPlaces, places: list[tuple[Level, str]]) -> None:
        # No database, so no list of the county's places: its codes are held to its own adcode (the
        # demo's places all come from the county's map, which lists them when the county is provisioned).
        known.asked.update(places)

    def look_up_department(self, text: str) -> dict[str, Any]:
        # The demo's departments, as the loader lists them for the county (services/departments.lookup).
        by_name = {name: code for code, name in DEPARTMENT_NAMES.items()}
        current = text if text in DEPARTMENT_NAMES else by_name.get(text)
        return {"listed": True, "current": current, "key": current or text}

    def stored_events(self) -> Iterator[EventRow]:
        """The log in notification order, as the county's table stores it."""
        start = 1
        while page := self.recorder.select_notifications(start, PAGE):
            yield from ((cast(UUID, n.originator_id), n.originator_version, n.topic, n.state) for n in page)
            start = page[-1].id + 1


@dataclass(frozen=True)
class BulkLog:
    """A county's log and keys made in memory, ready to copy (and to cache between runs)."""

    adcode: str
    events: list[EventRow]
    keys: list[tuple[UUID, bytes]]
    commands: int
    seconds: float  # deciding and encoding in memory


def decide(adcode: str, steps: Sequence[Step], actor: Callable[[Step], Actor] = actor_of) -> BulkLog:
    """Run one county's steps (in time order) through the County's rules in memory."""
    started = time.monotonic()
    county = InMemoryCounty(adcode)
    for batch in batches(list(steps)):
        send(county, batch, actor(batch[0]))
    return BulkLog(county.adcode, list(county.stored_events()), list(county.memory_keys.keys.items()), len(steps),
                   time.monotonic() - started)


def store(url: str, log: BulkLog) -> None:
    """Copy a log made by `decide` into its county (provisioned and empty): keys first, as a save
    makes a household's key before its events; the demo's departments listed as the loader lists them."""
    list_departments(url, log.adcode)
    copy_keys(url, log.adcode, log.keys)
    copy_events(url, log.adcode, log.events)
