"""Visit verdicts: was each check-in where it claims, and could its cadre have got there?

Per check-in: the geodesic distance (geopy) from the fix to the household's location as known when
the check-in was recorded, the fix's accuracy and mock flag, and `verified` = distance ≤ 150 m,
accuracy ≤ 100 m, not mocked (thresholds from the county's Rules). A check-in at a contact target of the
county's register is measured the same way from the target's coordinates as known then; a target without
coordinates (or named by free text, before the county kept a register) has no place to compare with: it
is verified on accuracy and mock alone. A check-in without a fix is never verified.

Impossible travel compares each check-in with the same cadre's previous one (by `occurred_at`, then
id, among the cadre's check-ins with a fix and not voided): faster than the rule's km/h (120 by
default: a car on a mountain road does well under it, so only a fix that cannot be the cadre's own
trips it) is flagged, and the flag is stored with the check-in's reasons and verdict like any other.
Phones sync late, so a check-in can arrive between two others, and a void takes one out of its chain:
either changes the verdict of the check-in after it. Each batch re-judges only the check-ins it
touched and the one after each of them (`_travel`: index probes on the chain's partial index),
O(the batch) whatever the cadre's history. Every change of a check-in's travel verdict is also kept in
`verdicts_travel` with the moment of the event that caused it, so `as_of` answers see the verdict as it
stood then. The great-circle distance used here differs from the geodesic by < 0.5 %, far below what the
threshold resolves.

Backdating: a check-in recorded (its event's timestamp, when the server received it) more than the
rule's `backdated_after_days` after it happened is `backdated`; one that claims to have happened more
than FUTURE (10 minutes) after it was recorded is `future`. Either is never verified.

The verdict and the reasons behind it are stored with the check-in, and so is `counted`: whether its
kind counts toward "visited" under the county's rules (`counts_as_visit`, e.g. a phone call is a
contact, not a visit). Every read model that counts visits uses the stored verdict, so a rules change
re-judges them all alike (services/api/rejudge.py rebuilds the county). Those that keep running counts
(coverage, leaderboards, campaigns, the rollup) take it through `judged`: each check-in's verdict as it
came in, then every verdict a later arrival or void turned, on the day of that event.

`verdicts_checkins` is also the visit fact table the other read models query: `visible_checkins`
gives its counted visits as of a cutoff (recorded before it, not voided before it).
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from asyncpg import Record
from geopy.distance import Geodesic, geodesic  # geographiclib's, as geopy measures with it

from projections.base import Period, Projection, event_name, insert_rows, local_date, parse_keyset, parse_time
from projections.base import period_keys, recorded_before, summary_key, upsert_rows
from projections.base import as_uuid as _uuid  # one definition for every read model
from projections.rules import Rules, load_rules
from projections.running import Key, RunningTotals, Vector
from projections.travel import Chains, Change, Leg, impossible
from services.domain.commands import DEVICE_CLOCK_TOLERANCE
from services.storage.connections import AsyncConnection
from services.storage.names import adcode_of

# `summary`'s figures per calendar year, quarter and month (by `occurred_at`), by recorded day: each check-in
# adds its figures on the day it was recorded, a void takes them back on its day, a turned travel verdict
# moves `verified` and `impossible_travel` on the day of the event that turned it.
SUMMARY_FIGURES = ("checkins", "verified", "without_position", "mocked", "too_far", "poor_accuracy",
                   "impossible_travel", "backdated", "future")
SUMMARIES = RunningTotals("verdicts_summaries", [("period", "text")], [(f, "int") for f in SUMMARY_FIGURES])

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.verdicts_households ("
    " household_id uuid PRIMARY KEY, lat float8 NOT NULL, lon float8 NOT NULL)",
    # The register's contact targets with coordinates (projections/targets.py keeps the register itself).
    "CREATE TABLE IF NOT EXISTS {schema}.verdicts_targets ("
    " target_id text PRIMARY KEY, lat float8 NOT NULL, lon float8 NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {schema}.verdicts_checkins ("
    " visit_id uuid PRIMARY KEY, cadre_id uuid NOT NULL, target_kind text NOT NULL, target_id text NOT NULL,"
    " household_id uuid, village text, kind text NOT NULL, occurred_at timestamptz NOT NULL,"
    " recorded_at timestamptz NOT NULL, lat float8, lon float8, accuracy_m float8, provider text,"
    " is_mock boolean, distance_m float8, verified boolean NOT NULL,"
    " voided_at timestamptz, void_reason text, reasons text[] NOT NULL, counted boolean NOT NULL,"
    # impossible travel as judged now: the check-in before it in its cadre's chain and the speed between
    " previous_visit_id uuid, travel_kmh float8)",
    # Every change of a check-in's travel verdict, at the moment of the event that caused it (`as_of`).
    # What a check-in's travel verdict was until an event changed it (at `until`): `as_of` answers read
    # the first change after their cutoff, or the check-in's row when there is none.
    # `caused_by` is the check-in whose arrival or void changed it, and `verified_before`/`_after` the
    # verdict either side: the other read models take the change from here with that event.
    "CREATE TABLE IF NOT EXISTS {schema}.verdicts_travel ("
    " visit_id uuid NOT NULL, until timestamptz NOT NULL, caused_by uuid NOT NULL, previous_visit_id uuid,"
    " travel_kmh float8, impossible boolean NOT NULL, verified_before boolean NOT NULL,"
    " verified_after boolean NOT NULL, PRIMARY KEY (visit_id, until))",
    "CREATE INDEX IF NOT EXISTS verdicts_travel_caused ON {schema}.verdicts_travel (caused_by)",
    # A cadre's chain for impossible travel: its live check-ins with a fix, one probe finds a neighbour.
    "CREATE INDEX IF NOT EXISTS verdicts_checkins_chain ON {schema}.verdicts_checkins (cadre_id, occurred_at, visit_id)"
    " WHERE lat IS NOT NULL AND voided_at IS NULL",
    # Every index ends in (occurred_at, visit_id): the audit list and the work logs page newest first by
    # that key, each filter reading a range of its own index (`page`).
    "CREATE INDEX IF NOT EXISTS verdicts_checkins_cadre"
    " ON {schema}.verdicts_checkins (cadre_id, occurred_at, visit_id)",
    "CREATE INDEX IF NOT EXISTS verdicts_checkins_household"
    " ON {schema}.verdicts_checkins (household_id, occurred_at, visit_id)",
    "CREATE INDEX IF NOT EXISTS verdicts_checkins_occurred ON {schema}.verdicts_checkins (occurred_at, visit_id)",
    "CREATE INDEX IF NOT EXISTS verdicts_checkins_village"
    " ON {schema}.verdicts_checkins (village, occurred_at, visit_id)",
    "CREATE INDEX IF NOT EXISTS verdicts_checkins_kind ON {schema}.verdicts_checkins (kind, occurred_at, visit_id)",
    # the few an audit looks for: not verified, voided
    "CREATE INDEX IF NOT EXISTS verdicts_checkins_unverified ON {schema}.verdicts_checkins (occurred_at, visit_id)"
    " WHERE NOT verified",
    "CREATE INDEX IF NOT EXISTS verdicts_checkins_voided ON {schema}.verdicts_checkins (occurred_at, visit_id)"
    " WHERE voided_at IS NOT NULL",
    # What changed since a phone's cursor (`households_changed_since`).
    "CREATE INDEX IF NOT EXISTS verdicts_checkins_recorded ON {schema}.verdicts_checkins (recorded_at)"
    " WHERE household_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS verdicts_checkins_voided_at ON {schema}.verdicts_checkins (voided_at)"
    " WHERE household_id IS NOT NULL AND voided_at IS NOT NULL",
    SUMMARIES.ddl(),
]

VERDICTS = ("verified", "unverified", "voided")
REASONS = ("voided", "no_position", "mocked", "poor_accuracy", "too_far", "no_household_location",
           "impossible_travel", "backdated", "future")
# The reasons stored with a check-in (a void is its own verdict, kept apart).
STORED_REASONS = tuple(r for r in REASONS if r != "voided")
# A check-in may claim a moment this far after the server received it (phone clocks drift a little): the
# tolerance the commands allow, so only events that came in another way (an import, an old client) trip it.
FUTURE = DEVICE_CLOCK_TOLERANCE

CHECKIN_COLUMNS = (
    "visit_id, cadre_id, target_kind, target_id, household_id, village, kind, occurred_at, recorded_at,"
    " lat, lon, accuracy_m, provider, is_mock, distance_m, verified, reasons, counted, previous_visit_id, travel_kmh"
)
CHECKIN_TYPES = ("uuid", "uuid", "text", "text", "uuid", "text", "text", "timestamptz", "timestamptz", "float8",
                 "float8", "float8", "text", "boolean", "float8", "boolean", "text[]", "boolean", "uuid", "float8")


def counts_as_visit(kind: str, rules: Rules) -> bool:
    """Whether a check-in of this kind counts toward "visited" (coverage, completeness, leaderboards,
    rollup, pairing compliance): the one definition every read model uses."""
    return kind in rules.visit_kinds_counted


def visible_checkins(schema: str, cutoff: str = "$1", *, contacts: bool = False) -> str:
    """SQL for the visits a rebuild cut at `cutoff` (a parameter holding a timestamptz or NULL for now)
    would hold, voided ones left out: only the kinds that count (`counts_as_visit`), or every contact
    with `contacts`. Their verdict, reasons and travel are as they stood at the cutoff (`travel_then`).
    (`coalesce` to infinity, not `$1 IS NULL OR …`: the planner's generic plans misjudged the OR form
    into nested loops over whole tables.)"""
    until = f"coalesce({cutoff}::timestamptz, 'infinity')"
    return (
        f"(SELECT v.visit_id, v.cadre_id, v.target_kind, v.target_id, v.household_id, v.village, v.kind,"
        f" v.occurred_at, v.recorded_at, v.lat, v.lon, v.accuracy_m, v.provider, v.is_mock, v.distance_m,"
        f" v.voided_at, v.void_reason, v.counted, {THEN_COLUMNS}"
        f" FROM {schema}.verdicts_checkins v {travel_then(schema, cutoff)} WHERE v.recorded_at < {until}"
        f" AND (v.voided_at IS NULL OR v.voided_at >= {until}){'' if contacts else ' AND v.counted'})"
    )


def travel_then(schema: str, cutoff: str = "$1", alias: str = "v") -> str:
    """SQL joining `t`, the first change of `alias`'s travel verdict at or after `cutoff` (what it was
    until then; no row when it has not changed since, or when `cutoff` is NULL: now): one index probe."""
    return (f"LEFT JOIN LATERAL (SELECT true AS changed, t.previous_visit_id, t.travel_kmh, t.impossible"
            f" FROM {schema}.verdicts_travel t WHERE t.visit_id = {alias}.visit_id AND t.until >= {cutoff}::timestamptz"
            f" ORDER BY t.until LIMIT 1) t ON true")


# A check-in's verdict, reasons and travel as they stood at `travel_then`'s cutoff (alias `v`).
_IMPOSSIBLE_THEN = "coalesce(t.impossible, 'impossible_travel' = ANY(v.reasons))"
_REASONS_THEN = (f"array_remove(v.reasons, 'impossible_travel')"
                 f" || CASE WHEN {_IMPOSSIBLE_THEN} THEN '{{impossible_travel}}'::text[] ELSE '{{}}' END")
THEN_COLUMNS = (
    f"({_REASONS_THEN}) AS reasons, cardinality({_REASONS_THEN}) = 0 AS verified,"
    " CASE WHEN t.changed THEN t.previous_visit_id ELSE v.previous_visit_id END AS previous_visit_id,"
    " CASE WHEN t.changed THEN t.travel_kmh ELSE v.travel_kmh END AS travel_kmh"
)


# One measurer for every check-in: building geopy's Geodesic per call cost more than the measuring.
_GEODESIC = geodesic()
# What it measures with (made on its first call): geographiclib on geopy's WGS-84, in kilometres.
_GEOD = Geodesic(_GEODESIC.ELLIPSOID[0], _GEODESIC.ELLIPSOID[2])


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """geopy's `geodesic().measure(...) * 1000` for coordinates in range, without its Point parsing (a third
    of a check-in's judging): the same geographiclib call on the same floats, so the same distance."""
    metres: float = _GEOD.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"] * 1000
    return metres


