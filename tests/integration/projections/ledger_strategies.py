"""Histories and plain-Python folds for the pairing, interview, issue, leaderboard and rollup read models.

`ledger_histories()` extends the shared `strategies.histories` world with cadres of every rank and
rank changes, household tags, pairings with non-household targets, interviews, and issues moving
through their whole life (routed, resolved, replied, rated, reopened). `LedgerFold` computes each
read model's answers from the same events in plain Python, written without looking at the SQL.
`run_history` stores a history through the write side's mapper and follows it with the real driver
in the drawn batches, so tests compare incremental processing, a rebuild and the fold.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from hypothesis import strategies as st

from projections.driver import Driver, FollowedCounty, decoder
from projections.rebuild import rebuild_county
from projections.registry import PROJECTIONS
from projections.rules import Rules
from services.domain import Cadre, Household, Interview, Issue, Pairing, Visit, clock
from tests.integration.projections.strategies import (
    SHANGHAI, START, TOWNSHIPS, VILLAGES, Fold, World, _active, cutoff, name, reset_county, store_events,
)

RANKS = ["section_chief", "deputy_section_chief", "staff", "village_cadre"]
OTHER_TARGETS = [("enterprise", "ENT-1"), ("community", "COM-1"), ("talent", "TAL-1"), ("village_official", "VO-1")]
DEPARTMENTS = ["交通局", "水务局"]
HARDSHIP = ["hardship_resident", "subsistence"]
ACTIONS = ["register", "register", "enrol", "enrol", "rank", "retag", "relocate", "archive", "depart", "pair",
           "pair", "pair_other", "end_pairing", "check_in", "check_in", "check_in", "check_in", "void", "interview",
           "interview", "raise", "raise", "route", "route", "resolve", "resolve", "reply", "rate", "reopen"]
METRE = 1 / 111_320  # degrees of latitude per metre


@dataclass
class LedgerWorld(World):
    interviews: dict[uuid.UUID, Interview] = field(default_factory=dict)
    issues: dict[uuid.UUID, Issue] = field(default_factory=dict)
    made: int = 0

    def new_id(self) -> uuid.UUID:
        # A counter, not a drawn number: shrinking would make drawn ids collide.
        self.made += 1
        return uuid.UUID(int=self.made)


@st.composite
def ledger_histories(draw: Any, min_steps: int = 6, max_steps: int = 50, step_days: int = 12) -> list[Any]:
    world = LedgerWorld()
    moment = START + timedelta(minutes=draw(st.integers(0, 60 * 24 * 30)))
    for _ in range(draw(st.integers(min_steps, max_steps))):
        moment += timedelta(minutes=draw(st.integers(1, 60 * 24 * step_days)))
        with clock.at(moment):
            _own_step(draw, world, draw(st.sampled_from(ACTIONS)), moment)
    return world.events


def _issues_in(world: LedgerWorld, states: set[str]) -> list[uuid.UUID]:
    return [k for k, i in sorted(world.issues.items()) if i.state in states]


def _own_step(draw: Any, world: LedgerWorld, action: str, moment: datetime) -> None:
    cadres = _active(world.cadres, "departed")
    households = _active(world.households, "archived")
    today = moment.astimezone(SHANGHAI).date()
    if action == "register" or (action in ("relocate", "archive", "retag", "pair") and not households):
        village = draw(st.sampled_from(sorted(VILLAGES)))
        township, lat, lon = VILLAGES[village]
        household = Household(
            id=world.new_id(), village=village, township=township, address="",
            lat=lat + draw(st.integers(-400, 400)) * METRE, lon=lon, personal="sealed", size=2,
            tags=draw(st.lists(st.sampled_from([*HARDSHIP, "disabled"]), unique=True, max_size=2)),
        )
        world.households[household.id] = household
        world.keep(household)
    elif action == "enrol" or (action in ("rank", "depart", "pair", "pair_other", "interview", "check_in")
                               and len(cadres) < 2):
        cadre = Cadre(id=world.new_id(), name=f"干部{world.made}", rank=draw(st.sampled_from(RANKS)), unit="u",
                      township=draw(st.sampled_from([None, *TOWNSHIPS])), phone=None)
        world.cadres[cadre.id] = cadre
        world.keep(cadre)
    elif action == "rank":
        cadre = world.cadres[draw(st.sampled_from(cadres))]
        cadre.change_rank(draw(st.sampled_from([r for r in RANKS if r != cadre.rank])))
        world.keep(cadre)
    elif action == "depart":
        cadre = world.cadres[draw(st.sampled_from(cadres))]
        cadre.depart("retired")
        world.keep(cadre)
    elif action == "retag":
        household = world.households[draw(st.sampled_from(households))]
        household.retag(draw(st.lists(st.sampled_from([*HARDSHIP, "disabled"]), unique=True, max_size=2)))
        world.keep(household)
    elif action == "relocate":
        household = world.households[draw(st.sampled_from(households))]
        household.relocate(household.village, household.township, "", household.lat + 300 * METRE, household.lon)
        world.keep(household)
    elif action == "archive":
        household = world.households[draw(st.sampled_from(households))]
        household.archive("moved away")
        world.keep(household)
    elif action in ("pair", "pair_other"):
        kind, target = ("household", str(draw(st.sampled_from(households)))) if action == "pair" \
            else draw(st.sampled_from(OTHER_TARGETS))
        pairing = Pairing(
            id=world.new_id(), cadre_id=draw(st.sampled_from(cadres)), target_kind=kind, target_id=target,
            programme="结对", cadence=draw(st.sampled_from(["monthly", "quarterly", "quarterly", "yearly"])),
            formed_on=(today - timedelta(days=draw(st.integers(0, 200)))).isoformat(),
        )
        world.pairings[pairing.id] = pairing
        world.keep(pairing)
    elif action == "end_pairing" and _active(world.pairings, "ended_on"):
        pairing = world.pairings[draw(st.sampled_from(_active(world.pairings, "ended_on")))]
        pairing.end("no longer in hardship", max(pairing.formed_on, today.isoformat()))
        world.keep(pairing)
    elif action == "check_in":
        _check_in(draw, world, cadres, households, moment)
    elif action == "void" and _active(world.visits, "voided"):
        visit = world.visits[draw(st.sampled_from(_active(world.visits, "voided")))]
        visit.void("admin", "duplicate entry")
        world.keep(visit)
    elif action == "interview":
        interviewer, interviewee = draw(st.lists(st.sampled_from(cadres), min_size=2, max_size=2, unique=True))
        interview = Interview.hold(
            id=world.new_id(), interviewer_id=interviewer, interviewee_id=interviewee, form="one_on_one",
            direction=draw(st.sampled_from(["leader_to_cadre", "leader_to_cadre", "cadre_to_leader"])),
            topics=["family"], opinions_count=draw(st.integers(0, 3)), follow_up=False,
            occurred_at=moment - timedelta(minutes=draw(st.integers(0, 60 * 24 * 20))), received_at=moment, note="",
        )
        world.interviews[interview.id] = interview
        world.keep(interview)
    elif action == "raise":
        issue = Issue(
            id=world.new_id(), source_kind="visit", source_id=None, household_id=None,
            village=draw(st.sampled_from(sorted(VILLAGES))), category=draw(st.sampled_from(["roads", "water"])),
            summary="", raised_by=draw(st.sampled_from([None, *cadres])),
            occurred_at=moment - timedelta(minutes=draw(st.integers(0, 60 * 24 * 3))),
        )
        world.issues[issue.id] = issue
        world.keep(issue)
    elif action == "route" and _issues_in(world, {"raised", "routed", "reopened"}):
        issue = world.issues[draw(st.sampled_from(_issues_in(world, {"raised", "routed", "reopened"})))]
        route = draw(st.sampled_from(["on_the_spot", "monthly_review", "department", "department", "leadership"]))
        raised_on = issue.occurred_at.astimezone(SHANGHAI).date()
        issue.route(route, draw(st.sampled_from(DEPARTMENTS)) if route == "department" else None,
                    (raised_on + timedelta(days=draw(st.integers(0, 20)))).isoformat() if route == "department"
                    else None, "admin")
        world.keep(issue)
    elif action == "resolve" and _issues_in(world, {"routed", "reopened"}):
        issue = world.issues[draw(st.sampled_from(_issues_in(world, {"routed", "reopened"})))]
        issue.resolve("done", "admin")
        world.keep(issue)
    elif action == "reply" and _issues_in(world, {"resolved"}):
        issue = world.issues[draw(st.sampled_from(_issues_in(world, {"resolved"})))]
        issue.reply("replied", "admin")
        world.keep(issue)
    elif action == "rate" and _issues_in(world, {"resolved", "replied"}):
        issue = world.issues[draw(st.sampled_from(_issues_in(world, {"resolved", "replied"})))]
        issue.rate(draw(st.sampled_from(["satisfied", "basically_satisfied", "unsatisfied"])), "resident")
        world.keep(issue)
    elif action == "reopen" and _issues_in(world, {"resolved", "replied", "rated"}):
        issue = world.issues[draw(st.sampled_from(_issues_in(world, {"resolved", "replied", "rated"})))]
        issue.reopen("not fixed", "resident")
        world.keep(issue)


def _check_in(draw: Any, world: LedgerWorld, cadres: list, households: list, moment: datetime) -> None:
    """A check-in at a household or at one of the other targets: near, far, mocked, inaccurate or without a fix."""
    household = world.households[draw(st.sampled_from(households))] if households and draw(st.booleans()) else None
    kind, target = ("household", str(household.id)) if household else draw(st.sampled_from(OTHER_TARGETS))
    lat, lon = (household.lat, household.lon) if household else VILLAGES["469029100201"][1:]
    fix = draw(st.sampled_from(["near", "near", "far", "none"]))
    position = None if fix == "none" else {
        "lat": lat + draw(st.integers(-60, 60) if fix == "near" else st.integers(200, 400)) * METRE, "lon": lon,
        "accuracy_m": float(draw(st.sampled_from([8, 25, 150]))), "provider": "gps",
        "is_mock": draw(st.sampled_from([False, False, True])),
    }
    visit = Visit(
        id=world.new_id(), cadre_id=draw(st.sampled_from(cadres)), target_kind=kind, target_id=target,
        household_id=household.id if household else None,
        village=household.village if household else draw(st.sampled_from([None, *sorted(VILLAGES)])),
        kind=draw(st.sampled_from(["home", "home", "home", "stay", "phone"])),
        # synced up to 4 days late; now and then backdated beyond the rule (40 days) or dated 2 hours ahead
        occurred_at=moment - timedelta(minutes=draw(st.one_of(st.integers(0, 60 * 24 * 4), st.sampled_from(
            [60 * 24 * 40, -120])))), received_at=moment,
        position=position, topics=[], note="", companions=[], device_id=None,
    )
    world.visits[visit.id] = visit
    world.keep(visit)


# -- running a history through the real driver ---------------------------------------------------


async def run_history(conn: Any, url: str, schema: str, events: list[Any], chunks: list[int], batch_size: int) -> None:
    """Empty the county, then append the events in chunks, letting the driver catch up after each."""
    await reset_county(conn, schema)
    await conn.execute("DELETE FROM rollup.rollup_county_months WHERE county = $1", schema.removeprefix("county_"))
    driver = Driver(url, PROJECTIONS, decoder(), batch_size, 2.0)
    county = FollowedCounty(schema.removeprefix("county_"), schema, Rules())
    position, index = 0, 0
    while position < len(events):
        size = chunks[index % len(chunks)]
        await store_events(conn, schema, events[position:position + size])
        position, index = position + size, index + 1
        assert await driver.process(conn, county) >= 0
    assert county.failed_until == 0.0, "the driver failed on this history (see the log)"


async def rebuilds_agree(conn: Any, url: str, schema: str, events: list[Any], incremental: dict[date, Any],
                         middle: date, answer: Any) -> None:
    """A rebuild answers as the incremental batches did on each day of `incremental`, and a rebuild of only
    the events up to `middle` answers as they did on it (`answer(conn, schema, day)`)."""
    await rebuild_county(conn, schema, PROJECTIONS)
    for day, expected in incremental.items():
        assert await answer(conn, schema, day) == expected, f"rebuild differs on {day}"
    await run_history(conn, url, schema, [], [1], 1)
    await store_events(conn, schema, before(events, middle))
    await rebuild_county(conn, schema, PROJECTIONS)
    assert await answer(conn, schema, middle) == incremental[middle], f"as_of {middle} differs from a cut rebuild"


def as_of_days(events: list[Any]) -> tuple[date, date]:
    """(a day in the middle of the history, its last day)."""
    days = [e.timestamp.astimezone(SHANGHAI).date() for e in events] or [START.date()]
    return days[len(days) // 2], days[-1]


def before(events: list[Any], day: date) -> list[Any]:
    return [e for e in events if e.timestamp < cutoff(day)]


# -- the fold ------------------------------------------------------------------------------------


def _local(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def span(cadence: str, day: date) -> tuple[date, date]:
    if cadence == "monthly":
        return day.replace(day=1), _month_end(day.year, day.month)
    if cadence == "yearly":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    first = 3 * ((day.month - 1) // 3) + 1
    return date(day.year, first, 1), _month_end(day.year, first + 2)


def last_weekday_of(year: int, month: int, weekday: int) -> date:
    day = _month_end(year, month)
    while day.weekday() != weekday:
        day -= timedelta(days=1)
    return day


class LedgerFold:
    """The five read models' answers on `as_of`, by replaying the events up to its cutoff."""

    def __init__(self, events: list[Any], as_of: date, rules: Rules) -> None:
        self.events, self.as_of, self.rules = events, as_of, rules
        # The shared fold judges check-ins; it knows only household pairings, so it does not see pairings.
        self.base = Fold([e for e in events if not name(e).startswith("Pairing.")], as_of, rules)
        self.targets: dict[uuid.UUID, tuple[str, str]] = {}
        self.villages: dict[uuid.UUID, str | None] = {}
        self.ranks: dict[uuid.UUID, str] = {}
        self.enrolled: dict[uuid.UUID, date] = {}
        self.departed: set[uuid.UUID] = set()
        self.names: dict[uuid.UUID, str] = {}
        self.tags: dict[uuid.UUID, list[str]] = {}
        self.archived: set[uuid.UUID] = set()
        self.pairings: dict[uuid.UUID, dict] = {}
        self.interviews: list[dict] = []
        self.issues: dict[uuid.UUID, dict] = {}
        end = cutoff(as_of)
        for e in events:
            if e.timestamp < end:
                self._apply(e)

    def _apply(self, e: Any) -> None:
        kind = name(e)
        if kind == "Cadre.Enrolled":
            self.ranks[e.originator_id], self.names[e.originator_id] = e.rank, e.name
            self.enrolled[e.originator_id] = _local(e.timestamp)
        elif kind == "Cadre.RankChanged":
            self.ranks[e.originator_id] = e.rank
        elif kind == "Cadre.Departed":
            self.departed.add(e.originator_id)
            # A pairing ends with its cadre ...
            self.pairings = {k: p for k, p in self.pairings.items() if str(p["cadre_id"]) != str(e.originator_id)}
        elif kind in ("Household.Registered", "Household.Retagged"):
            self.tags[e.originator_id] = list(e.tags)
        elif kind == "Household.Archived":
            self.archived.add(e.originator_id)
            # ... and with its household.
            self.pairings = {k: p for k, p in self.pairings.items()
                             if (p["target_kind"], p["target_id"]) != ("household", str(e.originator_id))}
        elif kind == "Pairing.Formed":
            self.pairings[e.originator_id] = {"cadre_id": e.cadre_id, "target_kind": e.target_kind,
                                              "target_id": e.target_id, "cadence": e.cadence,
                                              "formed_on": date.fromisoformat(e.formed_on)}
        elif kind == "Pairing.Ended":
            self.pairings.pop(e.originator_id, None)
        elif kind == "Visit.CheckedIn":
            self.targets[e.originator_id] = (e.target_kind, e.target_id)
            self.villages[e.originator_id] = e.village
        elif kind == "Interview.Held":
            self.interviews.append({"id": e.originator_id, "by": e.interviewer_id, "of": e.interviewee_id,
                                    "direction": e.direction, "day": _local(e.occurred_at),
                                    "at": e.occurred_at, "by_rank": self.ranks.get(e.interviewer_id),
                                    "of_rank": self.ranks.get(e.interviewee_id)})
        elif kind == "Issue.Raised":
            self.issues[e.originator_id] = {"state": "raised", "route": None, "department": None, "deadline": None,
                                            "routed_at": None, "resolved_at": None, "satisfaction": None,
                                            "rated_at": None, "category": e.category, "village": e.village,
                                            "raised_by": e.raised_by, "occurred_at": e.occurred_at}
        elif kind.startswith("Issue."):
            issue = self.issues[e.originator_id]
            if kind == "Issue.Routed":
                issue.update(state="routed", route=e.route, department=e.department, routed_at=e.timestamp,
                             deadline=date.fromisoformat(e.deadline) if e.deadline else None)
            elif kind == "Issue.Resolved":
                issue.update(state="resolved", resolved_at=e.timestamp)
            elif kind == "Issue.Replied":
                issue["state"] = "replied"
            elif kind == "Issue.Rated":
                issue.update(state="rated", satisfaction=e.satisfaction, rated_at=e.timestamp)
            elif kind == "Issue.Reopened":
                issue.update(state="reopened", resolved_at=None, satisfaction=None, rated_at=None)

    # -- pairing -----------------------------------------------------------------------------------
    def _visits(self) -> list[dict]:
        return list(self.base.checkins.values())

    def pairing_statuses(self) -> dict[uuid.UUID, tuple[str, date, date | None]]:
        """pairing -> (status, due date, last visit day)."""
        result = {}
        visits = {}
        for c in self._visits():
            visits.setdefault(c["cadre_id"], []).append(c)
        for pairing_id, p in self.pairings.items():
            days = []
            for c in visits.get(p["cadre_id"], []):
                if self.targets[c["visit_id"]] == (p["target_kind"], p["target_id"]):
                    days.append(_local(c["occurred_at"]))
            start, end = span(p["cadence"], self.as_of)
            prev_start, prev_end = span(p["cadence"], start - timedelta(days=1))
            if any(start <= d <= end for d in days):
                status, due = "ok", span(p["cadence"], end + timedelta(days=1))[1]
            elif p["formed_on"] < prev_start and not any(prev_start <= d <= prev_end for d in days):
                status, due = "overdue", prev_end
            else:
                status, due = "due", end
            result[pairing_id] = (status, due, max(days) if days else None)
        return result

    def pairing_by_cadre(self) -> dict[uuid.UUID, tuple[int, int, int]]:
        """cadre -> (active pairings, of those not overdue, of those with a verified visit in their current
        cadence period, by the verdicts as they stood on the day)."""
        statuses = self.pairing_statuses()
        result: dict[uuid.UUID, tuple[int, int, int]] = {}
        for pairing_id, p in self.pairings.items():
            start, end = span(p["cadence"], self.as_of)
            verified = any(c["cadre_id"] == p["cadre_id"] and self.base.verified(c)
                           and self.targets[c["visit_id"]] == (p["target_kind"], p["target_id"])
                           and start <= _local(c["occurred_at"]) <= end for c in self._visits())
            held, kept, seen = result.get(uuid.UUID(str(p["cadre_id"])), (0, 0, 0))
            result[uuid.UUID(str(p["cadre_id"]))] = (held + 1, kept + (statuses[pairing_id][0] != "overdue"),
                                                     seen + verified)
        return result

    def quotas(self) -> dict[uuid.UUID, tuple[bool, list[tuple[str, int]]]]:
        """active cadre -> (compliant, [(rule, actual)])."""
        hardship_tags = set(self.rules.hardship_tags)
        result = {}
        for cadre_id, rank in self.ranks.items():
            if cadre_id in self.departed:
                continue
            mine = [p for p in self.pairings.values() if p["cadre_id"] == cadre_id and not (
                p["target_kind"] == "household" and uuid.UUID(p["target_id"]) in self.archived)]
            homes = {p["target_id"] for p in mine if p["target_kind"] == "household"}
            poor = {h for h in homes if hardship_tags & set(self.tags.get(uuid.UUID(h), []))}
            kinds = ({p["target_kind"] for p in mine if p["target_kind"] != "household"}
                     | ({"household"} if poor else set()))
            rules = [("hardship_households", len(poor), 5)]
            if rank in ("section_chief", "deputy_section_chief", "staff"):
                rules.append(("households_by_rank", len(homes), {"section_chief": 3, "deputy_section_chief": 2,
                                                                  "staff": 1}[rank]))
            if self.rules.five_contacts is not None:
                five = self.rules.five_contacts
                rules.append(("five_contacts", sum(k in kinds for k in five), len(five)))
            result[cadre_id] = (all(a >= r for _, a, r in rules), [(n, a) for n, a, _ in rules])
        return result

    # -- interviews --------------------------------------------------------------------------------
    def _expected(self, interview: dict) -> bool:
        allowed = {"section_chief": {"section_chief"},
                   "deputy_section_chief": {"section_chief", "deputy_section_chief"},
                   "staff": {"section_chief", "deputy_section_chief"},
                   "village_cadre": {"section_chief", "deputy_section_chief", "staff"}}
        return interview["by_rank"] in allowed[interview["of_rank"]] if interview["of_rank"] in allowed else True

    def interview_statuses(self) -> dict[uuid.UUID, tuple[str, int, int, uuid.UUID | None]]:
        """active cadre -> (status, interviews this year, expected-rank ones, last interview id)."""
        year = self.as_of.year
        result = {}
        for cadre_id in self.ranks:
            if cadre_id in self.departed:
                continue
            mine = sorted((i for i in self.interviews if i["of"] == cadre_id and i["direction"] == "leader_to_cadre"),
                          key=lambda i: (i["at"], str(i["id"])))
            this = [i for i in mine if i["day"].year == year]
            good = sum(self._expected(i) for i in this)
            good_last = sum(self._expected(i) for i in mine if i["day"].year == year - 1)
            if good >= 1:
                status = "ok"
            elif self.enrolled[cadre_id] <= date(year - 1, 1, 1) and good_last < 1:
                status = "overdue"
            else:
                status = "due"
            result[cadre_id] = (status, len(this), good, mine[-1]["id"] if mine else None)
        return result

    def rank_mismatches(self) -> set[uuid.UUID]:
        return {i["id"] for i in self.interviews if i["direction"] == "leader_to_cadre"
                and i["day"].year == self.as_of.year and not self._expected(i)}

    # -- issues ------------------------------------------------------------------------------------
    def issue_status(self, issue: dict) -> str:
        if issue["state"] in ("resolved", "replied", "rated"):
            return "resolved"
        due = issue["deadline"]
        if due is None and issue["route"] is not None:
            due = _local(issue["routed_at"]) + timedelta(days=self.rules.issue_days_by_route[issue["route"]])
        return "overdue" if due is not None and due < self.as_of else "open"

    def ledger(self, by: str) -> dict[Any, dict]:
        groups: dict[Any, dict] = {}
        for issue in self.issues.values():
            key = issue["village"][:9] if by == "township" else issue[by]
            g = groups.setdefault(key, {"total": 0, "open": 0, "overdue": 0, "resolved": 0, "rated": 0, "satisfied": 0})
            status = self.issue_status(issue)
            g["total"] += 1
            g["open"] += status != "resolved"
            g["overdue"] += status == "overdue"
            g["resolved"] += status == "resolved"
            g["rated"] += issue["satisfaction"] is not None
            g["satisfied"] += issue["satisfaction"] in ("satisfied", "basically_satisfied")
        return groups

    def agenda(self) -> tuple[date, set[uuid.UUID]]:
        day = self.as_of
        this = last_weekday_of(day.year, day.month, self.rules.monthly_review_weekday)
        if this >= day:
            prev = day.replace(day=1) - timedelta(days=1)
            last = last_weekday_of(prev.year, prev.month, self.rules.monthly_review_weekday)
        else:
            last = this
        return last, {k for k, i in self.issues.items() if i["route"] == "monthly_review"
                      and (_local(i["routed_at"]) > last or self.issue_status(i) != "resolved")}

    # -- leaderboards ------------------------------------------------------------------------------
    def _period_issue_counts(self, issues: list[dict], start: datetime, end: datetime) -> tuple[int, int, int]:
        resolved = sum(1 for i in issues if i["state"] in ("resolved", "replied", "rated")
                       and start <= i["resolved_at"] < end)
        rated = [i for i in issues if i["rated_at"] is not None and start <= i["rated_at"] < end]
        return resolved, len(rated), sum(i["satisfaction"] in ("satisfied", "basically_satisfied") for i in rated)

    def cadre_board(self, first: date, last: date) -> dict[uuid.UUID, tuple]:
        """cadre -> (verified visits, distinct households, issues resolved, satisfaction %) for listed cadres."""
        start, end = cutoff(first - timedelta(days=1)), cutoff(last)
        verified = [c for c in self._visits() if self.base.verified(c) and start <= c["occurred_at"] < end]
        ids = {c for c in self.ranks if c not in self.departed}
        ids |= {c["cadre_id"] for c in verified}
        ids |= {i["raised_by"] for i in self.issues.values() if i["raised_by"] is not None}
        result = {}
        for cadre_id in ids:
            visits = [c for c in verified if c["cadre_id"] == cadre_id]
            resolved, rated, satisfied = self._period_issue_counts(
                [i for i in self.issues.values() if i["raised_by"] == cadre_id], start, end)
            row = (len(visits), len({c["household_id"] for c in visits} - {None}), resolved,
                   round(100.0 * satisfied / rated, 1) if rated else None)
            active = cadre_id in self.ranks and cadre_id not in self.departed
            if active or any(row[:3]) or rated:
                result[cadre_id] = row
        return result


