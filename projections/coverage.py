"""Coverage: how many households were visited, per village, township, county and H3 cell, in a period.

Tables hold households as time-stamped facts (registered, archived, and every place they lived at,
with H3 cells at resolutions 7–9); visits come from `verdicts_checkins`. A household counts in a
period when it was known at the query's `as_of` and not archived before the period began; it is
placed where it lived as of `as_of`. Visits count by `occurred_at` within the period; voided ones
never count, nor do contacts of a kind the county's rules do not count as visits (a phone call:
`projections.verdicts.counts_as_visit`); `verified_visits` counts the visits the verdicts accepted.

Summaries (DESIGN §6: a query costs O(its answer)): running totals by recorded day (`running`) per
place group (a village with its township, or an H3 cell) — `coverage_placed`: households placed there
and those of them archived, with their coordinate sums; `coverage_tallies`: per group and calendar
year, quarter and month, the visits, verified visits, households visited ≥1 and ≥2 times (coverage's
rule), households with ≥1 verified visit (verified coverage) and ≥k times for k = 1..12 among
households not archived (completeness' rule). Each batch changes them by the difference a
household's events make to its contribution, so a relocation moves its figures, an archive withdraws
them from later periods, a void or a late sync lands on the day it was recorded. Other date ranges
count their visits in SQL (O(the visits in the range)).

GeoJSON answers are RFC 7946 FeatureCollections: coordinates [lon, lat] in WGS-84, polygons closed
and counter-clockwise. Villages are points at their households' mean position (no village boundary
source exists yet); the county is its boundary from `core.counties` where known.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache, partial
from typing import Any, Literal
from uuid import UUID

import h3
from asyncpg import Record

from projections.base import Period, Projection, event_name, insert_rows, local_date, parse_time, period_keys
from projections.base import recorded_before, summary_key
from projections.campaigns import tagged
from projections.rules import Rules
from projections.running import Key, RunningTotals, Vector
from projections.verdicts import counts_as_visit, judged, visible_checkins
from services.storage.connections import AsyncConnection
from services.storage.names import adcode_of

H3_RESOLUTIONS = (7, 8, 9)
Level = Literal["village", "township", "county", "h3"]
# Place groups kept in the summaries: townships and the county are sums of their villages.
GROUPS = ("village", "cell7", "cell8", "cell9")
HELD = 12  # the most visits a year Rules.household_visits_per_year can ask for
# Coordinates are summed exactly as integers of 2^-80 degrees: the mean is then the same float as
# math.fsum over the households gives, whatever order they come in.
SCALE = 2 ** 80

PLACED = RunningTotals(
    "coverage_placed", [("grouping", "text"), ("key", "text"), ("township", "text")],
    [("households", "int"), ("archived", "int"), ("lat", "numeric"), ("lon", "numeric"),
     ("archived_lat", "numeric"), ("archived_lon", "numeric")],
)
TALLIES = RunningTotals(
    "coverage_tallies", [("grouping", "text"), ("key", "text"), ("township", "text"), ("period", "text")],
    [("visits", "int"), ("verified", "int"), ("once", "int"), ("twice", "int"),
     *((f"held{k}", "int") for k in range(1, HELD + 1)), ("verified_once", "int")],
)
COUNTS = RunningTotals("coverage_counts", [("household_id", "uuid"), ("period", "text")],
                       [("visits", "int"), ("verified", "int")])

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.coverage_households ("
    " household_id uuid PRIMARY KEY, registered_at timestamptz NOT NULL, archived_at timestamptz,"
    # The head's name, phone and notes exactly as the event holds them: sealed with the household's key
    # (services.personal), so lists open them with one query instead of loading every household's events,
    # and erasure (the key deleted) reaches this copy too.
    " personal text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {schema}.coverage_places ("
    " household_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL,"
    " village text NOT NULL, township text NOT NULL, lat float8 NOT NULL, lon float8 NOT NULL,"
    " cell7 text NOT NULL, cell8 text NOT NULL, cell9 text NOT NULL, PRIMARY KEY (household_id, version))",
    # What the lists, phones and maps filter on.
    "CREATE INDEX IF NOT EXISTS coverage_places_township ON {schema}.coverage_places (township)",
    "CREATE INDEX IF NOT EXISTS coverage_places_village ON {schema}.coverage_places (village)",
    "CREATE INDEX IF NOT EXISTS coverage_places_point ON {schema}.coverage_places USING gist (point(lon, lat))",
    # What changed since a phone's cursor (`households_changed_since`).
    "CREATE INDEX IF NOT EXISTS coverage_places_since ON {schema}.coverage_places (valid_from)",
    "CREATE INDEX IF NOT EXISTS coverage_households_archived ON {schema}.coverage_households (archived_at)"
    " WHERE archived_at IS NOT NULL",
    # The household check-ins this projection counted, so a void knows what to take back.
    "CREATE TABLE IF NOT EXISTS {schema}.coverage_visits ("
    " visit_id uuid PRIMARY KEY, household_id uuid NOT NULL, occurred_at timestamptz NOT NULL,"
    " verified boolean NOT NULL)",
    "CREATE INDEX IF NOT EXISTS coverage_visits_household ON {schema}.coverage_visits (household_id, occurred_at)",
    # Each household as it stands now, with its visits per calendar year and its last visit: the
    # lists and due lists of today read a township or a box from here in one index scan.
    "CREATE TABLE IF NOT EXISTS {schema}.coverage_current ("
    " household_id uuid PRIMARY KEY, village text NOT NULL, township text NOT NULL, lat float8 NOT NULL,"
    " lon float8 NOT NULL, archived boolean NOT NULL, years int[] NOT NULL, visits int[] NOT NULL,"
    " last_visit timestamptz)",
    "CREATE INDEX IF NOT EXISTS coverage_current_township ON {schema}.coverage_current (township, household_id)",
    "CREATE INDEX IF NOT EXISTS coverage_current_village ON {schema}.coverage_current (village, household_id)",
    "CREATE INDEX IF NOT EXISTS coverage_current_point ON {schema}.coverage_current USING gist (point(lon, lat))",
    "CREATE TABLE IF NOT EXISTS {schema}.coverage_groups ("
    " grouping text NOT NULL, key text NOT NULL, township text NOT NULL, PRIMARY KEY (grouping, key, township))",
    PLACED.ddl(), TALLIES.ddl(), COUNTS.ddl(),
]


@lru_cache(maxsize=512)
def _start(period: str) -> date:
    return Period.parse(period).start


@dataclass
class _Household:
    place: dict[str, Any] | None = None
    archived: date | None = None
    counts: dict[str, list[int]] = field(default_factory=dict)

    def groups(self) -> list[tuple[str, str, str]] | None:
        """The place groups (grouping, key, township) the household counts in, None while unplaced."""
        if self.place is None:
            return None
        return [(g, self.place[g], self.place["township"] if g == "village" else "") for g in GROUPS]

    def contributions(self, periods: Sequence[str], placed: bool) -> tuple[dict[Key, Vector], dict[Key, Vector]]:
        """(placed figures, tallies) this household adds to its groups for `periods`."""
        groups = self.groups()
        if groups is None or self.place is None:
            return {}, {}
        here: dict[Key, Vector] = {}
        if placed:
            lat, lon = int(self.place["lat"] * SCALE), int(self.place["lon"] * SCALE)
            gone = self.archived is not None
            vector = [1, int(gone), lat, lon, lat if gone else 0, lon if gone else 0]
            here = {group: vector for group in groups}
        tallies: dict[Key, Vector] = {}
        for period in periods:
            visits, verified = self.counts.get(period, (0, 0))
            if visits == 0 or (self.archived is not None and self.archived < _start(period)):
                continue
            yearly = len(period) == 4 and self.archived is None
            vector = [visits, verified, int(visits >= 1), int(visits >= 2),
                      *(int(yearly and visits >= k) for k in range(1, HELD + 1)), int(verified >= 1)]
            tallies.update({(*group, period): vector for group in groups})
        return here, tallies


class _Deltas:
    def __init__(self) -> None:
        self.placed: dict[Key, Vector] = defaultdict(lambda: PLACED.zero())
        self.tallies: dict[Key, Vector] = defaultdict(lambda: TALLIES.zero())
        self.counts: dict[Key, Vector] = defaultdict(lambda: COUNTS.zero())

    def change(self, household: _Household, day: date, periods: Sequence[str], placed: bool,
               mutate: Callable[[], None]) -> None:
        """Apply `mutate` to the household, adding the difference it makes to its groups' figures."""
        before = household.contributions(periods, placed)
        mutate()
        after = household.contributions(periods, placed)
        for target, old, new in ((self.placed, before[0], after[0]), (self.tallies, before[1], after[1])):
            differences: dict[tuple[int, int], Vector] = {}  # a period's vector is shared by its four groups
            for key in old.keys() | new.keys():
                was, now = old.get(key), new.get(key)
                pair = (id(was), id(now))
                if pair not in differences:
                    if was is None:
                        assert now is not None  # the key is in `old` or `new`
                        differences[pair] = now
                    else:
                        differences[pair] = ([-a for a in was] if now is None
                                             else [b - a for a, b in zip(was, now, strict=True)])
                total = target[(*key, day)]
                target[(*key, day)] = [a + b for a, b in zip(total, differences[pair], strict=True)]