def judge(event: Any, household: tuple[float, float] | None, rules: Rules) -> tuple[float | None, bool, list[str]]:
    """(distance in metres or None, verified, the stored reasons it is not) for one `Visit.CheckedIn`,
    judged against its household's place (None when unknown or not a household)."""
    position = event.position
    distance = None
    if position and household is not None:
        distance = _metres(float(position["lat"]), float(position["lon"]), *household)
    reasons = _reasons(event, distance, rules)
    return distance, not reasons, reasons


def _reasons(event: Any, distance: float | None, rules: Rules) -> list[str]:
    """The rules a check-in fails, impossible travel aside (`distance` None: not measured or no place)."""
    reasons = []
    position = event.position
    if not position:
        reasons.append("no_position")
    else:
        if rules.mock_fixes_rejected and position.get("is_mock"):
            reasons.append("mocked")
        accuracy = position.get("accuracy_m")
        if accuracy is None or accuracy > rules.verified_max_accuracy_m:
            reasons.append("poor_accuracy")
        if distance is not None and distance > rules.verified_max_distance_m:
            reasons.append("too_far")
        if distance is None and event.target_kind == "household":
            reasons.append("no_household_location")
    late = backdating(parse_time(event.occurred_at), event.timestamp, rules)
    if late is not None:
        reasons.append(late)
    return reasons


