"""Event histories for property tests of the read models, and plain-Python folds to check them against.

`histories()` draws a valid history of one county: households registered, relocated and archived;
cadres enrolled, transferred and departed; pairings formed and ended; check-ins (near, far, mocked,
inaccurate, without a fix, synced late) and voids, with server timestamps that only move forward
and span several weeks. Events are made by the real aggregates under the domain's clock seam and
stored with the write side's mapper (`store_events`), so the projections decode real data.

`Fold` replays the same events in plain Python, written independently of the projections' SQL: the
tests compare each read model's answers with it.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from geopy.distance import geodesic
from hypothesis import strategies as st

from services.domain import Cadre, Household, Pairing, Visit, clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 20, 9, 0, tzinfo=SHANGHAI)
# Four villages in two townships of 保亭 (469029), a few km apart.
VILLAGES = {
    "469029100201": ("469029100", 18.640, 109.700),
    "469029100202": ("469029100", 18.655, 109.712),
    "469029101201": ("469029101", 18.600, 109.650),
    "469029101202": ("469029101", 18.610, 109.665),
}
TOWNSHIPS = sorted({t for t, _, _ in VILLAGES.values()})
METRE = 1 / 111_320  # degrees of latitude per metre


@dataclass
class World:
    """The aggregates of a history being drawn, so each step can only do what the domain allows."""

    households: dict[uuid.UUID, Household] = field(default_factory=dict)
    cadres: dict[uuid.UUID, Cadre] = field(default_factory=dict)
    pairings: dict[uuid.UUID, Pairing] = field(default_factory=dict)
    visits: dict[uuid.UUID, Visit] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)
    ids: int = 0

    def new_id(self, draw: Any) -> uuid.UUID:
        """Unique within the history; the drawn high bits vary the ids' order (the queries' tie-breaks)."""
        self.ids += 1
        return uuid.UUID(int=(draw(st.integers(0, 2**32)) << 64) + self.ids)

    def keep(self, aggregate: Any) -> None:
        self.events.extend(aggregate.collect_events())


ACTIONS = ["register", "register", "enrol", "check_in", "check_in", "check_in", "check_in", "relocate",
           "archive", "transfer", "depart", "pair", "pair", "end_pairing", "void"]


@st.composite
def histories(draw: Any, min_steps: int = 4, max_steps: int = 45) -> list[Any]:
    world = World()
    moment = START + timedelta(minutes=draw(st.integers(0, 60 * 24 * 30)))
    for _ in range(draw(st.integers(min_steps, max_steps))):
        # Mostly days apart, sometimes minutes (so a distant fix can be impossible travel).
        moment += timedelta(minutes=draw(st.sampled_from([1, 20, 90, 60 * 24, 60 * 24 * 4, 60 * 24 * 11])))
        action = draw(st.sampled_from(ACTIONS))
        with clock.at(moment):
            _step(draw, world, action, moment)
    return world.events


def _active(aggregates: dict, flag: str) -> list:
    return [k for k, a in sorted(aggregates.items()) if not getattr(a, flag)]


def _step(draw: Any, world: World, action: str, moment: datetime) -> None:
    households = _active(world.households, "archived")
    cadres = _active(world.cadres, "departed")
    if action == "register" or (action in ("relocate", "archive") and not households):
        village = draw(st.sampled_from(sorted(VILLAGES)))
        township, lat, lon = VILLAGES[village]
        household = Household(
            id=world.new_id(draw), village=village, township=township, address="",
            lat=lat + draw(st.integers(-400, 400)) * METRE, lon=lon + draw(st.integers(-400, 400)) * METRE,
            tags=[], size=draw(st.integers(1, 6)), personal="sealed",
        )
        world.households[household.id] = household
        world.keep(household)
    elif action == "relocate":
        household = world.households[draw(st.sampled_from(households))]
        village = draw(st.sampled_from(sorted(VILLAGES)))
        township, lat, lon = VILLAGES[village]
        household.relocate(village, township, "", lat + draw(st.integers(-300, 300)) * METRE, lon)
        world.keep(household)
    elif action == "archive":
        household = world.households[draw(st.sampled_from(households))]
        household.archive("moved away")
        world.keep(household)
    elif action == "enrol" or (action in ("transfer", "depart", "pair", "check_in") and not cadres):
        cadre = Cadre(id=world.new_id(draw), name="c", rank="staff", unit="u",
                      township=draw(st.sampled_from([None, *TOWNSHIPS])), phone=None)
        world.cadres[cadre.id] = cadre
        world.keep(cadre)
    elif action == "transfer":
        cadre = world.cadres[draw(st.sampled_from(cadres))]
        cadre.transfer("u2", draw(st.sampled_from([None, *TOWNSHIPS])))
        world.keep(cadre)
    elif action == "depart":
        cadre = world.cadres[draw(st.sampled_from(cadres))]
        cadre.depart("retired")
        world.keep(cadre)
    elif action == "pair" and households:
        pairing = Pairing(
            id=world.new_id(draw), cadre_id=draw(st.sampled_from(cadres)),
            target_kind="household", target_id=str(draw(st.sampled_from(households))), programme="结对",
            cadence=draw(st.sampled_from(["monthly", "quarterly", "yearly", None])),  # None: the county's default
            formed_on=(moment.astimezone(SHANGHAI).date() - timedelta(days=draw(st.integers(0, 120)))).isoformat(),
        )
        world.pairings[pairing.id] = pairing
        world.keep(pairing)
    elif action == "end_pairing" and _active(world.pairings, "ended_on"):
        pairing = world.pairings[draw(st.sampled_from(_active(world.pairings, "ended_on")))]
        pairing.end("no longer in hardship", max(pairing.formed_on, moment.astimezone(SHANGHAI).date().isoformat()))
        world.keep(pairing)
    elif action == "void" and _active(world.visits, "voided"):
        visit = world.visits[draw(st.sampled_from(_active(world.visits, "voided")))]
        visit.void("admin", "duplicate entry")
        world.keep(visit)
    elif action == "check_in" and cadres:
        _check_in(draw, world, cadres, households, moment)


def _check_in(draw: Any, world: World, cadres: list, households: list, moment: datetime) -> None:
    at_household = bool(households) and draw(st.sampled_from([True, True, False]))
    household = world.households[draw(st.sampled_from(households))] if at_household else None
    lat, lon = (household.lat, household.lon) if household else VILLAGES["469029100201"][1:]
    fix = draw(st.sampled_from(["near", "near", "far", "none", "distant", "distant"]))
    position = None
    if fix != "none":
        offset = {"near": 60, "far": 400}.get(fix)
        north = draw(st.integers(-offset, offset)) if offset else draw(st.sampled_from([-50_000, 50_000]))
        position = {
            "lat": lat + north * METRE, "lon": lon,
            "accuracy_m": float(draw(st.sampled_from([8, 25, 90, 150]))), "provider": "gps",
            "is_mock": draw(st.sampled_from([False, False, True])),
        }
    # some synced late, a few backdated beyond the rule (40 days) or dated in the future (2 hours)
    occurred = moment - timedelta(minutes=draw(st.sampled_from([0, 0, 0, 30, 60 * 24 * 3, 60 * 24 * 40, -120])))
    visit = Visit(
        id=world.new_id(draw), cadre_id=draw(st.sampled_from(cadres)),
        target_kind="household" if household else "enterprise",
        target_id=str(household.id) if household else "ENT-1", household_id=household.id if household else None,
        village=household.village if household else None,
        kind=draw(st.sampled_from(["home", "home", "home", "chat", "phone"])), occurred_at=occurred, received_at=moment,
        position=position, topics=[], note="", companions=[], device_id=None,
    )
    world.visits[visit.id] = visit
    world.keep(visit)


def cutoff(as_of: date) -> datetime:
    return datetime.combine(as_of + timedelta(days=1), datetime.min.time(), SHANGHAI)


def name(event: Any) -> str:
    return type(event).__qualname__


class Fold:
    """The read models' answers computed by replaying events in plain Python."""

    def __init__(self, events: list[Any], as_of: date, rules: Any) -> None:
        self.as_of, self.rules = as_of, rules
        end = cutoff(as_of)
        self.places: dict[uuid.UUID, dict] = {}      # household -> latest place
        self.archived: dict[uuid.UUID, datetime] = {}
        self.location: dict[uuid.UUID, tuple[float, float]] = {}
        self.contacts: dict[uuid.UUID, dict] = {}  # every check-in, phone calls too
        self.checkins: dict[uuid.UUID, dict] = {}  # those of the kinds the rules count as visits
        self.pairings: dict[uuid.UUID, dict] = {}
        self.cadres: dict[uuid.UUID, dict] = {}
        self._too_fast: set[uuid.UUID] | None = None  # worked out once every event is applied
        for event in events:
            if event.timestamp >= end:
                continue
            self._apply(event)

    def _apply(self, e: Any) -> None:
        kind = name(e)
        if kind in ("Household.Registered", "Household.Relocated"):
            self.places[e.originator_id] = {"village": e.village, "township": e.township, "lat": e.lat, "lon": e.lon}
            self.location[e.originator_id] = (e.lat, e.lon)
        elif kind == "Household.Archived":
            self.archived[e.originator_id] = e.timestamp
        elif kind == "Visit.CheckedIn":
            p, home = e.position, self.location.get(e.household_id) if e.household_id else None
            distance = geodesic((p["lat"], p["lon"]), home).meters if p and home else None
            verified = bool(p) and p["accuracy_m"] <= self.rules.verified_max_accuracy_m and not p["is_mock"] and (
                distance <= self.rules.verified_max_distance_m if distance is not None else e.household_id is None)
            late = e.timestamp - e.occurred_at
            verified = verified and timedelta(minutes=-10) <= late <= timedelta(days=self.rules.backdated_after_days)
            self.contacts[e.originator_id] = {
                "visit_id": e.originator_id, "cadre_id": e.cadre_id, "household_id": e.household_id,
                "occurred_at": e.occurred_at, "position": p, "distance_m": distance, "verified": verified,
            }
            if e.kind in self.rules.visit_kinds_counted:
                self.checkins[e.originator_id] = self.contacts[e.originator_id]
        elif kind == "Visit.Voided":
            del self.contacts[e.originator_id]
            self.checkins.pop(e.originator_id, None)
        elif kind == "Pairing.Formed":
            self.pairings[e.originator_id] = {"cadre_id": e.cadre_id, "household_id": uuid.UUID(e.target_id),
                                              "cadence": e.cadence or self.rules.default_pairing_cadence,
                                              "formed_on": date.fromisoformat(e.formed_on)}
        elif kind == "Pairing.Ended":
            del self.pairings[e.originator_id]
        elif kind in ("Cadre.Enrolled", "Cadre.Transferred"):
            self.cadres[e.originator_id] = {"township": e.township, "departed": False}
        elif kind == "Cadre.Departed":
            self.cadres[e.originator_id]["departed"] = True

    # -- verdicts ------------------------------------------------------------------------------
    def verdicts(self) -> dict[uuid.UUID, dict]:
        """visit id -> {verified, distance_m, impossible_travel}: a check-in reached too fast is not verified."""
        too_fast = self.impossible_travel()
        return {c["visit_id"]: {"verified": self.verified(c), "distance_m": c["distance_m"],
                                "impossible_travel": c["visit_id"] in too_fast} for c in self.contacts.values()}

    def impossible_travel(self) -> set[uuid.UUID]:
        """Check-ins reached from the one before them in their cadre's chain (fixes in time order) too fast."""
        if self._too_fast is None:
            by_cadre: dict[uuid.UUID, list[dict]] = {}
            for c in self.contacts.values():
                if c["position"]:
                    by_cadre.setdefault(c["cadre_id"], []).append(c)
            self._too_fast = set()
            for chain in by_cadre.values():
                chain.sort(key=lambda c: (c["occurred_at"], str(c["visit_id"])))
                for before, after in pairwise(chain):
                    km = _haversine_km(before["position"], after["position"])
                    hours = (after["occurred_at"] - before["occurred_at"]).total_seconds() / 3600
                    speed = km / hours if hours > 0 else (0.0 if km == 0 else math.inf)
                    if speed > self.rules.impossible_travel_kmh:
                        self._too_fast.add(after["visit_id"])
        return self._too_fast

    def verified(self, contact: dict) -> bool:
        return contact["verified"] and contact["visit_id"] not in self.impossible_travel()

    # -- coverage ------------------------------------------------------------------------------
    def coverage(self, start: date, end: date, level: str) -> dict[str, dict]:
        first = datetime.combine(start, datetime.min.time(), SHANGHAI)
        after = cutoff(end)
        groups: dict[str, list[tuple[int, int]]] = {}
        for household, place in self.places.items():
            if household in self.archived and self.archived[household] < first:
                continue
            visits = [c for c in self.checkins.values()
                      if c["household_id"] == household and first <= c["occurred_at"] < after]
            key = "469029" if level == "county" else place[level]
            groups.setdefault(key, []).append((len(visits), sum(self.verified(c) for c in visits)))
        return {
            key: {"households": len(g), "visited_once": sum(v >= 1 for v, _ in g),
                  "visited_twice": sum(v >= 2 for v, _ in g), "visits": sum(v for v, _ in g),
                  "verified_visits": sum(w for _, w in g), "verified_visited": sum(w >= 1 for _, w in g)}
            for key, g in groups.items()
        }

    def verified_households(self, start: date, end: date) -> int:
        """Households counted in coverage's period with at least one verified visit in it."""
        first, after = datetime.combine(start, datetime.min.time(), SHANGHAI), cutoff(end)
        return sum(1 for household in self.places
                   if not (household in self.archived and self.archived[household] < first)
                   and any(self.verified(c) for c in self.checkins.values()
                           if c["household_id"] == household and first <= c["occurred_at"] < after))

    # -- completeness --------------------------------------------------------------------------
    def household_status(self) -> dict[uuid.UUID, tuple[int, str, date]]:
        """household -> (visits this year, status, next due) on the as_of day."""
        n, today = self.rules.household_visits_per_year, self.as_of
        result = {}
        for household in self.places:
            if household in self.archived:
                continue
            visits = sum(1 for c in self.checkins.values() if c["household_id"] == household
                         and c["occurred_at"].astimezone(SHANGHAI).year == today.year)
            result[household] = (visits, *_annual_status(visits, n, today, self.rules.due_soon_days))
        return result

    def due_list(self, cadre_id: uuid.UUID) -> list[tuple[uuid.UUID, str, str, date]]:
        """[(household, reason, status, due date)] in the due list's order."""
        cadre = self.cadres.get(cadre_id)
        if cadre is None or cadre["departed"]:
            return []
        today, items = self.as_of, {}
        own = {}
        for c in self.checkins.values():
            if c["cadre_id"] == cadre_id:
                own.setdefault(c["household_id"], []).append(c["occurred_at"].astimezone(SHANGHAI).date())
        for pairing in sorted(self.pairings.values(), key=lambda p: str(p["household_id"])):
            household = pairing["household_id"]
            if pairing["cadre_id"] != cadre_id or household not in self.places or household in self.archived:
                continue
            start, end = _cadence_span(pairing["cadence"], today)
            previous_start, previous_end = _cadence_span(pairing["cadence"], start - timedelta(days=1))
            days = own.get(household, [])
            if any(start <= d <= end for d in days):
                continue
            missed = (pairing["formed_on"] < previous_start
                      and not any(previous_start <= d <= previous_end for d in days))
            item = ("pairing", "overdue" if missed else "due", previous_end if missed else end)
            # Several pairings of this cadre with one household: the most urgent one (overdue, then earliest).
            if household not in items or (item[1] != "overdue", item[2]) < (items[household][1] != "overdue",
                                                                             items[household][2]):
                items[household] = item
        if cadre["township"]:
            for household, (_, status, due) in self.household_status().items():
                if (self.places[household]["township"] == cadre["township"] and status != "ok"
                        and household not in items):
                    items[household] = ("annual_rule", status, due)
        ordered = sorted(items.items(), key=lambda kv: (kv[1][1] != "overdue", kv[1][2], str(kv[0])))
        return [(household, *item) for household, item in ordered]