# -- the property every read model keeps ---------------------------------------------------------


async def check_read_model(url: str, schema: str, events: list[Any], chunks: list[int], batch_size: int,
                           answer: Any, compare: Any) -> None:
    """Incremental answers (mid-history and last day) == a full rebuild's == the fold's, and the
    mid-history `as_of` answer == a rebuild of only the events recorded up to that day."""
    from projections.rebuild import rebuild_county

    conn = await asyncpg.connect(url)
    try:
        await run_history(conn, url, schema, events, chunks, batch_size)
        middle, last = as_of_days(events)
        incremental = {day: await answer(conn, schema, day) for day in (middle, last)}
        await rebuild_county(conn, schema, PROJECTIONS)
        for day, expected in incremental.items():
            assert await answer(conn, schema, day) == expected, f"rebuild differs on {day}"
            compare(expected, LedgerFold(events, day, Rules()))
        cut = before(events, middle)
        await run_history(conn, url, schema, [], [1], 1)
        await store_events(conn, schema, cut)
        await rebuild_county(conn, schema, PROJECTIONS)
        assert await answer(conn, schema, middle) == incremental[middle], f"as_of {middle} differs from a cut rebuild"
    finally:
        await conn.close()


async def all_pages(fetch: Any) -> list[dict]:
    """Every item of a paginated query (`fetch(after)` -> {items, next})."""
    items, after = [], None
    while True:
        page = await fetch(after)
        items.extend(page["items"])
        if page["next"] is None:
            return items
        after = page["next"]