def backdating(occurred_at: datetime, recorded_at: datetime, rules: Rules) -> str | None:
    """`backdated` when recorded later than the county allows after it happened, `future` when it claims
    a moment more than FUTURE after it was recorded, else None."""
    if recorded_at - occurred_at > timedelta(days=rules.backdated_after_days):
        return "backdated"
    if occurred_at - recorded_at > FUTURE:
        return "future"
    return None


class Verdicts(Projection):
    name = "verdicts"
    version = 2  # impossible travel stored with the verdict
    tables = TABLES
    replay_indexes = ("verdicts_checkins_chain", "verdicts_travel_caused")  # `_travel`'s probes, `judged`'s

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        places: dict[UUID, tuple[float, float]] = {}
        wanted = {
            _uuid(e.household_id) for e in events
            if event_name(e) == "Visit.CheckedIn" and e.household_id is not None
        }
        if wanted:
            rows = await conn.fetch(
                f"SELECT household_id, lat, lon FROM {schema}.verdicts_households WHERE household_id = ANY($1)",
                list(wanted),
            )
            places.update({r["household_id"]: (r["lat"], r["lon"]) for r in rows})
        spots = await _target_places(conn, schema, events)
        moved: dict[UUID, tuple[float, float]] = {}
        placed: dict[str, tuple[float, float] | None] = {}
        checkins: list[list[Any]] = []  # rows in CHECKIN_COLUMNS order
        voids: list[tuple[UUID, datetime, str]] = []
        for event in events:
            name = event_name(event)
            if name in ("Household.Registered", "Household.Relocated"):
                places[event.originator_id] = moved[event.originator_id] = (float(event.lat), float(event.lon))
            elif name in ("ContactTarget.Registered", "ContactTarget.Revised"):
                spot = None if event.lat is None else (float(event.lat), float(event.lon))
                spots[str(event.originator_id)] = placed[str(event.originator_id)] = spot
            elif name == "Visit.CheckedIn":
                household_id = _uuid(event.household_id)
                position = event.position
                place = places.get(household_id) if household_id else spots.get(str(event.target_id))
                distance, verified, reasons = judge(event, place, rules)
                checkins.append([
                    event.originator_id, _uuid(event.cadre_id), event.target_kind, str(event.target_id),
                    household_id, event.village, event.kind, parse_time(event.occurred_at), event.timestamp,
                    position["lat"] if position else None, position["lon"] if position else None,
                    position.get("accuracy_m") if position else None, position.get("provider") if position else None,
                    bool(position.get("is_mock")) if position else None, distance, verified, reasons,
                    counts_as_visit(event.kind, rules), None, None,  # its leg: `_travel`
                ])
            elif name == "Visit.Voided":
                voids.append((event.originator_id, event.timestamp, event.reason))
        await upsert_rows(conn, f"{schema}.verdicts_households", [("household_id", "uuid"), ("lat", "float8"),
                                                                   ("lon", "float8")], 1,
                          [(k, lat, lon) for k, (lat, lon) in moved.items()])
        if placed:
            await conn.execute(f"DELETE FROM {schema}.verdicts_targets WHERE target_id = ANY($1)", list(placed))
            await conn.executemany(f"INSERT INTO {schema}.verdicts_targets VALUES ($1, $2, $3)",
                                   [(k, *spot) for k, spot in placed.items() if spot is not None])
        void = f"""UPDATE {schema}.verdicts_checkins v SET voided_at = d.at, void_reason = d.reason
            FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS d(visit_id, at, reason)
            WHERE v.visit_id = d.visit_id AND v.voided_at IS NULL RETURNING v.*"""
        # Voids of check-ins stored before the batch first, so the chains read next are as the batch leaves them.
        voided = await conn.fetch(void, *map(list, zip(*voids, strict=True))) if voids else []
        travel = await _travel(conn, schema, events, checkins, voided, rules)
        # A void takes back its check-in's figures as they stand when it is voided: after any turn the batch
        # made before it (a voided check-in leaves its chain, so none after).
        now = {visit: reasons for visit, _, reasons in travel.rejudged}
        fresh = {row[_ID]: row for row in checkins}
        for row in voided:
            occurred, reasons, facts = _check_in(row)
            reasons = now.get(row["visit_id"], reasons)
            _count(travel.summary, occurred, row["voided_at"], _figures(facts, reasons, rules), -1)
        if checkins:
            await insert_rows(conn, f"{schema}.verdicts_checkins", CHECKIN_TYPES, checkins, CHECKIN_COLUMNS)
            stored = {r["visit_id"] for r in voided}
            late = [v for v in voids if v[0] not in stored and v[0] in fresh]
            if late:  # check-ins voided in the batch they came in
                await conn.execute(void, *map(list, zip(*late, strict=True)))
                for visit, at, _ in late:
                    occurred, reasons, facts = _check_in(fresh[visit])
                    _count(travel.summary, occurred, at, _figures(facts, reasons, rules), -1)
        await _store_travel(conn, schema, travel)
        await SUMMARIES.add(conn, schema, _by_period(travel.summary))