class Coverage(Projection):
    name = "coverage"
    version = 3  # counts by the stored verdict, impossible travel included
    reads = ("verdicts",)
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        registered, places, archived = [], [], []
        verdicts = await judged(conn, schema, events)
        # The counted visits the batch voids or re-judges (impossible travel turned by a late arrival or a void).
        stored = [e.originator_id for e in events if event_name(e) == "Visit.Voided"]
        stored += [row["visit_id"] for rows in verdicts.rejudged.values() for row in rows]
        visits: dict[UUID, tuple[UUID, datetime, bool]] = {  # visit -> (household, occurred_at, verified)
            r["visit_id"]: (r["household_id"], r["occurred_at"], r["verified"]) for r in await conn.fetch(
                f"SELECT * FROM {schema}.coverage_visits WHERE visit_id = ANY($1)", stored)
        } if stored else {}
        rejudged: set[UUID] = set()
        # A household's own events move all its figures: every period it has counts in. A visit needs only
        # the periods of its day.
        whole = {e.originator_id for e in events if event_name(e).startswith("Household.")}
        periods: dict[UUID, set[str]] = defaultdict(set)
        for household_id, occurred, _ in visits.values():
            periods[household_id].update(period_keys(local_date(occurred)))
        for event in events:
            if event_name(event) == "Visit.CheckedIn" and event.household_id is not None:
                periods[_uuid(event.household_id)].update(period_keys(local_date(parse_time(event.occurred_at))))
        households = await _load(conn, schema, whole, periods)
        deltas, added, removed = _Deltas(), [], []
        emptied: set[UUID] = set()  # households that lost a counted visit (a void)
        for event in events:
            name, day = event_name(event), local_date(event.timestamp)
            if name in ("Household.Registered", "Household.Relocated"):
                if name == "Household.Registered":
                    registered.append((event.originator_id, event.timestamp, event.personal))
                lat, lon = float(event.lat), float(event.lon)
                place = {"village": event.village, "township": event.township, "lat": lat, "lon": lon,
                         **{f"cell{r}": h3.latlng_to_cell(lat, lon, r) for r in H3_RESOLUTIONS}}
                places.append((event.originator_id, event.originator_version, event.timestamp, event.village,
                               event.township, lat, lon, *(place[f"cell{r}"] for r in H3_RESOLUTIONS)))
                household = households[event.originator_id]
                deltas.change(household, day, list(household.counts), True,
                              partial(setattr, household, "place", place))
            elif name == "Household.Archived":
                archived.append((event.originator_id, event.timestamp))
                household = households[event.originator_id]
                deltas.change(household, day, list(household.counts), True,
                              partial(setattr, household, "archived", day))
            elif name == "Visit.CheckedIn" and event.household_id is not None and counts_as_visit(event.kind, rules):
                household_id, household = _uuid(event.household_id), households[_uuid(event.household_id)]
                verified = verdicts.arrived[event.originator_id]
                occurred = parse_time(event.occurred_at)
                visits[event.originator_id] = (household_id, occurred, verified)
                added.append(event.originator_id)
                _count(deltas, household_id, household, day, occurred, verified, 1)
            elif name == "Visit.Voided" and event.originator_id in visits:
                household_id, occurred, verified = visits.pop(event.originator_id)
                removed.append(event.originator_id)
                emptied.add(household_id)
                _count(deltas, household_id, households[household_id], day, occurred, verified, -1)
            for row in verdicts.turned_by(event):
                if row["visit_id"] in visits and visits[row["visit_id"]][2] != row["after"]:
                    household_id, occurred, verified = visits[row["visit_id"]]
                    _count(deltas, household_id, households[household_id], day, occurred, verified, -1)
                    _count(deltas, household_id, households[household_id], day, occurred, row["after"], 1)
                    visits[row["visit_id"]] = (household_id, occurred, row["after"])
                    rejudged.add(row["visit_id"])
        await insert_rows(conn, f"{schema}.coverage_households", ("uuid", "timestamptz", "text"), registered,
                          "household_id, registered_at, personal")
        await insert_rows(conn, f"{schema}.coverage_places", ("uuid", "bigint", "timestamptz", "text", "text", "float8",
                                                              "float8", "text", "text", "text"), places)
        if archived:
            await conn.executemany(
                f"UPDATE {schema}.coverage_households SET archived_at = $2 WHERE household_id = $1", archived
            )
        new = [(v, *visits[v]) for v in added if v in visits]
        await insert_rows(conn, f"{schema}.coverage_visits", ("uuid", "uuid", "timestamptz", "boolean"), new)
        if removed:
            await conn.execute(f"DELETE FROM {schema}.coverage_visits WHERE visit_id = ANY($1)", removed)
        kept = [(v, visits[v][2]) for v in rejudged - set(added) if v in visits]
        if kept:
            await conn.executemany(f"UPDATE {schema}.coverage_visits SET verified = $2 WHERE visit_id = $1", kept)
        await _keep_current(conn, schema, households, new, emptied)
        groups = sorted({key[:3] for key in deltas.placed})
        if groups:
            await conn.execute(
                f"INSERT INTO {schema}.coverage_groups SELECT * FROM unnest($1::text[], $2::text[], $3::text[])"
                " ON CONFLICT DO NOTHING", *([g[i] for g in groups] for i in range(3)),
            )
        await PLACED.add(conn, schema, deltas.placed)
        await TALLIES.add(conn, schema, deltas.tallies)
        await COUNTS.add(conn, schema, deltas.counts)