def township_board(fold: LedgerFold, first: date, last: date) -> dict[str, tuple]:
    """township -> (verified visits, distinct households, issues resolved, satisfaction %)."""
    start, end = cutoff(first - timedelta(days=1)), cutoff(last)
    towns = {place["township"] for h, place in fold.base.places.items()
             if h not in fold.base.archived or fold.base.archived[h] >= start}
    verified = [c for c in fold.base.checkins.values()
                if fold.base.verified(c) and fold.villages[c["visit_id"]] is not None
                and start <= c["occurred_at"] < end]
    towns |= {fold.villages[c["visit_id"]][:9] for c in verified}
    towns |= {i["village"][:9] for i in fold.issues.values()}
    result = {}
    for town in towns:
        visits = [c for c in verified if fold.villages[c["visit_id"]][:9] == town]
        resolved, rated, satisfied = fold._period_issue_counts(
            [i for i in fold.issues.values() if i["village"][:9] == town], start, end)
        result[town] = (len(visits), len({c["household_id"] for c in visits} - {None}), resolved,
                        round(100.0 * satisfied / rated, 1) if rated else None)
    return result


# -- hand-written stories for the specific cases ----------------------------------------------------


class Story:
    """Builds a county's history by hand: each call runs a domain command at a Shanghai wall-clock time."""

    def __init__(self) -> None:
        self.world = LedgerWorld()

    @property
    def events(self) -> list[Any]:
        return self.world.events

    def at(self, *when: int) -> Any:
        return clock.at(datetime(*when, tzinfo=SHANGHAI))

    def cadre(self, when: tuple, rank: str = "staff", township: str | None = None) -> uuid.UUID:
        with self.at(*when):
            cadre = Cadre(id=self.world.new_id(), name=f"干部{self.world.made}", rank=rank, unit="u",
                          township=township, phone=None)
        self.world.cadres[cadre.id] = cadre
        self.world.keep(cadre)
        return cadre.id

    def household(self, when: tuple, village: str = "469029100201", tags: list[str] | None = None) -> uuid.UUID:
        township, lat, lon = VILLAGES[village]
        with self.at(*when):
            household = Household(id=self.world.new_id(), village=village, township=township, address="", lat=lat,
                                  lon=lon, tags=tags or [], size=3, personal="sealed")
        self.world.households[household.id] = household
        self.world.keep(household)
        return household.id

    def pair(self, when: tuple, cadre: uuid.UUID, kind: str, target: str, formed_on: str,
             cadence: str = "quarterly") -> uuid.UUID:
        with self.at(*when):
            pairing = Pairing(id=self.world.new_id(), cadre_id=cadre, target_kind=kind, target_id=target,
                              programme="结对", cadence=cadence, formed_on=formed_on)
        self.world.pairings[pairing.id] = pairing
        self.world.keep(pairing)
        return pairing.id

    def visit(self, when: tuple, cadre: uuid.UUID, household: uuid.UUID | None = None, *, metres: int = 20,
              mock: bool = False, target: tuple[str, str] | None = None, kind: str = "home",
              occurred: tuple | None = None) -> uuid.UUID:
        """A check-in `metres` north of the household (or at a non-household target), accurate to 10 m,
        synced at `when` (made then, or at `occurred`)."""
        home = self.world.households[household] if household else None
        lat, lon = (home.lat, home.lon) if home else VILLAGES["469029100201"][1:]
        moment = datetime(*when, tzinfo=SHANGHAI)
        made = datetime(*occurred, tzinfo=SHANGHAI) if occurred else moment
        with clock.at(moment):
            visit = Visit(
                id=self.world.new_id(), cadre_id=cadre, target_kind=target[0] if target else "household",
                target_id=target[1] if target else str(household), household_id=household,
                village=home.village if home else None, kind=kind, occurred_at=made, received_at=moment,
                position={"lat": lat + metres * METRE, "lon": lon, "accuracy_m": 10.0, "provider": "gps",
                          "is_mock": mock},
                topics=[], note="", companions=[], device_id=None,
            )
        self.world.keep(visit)
        return visit.id

    def interview(self, when: tuple, interviewer: uuid.UUID, interviewee: uuid.UUID) -> uuid.UUID:
        moment = datetime(*when, tzinfo=SHANGHAI)
        with clock.at(moment):
            interview = Interview.hold(id=self.world.new_id(), interviewer_id=interviewer, interviewee_id=interviewee,
                                       form="one_on_one", direction="leader_to_cadre", topics=["family"],
                                       opinions_count=1, follow_up=False,
                                       occurred_at=moment, received_at=moment, note="")
        self.world.keep(interview)
        return interview.id

    def issue(self, when: tuple, *, raised_by: uuid.UUID | None = None, village: str = "469029100201",
              category: str = "roads") -> Issue:
        moment = datetime(*when, tzinfo=SHANGHAI)
        with clock.at(moment):
            issue = Issue(id=self.world.new_id(), source_kind="visit", source_id=None, household_id=None,
                          village=village, category=category, summary="", raised_by=raised_by, occurred_at=moment)
        self.world.keep(issue)
        return issue

    def then(self, when: tuple, aggregate: Any, command: str, *args: Any) -> None:
        """Run `aggregate.command(*args)` at `when` and keep its events."""
        with self.at(*when):
            getattr(aggregate, command)(*args)
        self.world.keep(aggregate)


async def project(url: str, schema: str, events: list[Any]) -> Any:
    """A connection to a county whose read models hold exactly `events` (driven by the real driver)."""
    conn = await asyncpg.connect(url)
    await run_history(conn, url, schema, events, [max(1, len(events))], 1000)
    return conn
