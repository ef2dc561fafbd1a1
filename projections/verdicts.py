"""Visit verdicts: was each check-in where it claims, and could its cadre have got there?

Per check-in: the geodesic distance (geopy) from the fix to the household's location as known when
the check-in was recorded, the fix's accuracy and mock flag, and `verified` = distance ≤ 150 m,
accuracy ≤ 100 m, not mocked (thresholds from the county's Rules). A check-in at a contact target of the
county's register is measured the same way from the target's coordinates as known then; a target without
coordinates (or named by free text, before the county kept a register) has no place to compare with: it
is verified on accuracy and mock alone. A check-in without a fix is never verified.

Impossible travel compares each check-in with the same cadre's previous one (by `occurred_at`, among
check-ins known and not voided at the query's `as_of`): faster than the rule's km/h is flagged. It is
computed at query time because a late offline sync can insert a check-in between two others; the
great-circle distance used there differs from the geodesic by < 0.5 %, far below what the threshold
resolves.

`verdicts_checkins` is also the visit fact table the other read models query: `visible_checkins`
gives its rows as of a cutoff (recorded before it, not voided before it).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from asyncpg import Record
from geopy.distance import geodesic

from projections.base import Period, Projection, event_name, parse_keyset, parse_time, recorded_before
from projections.base import as_uuid as _uuid  # one definition for every read model
from projections.rules import Rules, load_rules
from services.storage.connections import AsyncConnection
from services.storage.names import adcode_of

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
    " voided_at timestamptz, void_reason text)",
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
]

VERDICTS = ("verified", "unverified", "voided")
REASONS = ("voided", "no_position", "mocked", "poor_accuracy", "too_far", "no_household_location",
           "impossible_travel")

CHECKIN_COLUMNS = (
    "visit_id, cadre_id, target_kind, target_id, household_id, village, kind, occurred_at, recorded_at,"
    " lat, lon, accuracy_m, provider, is_mock, distance_m, verified"
)


def visible_checkins(schema: str, cutoff: str = "$1") -> str:
    """SQL for the check-ins a rebuild cut at `cutoff` (a parameter holding a timestamptz or NULL
    for now) would hold, voided ones left out. (`coalesce` to infinity, not `$1 IS NULL OR …`: the
    planner's generic plans misjudged the OR form into nested loops over whole tables.)"""
    until = f"coalesce({cutoff}::timestamptz, 'infinity')"
    return (
        f"(SELECT * FROM {schema}.verdicts_checkins WHERE recorded_at < {until}"
        f" AND (voided_at IS NULL OR voided_at >= {until}))"
    )


# One measurer for every check-in: building geopy's Geodesic per call cost more than the measuring.
_GEODESIC = geodesic()


def judge(position: dict[str, Any] | None, household: tuple[float, float] | None, is_household_target: bool,
          rules: Rules) -> tuple[float | None, bool]:
    """(distance in metres or None, verified) for one fix."""
    if not position:
        return None, False
    distance = None
    if household is not None:
        distance = _GEODESIC.measure((position["lat"], position["lon"]), household) * 1000
    accuracy = position.get("accuracy_m")
    verified = (
        accuracy is not None
        and accuracy <= rules.verified_max_accuracy_m
        and not (rules.mock_fixes_rejected and position.get("is_mock"))
        and (distance <= rules.verified_max_distance_m if distance is not None else not is_household_target)
    )
    return distance, bool(verified)


def is_verified(position: dict[str, Any] | None, household: tuple[float, float] | None, is_household_target: bool,
                rules: Rules) -> bool:
    """`judge`'s verdict alone, measuring the geodesic only where it matters: the great circle differs
    from it by under 0.6 %, so a fix more than 1 % away from the distance limit is decided by the arc."""
    if position and household is not None:
        arc = 1000 * _great_circle_km(position["lat"], position["lon"], *household)
        limit = rules.verified_max_distance_m
        if abs(arc - limit) > 0.01 * limit:
            return judge(position, None, False, rules)[1] and arc <= limit
    return judge(position, household, is_household_target, rules)[1]


def _great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (lat1, lon1, lat2, lon2))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


class Verdicts(Projection):
    name = "verdicts"
    tables = TABLES

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
        checkins: list[tuple[Any, ...]] = []  # rows in CHECKIN_COLUMNS order
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
                distance, verified = judge(
                    position, places.get(household_id) if household_id else spots.get(str(event.target_id)),
                    event.target_kind == "household", rules,
                )
                checkins.append((
                    event.originator_id, _uuid(event.cadre_id), event.target_kind, str(event.target_id),
                    household_id, event.village, event.kind, parse_time(event.occurred_at), event.timestamp,
                    position["lat"] if position else None, position["lon"] if position else None,
                    position.get("accuracy_m") if position else None, position.get("provider") if position else None,
                    bool(position.get("is_mock")) if position else None, distance, verified,
                ))
            elif name == "Visit.Voided":
                voids.append((event.originator_id, event.timestamp, event.reason))
        if moved:
            await conn.executemany(
                f"INSERT INTO {schema}.verdicts_households VALUES ($1, $2, $3) ON CONFLICT (household_id)"
                " DO UPDATE SET lat = excluded.lat, lon = excluded.lon",
                [(k, lat, lon) for k, (lat, lon) in moved.items()],
            )
        if placed:
            await conn.execute(f"DELETE FROM {schema}.verdicts_targets WHERE target_id = ANY($1)", list(placed))
            await conn.executemany(f"INSERT INTO {schema}.verdicts_targets VALUES ($1, $2, $3)",
                                   [(k, *spot) for k, spot in placed.items() if spot is not None])
        if checkins:
            await conn.executemany(
                f"INSERT INTO {schema}.verdicts_checkins ({CHECKIN_COLUMNS}) VALUES"
                " ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
                checkins,
            )
        if voids:
            await conn.executemany(
                f"UPDATE {schema}.verdicts_checkins SET voided_at = $2, void_reason = $3"
                " WHERE visit_id = $1 AND voided_at IS NULL",
                voids,
            )