projection = Coverage()


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _count(deltas: _Deltas, household_id: UUID, household: _Household, day: date, occurred: datetime,
           verified: bool, sign: int) -> None:
    periods = period_keys(local_date(occurred))
    groups = household.groups()
    for period in periods:
        deltas.counts[(household_id, period, day)][0] += sign
        deltas.counts[(household_id, period, day)][1] += sign * int(verified)
        figures = household.counts.setdefault(period, [0, 0])
        was, was_verified = figures
        figures[0] += sign
        figures[1] += sign * int(verified)
        # The difference this visit makes to the household's tally (`_Household.contributions`), worked
        # out directly: the same figures, without building the vectors before and after.
        if groups is None or (household.archived is not None and household.archived < _start(period)):
            continue
        now = figures[0]
        change = [(0, sign)]
        if verified:
            change.append((1, sign))
        if (was >= 1) != (now >= 1):
            change.append((2, now - was))
        if (was >= 2) != (now >= 2):
            change.append((3, now - was))
        if (was_verified >= 1) != (figures[1] >= 1):
            change.append((4 + HELD, figures[1] - was_verified))  # verified_once, the vector's last figure
        if len(period) == 4 and household.archived is None:
            # held_k counts a household once its visits reach k: only the k passed changes.
            passed = max(was, now)
            if passed <= HELD:
                change.append((3 + passed, now - was))
        for group in groups:
            total = deltas.tallies[(*group, period, day)]
            for index, amount in change:
                total[index] += amount