# A row of CHECKIN_COLUMNS by position: the fields the travel judgement reads and writes.
_ID, _CADRE, _OCCURRED, _RECORDED, _LAT, _LON, _VERIFIED, _REASONS, _PREVIOUS, _KMH = 0, 1, 7, 8, 9, 10, 15, 16, 18, 19
_ACCURACY, _MOCK, _DISTANCE = 11, 13, 14


@dataclass
class _Travel:
    """What judging a batch's travel did: the stored check-ins whose leg changed (visit, its leg now, its
    reasons now), the history rows of every change, and the batch's figures for `summary` so far by month
    and recorded day (its check-ins as they arrived, and every verdict a later event in it turned)."""

    rejudged: list[tuple[UUID, Leg, list[str]]]
    history: list[tuple[Any, ...]]
    summary: dict[Key, Vector]


_Facts = tuple[float | None, bool | None, float | None, float | None]  # lat, is_mock, distance, accuracy


def _check_in(source: Record | list[Any]) -> tuple[datetime, list[str], _Facts]:
    """(occurred_at, reasons, facts) of a stored check-in or of a new row in CHECKIN_COLUMNS order."""
    if isinstance(source, Record):
        return source["occurred_at"], source["reasons"], (
            source["lat"], source["is_mock"], source["distance_m"], source["accuracy_m"])
    return source[_OCCURRED], source[_REASONS], (source[_LAT], source[_MOCK], source[_DISTANCE], source[_ACCURACY])


def _figures(facts: _Facts, reasons: Sequence[str], rules: Rules) -> Vector:
    """What one check-in with these `reasons` adds to `summary`, in SUMMARY_FIGURES order (as its SQL counts
    a stored row)."""
    lat, is_mock, distance, accuracy = facts
    return [1, int(not reasons), int(lat is None), int(bool(is_mock)),
            int(distance is not None and distance > rules.verified_max_distance_m),
            int(accuracy is not None and accuracy > rules.verified_max_accuracy_m),
            int("impossible_travel" in reasons), int("backdated" in reasons), int("future" in reasons)]


def _count(summary: dict[Key, Vector], occurred: datetime, moment: datetime, figures: Vector, sign: int) -> None:
    """Add `figures` × `sign` to the month of `occurred` (its first day), on the day of `moment`
    (`_by_period` adds each month to its quarter and year once for the batch)."""
    key = (local_date(occurred).replace(day=1), local_date(moment))
    summary[key] = [a + sign * b for a, b in zip(summary[key], figures, strict=True)]


def _by_period(summary: dict[Key, Vector]) -> dict[Key, Vector]:
    """The batch's figures by (month, day) as SUMMARIES keeps them: by (year, quarter or month, day)."""
    periods: dict[Key, Vector] = defaultdict(SUMMARIES.zero)
    for (month, day), figures in summary.items():
        for period in period_keys(month):
            periods[(period, day)] = [a + b for a, b in zip(periods[(period, day)], figures, strict=True)]
    return periods


def _with_travel(reasons: Sequence[str], leg: Leg, rules: Rules) -> list[str]:
    """`reasons` with impossible travel as `leg` judges it."""
    kept = [r for r in reasons if r != "impossible_travel"]
    return [*kept, "impossible_travel"] if impossible(leg, rules.impossible_travel_kmh) else kept


