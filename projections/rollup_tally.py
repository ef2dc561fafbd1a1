"""The province rollup's running state in a county: the counters its month rows are read from.

`projections.rollup` applies a batch by loading the `Tally` of the entities the batch touches
(`projections.rollup_store`), moving it event by event in memory here and writing back what
changed: a batch costs O(its events), never O(county).

What each counter is, for the county's current day D (the latest day applied) and its month M:
- `rollup_totals`: households registered and archived, archived before M began, active cadres;
- `rollup_households`, `rollup_household_months`: per household its archive day, and per household
  and month of `occurred_at` its live (not voided) check-ins and verified ones; `rollup_months`
  per month: households counted in it (not archived before it began) with ≥ 1 live check-in, their
  verified check-ins, and the issues raised (by `occurred_at`), resolved, rated and satisfied in it;
- `rollup_pairings` (active ones), `rollup_target_days` (live check-ins per cadre, target and day),
  `rollup_pairing_periods` per cadence and period P: active pairings that can first be overdue in P
  (formed before the period preceding P) and, of those that can be overdue in P, the ones visited in
  P or the period before it, so overdue in P = eligible up to P − covered in P;
- `rollup_cadres`, `rollup_cadre_years` (expected-rank leader-to-cadre interviews per cadre and
  year) and `rollup_years`: active cadres with enough of them that year.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypedDict
from uuid import UUID

from asyncpg import Record

from projections.base import event_name, local_date, parse_date
from projections.interviews import expected_rank
from projections.issues import RESOLVED_STATES, SATISFIED
from projections.pairing import cadence_period
from projections.rules import Rules
from projections.verdicts import Judged

MONTH_FIGURES = ("visited", "verified_visits", "verified_visited", "issues_raised", "issues_resolved", "issues_rated",
                 "issues_satisfied")
CADENCES = ("monthly", "quarterly", "yearly")

Target = tuple[UUID, str, str]  # (cadre, target kind, target id)


class Facts(TypedDict):
    """The batch's rows of the county's read models (`rollup_store.load`), by the id the events carry."""

    checkins: dict[UUID, Record]  # by visit
    # the verdicts as the batch's check-ins came in, and the ones its arrivals and voids turned (`verdicts.Judged`)
    judged: Judged
    issues: dict[tuple[UUID, int], Record]  # by (issue, version)
    interviews: dict[UUID, Record]


def month_of(day: date) -> date:
    return day.replace(day=1)


def _period_after(cadence: str, start: date) -> date:
    return cadence_period(cadence, cadence_period(cadence, start).end + timedelta(days=1)).start


def eligible_from(cadence: str, formed_on: date) -> date:
    """The first period in which a pairing formed on that day can be overdue: the one after the next
    (it must exist before the previous period begins)."""
    return _period_after(cadence, _period_after(cadence, cadence_period(cadence, formed_on).start))


@dataclass
class Pairing:
    cadre_id: UUID
    target_kind: str
    target_id: str
    cadence: str
    eligible_from: date

    @property
    def target(self) -> Target:
        return (self.cadre_id, self.target_kind, self.target_id)


@dataclass
class Tally:
    rules: Rules
    day: date | None = None
    last_event_at: datetime | None = None
    registered: int = 0
    archived: int = 0
    archived_before: int = 0
    cadres_active: int = 0
    months: dict[date, dict[str, int]] = field(default_factory=dict)
    households: dict[UUID, date | None] = field(default_factory=dict)  # registered ones: their archive day
    # household -> month -> [live check-ins, verified ones]
    household_months: dict[UUID, dict[date, list[int]]] = field(default_factory=lambda: defaultdict(dict))
    pairings: dict[UUID, Pairing] = field(default_factory=dict)
    paired: dict[Target, set[UUID]] = field(default_factory=lambda: defaultdict(set))  # target -> active pairings
    target_days: dict[Target, dict[date, int]] = field(default_factory=lambda: defaultdict(dict))
    periods: dict[tuple[str, date], list[int]] = field(default_factory=dict)  # [eligible, covered]
    cadres: dict[UUID, bool] = field(default_factory=dict)  # cadre -> departed
    cadre_years: dict[UUID, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    years: dict[int, int] = field(default_factory=dict)
    # Keys changed, per counter table (each set holds that table's key: a month, a household, a target …).
    dirty: dict[str, set[Any]] = field(default_factory=lambda: defaultdict(set))
    ended: set[UUID] = field(default_factory=set)

    # -- days --------------------------------------------------------------------------------------
    def advance(self, day: date) -> None:
        """Make `day` the current day; a new month starts counting households archived before it."""
        if self.day is None or month_of(day) != month_of(self.day):
            self.archived_before = self.archived
        self.day = day

    def figures(self) -> dict[str, Any]:
        """The current day's month as of the current day."""
        assert self.day is not None
        month = self.months.get(month_of(self.day)) or dict.fromkeys(MONTH_FIGURES, 0)
        households = self.registered - self.archived_before
        pairings = sum(eligible for eligible, _ in self.periods.values())
        overdue = 0
        for cadence in CADENCES:
            current = cadence_period(cadence, self.day).start
            overdue += sum(e for (c, start), (e, _) in self.periods.items() if c == cadence and start <= current)
            overdue -= self.periods.get((cadence, current), [0, 0])[1]
        interviewed = self.years.get(self.day.year, 0)
        return {
            "households": households, "visited": month["visited"], "coverage_pct": _pct(month["visited"], households),
            "verified_visits": month["verified_visits"], "verified_visited": month["verified_visited"],
            "verified_coverage_pct": _pct(month["verified_visited"], households),
            **{f: month[f] for f in MONTH_FIGURES[3:]},
            "satisfaction_pct": _pct(month["issues_satisfied"], month["issues_rated"]),
            "pairings": pairings, "pairings_compliant_pct": _pct(pairings - overdue, pairings),
            "cadres": self.cadres_active, "interview_coverage_pct": _pct(interviewed, self.cadres_active),
        }

    def _month(self, month: date) -> dict[str, int]:
        self.dirty["months"].add(month)
        return self.months.setdefault(month, dict.fromkeys(MONTH_FIGURES, 0))

    # -- households and check-ins ------------------------------------------------------------------
    def _counted(self, household: UUID, month: date) -> bool:
        """Registered, and not archived before the month began."""
        if household not in self.households:
            return False
        archived_on = self.households[household]
        return archived_on is None or archived_on >= month

    def _own_months(self, household: UUID) -> list[tuple[date, list[int]]]:
        return [(m, counts) for m, counts in self.household_months.get(household, {}).items() if counts[0] > 0]

    def registered_household(self, household: UUID) -> None:
        self.households[household] = None
        self.dirty["households"].add(household)
        self.registered += 1
        for month, (_, verified) in self._own_months(household):
            counters = self._month(month)
            counters["visited"] += 1
            counters["verified_visits"] += verified
            counters["verified_visited"] += verified > 0

    def archived_household(self, household: UUID) -> None:
        if household not in self.households or self.households[household] is not None:
            return
        assert self.day is not None
        counted = {m for m, _ in self._own_months(household) if self._counted(household, m)}
        self.households[household] = self.day
        self.dirty["households"].add(household)
        self.archived += 1
        for month, (_, verified) in self._own_months(household):
            if month in counted and not self._counted(household, month):
                counters = self._month(month)
                counters["visited"] -= 1
                counters["verified_visits"] -= verified
                counters["verified_visited"] -= verified > 0

    def checkin(self, fact: Mapping[str, Any], sign: int) -> None:
        """A live check-in added (+1) or voided (-1): `fact` is its `verdicts_checkins` row, `verified` as
        it stood then."""
        day = local_date(fact["occurred_at"])
        household = fact["household_id"]
        if household is not None:
            month = month_of(day)
            counts = self.household_months[household].setdefault(month, [0, 0])
            self.dirty["household_months"].add((household, month))
            was_visited, was_verified = counts[0] > 0, counts[1] > 0
            counts[0] += sign
            counts[1] += sign * fact["verified"]
            if self._counted(household, month):
                counters = self._month(month)
                counters["visited"] += (counts[0] > 0) - was_visited
                counters["verified_visits"] += sign * fact["verified"]
                counters["verified_visited"] += (counts[1] > 0) - was_verified
        target = (fact["cadre_id"], fact["target_kind"], fact["target_id"])
        paired = [self.pairings[p] for p in self.paired.get(target, ())]
        before = [self._covered(p) for p in paired]
        days = self.target_days[target]
        days[day] = days.get(day, 0) + sign
        self.dirty["target_days"].add((*target, day))
        for pairing, covered in zip(paired, before, strict=True):
            self._cover(pairing, covered, self._covered(pairing))

    # -- pairings ----------------------------------------------------------------------------------
    def _period(self, cadence: str, start: date) -> list[int]:
        self.dirty["periods"].add((cadence, start))
        return self.periods.setdefault((cadence, start), [0, 0])

    def _covered(self, pairing: Pairing) -> set[date]:
        """The periods (by start) in which the pairing could be overdue but is not: visited in them or
        in the period before."""
        periods = set()
        for day, visits in self.target_days.get(pairing.target, {}).items():
            if visits > 0:
                start = cadence_period(pairing.cadence, day).start
                periods |= {start, _period_after(pairing.cadence, start)}
        return {start for start in periods if start >= pairing.eligible_from}

    def _cover(self, pairing: Pairing, before: set[date], after: set[date]) -> None:
        for start in before - after:
            self._period(pairing.cadence, start)[1] -= 1
        for start in after - before:
            self._period(pairing.cadence, start)[1] += 1

    def formed(self, pairing_id: UUID, pairing: Pairing) -> None:
        self.pairings[pairing_id] = pairing
        self.paired[pairing.target].add(pairing_id)
        self.dirty["pairings"].add(pairing_id)
        self._period(pairing.cadence, pairing.eligible_from)[0] += 1
        self._cover(pairing, set(), self._covered(pairing))

    def ended_pairing(self, pairing_id: UUID) -> None:
        pairing = self.pairings.pop(pairing_id, None)
        if pairing is None:
            return
        self.paired[pairing.target].discard(pairing_id)
        self.ended.add(pairing_id)
        self._period(pairing.cadence, pairing.eligible_from)[0] -= 1
        self._cover(pairing, self._covered(pairing), set())

    def end_pairings(self, ending: Callable[[Pairing], bool]) -> None:
        """End the active pairings `ending` picks among those loaded (`rollup_store.load` loads every
        pairing of a household archived or a cadre departed in the batch): one that can never be met
        again is judged no more."""
        for pairing_id in [k for k, pairing in self.pairings.items() if ending(pairing)]:
            self.ended_pairing(pairing_id)

    # -- cadres and interviews ---------------------------------------------------------------------
    def _years_met(self, cadre: UUID) -> list[int]:
        required = self.rules.interviews_per_year
        return [y for y, n in self.cadre_years.get(cadre, {}).items() if n >= required]

    def _interviewed(self, cadre: UUID, sign: int) -> None:
        for year in self._years_met(cadre):
            self.years[year] = self.years.get(year, 0) + sign
            self.dirty["years"].add(year)

    def enrolled(self, cadre: UUID) -> None:
        if cadre in self.cadres:
            return
        self.cadres[cadre] = False
        self.dirty["cadres"].add(cadre)
        self.cadres_active += 1
        self._interviewed(cadre, +1)

    def departed(self, cadre: UUID) -> None:
        if self.cadres.get(cadre) is not False:
            return
        self.cadres[cadre] = True
        self.dirty["cadres"].add(cadre)
        self.cadres_active -= 1
        self._interviewed(cadre, -1)

    def interview(self, fact: Record) -> None:
        """A leader-to-cadre interview held: `fact` is its `interviews_held` row."""
        if fact["direction"] != "leader_to_cadre" or not expected_rank(
                fact["interviewer_rank"], fact["interviewee_rank"], self.rules):
            return
        key = (fact["interviewee_id"], local_date(fact["occurred_at"]).year)
        years = self.cadre_years[key[0]]
        years[key[1]] = count = years.get(key[1], 0) + 1
        self.dirty["cadre_years"].add(key)
        if count == self.rules.interviews_per_year and self.cadres.get(key[0]) is False:
            self.years[key[1]] = self.years.get(key[1], 0) + 1
            self.dirty["years"].add(key[1])

    # -- issues ------------------------------------------------------------------------------------
    def issue_changed(self, before: Record | None, after: Record) -> None:
        """An issue moved from version `before` (None: just raised) to `after` (`issues_versions` rows)."""
        for sign, version in ((-1, before), (+1, after)):
            if version is None:
                continue
            for month, figure in _issue_counts(version):
                self._month(month)[figure] += sign


