"""Reception days (接访日): a county's recurring reception schedules and the receptions held.

The seeds' programmes: the minister receives residents on the 10th of each month, cadres at their
contact points on the 20th, village secretaries every week. A `ReceptionSchedule` names who receives
(one cadre, or every cadre of a rank), where, and when: `monthly` on a day of the month (a day the
month lacks falls on its last day: the 31st is 30 April and 28 or 29 February) or `weekly` on an ISO
weekday (1 Monday … 7 Sunday).

A schedule is revised (who, where, when) from a day on, never before the day the revision is recorded:
the days already past keep the terms they were judged by, so a change never turns a reception held on
schedule into a missed one or the other way round. Ending one names its last day, which may lie in the
past (a schedule set by mistake), but not before its start; an ended schedule is not revised.

A `Reception` is one held: who received, when, where, how many residents came and the issues they raised
(each an `Issue` raised with source `reception`, routed like any other). Held against scheduled, and the
missed ones, are the read model's job (`projections.receptions`).
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
        self.effective_on: str | None = None  # the latest revision's first day (None: the terms it was set with)

    def revise(self, cadre_id: UUID | None, rank: str | None, place: str, village: str | None, cadence: str,
               day: int, from_on: str, today: str, revised_by: str) -> None:
        """New terms from `from_on` (ISO date, China's calendar) on; `today` is the day it is recorded."""
        if self.ends_on is not None:
            raise InvalidState("schedule_ended", f"该接访安排已于 {self.ends_on} 结束，不能再修改。",
                               f"This reception schedule ended on {self.ends_on}: it cannot be revised.")
        if from_on < today:
            raise InvalidState("revision_in_the_past",
                               f"修改只能从今天（{today}）或以后生效，已过去的接访日不重新评判。",
                               f"A revision takes effect today ({today}) or later: the days already past keep the"
                               " terms they were judged by.", field="from_on")
        self._revised(cadre_id=cadre_id, rank=rank, place=place, village=village, cadence=cadence, day=day,
                      from_on=from_on, revised_by=revised_by)

    @event("Revised")
    def _revised(self, cadre_id: UUID | None, rank: str | None, place: str, village: str | None, cadence: str,
                 day: int, from_on: str, revised_by: str) -> None:
        self.cadre_id, self.rank, self.place, self.village = cadre_id, rank, place, village
        self.cadence, self.day, self.effective_on = cadence, day, from_on

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