async def _travel(conn: AsyncConnection, schema: str, events: Sequence[Any], checkins: list[list[Any]],
                  voided: Sequence[Record], rules: Rules) -> _Travel:
    """Judge impossible travel for the batch (`projections.travel`) before its check-ins are written: each
    new check-in with a fix gets its leg in its row; the stored ones whose leg changed are returned with
    the history rows of every change (what the leg was until then, and the verdict before and after).
    One query reads, for each new or voided check-in with a fix, the stored live ones just before and
    after it in its cadre's chain (two probes of the chain index)."""
    fresh = {row[_ID]: row for row in checkins if row[_LAT] is not None}
    anchors = [(row[_CADRE], row[_OCCURRED], row[_ID]) for row in fresh.values()]
    anchors += [(r["cadre_id"], r["occurred_at"], r["visit_id"]) for r in voided if r["lat"] is not None]
    if not anchors:
        return _Travel([], [], _arrivals(checkins, [], rules))
    chain = (f"FROM {schema}.verdicts_checkins q WHERE q.lat IS NOT NULL AND q.voided_at IS NULL"
             " AND q.cadre_id = a.cadre_id")
    rows = await conn.fetch(
        f"""
        SELECT n.* FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[]) AS a(cadre_id, occurred_at, visit_id)
        CROSS JOIN LATERAL (
            (SELECT q.* {chain} AND (q.occurred_at, q.visit_id) < (a.occurred_at, a.visit_id)
             ORDER BY q.occurred_at DESC, q.visit_id DESC LIMIT 1)
            UNION ALL
            (SELECT q.* {chain} AND (q.occurred_at, q.visit_id) > (a.occurred_at, a.visit_id)
             ORDER BY q.occurred_at, q.visit_id LIMIT 1)) n
        """,
        *map(list, zip(*anchors, strict=True)),
    )
    chains = Chains()
    known = {r["visit_id"]: r for r in [*rows, *voided] if r["lat"] is not None}
    for r in known.values():
        chains.know(r["cadre_id"], (r["occurred_at"], r["visit_id"]), r["lat"], r["lon"],
                    (r["previous_visit_id"], r["travel_kmh"]))
    for event in events:
        name = event_name(event)
        if name == "Visit.CheckedIn" and event.originator_id in fresh:
            row = fresh[event.originator_id]
            chains.arrive(row[_CADRE], (row[_OCCURRED], row[_ID]), row[_LAT], row[_LON], row[_RECORDED])
        elif name == "Visit.Voided":
            chains.leave(event.originator_id, event.timestamp)
    for row in fresh.values():
        row[_PREVIOUS], row[_KMH] = chains.legs[row[_ID]]
        row[_REASONS] = _with_travel(row[_REASONS], chains.legs[row[_ID]], rules)
        row[_VERIFIED] = not row[_REASONS]
    history = []
    for change in chains.changes:
        reasons = known[change.visit_id]["reasons"] if change.visit_id in known else fresh[change.visit_id][_REASONS]
        history.append((change.visit_id, change.at, change.caused_by, *change.before,
                        impossible(change.before, rules.impossible_travel_kmh),
                        not _with_travel(reasons, change.before, rules),
                        not _with_travel(reasons, change.after, rules)))
    summary = _arrivals(checkins, chains.changes, rules)
    for change in chains.changes:
        visit = change.visit_id
        occurred, reasons, facts = _check_in(known[visit] if visit in known else fresh[visit])
        for leg, sign in ((change.before, -1), (change.after, 1)):
            _count(summary, occurred, change.at, _figures(facts, _with_travel(reasons, leg, rules), rules), sign)
    moved = {c.visit_id for c in chains.changes if c.visit_id in known}
    return _Travel([(v, chains.legs[v], _with_travel(known[v]["reasons"], chains.legs[v], rules)) for v in moved],
                   history, summary)


def _arrivals(checkins: list[list[Any]], changes: Sequence[Change], rules: Rules) -> dict[Key, Vector]:
    """`summary`'s figures of the batch's check-ins as each arrived: with the leg it arrived on (before the
    first change the batch made to it), on the day it was recorded."""
    arrived_on: dict[UUID, Leg] = {}
    for change in changes:
        arrived_on.setdefault(change.visit_id, change.before)
    summary: dict[Key, Vector] = defaultdict(SUMMARIES.zero)
    for row in checkins:
        occurred, reasons, facts = _check_in(row)
        leg = arrived_on.get(row[_ID])
        _count(summary, occurred, row[_RECORDED],
               _figures(facts, reasons if leg is None else _with_travel(reasons, leg, rules), rules), 1)
    return summary


async def _store_travel(conn: AsyncConnection, schema: str, travel: _Travel) -> None:
    """Write the new legs and verdicts of stored check-ins and the history of every change."""
    rejudged, history = travel.rejudged, travel.history
    if history:
        await conn.executemany(
            f"INSERT INTO {schema}.verdicts_travel VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (visit_id, until) DO NOTHING",  # two changes at one moment: what it was before both
            history,
        )
    if rejudged:
        await conn.executemany(
            f"UPDATE {schema}.verdicts_checkins SET previous_visit_id = $2, travel_kmh = $3, reasons = $4,"
            " verified = cardinality($4::text[]) = 0 WHERE visit_id = $1",
            [(visit, *leg, reasons) for visit, leg, reasons in rejudged],
        )


projection = Verdicts()


@dataclass
class Judged:
    """The stored verdicts a batch's other read models count by, so every figure agrees with the audit
    (impossible travel included). `arrived`: each check-in of the batch, verified as it came in.
    `rejudged`: (the check-in whose arrival or void did it, that event's moment) -> the stored check-ins
    whose verdict it turned, each row with its facts and `before` / `after`."""

    arrived: dict[UUID, bool]
    rejudged: dict[tuple[UUID, datetime], list[Record]]

    def turned_by(self, event: Any) -> list[Record]:
        """The check-ins whose verdict this `Visit.CheckedIn` or `Visit.Voided` turned."""
        return self.rejudged.get((event.originator_id, event.timestamp), [])


# The `Judged` of the batch being applied, by (schema, its arrivals, its causes): coverage, leaderboards,
# campaigns and the rollup each ask for it, and within one batch's transaction it is the same answer
# (only the verdicts read model writes what it reads, and it applies first). Set by `one_batch`.
_BATCH: ContextVar[dict[tuple[Any, ...], Judged] | None] = ContextVar("judged_batch", default=None)


@contextmanager
def one_batch() -> Iterator[None]:
    """Within the block (one batch applied in one transaction: projections.driver, projections.rebuild),
    `judged` asks PostgreSQL once per set of events instead of once per read model."""
    token = _BATCH.set({})
    try:
        yield
    finally:
        _BATCH.reset(token)


