"""Reception days (接访日): receptions held against those scheduled, by person and month, with the
residents received and the missed receptions flagged.

- A schedule (`ReceptionSchedule.Set`, `.Revised`, `.Ended`) names one cadre or a rank, a place and a day:
  monthly on a day of the month (a day the month lacks falls on its last day) or weekly on an ISO weekday.
  A revision gives new terms from its `from_on` on (never before the day it was recorded: the domain's
  rule), so each day is judged by the terms of the latest version in force on it; the days before keep
  theirs. Each version's row keeps the terms it set and the day they apply from (`effective_on`; NULL:
  from the start); an `Ended` row repeats the terms before it and adds `ends_on`.
- A cadre is expected to receive on a day the schedule falls on, from its `starts_on` to its `ends_on`,
  when on that day (China's calendar, by the time each change of the cadre was recorded) the cadre is
  enrolled, not departed and, for a rank's schedule, of that rank. Two schedules falling on the same day
  for the same cadre make one expected reception.
- An expected reception is *held* when the cadre recorded a reception that day; one in the past (before the
  day judged: `as_of`, or today) with none is *missed*; today's and later ones are *upcoming*. Every
  reception counts in `held`, residents and issues, scheduled or not.

Schedules, cadres' versions and receptions are time-stamped facts, so `as_of` answers what a rebuild cut
at that day would. A batch costs O(its events). A report costs O(the schedules, the cadres they name or
whose rank they name, and the period's receptions): schedules are a county's few standing rules, and the
expected days are computed in Python from them, never stored per day.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from projections.base import (
    Period, Projection, event_name, local_date, parse_date, parse_keyset, parse_time, recorded_before, reference_date,
)
from projections.base import as_uuid as _uuid
from projections.rules import Rules
from services.domain.reception import falls_on
from services.storage.connections import AsyncConnection

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.receptions_schedules ("
    " schedule_id uuid NOT NULL, version bigint NOT NULL, recorded_at timestamptz NOT NULL, cadre_id uuid,"
    " rank text, place text NOT NULL, village text, cadence text NOT NULL, day int NOT NULL,"
    " starts_on date NOT NULL, ends_on date, effective_on date, PRIMARY KEY (schedule_id, version))",
    "CREATE TABLE IF NOT EXISTS {schema}.receptions_cadres ("
    " cadre_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL, name text NOT NULL,"
    " rank text NOT NULL, departed boolean NOT NULL, PRIMARY KEY (cadre_id, version))",
    # A rank's schedule finds the cadres of that rank.
    "CREATE INDEX IF NOT EXISTS receptions_cadres_rank ON {schema}.receptions_cadres (rank, cadre_id)",
    "CREATE TABLE IF NOT EXISTS {schema}.receptions_held ("
    " reception_id uuid PRIMARY KEY, receiver_id uuid NOT NULL, occurred_at timestamptz NOT NULL,"
    " place text NOT NULL, village text, residents int NOT NULL, issue_ids uuid[] NOT NULL,"
    " recorded_by text NOT NULL, recorded_at timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS receptions_held_occurred ON {schema}.receptions_held (occurred_at, reception_id)",
    "CREATE INDEX IF NOT EXISTS receptions_held_receiver ON {schema}.receptions_held (receiver_id, occurred_at)",
]

# A report spans at most a year of days (its expected days are computed, not stored).
MAX_REPORT_DAYS = 366


class Receptions(Projection):
    name = "receptions"
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        names = [event_name(e) for e in events]
        changed = {e.originator_id for e, n in zip(events, names, strict=True)
                   if n in ("Cadre.RankChanged", "Cadre.Departed", "ReceptionSchedule.Revised",
                            "ReceptionSchedule.Ended")}
        # Cadres and schedules as they stood before this batch, then as the batch changes them, in log order.
        cadres: dict[UUID, tuple[str, str]] = {}
        schedules: dict[UUID, tuple[Any, ...]] = {}
        if changed:
            cadres = {r["cadre_id"]: (r["name"], r["rank"]) for r in await conn.fetch(
                f"SELECT DISTINCT ON (cadre_id) cadre_id, name, rank FROM {schema}.receptions_cadres"
                " WHERE cadre_id = ANY($1) ORDER BY cadre_id, version DESC", list(changed))}
            schedules = {r["schedule_id"]: tuple(r)[1:] for r in await conn.fetch(
                f"SELECT DISTINCT ON (schedule_id) schedule_id, cadre_id, rank, place, village, cadence, day,"
                f" starts_on, effective_on FROM {schema}.receptions_schedules WHERE schedule_id = ANY($1)"
                " ORDER BY schedule_id, version DESC", list(changed))}
        cadre_rows, schedule_rows, held = [], [], []
        for event, name in zip(events, names, strict=True):
            key = event.originator_id
            if name == "Cadre.Enrolled":
                cadres[key] = (event.name, event.rank)
                cadre_rows.append((key, event.originator_version, event.timestamp, event.name, event.rank, False))
            elif name in ("Cadre.RankChanged", "Cadre.Departed") and key in cadres:
                cadre_name, rank = cadres[key]
                if name == "Cadre.RankChanged":
                    rank = event.rank
                    cadres[key] = (cadre_name, rank)
                cadre_rows.append((key, event.originator_version, event.timestamp, cadre_name, rank,
                                   name == "Cadre.Departed"))
            elif name == "ReceptionSchedule.Set":
                schedules[key] = (_uuid(event.cadre_id), event.rank, event.place, event.village, event.cadence,
                                  int(event.day), parse_date(event.starts_on), None)
                schedule_rows.append((key, event.originator_version, event.timestamp, *schedules[key], None))
            elif name == "ReceptionSchedule.Revised" and key in schedules:
                schedules[key] = (_uuid(event.cadre_id), event.rank, event.place, event.village, event.cadence,
                                  int(event.day), schedules[key][6], parse_date(event.from_on))
                schedule_rows.append((key, event.originator_version, event.timestamp, *schedules[key], None))
            elif name == "ReceptionSchedule.Ended" and key in schedules:
                schedule_rows.append((key, event.originator_version, event.timestamp, *schedules[key],
                                      parse_date(event.ends_on)))
            elif name == "Reception.Recorded":
                held.append((key, _uuid(event.receiver_id), parse_time(event.occurred_at), event.place, event.village,
                             int(event.residents), [_uuid(i) for i in event.issue_ids], event.recorded_by,
                             event.timestamp))
        if cadre_rows:
            await conn.executemany(
                f"INSERT INTO {schema}.receptions_cadres VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                cadre_rows)
        if schedule_rows:
            await conn.executemany(
                f"INSERT INTO {schema}.receptions_schedules (schedule_id, version, recorded_at, cadre_id, rank, place,"
                " village, cadence, day, starts_on, effective_on, ends_on)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING", schedule_rows)
        if held:
            await conn.executemany(
                f"INSERT INTO {schema}.receptions_held (reception_id, receiver_id, occurred_at, place, village,"
                " residents, issue_ids, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                " ON CONFLICT DO NOTHING", held)


projection = Receptions()


async def schedules(conn: AsyncConnection, schema: str, *, as_of: date | None = None) -> list[dict[str, Any]]:
    """Every schedule as known at the end of `as_of` (ended ones too: `ends_on`), earliest start first, with
    its latest terms and the day they apply from (`effective_on`; None: from the start):
    `{schedule_id, version, cadre_id, name (the cadre's), rank, place, village, cadence, day, starts_on,
    effective_on, ends_on, set_at}`."""
    rows = await conn.fetch(
        f"SELECT DISTINCT ON (s.schedule_id) s.schedule_id, s.version, s.cadre_id, (SELECT c.name FROM"
        f" {schema}.receptions_cadres c WHERE c.cadre_id = s.cadre_id ORDER BY c.version DESC LIMIT 1) AS name,"
        " s.rank, s.place, s.village, s.cadence, s.day, s.starts_on, s.effective_on, s.ends_on,"
        " min(s.recorded_at) OVER (PARTITION BY s.schedule_id) AS set_at"
        f" FROM {schema}.receptions_schedules s WHERE $1::timestamptz IS NULL OR s.recorded_at < $1"
        " ORDER BY s.schedule_id, s.version DESC", recorded_before(as_of))
    return sorted((dict(r) for r in rows), key=lambda r: (r["starts_on"], r["set_at"], r["schedule_id"]))


def _days(period: Period) -> list[date]:
    count = (period.end - period.start).days + 1
    if count > MAX_REPORT_DAYS:
        raise ValueError(f"a reception report spans at most {MAX_REPORT_DAYS} days, not {count}")
    return [period.start + timedelta(days=n) for n in range(count)]


class _Cadre:
    """A cadre's versions as known at the cutoff, to ask who they were on a given day."""

    def __init__(self) -> None:
        self.days: list[date] = []
        self.states: list[tuple[str, bool]] = []  # (rank, departed) from that day on
        self.name = ""

    def add(self, day: date, name: str, rank: str, departed: bool) -> None:
        self.days.append(day)
        self.states.append((rank, departed))
        self.name = name

    def expected(self, day: date, rank: str | None) -> bool:
        """In post on `day` (and of `rank`, if one is given)."""
        at = bisect.bisect_right(self.days, day) - 1
        if at < 0:
            return False
        held_rank, departed = self.states[at]
        return not departed and (rank is None or held_rank == rank)