projection = Verdicts()


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
    rules = await load_rules(conn, adcode_of(schema))
    # Only the filters asked for go into the SQL: with `$n IS NULL OR …` a cached generic plan made
    # for one filter ran a county-wide query for 35 s instead of 0.1 s.
    args: list[Any] = [recorded_before(as_of)]
    chain, rows_wanted = ["lat IS NOT NULL"], ["true"]
    if cadre_id is not None:
        args.append(cadre_id)
        # a chain is one cadre's: only the cadres asked about need theirs
        chain.append(f"cadre_id = ${len(args)}")
        rows_wanted.append(f"v.cadre_id = ${len(args)}")
    if household_id is not None:
        args.append(household_id)
        chain.append(f"cadre_id IN (SELECT cadre_id FROM visible WHERE household_id = ${len(args)})")
        rows_wanted.append(f"v.household_id = ${len(args)}")
    if period is not None:
        args.extend(period.instants())
        rows_wanted.append(f"v.occurred_at >= ${len(args) - 1} AND v.occurred_at < ${len(args)}")
    rows = await conn.fetch(
        f"""
        WITH visible AS {visible_checkins(schema)},
        chained AS (
            SELECT v.*, lag(lat) OVER w AS prev_lat, lag(lon) OVER w AS prev_lon,
                   lag(occurred_at) OVER w AS prev_at, lag(visit_id) OVER w AS prev_visit
            FROM visible v WHERE {" AND ".join(chain)}
            WINDOW w AS (PARTITION BY cadre_id ORDER BY occurred_at, visit_id)
        ),
        judged AS (
            SELECT visit_id, prev_visit,
                   2 * 6371.0088 * asin(sqrt(power(sin(radians(lat - prev_lat) / 2), 2)
                     + cos(radians(lat)) * cos(radians(prev_lat)) * power(sin(radians(lon - prev_lon) / 2), 2)))
                   AS travel_km,
                   extract(epoch FROM occurred_at - prev_at)::float8 / 3600.0 AS travel_hours
            FROM chained WHERE prev_lat IS NOT NULL
        )
        SELECT v.*, j.prev_visit, j.travel_km, j.travel_hours
        FROM visible v LEFT JOIN judged j USING (visit_id)
        WHERE {" AND ".join(rows_wanted)}
        ORDER BY v.occurred_at DESC, v.visit_id
        """,
        *args,
    )
    return [_verdict(row, rules) for row in rows]


def _verdict(row: Record, rules: Rules) -> dict[str, Any]:
    km, hours = row["travel_km"], row["travel_hours"]
    speed = None if km is None else (km / hours if hours > 0 else (0.0 if km == 0 else float("inf")))
    return {
        "visit_id": row["visit_id"], "cadre_id": row["cadre_id"], "target_kind": row["target_kind"],
        "target_id": row["target_id"], "household_id": row["household_id"], "village": row["village"],
        "kind": row["kind"], "occurred_at": row["occurred_at"], "recorded_at": row["recorded_at"],
        "lat": row["lat"], "lon": row["lon"], "accuracy_m": row["accuracy_m"], "is_mock": row["is_mock"],
        "distance_m": row["distance_m"], "verified": row["verified"],
        "previous_visit_id": row["prev_visit"],
        "travel_kmh": None if speed is None or speed == float("inf") else round(speed, 1),
        "impossible_travel": speed is not None and speed > rules.impossible_travel_kmh,
    }