def _haversine_km(a: dict, b: dict) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _month_last_day(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _annual_status(visits: int, n: int, today: date, soon: int) -> tuple[str, date]:
    if visits >= n:
        return "ok", _month_last_day(today.year + 1, math.ceil(12 / n))
    due = _month_last_day(today.year, math.ceil(12 * (visits + 1) / n))
    if today > due:
        return "overdue", due
    return ("due" if (due - today).days <= soon else "ok"), due


def _cadence_span(cadence: str, day: date) -> tuple[date, date]:
    if cadence == "monthly":
        return day.replace(day=1), _month_last_day(day.year, day.month)
    if cadence == "yearly":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    first = 3 * ((day.month - 1) // 3) + 1
    return date(day.year, first, 1), _month_last_day(day.year, first + 2)


# -- storing and resetting ---------------------------------------------------------------------


async def store_events(conn: Any, schema: str, events: list[Any]) -> None:
    """Append events to the county's log as the write side would (its mapper, lock, notify and position)."""
    from services.storage.names import event_mapper
    from services.storage.positions import advance_past

    mapper = event_mapper()
    stored = [mapper.to_stored_event(e) for e in events]
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(1, $1::int)", int(schema.removeprefix("county_")))
        await conn.execute("SELECT pg_notify('grassroots_events', $1)", schema)
        await conn.executemany(
            f"INSERT INTO {schema}.county_events (originator_id, originator_version, topic, state)"
            " VALUES ($1, $2, $3, $4)",
            [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored],
        )
        await conn.execute(advance_past(schema))


async def reset_county(conn: Any, schema: str) -> None:
    """Empty the county's log, read models and tracking (between hypothesis examples), and its rows in
    the shared tables (rollup)."""
    # DELETE and the log's sequence set back, as `TRUNCATE … RESTART IDENTITY` would leave them: the tables
    # hold a few hundred rows between examples, and TRUNCATE gives each of ~180 tables and indexes a new
    # file (0.2–1 s an example on PostgreSQL, each propagated to the worker on Citus); DELETE costs ms.
    # No foreign keys or triggers on these tables, so order and TRUNCATE's trigger bypass do not matter.
    tables = [f"{schema}.{r['tablename']}" for r in await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'household_keys'", schema)]
    sequences = [r["sequence"] for r in await conn.fetch(  # those a serial or identity column of them owns
        "SELECT d.objid::regclass::text AS sequence FROM pg_depend d JOIN pg_class s ON s.oid = d.objid"
        " WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i') AND d.refobjid = ANY($1::regclass[])", tables)]
    async with conn.transaction():
        await conn.execute("; ".join(f"DELETE FROM {table}" for table in tables))
        for sequence in sequences:
            await conn.execute("SELECT setval($1::regclass, 1, false)", sequence)
    from projections import positions
    from projections.registry import PROJECTIONS

    await positions.forget(conn, schema)
    from projections.schema import ensure_tables_async

    await ensure_tables_async(conn, schema)
    for projection in PROJECTIONS:
        if projection.shared_tables:
            await projection.forget(conn, schema)