@dataclass(frozen=True)
class _Terms:
    effective_on: date  # date.min: from the start
    cadre_id: UUID | None
    rank: str | None
    place: str
    cadence: str
    day: int


@dataclass
class _Plan:
    """A schedule's versions as known at the cutoff, to ask which terms held on a given day."""

    schedule_id: UUID
    set_at: datetime
    starts_on: date
    ends_on: date | None = None
    terms: list[_Terms] = field(default_factory=list)  # in version order

    def terms_on(self, day: date) -> _Terms:
        """The terms of the latest version in force on `day` (a revision from a later day is not yet)."""
        return next(t for t in reversed(self.terms) if t.effective_on <= day)


async def _plans(conn: AsyncConnection, schema: str, cutoff: datetime | None) -> list[_Plan]:
    """Every schedule's versions recorded before `cutoff`, earliest start first: O(the schedules' versions),
    a county's few standing rules."""
    plans: dict[UUID, _Plan] = {}
    for row in await conn.fetch(
            f"SELECT schedule_id, recorded_at, cadre_id, rank, place, cadence, day, starts_on, effective_on, ends_on"
            f" FROM {schema}.receptions_schedules WHERE $1::timestamptz IS NULL OR recorded_at < $1"
            " ORDER BY schedule_id, version", cutoff):
        plan = plans.setdefault(row["schedule_id"], _Plan(row["schedule_id"], row["recorded_at"], row["starts_on"]))
        plan.ends_on = row["ends_on"]
        plan.terms.append(_Terms(row["effective_on"] or date.min, row["cadre_id"], row["rank"], row["place"],
                                 row["cadence"], row["day"]))
    return sorted(plans.values(), key=lambda p: (p.starts_on, p.set_at, p.schedule_id))