async def judged(conn: AsyncConnection, schema: str, events: Sequence[Any]) -> Judged:
    """`Judged` for a batch the verdicts read model has applied (it is first in every batch). O(the batch):
    index probes on the travel history by check-in and by cause.

    A verdict as it stood at a moment is the `verified_before` of its first travel change after that
    moment, else its stored verdict: so the answer is the same whether the verdicts read model has
    applied only this batch (the driver, a rebuild) or the whole log (a read model replayed alone)."""
    arrivals = [e.originator_id for e in events if event_name(e) == "Visit.CheckedIn"]
    causes = arrivals + [e.originator_id for e in events if event_name(e) == "Visit.Voided"]
    if not causes:
        return Judged({}, {})
    memo = _BATCH.get()
    key = (schema, tuple(arrivals), tuple(causes))
    if memo is not None and key in memo:
        return memo[key]
    answer = await _judged(conn, schema, arrivals, causes)
    if memo is not None:
        memo[key] = answer
    return answer


async def _judged(conn: AsyncConnection, schema: str, arrivals: list[UUID], causes: list[UUID]) -> Judged:
    arrived = {r["visit_id"]: r["verified"] for r in await conn.fetch(
        f"SELECT v.visit_id, coalesce(n.verified_before, v.verified) AS verified FROM {schema}.verdicts_checkins v"
        f" {_next_change(schema, '>= v.recorded_at')} WHERE v.visit_id = ANY($1)", arrivals)} if arrivals else {}
    rejudged: dict[tuple[UUID, datetime], list[Record]] = {}
    for row in await conn.fetch(
        f"SELECT v.*, t.caused_by, t.until, t.verified_before AS before, coalesce(n.verified_before, v.verified)"
        f" AS after FROM {schema}.verdicts_travel t JOIN {schema}.verdicts_checkins v USING (visit_id)"
        f" {_next_change(schema, '> t.until')} WHERE t.caused_by = ANY($1)"
        " AND t.verified_before <> coalesce(n.verified_before, v.verified)", causes,
    ):
        rejudged.setdefault((row["caused_by"], row["until"]), []).append(row)
    return Judged(arrived, rejudged)


def _next_change(schema: str, when: str) -> str:
    """SQL joining `n`, the first change of check-in `v`'s travel verdict at a moment `when` (one probe)."""
    return (f"LEFT JOIN LATERAL (SELECT n.verified_before FROM {schema}.verdicts_travel n"
            f" WHERE n.visit_id = v.visit_id AND n.until {when} ORDER BY n.until LIMIT 1) n ON true")


async def _target_places(conn: AsyncConnection, schema: str,
                         events: Sequence[Any]) -> dict[str, tuple[float, float] | None]:
    """The coordinates of the register's targets the batch's check-ins name (by primary key)."""
    wanted = {str(e.target_id) for e in events if event_name(e) == "Visit.CheckedIn" and e.target_kind != "household"}
    if not wanted:
        return {}
    rows = await conn.fetch(f"SELECT target_id, lat, lon FROM {schema}.verdicts_targets WHERE target_id = ANY($1)",
                            list(wanted))
    return {r["target_id"]: (r["lat"], r["lon"]) for r in rows}


async def checkins(conn: AsyncConnection, schema: str, *, period: Period | None = None, cadre_id: UUID | None = None,
                   household_id: UUID | None = None, as_of: date | None = None) -> list[dict[str, Any]]:
    """Check-ins with their verdicts (voided ones left out), newest first, optionally for one period
    (by `occurred_at`), cadre or household."""
    _, where, args = _visible(schema, as_of, cadre_id=cadre_id, household_id=household_id, period=period,
                              verified=None)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM {schema}.verdicts_checkins v {travel_then(schema)} WHERE {where}"
        " ORDER BY v.occurred_at DESC, v.visit_id", *args)
    return [_verdict(row) for row in rows]


def _visible(schema: str, as_of: date | None, *, cadre_id: UUID | None, household_id: UUID | None,
             period: Period | None, verified: bool | None) -> tuple[str, str, list[Any]]:
    """(FROM, WHERE, args) of the check-ins `checkins` holds with these filters, `$1` the cutoff: only the
    filters asked for go into the SQL, each a range of its own index (with `$n IS NULL OR …` a cached
    generic plan made for one filter ran a county-wide query for 35 s instead of 0.1 s). Now (no `as_of`)
    a check-in's verdict is the stored one; as of a date, its travel then is one probe per check-in."""
    until = "coalesce($1::timestamptz, 'infinity')"  # see `visible_checkins`
    args: list[Any] = [recorded_before(as_of)]
    wanted = [f"v.recorded_at < {until}", f"(v.voided_at IS NULL OR v.voided_at >= {until})"]
    for condition, value in (("v.cadre_id =", cadre_id), ("v.household_id =", household_id)):
        if value is not None:
            args.append(value)
            wanted.append(f"{condition} ${len(args)}")
    if period is not None:
        args.extend(period.instants())
        wanted.append(f"v.occurred_at >= ${len(args) - 1} AND v.occurred_at < ${len(args)}")
    if verified is not None:
        wanted.append(f"{'' if verified else 'NOT '}{_verified_then(as_of)}")
    travel = travel_then(schema) if as_of is not None else ""
    return f"{schema}.verdicts_checkins v {travel}", " AND ".join(wanted), args


def _verified_then(as_of: date | None) -> str:
    """SQL: whether check-in `v` stood verified at the cutoff (its stored verdict now, no `as_of`)."""
    return "v.verified" if as_of is None else f"cardinality({_REASONS_THEN}) = 0"


# What `_verdict` reads of a check-in `v` joined with `travel_then`.
_COLUMNS = ("v.visit_id, v.cadre_id, v.target_kind, v.target_id, v.household_id, v.village, v.kind, v.occurred_at,"
            f" v.recorded_at, v.lat, v.lon, v.accuracy_m, v.is_mock, v.distance_m, v.counted, {THEN_COLUMNS}")