def _issue_counts(version: Record) -> list[tuple[date, str]]:
    """Which month figures an issue's version counts in (`projections.issues.PERIOD_COUNTS`)."""
    counts = [(month_of(local_date(version["occurred_at"])), "issues_raised")]
    if version["state"] in RESOLVED_STATES and version["resolved_at"] is not None:
        counts.append((month_of(local_date(version["resolved_at"])), "issues_resolved"))
    if version["rated_at"] is not None:
        rated = month_of(local_date(version["rated_at"]))
        counts.append((rated, "issues_rated"))
        if version["satisfaction"] in SATISFIED:
            counts.append((rated, "issues_satisfied"))
    return counts


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def apply_event(tally: Tally, event: Any, facts: Facts) -> None:
    """Move the tally by one event; `facts` holds the batch's rows of the county's read models."""
    name = event_name(event)
    key = event.originator_id
    if name == "Household.Registered":
        tally.registered_household(key)
    elif name == "Household.Archived":
        tally.archived_household(key)
        tally.end_pairings(lambda pairing: pairing.target_kind == "household" and pairing.target_id == str(key))
    elif name == "Visit.CheckedIn" and key in facts["checkins"]:
        tally.checkin({**facts["checkins"][key], "verified": facts["judged"].arrived[key]}, +1)
    elif name == "Visit.Voided" and key in facts["checkins"]:
        tally.checkin(dict(facts["checkins"][key]), -1)  # a voided check-in's stored verdict: the one it had then
    elif name == "Pairing.Formed":
        cadence = event.cadence or tally.rules.default_pairing_cadence
        tally.formed(key, Pairing(as_uuid(event.cadre_id), event.target_kind, str(event.target_id), cadence,
                                  eligible_from(cadence, parse_date(event.formed_on))))
    elif name == "Pairing.Ended":
        tally.ended_pairing(key)
    elif name == "Cadre.Enrolled":
        tally.enrolled(key)
    elif name == "Cadre.Departed":
        tally.departed(key)
        tally.end_pairings(lambda pairing: pairing.cadre_id == key)
    elif name == "Interview.Held" and key in facts["interviews"]:
        tally.interview(facts["interviews"][key])
    elif name.startswith("Issue.") and (key, event.originator_version) in facts["issues"]:
        versions = facts["issues"]
        tally.issue_changed(versions.get((key, event.originator_version - 1)),
                            versions[(key, event.originator_version)])
    for turned in facts["judged"].turned_by(event):  # verdicts a check-in's arrival or void turned
        if turned["counted"]:
            tally.checkin({**turned, "verified": turned["before"]}, -1)
            tally.checkin({**turned, "verified": turned["after"]}, +1)


def as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
