"""Reception days (接访日): a county's recurring reception schedules and the receptions held.

The seeds' programmes: the minister receives residents on the 10th of each month, cadres at their
contact points on the 20th, village secretaries every week. A `ReceptionSchedule` names who receives
(one cadre, or every cadre of a rank), where, and when: `monthly` on a day of the month (a day the
month lacks falls on its last day: the 31st is 30 April and 28 or 29 February) or `weekly` on an ISO
weekday (1 Monday … 7 Sunday). A `Reception` is one held: who received, when, where, how many
residents came and the issues they raised (each an `Issue` raised with source `reception`, routed like
any other). Held against scheduled, and the missed ones, are the read model's job
(`projections.receptions`).
"""
from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import Literal, get_args
from uuid import UUID, uuid5

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate
from services.domain.errors import InvalidState

ReceptionCadence = Literal["monthly", "weekly"]
RECEPTION_CADENCES: tuple[str, ...] = get_args(ReceptionCadence)
# An issue raised at a reception is an Issue of its own: its id comes from the reception's and its
# position (uuid5), so a resent reception makes the same issues.
RECEPTION_ISSUE_NAMESPACE = UUID("6f1d3a52-9c0e-5b7a-a4d2-1e8b7c9f0a35")


def reception_issue_id(reception_id: UUID, index: int) -> UUID:
    return uuid5(RECEPTION_ISSUE_NAMESPACE, f"{reception_id}/{index}")


def falls_on(cadence: str, day: int, on: date) -> bool:
    """Whether a schedule `cadence`/`day` has a reception on the calendar day `on` (the short-month
    rule: a monthly day past the month's end is its last day)."""
    if cadence == "weekly":
        return on.isoweekday() == day
    return on.day == min(day, calendar.monthrange(on.year, on.month)[1])


class ReceptionSchedule(Aggregate):
    @event("Set")
    def __init__(self, id: UUID, cadre_id: UUID | None, rank: str | None, place: str, village: str | None,
                 cadence: str, day: int, starts_on: str, set_by: str) -> None:
        # Exactly one of `cadre_id` (a named person) and `rank` (every cadre of that rank) is set.
        self.cadre_id = cadre_id
        self.rank = rank
        self.place = place
        self.village = village
        self.cadence = cadence
        self.day = day
        self.starts_on = starts_on  # ISO date, China's calendar
        self.ends_on: str | None = None
        self.set_by = set_by

    def end(self, ends_on: str, ended_by: str) -> None:
        if self.ends_on is not None:
            raise InvalidState("schedule_ended", f"该接访安排已于 {self.ends_on} 结束。",
                               f"This reception schedule already ended on {self.ends_on}.")
        if ends_on < self.starts_on:
            raise InvalidState("schedule_ends_before_start", f"结束日期不能早于开始日期 {self.starts_on}。",
                               f"A schedule cannot end before it starts ({self.starts_on}).", field="ends_on")
        self._ended(ends_on=ends_on, ended_by=ended_by)

    @event("Ended")
    def _ended(self, ends_on: str, ended_by: str) -> None:
        self.ends_on = ends_on  # the last day with a reception, included


class Reception(Aggregate):
    @event("Recorded")
    def __init__(self, id: UUID, receiver_id: UUID, occurred_at: datetime, place: str, village: str | None,
                 residents: int, issue_ids: list[str], recorded_by: str, received_at: datetime) -> None:
        self.receiver_id = receiver_id
        self.occurred_at = occurred_at
        self.place = place
        self.village = village
        self.residents = residents
        self.issue_ids = issue_ids
        self.recorded_by = recorded_by
        self.received_at = received_at