async def report(conn: AsyncConnection, schema: str, period: Period, *, cadre_id: UUID | None = None,
                 as_of: date | None = None) -> list[dict[str, Any]]:
    """Held against scheduled per cadre and month (see the module doc), for every cadre with a reception
    expected or held in the period, by month then name: `{cadre_id, name, month (YYYY-MM), scheduled,
    held, on_schedule, missed, upcoming, residents, issues, missed_days [{day, place}]}`."""
    days = _days(period)
    cutoff, judged = recorded_before(as_of), reference_date(as_of)
    plans = [p for p in await _plans(conn, schema, cutoff)
             if p.starts_on <= period.end and (p.ends_on is None or p.ends_on >= period.start)]
    start, end = period.instants()
    receptions = await conn.fetch(
        f"SELECT receiver_id, occurred_at, residents, cardinality(issue_ids) AS issues FROM {schema}.receptions_held"
        " WHERE occurred_at >= $1 AND occurred_at < $2 AND ($3::timestamptz IS NULL OR recorded_at < $3)"
        " AND ($4::uuid IS NULL OR receiver_id = $4)", start, end, cutoff, cadre_id)
    terms = [t for p in plans for t in p.terms]
    named = {t.cadre_id for t in terms if t.cadre_id is not None} | {r["receiver_id"] for r in receptions}
    ranks = sorted({t.rank for t in terms if t.rank is not None})
    versions = await conn.fetch(
        f"SELECT cadre_id, valid_from, name, rank, departed FROM {schema}.receptions_cadres"
        " WHERE ($1::timestamptz IS NULL OR valid_from < $1) AND ($4::uuid IS NULL OR cadre_id = $4) AND"
        f" (cadre_id = ANY($2) OR cadre_id IN (SELECT cadre_id FROM {schema}.receptions_cadres WHERE rank = ANY($3)"
        "  AND ($1::timestamptz IS NULL OR valid_from < $1))) ORDER BY cadre_id, version",
        cutoff, list(named), ranks, cadre_id)
    cadres: dict[UUID, _Cadre] = defaultdict(_Cadre)
    for version in versions:
        cadres[version["cadre_id"]].add(local_date(version["valid_from"]), version["name"], version["rank"],
                                          version["departed"])
    # (cadre, day) -> the place of the first schedule expecting the cadre that day
    expected: dict[tuple[UUID, date], str] = {}
    for plan in plans:
        first, last = max(plan.starts_on, period.start), min(plan.ends_on or period.end, period.end)
        for day in days:
            if not first <= day <= last:
                continue
            now = plan.terms_on(day)
            if not falls_on(now.cadence, now.day, day):
                continue
            for cadre in [now.cadre_id] if now.cadre_id is not None else list(cadres):
                wanted = cadre_id is None or cadre == cadre_id
                if wanted and cadre in cadres and cadres[cadre].expected(day, now.rank):
                    expected.setdefault((cadre, day), now.place)
    held_days: set[tuple[UUID, date]] = set()
    rows: dict[tuple[str, UUID], dict[str, Any]] = {}

    def entry(cadre: UUID, day: date) -> dict[str, Any]:
        month = day.isoformat()[:7]
        if (month, cadre) not in rows:
            rows[(month, cadre)] = {
                "cadre_id": cadre, "name": cadres[cadre].name if cadre in cadres else None, "month": month,
                "scheduled": 0, "held": 0, "on_schedule": 0, "missed": 0, "upcoming": 0, "residents": 0,
                "issues": 0, "missed_days": []}
        return rows[(month, cadre)]

    for reception in receptions:
        day = local_date(reception["occurred_at"])
        held_days.add((reception["receiver_id"], day))
        counted = entry(reception["receiver_id"], day)
        counted["held"] += 1
        counted["residents"] += reception["residents"]
        counted["issues"] += reception["issues"]
    for (cadre, day), place in sorted(expected.items(), key=lambda item: (item[0][1], str(item[0][0]))):
        counted = entry(cadre, day)
        counted["scheduled"] += 1
        if (cadre, day) in held_days:
            counted["on_schedule"] += 1
        elif day < judged:
            counted["missed"] += 1
            counted["missed_days"].append({"day": day, "place": place})
        else:
            counted["upcoming"] += 1
    return sorted(rows.values(), key=lambda r: (r["month"], r["name"] or "", str(r["cadre_id"])))


