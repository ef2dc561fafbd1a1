"""The base of every Grassroots aggregate: its events take their timestamp from the clock seam."""
from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate as LibraryAggregate

from services.domain import clock


class Aggregate(LibraryAggregate):
    class Event(LibraryAggregate.Event):
        # The library stamps events with the wall clock; the demo loader needs simulated time.
        @staticmethod
        def create_timestamp() -> datetime:
            return clock.now()