# `visits` counts the matching check-ins up to this many: past it, its `total` is None (an exact count
# of a county's check-ins reads them all: O(county), DESIGN §6) and `more` says whether a page follows.
TOTAL_CAP = 1000


async def visits(conn: AsyncConnection, schema: str, *, period: Period | None = None, cadre_id: UUID | None = None,
                 household_id: UUID | None = None, verified: bool | None = None, limit: int = 50, offset: int = 0,
                 as_of: date | None = None) -> dict[str, Any]:
    """An offset page of `checkins` (with `verified`: only the verified ones, or only the others):
    `{items, total, more}`. The page is read off an index, newest first (by `occurred_at`, then id,
    descending), one row past it telling whether more follow; `total` is counted in SQL over the
    filter's index range, at most TOTAL_CAP + 1 rows of it (None when more than TOTAL_CAP match): no
    check-in outside the page reaches Python, and none past the cap is read."""
    if not 1 <= limit <= 500 or offset < 0:
        raise ValueError(f"limit is 1 to 500 and offset ≥ 0, not {limit} and {offset}")
    source, where, args = _visible(schema, as_of, cadre_id=cadre_id, household_id=household_id, period=period,
                                   verified=verified)
    counted = await conn.fetchval(
        f"SELECT count(*) FROM (SELECT FROM {source} WHERE {where} LIMIT {TOTAL_CAP + 1}) capped", *args)
    total = counted if counted <= TOTAL_CAP else None
    if total is not None and offset >= total:
        return {"items": [], "total": total, "more": False}
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM {schema}.verdicts_checkins v {travel_then(schema)} WHERE {where}"
        f" ORDER BY v.occurred_at DESC, v.visit_id DESC LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
        *args, limit + 1, offset,
    )
    return {"items": [_verdict(row) for row in rows[:limit]], "total": total, "more": len(rows) > limit}


async def verdict(conn: AsyncConnection, schema: str, visit_id: UUID) -> dict[str, Any] | None:
    """One check-in with its verdict as `checkins` gives it (None once voided, or not judged yet): a
    probe of the primary key and one of its travel."""
    row = await conn.fetchrow(
        f"SELECT * FROM {visible_checkins(schema, contacts=True)} v WHERE v.visit_id = $2", None, visit_id)
    return None if row is None else _verdict(row)


async def tally(conn: AsyncConnection, schema: str, cadre_id: UUID, period: Period, *,
                as_of: date | None = None) -> tuple[int, int]:
    """(check-ins, verified ones) of one cadre in a period, voided ones left out, as `checkins` holds
    them: counted in SQL over the cadre's range of its index."""
    source, where, args = _visible(schema, as_of, cadre_id=cadre_id, household_id=None, period=period,
                                   verified=None)
    [row] = await conn.fetch(
        f"SELECT count(*) AS checkins, count(*) FILTER (WHERE {_verified_then(as_of)}) AS verified"
        f" FROM {source} WHERE {where}", *args)
    return row["checkins"], row["verified"]


def _kmh(speed: float | None) -> float | None:
    return None if speed is None or speed == math.inf else round(speed, 1)


def _verdict(row: Record) -> dict[str, Any]:
    return {
        "visit_id": row["visit_id"], "cadre_id": row["cadre_id"], "target_kind": row["target_kind"],
        "target_id": row["target_id"], "household_id": row["household_id"], "village": row["village"],
        "kind": row["kind"], "occurred_at": row["occurred_at"], "recorded_at": row["recorded_at"],
        "lat": row["lat"], "lon": row["lon"], "accuracy_m": row["accuracy_m"], "is_mock": row["is_mock"],
        "distance_m": row["distance_m"], "verified": row["verified"], "reasons": list(row["reasons"]),
        "counted": row["counted"], "previous_visit_id": row["previous_visit_id"],
        "travel_kmh": _kmh(row["travel_kmh"]), "impossible_travel": "impossible_travel" in row["reasons"],
    }


async def page(conn: AsyncConnection, schema: str, *, cadre_id: UUID | None = None, household_id: UUID | None = None,
               village: str | None = None, kind: str | None = None, verdict: str | None = None,
               occurred_from: date | None = None, occurred_to: date | None = None, limit: int = 50,
               after: str | None = None, as_of: date | None = None, reason: str | None = None) -> dict[str, Any]:
    """A page of check-ins, newest first (by `occurred_at`, then id), voided ones included, each with
    its stored verdict and the reasons behind it: `{items, next}`; pass `next` back as `after`.

    `reason` keeps the check-ins that failed that stored rule (one of STORED_REASONS), read from the
    partial index of unverified ones.
    `verdict` is `verified`, `unverified` (neither: a fix that failed a rule) or `voided` (as of
    `as_of`); `occurred_from`/`occurred_to` are Chinese calendar days, inclusive (a range ending
    before it starts holds nothing). Each filter reads a range of its own index, on the verdicts as
    stored now; each row's travel as it stood at `as_of` is one index probe: O(the page)."""
    if verdict is not None and verdict not in VERDICTS:
        raise ValueError(f"verdict is one of {', '.join(VERDICTS)}, not {verdict!r}")
    if not 1 <= limit <= 500:
        raise ValueError(f"limit is 1 to 500, not {limit}")
    if reason is not None and reason not in STORED_REASONS:
        raise ValueError(f"reason is one of {', '.join(STORED_REASONS)}, not {reason!r}")
    cursor_at, cursor_id = parse_keyset(after)
    if occurred_from is not None and occurred_to is not None and occurred_to < occurred_from:
        return {"items": [], "next": None}
    until = "coalesce($1::timestamptz, 'infinity')"  # see `visible_checkins`
    voided = f"(v.voided_at IS NOT NULL AND v.voided_at < {until})"
    args: list[Any] = [recorded_before(as_of), limit + 1]
    wanted = [f"v.recorded_at < {until}"]
    # Only the filters asked for go into the SQL (see `checkins`), each as its index states it.
    for condition, value in (("v.cadre_id =", cadre_id), ("v.household_id =", household_id),
                             ("v.village =", village), ("v.kind =", kind)):
        if value is not None:
            args.append(value)
            wanted.append(f"{condition} ${len(args)}")
    if verdict == "voided":
        wanted.append(f"v.voided_at IS NOT NULL AND {voided}")
    elif verdict is not None:
        wanted.append(f"{'' if verdict == 'verified' else 'NOT '}v.verified AND NOT {voided}")
    if reason is not None:
        args.append(reason)
        wanted.append(f"NOT v.verified AND ${len(args)} = ANY(v.reasons)")
    if occurred_from is not None:
        args.append(Period(occurred_from, occurred_from).instants()[0])
        wanted.append(f"v.occurred_at >= ${len(args)}")
    if occurred_to is not None:
        args.append(Period(occurred_to, occurred_to).instants()[1])
        wanted.append(f"v.occurred_at < ${len(args)}")
    if cursor_at is not None:
        args.extend((cursor_at, cursor_id))
        wanted.append(f"(v.occurred_at, v.visit_id) < (${len(args) - 1}, ${len(args)})")
    rows = await conn.fetch(
        f"""
        SELECT v.visit_id, v.cadre_id, v.target_kind, v.target_id, v.household_id, v.village, v.kind,
               v.occurred_at, v.recorded_at, v.accuracy_m, v.is_mock, v.distance_m, v.void_reason,
               {voided} AS is_voided, {THEN_COLUMNS}
        FROM {schema}.verdicts_checkins v {travel_then(schema)}
        WHERE {" AND ".join(wanted)}
        ORDER BY v.occurred_at DESC, v.visit_id DESC LIMIT $2
        """,
        *args,
    )
    items = [_audited(row) for row in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "next": f"{items[-1]['occurred_at'].isoformat()}|{items[-1]['visit_id']}" if more else None}