async def _keep_current(conn: AsyncConnection, schema: str, households: dict[UUID, _Household],
                        new: list[tuple[UUID, UUID, datetime, bool]], emptied: set[UUID]) -> None:
    """Write the batch's households as they now stand (after their visits are written): `new` are the batch's
    counted visits (visit, household, occurred_at, verified), `emptied` the households that lost one."""
    placed = {household_id: h.place for household_id, h in households.items() if h.place is not None}
    if not placed:
        return
    # Read first, not by a subquery of the INSERT: Citus 13.2 plans an INSERT..SELECT into a county's
    # (single-shard) table that reads another of its tables with a filter on a distribution column it does
    # not have, and sends `WHERE ( IS NOT NULL)` to the worker.
    kept = {row["household_id"]: row for row in await conn.fetch(
        f"SELECT household_id, years, visits, last_visit FROM {schema}.coverage_current"
        " WHERE household_id = ANY($1)", list(placed))}
    # Visits per calendar year: the kept ones, with those of the years the batch loaded (all of a household's
    # when it had events of its own) over them.
    yearly: dict[UUID, dict[str, int]] = {}
    for household_id in placed:
        row = kept.get(household_id)
        years = dict(zip(map(str, row["years"]), row["visits"], strict=True)) if row else {}
        years.update({p: figures[0] for p, figures in households[household_id].counts.items() if len(p) == 4})
        yearly[household_id] = {year: years[year] for year in sorted(years)}
    columns = (
        list(placed), *([place[k] for place in placed.values()] for k in ("village", "township", "lat", "lon")),
        [households[h].archived is not None for h in placed],
        # int[] per row travel as text: unnest would flatten a two-dimensional array
        ["{" + ",".join(yearly[h]) + "}" for h in placed],
        ["{" + ",".join(map(str, yearly[h].values())) + "}" for h in placed],
    )
    # A household's last visit is the later of the one kept and the batch's new ones; one that lost a visit (or
    # has no row yet) is counted again from its visits (a max() over every household's visits grew with their
    # history, where a batch should cost O(its events)).
    last: dict[UUID, Any] = {h: row["last_visit"] for h, row in kept.items() if h not in emptied}
    recount = [h for h in placed if h not in last]
    for _, household_id, occurred, _ in new:
        if household_id in last and (last[household_id] is None or occurred > last[household_id]):
            last[household_id] = occurred
    if recount:
        last.update({row["household_id"]: row["last"] for row in await conn.fetch(
            f"SELECT household_id, max(occurred_at) AS last FROM {schema}.coverage_visits"
            " WHERE household_id = ANY($1) GROUP BY household_id", recount)})
    await conn.execute(
        f"""INSERT INTO {schema}.coverage_current
            SELECT d.household_id, d.village, d.township, d.lat, d.lon, d.archived, d.years::int[], d.visits::int[],
                   d.last_visit
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::boolean[], $7::text[],
                        $8::text[], $9::timestamptz[])
                 AS d(household_id, village, township, lat, lon, archived, years, visits, last_visit)
            ON CONFLICT (household_id) DO UPDATE SET village = excluded.village, township = excluded.township,
              lat = excluded.lat, lon = excluded.lon, archived = excluded.archived, years = excluded.years,
              visits = excluded.visits, last_visit = excluded.last_visit""",
        *columns, [last.get(household_id) for household_id in placed],
    )