async def page(conn: AsyncConnection, schema: str, *, cadre_id: UUID | None = None, household_id: UUID | None = None,
               village: str | None = None, kind: str | None = None, verdict: str | None = None,
               occurred_from: date | None = None, occurred_to: date | None = None, limit: int = 50,
               after: str | None = None, as_of: date | None = None) -> dict[str, Any]:
    """A page of check-ins, newest first (by `occurred_at`, then id), voided ones included, each with
    its stored verdict and the reasons behind it: `{items, next}`; pass `next` back as `after`.

    `verdict` is `verified`, `unverified` (neither: a fix that failed a rule) or `voided` (as of
    `as_of`); `occurred_from`/`occurred_to` are Chinese calendar days, inclusive (a range ending
    before it starts holds nothing). Each filter reads a range of its own index and the previous
    check-in of each row's cadre (impossible travel) is one index probe: O(the page)."""
    if verdict is not None and verdict not in VERDICTS:
        raise ValueError(f"verdict is one of {', '.join(VERDICTS)}, not {verdict!r}")
    if not 1 <= limit <= 500:
        raise ValueError(f"limit is 1 to 500, not {limit}")
    cursor_at, cursor_id = parse_keyset(after)
    if occurred_from is not None and occurred_to is not None and occurred_to < occurred_from:
        return {"items": [], "next": None}
    rules = await load_rules(conn, adcode_of(schema))
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
        SELECT v.*, {voided} AS is_voided, p.visit_id AS prev_visit, p.lat AS prev_lat, p.lon AS prev_lon,
               p.occurred_at AS prev_at
        FROM {schema}.verdicts_checkins v
        LEFT JOIN LATERAL (
            SELECT q.visit_id, q.lat, q.lon, q.occurred_at FROM {schema}.verdicts_checkins q
            WHERE q.cadre_id = v.cadre_id AND (q.occurred_at, q.visit_id) < (v.occurred_at, v.visit_id)
              AND q.lat IS NOT NULL AND q.recorded_at < {until} AND (q.voided_at IS NULL OR q.voided_at >= {until})
            ORDER BY q.occurred_at DESC, q.visit_id DESC LIMIT 1
        ) p ON v.lat IS NOT NULL AND NOT {voided}
        WHERE {" AND ".join(wanted)}
        ORDER BY v.occurred_at DESC, v.visit_id DESC LIMIT $2
        """,
        *args,
    )
    items = [_audited(row, rules) for row in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "next": f"{items[-1]['occurred_at'].isoformat()}|{items[-1]['visit_id']}" if more else None}


def _audited(row: Record, rules: Rules) -> dict[str, Any]:
    """One check-in as the audit shows it: its stored verdict, the rules it failed and its travel."""
    speed = None
    if row["prev_visit"] is not None:
        km = _great_circle_km(row["prev_lat"], row["prev_lon"], row["lat"], row["lon"])
        hours = (row["occurred_at"] - row["prev_at"]).total_seconds() / 3600.0
        speed = km / hours if hours > 0 else (0.0 if km == 0 else float("inf"))
    reasons = []
    if row["is_voided"]:
        reasons.append("voided")
    if row["lat"] is None:
        reasons.append("no_position")
    else:
        if rules.mock_fixes_rejected and row["is_mock"]:
            reasons.append("mocked")
        if row["accuracy_m"] is None or row["accuracy_m"] > rules.verified_max_accuracy_m:
            reasons.append("poor_accuracy")
        if row["distance_m"] is not None and row["distance_m"] > rules.verified_max_distance_m:
            reasons.append("too_far")
        if row["distance_m"] is None and row["target_kind"] == "household":
            reasons.append("no_household_location")
    if speed is not None and speed > rules.impossible_travel_kmh:
        reasons.append("impossible_travel")
    return {
        "visit_id": row["visit_id"], "cadre_id": row["cadre_id"], "target_kind": row["target_kind"],
        "target_id": row["target_id"], "household_id": row["household_id"], "village": row["village"],
        "kind": row["kind"], "occurred_at": row["occurred_at"], "recorded_at": row["recorded_at"],
        "accuracy_m": row["accuracy_m"], "is_mock": row["is_mock"], "distance_m": row["distance_m"],
        "verdict": "voided" if row["is_voided"] else "verified" if row["verified"] else "unverified",
        "reasons": reasons, "void_reason": row["void_reason"] if row["is_voided"] else None,
        "previous_visit_id": row["prev_visit"],
        "travel_kmh": None if speed is None or speed == float("inf") else round(speed, 1),
    }


async def summary(conn: AsyncConnection, schema: str, *, period: Period | None = None,
                  as_of: date | None = None) -> dict[str, Any]:
    """County totals of the verdicts for a period: check-ins, verified, and why the rest were not."""
    items = await checkins(conn, schema, period=period, as_of=as_of)
    rules = await load_rules(conn, adcode_of(schema))
    no_fix = [i for i in items if i["lat"] is None]
    return {
        "checkins": len(items),
        "verified": sum(i["verified"] for i in items),
        "without_position": len(no_fix),
        "mocked": sum(bool(i["is_mock"]) for i in items),
        "too_far": sum(i["distance_m"] is not None and i["distance_m"] > rules.verified_max_distance_m for i in items),
        "poor_accuracy": sum(
            i["accuracy_m"] is not None and i["accuracy_m"] > rules.verified_max_accuracy_m for i in items
        ),
        "impossible_travel": sum(i["impossible_travel"] for i in items),
    }


async def households_changed_since(conn: AsyncConnection, schema: str, moment: datetime) -> set[UUID]:
    """Households with a check-in recorded or voided in this read model from `moment` on."""
    rows = await conn.fetch(
        f"SELECT DISTINCT household_id FROM {schema}.verdicts_checkins"
        " WHERE household_id IS NOT NULL AND (recorded_at >= $1 OR voided_at >= $1)", moment)
    return {row["household_id"] for row in rows}