def _audited(row: Record) -> dict[str, Any]:
    """One check-in as the audit shows it: its stored verdict, the rules it failed and its travel (a
    voided one: why it was voided and the rules it failed, no travel: it left its cadre's chain)."""
    voided = row["is_voided"]
    reasons = ["voided", *(r for r in row["reasons"] if r != "impossible_travel")] if voided else list(row["reasons"])
    return {
        "visit_id": row["visit_id"], "cadre_id": row["cadre_id"], "target_kind": row["target_kind"],
        "target_id": row["target_id"], "household_id": row["household_id"], "village": row["village"],
        "kind": row["kind"], "occurred_at": row["occurred_at"], "recorded_at": row["recorded_at"],
        "accuracy_m": row["accuracy_m"], "is_mock": row["is_mock"], "distance_m": row["distance_m"],
        "verdict": "voided" if voided else "verified" if row["verified"] else "unverified",
        "reasons": reasons, "void_reason": row["void_reason"] if voided else None,
        "previous_visit_id": None if voided else row["previous_visit_id"],
        "travel_kmh": None if voided else _kmh(row["travel_kmh"]),
    }


async def summary(conn: AsyncConnection, schema: str, *, period: Period | None = None,
                  as_of: date | None = None) -> dict[str, Any]:
    """County totals of the verdicts for a period: check-ins, verified, and why the rest were not (of
    the check-ins `checkins` gives). A calendar year, quarter or month reads its kept figures as of the day
    (one probe, SUMMARIES); other ranges are counted in SQL over their range of the `occurred_at` index,
    by the county's rules now (the kept figures: by the rules each check-in was judged by, the same once a
    rules change has re-judged the county)."""
    key = None if period is None else summary_key(period)
    if key is not None:
        kept = await conn.fetchrow(
            f"SELECT * FROM {SUMMARIES.latest_sql(schema, 't.period = $1', '$2::date')} s", key, as_of)
        return dict(zip(SUMMARY_FIGURES, SUMMARIES.zero() if kept is None else SUMMARIES.read(kept), strict=True))
    rules = await load_rules(conn, adcode_of(schema))
    source, where, args = _visible(schema, as_of, cadre_id=None, household_id=None, period=period, verified=None)
    reasons = "v.reasons" if as_of is None else f"({_REASONS_THEN})"
    args += [rules.verified_max_distance_m, rules.verified_max_accuracy_m]
    distance, accuracy = f"${len(args) - 1}", f"${len(args)}"
    [row] = await conn.fetch(
        f"SELECT count(*) AS checkins, count(*) FILTER (WHERE {_verified_then(as_of)}) AS verified,"
        f" count(*) FILTER (WHERE v.lat IS NULL) AS without_position,"
        f" count(*) FILTER (WHERE v.is_mock) AS mocked,"
        f" count(*) FILTER (WHERE v.distance_m > {distance}) AS too_far,"
        f" count(*) FILTER (WHERE v.accuracy_m > {accuracy}) AS poor_accuracy,"
        f" count(*) FILTER (WHERE 'impossible_travel' = ANY({reasons})) AS impossible_travel,"
        f" count(*) FILTER (WHERE 'backdated' = ANY(v.reasons)) AS backdated,"
        f" count(*) FILTER (WHERE 'future' = ANY(v.reasons)) AS future"
        f" FROM {source} WHERE {where}", *args)
    return dict(row)


async def households_changed_since(conn: AsyncConnection, schema: str, moment: datetime) -> set[UUID]:
    """Households with a check-in recorded or voided in this read model from `moment` on."""
    rows = await conn.fetch(
        f"SELECT household_id FROM {schema}.verdicts_checkins WHERE household_id IS NOT NULL AND recorded_at >= $1"
        f" UNION SELECT household_id FROM {schema}.verdicts_checkins WHERE household_id IS NOT NULL"
        " AND voided_at >= $1", moment)
    return {row["household_id"] for row in rows}