async def _load(conn: AsyncConnection, schema: str, whole: set[UUID],
                periods: dict[UUID, set[str]]) -> dict[UUID, _Household]:
    """The households' current place, archive day and visit counts: every period of those in `whole`, the
    `periods` of the others (all of a household's is every period it ever had, with every day each changed on:
    ~36 rows a year for one visited monthly; a visit touches 3 periods). Missing ones start empty."""
    households: dict[UUID, _Household] = defaultdict(_Household)
    ids_list = list(whole | set(periods))
    if not ids_list:
        return households
    wanted = [(h, period) for h, named in periods.items() if h not in whole for period in named]
    for (household_id, period), figures in (await COUNTS.current(conn, schema, wanted)).items():
        households[household_id].counts[period] = figures
    for row in await conn.fetch(
        f"SELECT DISTINCT ON (household_id) * FROM {schema}.coverage_places WHERE household_id = ANY($1)"
        " ORDER BY household_id, version DESC", ids_list,
    ):
        households[row["household_id"]].place = dict(row)
    for row in await conn.fetch(
        f"SELECT household_id, archived_at FROM {schema}.coverage_households"
        " WHERE household_id = ANY($1) AND archived_at IS NOT NULL", ids_list,
    ):
        households[row["household_id"]].archived = local_date(row["archived_at"])
    if whole:
        for row in await conn.fetch(
            f"SELECT DISTINCT ON (household_id, period) household_id, period, visits, verified"
            f" FROM {schema}.coverage_counts WHERE household_id = ANY($1) ORDER BY household_id, period, day DESC",
            list(whole),
        ):
            households[row["household_id"]].counts[row["period"]] = [row["visits"], row["verified"]]
    return households