async def kept(conn: AsyncConnection, schema: str, period: Period, *,
               as_of: date | None = None) -> dict[UUID, tuple[int, int]]:
    """cadre id -> (scheduled reception days of the period already past on the day, of those held): the
    composite assessment's reception part, summed over `report`'s months."""
    kept_days: dict[UUID, tuple[int, int]] = {}
    for row in await report(conn, schema, period, as_of=as_of):
        due, held_days = kept_days.get(row["cadre_id"], (0, 0))
        # a scheduled day is held (on_schedule), missed, or still to come
        kept_days[row["cadre_id"]] = (due + row["on_schedule"] + row["missed"], held_days + row["on_schedule"])
    return kept_days


COLUMNS = "reception_id, receiver_id, occurred_at, place, village, residents, issue_ids, recorded_by, recorded_at"


async def held(conn: AsyncConnection, schema: str, period: Period, *, cadre_id: UUID | None = None,
               as_of: date | None = None, limit: int = 100, after: str | None = None) -> dict[str, Any]:
    """The period's receptions, newest first, a page at a time: `{items, next}` (`next`: `<occurred_at>|<id>`
    of the last row, `parse_keyset`), each `{reception_id, receiver_id, name, occurred_at, place, village,
    residents, issue_ids, recorded_by, recorded_at}`. By the time index: the page's rows only."""
    if not 1 <= limit <= 500:
        raise ValueError(f"limit is 1 to 500, not {limit}")
    moment, last_id = parse_keyset(after)
    start, end = period.instants()
    cutoff = recorded_before(as_of)
    rows = await conn.fetch(
        f"SELECT {', '.join('h.' + c for c in COLUMNS.split(', '))}, (SELECT c.name FROM {schema}.receptions_cadres c"
        "  WHERE c.cadre_id = h.receiver_id ORDER BY c.version DESC LIMIT 1) AS name"
        f" FROM {schema}.receptions_held h WHERE h.occurred_at >= $1 AND h.occurred_at < $2"
        " AND ($3::timestamptz IS NULL OR h.recorded_at < $3) AND ($4::uuid IS NULL OR h.receiver_id = $4)"
        " AND ($5::timestamptz IS NULL OR (h.occurred_at, h.reception_id) < ($5, $6::uuid))"
        " ORDER BY h.occurred_at DESC, h.reception_id DESC LIMIT $7",
        start, end, cutoff, cadre_id, moment, last_id, limit + 1)
    items = [{**dict(r), "issue_ids": list(r["issue_ids"])} for r in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    return {"items": items, "next": f"{last['occurred_at'].isoformat()}|{last['reception_id']}" if last else None}