def households_as_of(schema: str) -> str:
    """SQL: every household known at cutoff $1 (NULL = now) with its place then, and `archived_at`
    as known then (NULL if archived only later). Other read models' queries use it too; a filter on
    its place (township, village, point) or household reaches the indexes of `coverage_places`."""
    until = "coalesce($1::timestamptz, 'infinity')"
    return f"""(
        SELECT p.household_id, p.village, p.township, p.lat, p.lon, p.cell7, p.cell8, p.cell9, h.registered_at,
               CASE WHEN h.archived_at < {until} THEN h.archived_at END AS archived_at
        FROM {schema}.coverage_places p JOIN {schema}.coverage_households h USING (household_id)
        WHERE p.valid_from < {until} AND NOT EXISTS (
            SELECT 1 FROM {schema}.coverage_places later WHERE later.household_id = p.household_id
            AND later.version > p.version AND later.valid_from < {until})
    )"""


def _key(level: Level, resolution: int) -> str:
    if level == "h3":
        if resolution not in H3_RESOLUTIONS:
            raise ValueError(f"H3 resolution must be one of {H3_RESOLUTIONS}, not {resolution}")
        return f"cell{resolution}"
    if level not in ("village", "township", "county"):
        raise ValueError(f"coverage level must be village, township, county or h3, not {level!r}")
    return level


def _match(alias: str) -> str:
    return f"t.grouping = {alias}.grouping AND t.key = {alias}.key AND t.township = {alias}.township"


async def group_figures(conn: AsyncConnection, schema: str, grouping: str, period: Period,
                        as_of: date | None) -> list[dict[str, Any]]:
    """Per place group of `grouping` (village or cellN): households counted in the period as of the day
    with their coordinate sums, visits, verified visits and households visited ≥1 / ≥2 times.
    O(groups) for a calendar year, quarter or month; other ranges add O(their visits)."""
    before_start = period.start - timedelta(days=1)
    archived_by = before_start if as_of is None else min(as_of, before_start)
    key = summary_key(period)
    visits = TALLIES.latest_sql(schema, _match("g") + " AND t.period = $4", "$2::date",
                                "visits, verified, once, twice, verified_once")
    tallies = f" LEFT JOIN LATERAL {visits} v ON true" if key else ""
    rows = await conn.fetch(
        f"""SELECT g.key, g.township, p.households, p.lat, p.lon, a.archived, a.archived_lat, a.archived_lon
                   {", v.visits, v.verified, v.once, v.twice, v.verified_once" if key else ""}
            FROM {schema}.coverage_groups g
            LEFT JOIN LATERAL {PLACED.latest_sql(schema, _match('g'), '$2::date', 'households, lat, lon')} p ON true
            LEFT JOIN LATERAL {PLACED.latest_sql(schema, _match('g'), '$3::date',
                                                 'archived, archived_lat, archived_lon')} a ON true
            {tallies}
            WHERE g.grouping = $1 AND p.households > coalesce(a.archived, 0)""",
        grouping, as_of, archived_by, *([key] if key else []),
    )
    figures = {(r["key"], r["township"]): {
        "key": r["key"], "township": r["township"], "households": r["households"] - (r["archived"] or 0),
        "lat": int(r["lat"]) - int(r["archived_lat"] or 0), "lon": int(r["lon"]) - int(r["archived_lon"] or 0),
        "visits": r["visits"] or 0 if key else 0, "verified_visits": r["verified"] or 0 if key else 0,
        "visited_once": r["once"] or 0 if key else 0, "visited_twice": r["twice"] or 0 if key else 0,
        "verified_visited": r["verified_once"] or 0 if key else 0,
    } for r in rows}
    if key is None:
        for row in await _range_visits(conn, schema, grouping, period, as_of):
            figures[(row["key"], row["township"])].update(
                {k: row[k] for k in ("visits", "verified_visits", "visited_once", "visited_twice", "verified_visited")})
    return list(figures.values())


async def _range_visits(conn: AsyncConnection, schema: str, grouping: str, period: Period,
                        as_of: date | None) -> list[Record]:
    """Visit figures per group for a range no summary covers, counted from its visits."""
    start, end = period.instants()
    until = "coalesce($1::timestamptz, 'infinity')"
    return await conn.fetch(
        f"""WITH v AS (
                SELECT household_id, count(*) AS visits, count(*) FILTER (WHERE verified) AS verified
                FROM {visible_checkins(schema)} c
                WHERE household_id IS NOT NULL AND occurred_at >= $2 AND occurred_at < $3 GROUP BY household_id)
            SELECT p.{grouping} AS key, {"p.township" if grouping == "village" else "''"} AS township,
                   sum(v.visits)::int AS visits, sum(v.verified)::int AS verified_visits,
                   count(*)::int AS visited_once, count(*) FILTER (WHERE v.visits >= 2)::int AS visited_twice,
                   count(*) FILTER (WHERE v.verified >= 1)::int AS verified_visited
            FROM v JOIN {schema}.coverage_households h USING (household_id)
            CROSS JOIN LATERAL (
                SELECT * FROM {schema}.coverage_places p WHERE p.household_id = v.household_id
                AND p.valid_from < {until} ORDER BY p.version DESC LIMIT 1) p
            WHERE NOT coalesce(h.archived_at < least({until}, $2), false)
            GROUP BY 1, 2""",
        recorded_before(as_of), start, end,
    )


async def tagged_figures(conn: AsyncConnection, schema: str, grouping: str, period: Period, as_of: date | None,
                         tag: str) -> list[dict[str, Any]]:
    """`group_figures` of the households carrying `tag` now, counted one by one (O(those households and
    their visits in the period)): the summaries are kept per place, not per tag."""
    start, end = period.instants()
    rows = await conn.fetch(
        f"""WITH t AS {tagged(schema, '$4')},
            v AS (SELECT t.household_id, count(*)::int AS visits, count(*) FILTER (WHERE verified)::int AS verified
                  FROM t CROSS JOIN LATERAL (SELECT * FROM {visible_checkins(schema)} c
                                             WHERE c.household_id = t.household_id) c
                  WHERE occurred_at >= $2 AND occurred_at < $3 GROUP BY t.household_id)
            SELECT p.{grouping} AS key, {"p.township" if grouping == "village" else "''"} AS township, p.lat, p.lon,
                   coalesce(v.visits, 0) AS visits, coalesce(v.verified, 0) AS verified
            FROM t CROSS JOIN LATERAL (SELECT * FROM {households_as_of(schema)} p
                                       WHERE p.household_id = t.household_id LIMIT 1) p
            LEFT JOIN v ON v.household_id = t.household_id
            WHERE NOT coalesce(p.archived_at < $2, false)""",
        recorded_before(as_of), start, end, tag,
    )
    figures: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        group = figures.setdefault((row["key"], row["township"]), {
            "key": row["key"], "township": row["township"], "households": 0, "lat": 0, "lon": 0, "visits": 0,
            "verified_visits": 0, "visited_once": 0, "visited_twice": 0, "verified_visited": 0})
        group["households"] += 1
        group["lat"] += int(row["lat"] * SCALE)
        group["lon"] += int(row["lon"] * SCALE)
        group["visits"] += row["visits"]
        group["verified_visits"] += row["verified"]
        group["visited_once"] += row["visits"] >= 1
        group["visited_twice"] += row["visits"] >= 2
        group["verified_visited"] += row["verified"] >= 1
    return list(figures.values())


async def coverage(conn: AsyncConnection, schema: str, period: Period, level: Level = "village", *, resolution: int = 8,
                   as_of: date | None = None, tag: str | None = None) -> list[dict[str, Any]]:
    """Figures per village / township / H3 cell (or one row for the county), sorted by key; with `tag`,
    of the households carrying that tag now."""
    key = _key(level, resolution)
    grouping = "village" if key in ("village", "township", "county") else key
    groups = await (group_figures(conn, schema, grouping, period, as_of) if tag is None
                    else tagged_figures(conn, schema, grouping, period, as_of, tag))
    merged: dict[str, dict[str, Any]] = {}
    for group in groups:
        name = adcode_of(schema) if key == "county" else group["township"] if key == "township" else group["key"]
        total = merged.setdefault(name, {"key": name})
        for field_name in ("households", "lat", "lon", "visited_once", "visited_twice", "visits", "verified_visits",
                           "verified_visited"):
            total[field_name] = total.get(field_name, 0) + group[field_name]
    return [_figures(merged[name]) for name in sorted(merged)]


def _figures(total: dict[str, Any]) -> dict[str, Any]:
    households = total["households"]
    return {
        "key": total["key"],
        # Exact sums divided once: the float math.fsum over the households' coordinates gives.
        "lat": total["lat"] / SCALE / households, "lon": total["lon"] / SCALE / households,
        "households": households, "visited_once": total["visited_once"], "visited_twice": total["visited_twice"],
        "visits": total["visits"], "verified_visits": total["verified_visits"],
        "coverage_pct": round(100.0 * total["visited_once"] / households, 1),
        # households with a verified visit: what a ranking may go by (coverage_pct takes any visit)
        "verified_visited": total["verified_visited"],
        "verified_coverage_pct": round(100.0 * total["verified_visited"] / households, 1),
    }
async def geojson(conn: AsyncConnection, schema: str, period: Period, level: Level = "village", *, resolution: int = 8,
                  as_of: date | None = None, tag: str | None = None) -> dict[str, Any]:
    """The same figures as an RFC 7946 FeatureCollection (properties = the figures + key)."""
    rows = await coverage(conn, schema, period, level, resolution=resolution, as_of=as_of, tag=tag)
    shapes = {} if level == "h3" else await known_shapes(conn, schema, level)
    features = []
    for row in rows:
        if level == "h3":
            geometry = cell_polygon(row["key"])
        else:
            geometry = shapes.get(row["key"]) or {
                "type": "Point", "coordinates": [round(row["lon"], 6), round(row["lat"], 6)]}
        properties = {k: v for k, v in row.items() if k not in ("lat", "lon")}
        features.append({"type": "Feature", "id": row["key"], "geometry": geometry,
                         "properties": {"level": level, **properties}})
    return {"type": "FeatureCollection", "features": features}


async def known_shapes(conn: AsyncConnection, schema: str, level: Level) -> dict[str, dict[str, Any]]:
    """Polygons by code for `level` from the county's stored boundary, where it knows them.

    `core.counties.boundary` is either the county's own geometry or a FeatureCollection of the county,
    its townships and villages (`properties.level` and `properties.code`), as the demo stores it.
    """
    county = adcode_of(schema)
    stored = await conn.fetchval("SELECT boundary FROM core.counties WHERE adcode = $1", county)
    boundary = json.loads(stored) if isinstance(stored, str) else stored
    if not boundary:
        return {}
    if boundary.get("type") != "FeatureCollection":
        return {county: boundary} if level == "county" else {}
    return {
        str(f["properties"]["code"]): f["geometry"]
        for f in boundary.get("features", [])
        if f.get("geometry") and (f.get("properties") or {}).get("level") == level
        and (f.get("properties") or {}).get("code") is not None
    }


def cell_polygon(cell: str) -> dict[str, Any]:
    """An H3 cell as a GeoJSON Polygon: [lon, lat], closed, counter-clockwise (RFC 7946 §3.1.6)."""
    ring = [[round(lng, 7), round(lat, 7)] for lat, lng in h3.cell_to_boundary(cell)]
    if _signed_area(ring) < 0:
        ring.reverse()
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True)) / 2


async def sealed_personal(conn: AsyncConnection, schema: str, household_ids: list[UUID]) -> dict[UUID, str]:
    """The households' sealed personal tokens (head's name, phone, notes): one probe of the key per household.

    A join with the ids, not `= ANY($1)`: planned for 2,000 ids of a 290,000-household county (the API plans
    every call for its values), the ANY read the whole table in parallel, 35 ms a chunk of the completeness
    ledger where the probes take 9."""
    rows = await conn.fetch(
        f"SELECT h.household_id, h.personal FROM unnest($1::uuid[]) AS i(household_id)"
        f" JOIN {schema}.coverage_households h USING (household_id)", household_ids)
    return {row["household_id"]: row["personal"] for row in rows}


async def townships_of(conn: AsyncConnection, schema: str, household_ids: list[UUID]) -> dict[UUID, str]:
    """The households' townships now, archived ones included, by key."""
    rows = await conn.fetch(f"SELECT household_id, township FROM {schema}.coverage_current"
                            f" WHERE household_id = ANY($1::uuid[])", household_ids)
    return {row["household_id"]: row["township"] for row in rows}


async def households_changed_since(conn: AsyncConnection, schema: str, moment: datetime) -> set[UUID]:
    """Households registered, moved, retagged or archived in this read model from `moment` on."""
    rows = await conn.fetch(
        f"SELECT household_id FROM {schema}.coverage_places WHERE valid_from >= $1"
        f" UNION SELECT household_id FROM {schema}.coverage_households WHERE archived_at >= $1", moment)
    return {row["household_id"] for row in rows}
