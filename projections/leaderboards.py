"""Leaderboards: cadres and townships ranked for a period (month, quarter, year or range).

Figures, each for the period (Chinese calendar days):
- `verified_visits`: visits the verdicts accepted (`projections.verdicts`), by `occurred_at`;
  voided or unverified ones never count, nor contacts of a kind the county does not count as visits
  (`counts_as_visit`: a phone call by default);
- `distinct_households`: households among those verified visits;
- `issues_resolved`: issues raised by the cadre (township: raised in its villages) that stand
  resolved and were resolved in the period (`projections.issues`);
- `satisfaction_pct`: of those issues rated in the period, satisfied or basically satisfied.
Each cadre's row also shows `stay_days`, the days of their verified stays begun in the period
(`projections.stays`), and `reports_filed`, the research reports they filed in it (`projections.research`):
shown, not ranked by.
A township is where the work happened: the visit's village (its first 9 digits), not the cadre's
posting. Cadres listed are the active ones plus any other cadre (departed, or never enrolled) with a
figure in the period; townships are those with households or with a figure in the period.

Ties are broken deterministically: by the chosen figure, then the others in the order above (more is
better; no satisfaction ranks below any), then by id ascending (cadre UUID as text, township code).
`rank` is the position after these tie-breaks, so two rows never share a rank.

Cost (DESIGN §6): a month, quarter or year is read from running tallies per cadre and township,
kept by this projection as one version per Chinese day they changed on, so a board as of D is one
index probe per cadre or township; any other range is counted from its own check-ins. The tallies
judge check-ins as `projections.verdicts` does, from this projection's own household places (a
rebuild of this projection alone must not read another's tables).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any
from uuid import UUID

from asyncpg import Record

from projections.base import Period, Projection, event_name, insert_rows, local_date, parse_time, recorded_before
from projections.base import upsert_rows
from projections.base import as_uuid as _uuid  # one definition for every read model
from projections.issues import PERIOD_COUNTS
from projections.issues import snapshot as issues_snapshot
from projections.research import reports_filed
from projections.rules import Rules
from projections.stays import by_cadre as stays_by_cadre
from projections.verdicts import counts_as_visit, judged, visible_checkins
from services.storage.connections import AsyncConnection

FIGURES = ("verified_visits", "distinct_households", "issues_resolved", "satisfaction_pct")
KINDS = ("month", "quarter", "year")
NO_VISITS = (0,) * 12  # a household's visits per month of a year, before any
ALWAYS = date(1, 1, 1)  # the period of the `present` tallies: households of a township, whenever

Group = tuple[str, str, date, str]  # a tally: (board, kind, period start, key)
Reached = tuple[str, str, UUID, int]  # (board, key, household, year)

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.leaderboards_cadres ("
    " cadre_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL, name text NOT NULL,"
    " township text, departed boolean NOT NULL, rank text NOT NULL, unit text NOT NULL,"
    " PRIMARY KEY (cadre_id, version))",
    # Where each household is now (to judge check-ins as `projections.verdicts` does) and when archived.
    "CREATE TABLE IF NOT EXISTS {schema}.leaderboards_households ("
    " household_id uuid PRIMARY KEY, township text NOT NULL, lat float8 NOT NULL, lon float8 NOT NULL,"
    " archived_at timestamptz)",
    "CREATE INDEX IF NOT EXISTS leaderboards_households_archived ON {schema}.leaderboards_households (archived_at)"
    " WHERE archived_at IS NOT NULL",
    # The verified check-ins not voided (a void must know what it takes away).
    "CREATE TABLE IF NOT EXISTS {schema}.leaderboards_visits ("
    " visit_id uuid PRIMARY KEY, cadre_id uuid NOT NULL, household_id uuid, township text, day date NOT NULL)",
    # Per board key (a cadre, a township), household and year: those visits per month (twelve counts), to
    # tell when a household starts or stops counting as reached in a month, quarter or year. A fixed size:
    # a visit costs the same however many the household had before.
    "CREATE TABLE IF NOT EXISTS {schema}.leaderboards_reach ("
    " board text NOT NULL, key text NOT NULL, household_id uuid NOT NULL, year int NOT NULL, months int[] NOT NULL,"
    " PRIMARY KEY (board, key, household_id, year))",
    # Running totals per board key and fixed period (month, quarter, year by `occurred_at`), one
    # version per Chinese day they changed on (`recorded_on`): the version on or before D is the figure
    # as of D. Board `present` counts a township's households placed there and not archived.
    "CREATE TABLE IF NOT EXISTS {schema}.leaderboards_tallies ("
    " board text NOT NULL, kind text NOT NULL, period_start date NOT NULL, key text NOT NULL,"
    " recorded_on date NOT NULL, visits int NOT NULL, households int NOT NULL,"
    " PRIMARY KEY (board, kind, period_start, key, recorded_on))",
    # Every key tallied for a period, with its figures now (the newest version's, read without a probe).
    "CREATE TABLE IF NOT EXISTS {schema}.leaderboards_keys ("
    " board text NOT NULL, kind text NOT NULL, period_start date NOT NULL, key text NOT NULL,"
    " visits int NOT NULL, households int NOT NULL, PRIMARY KEY (board, kind, period_start, key))",
]


@lru_cache(maxsize=4096)  # every visit asks; Period is never mutated
def fixed_periods(day: date) -> tuple[tuple[str, Period], ...]:
    """The month, quarter and year holding `day`."""
    return (("month", Period.month(day.year, day.month)),
            ("quarter", Period.quarter(day.year, (day.month - 1) // 3 + 1)), ("year", Period.year(day.year)))


def kind_of(period: Period) -> str | None:
    """`month`, `quarter` or `year` when the period is exactly one (however it was written), else None."""
    return next((kind for kind, fixed in fixed_periods(period.start) if fixed == period), None)


class Tally:
    """A batch's changes to the tallies: (board, kind, period start, key, recorded day) -> [visits, households]."""

    def __init__(self) -> None:
        self.deltas: dict[tuple[str, str, date, str, date], list[int]] = defaultdict(lambda: [0, 0])

    def add(self, board: str, kind: str, start: date, key: str, day: date, visits: int, households: int) -> None:
        delta = self.deltas[(board, kind, start, key, day)]
        delta[0] += visits
        delta[1] += households

    async def write(self, conn: AsyncConnection, schema: str) -> None:
        changes: dict[Group, list[tuple[date, int, int]]] = defaultdict(list)
        for (board, kind, start, key, day), delta in sorted(self.deltas.items()):
            if delta != [0, 0]:
                changes[(board, kind, start, key)].append((day, delta[0], delta[1]))
        if not changes:
            return
        table = f"{schema}.leaderboards_tallies"
        same = "(t.board, t.kind, t.period_start, t.key) = (g.board, g.kind, g.period_start, g.key)"
        groups = "unnest($1::text[], $2::text[], $3::date[], $4::text[]) AS g(board, kind, period_start, key)"
        latest = {
            (r["board"], r["kind"], r["period_start"], r["key"]): r for r in await conn.fetch(
                f"SELECT g.*, t.recorded_on, t.visits, t.households FROM {groups} CROSS JOIN LATERAL ("
                f" SELECT * FROM {table} t WHERE {same} ORDER BY t.recorded_on DESC LIMIT 1) t",
                *_columns(list(changes)),
            )
        }
        versions, late = [], []
        for group, deltas in changes.items():
            last = latest.get(group)
            visits, households = (last["visits"], last["households"]) if last else (0, 0)
            for day, more_visits, more_households in deltas:
                if last is not None and day < last["recorded_on"]:
                    late.append((*group, day, more_visits, more_households))
                    continue
                visits, households = visits + more_visits, households + more_households
                versions.append((*group, day, visits, households))
        totals = [(*group, sum(d[1] for d in deltas), sum(d[2] for d in deltas)) for group, deltas in changes.items()]
        await conn.execute(
            f"INSERT INTO {schema}.leaderboards_keys SELECT * FROM unnest($1::text[], $2::text[], $3::date[],"
            " $4::text[], $5::int[], $6::int[]) ON CONFLICT (board, kind, period_start, key) DO UPDATE SET"
            " visits = leaderboards_keys.visits + excluded.visits,"
            " households = leaderboards_keys.households + excluded.households",
            *_columns(totals),
        )
        changed = ("unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::date[], $6::int[], $7::int[])"
                   " AS g(board, kind, period_start, key, recorded_on, visits, households)")
        if versions:
            await conn.execute(
                f"INSERT INTO {table} SELECT * FROM {changed} ON CONFLICT (board, kind, period_start, key, recorded_on)"
                " DO UPDATE SET visits = excluded.visits, households = excluded.households",
                *_columns(versions),
            )
        if late:
            # Recorded on a day before a version already stored (rare: the log's order is not quite
            # time order): that day gets a version copied from the one before, then every version
            # from that day on takes the change.
            await conn.execute(
                f"INSERT INTO {table} SELECT g.board, g.kind, g.period_start, g.key, g.recorded_on,"
                f" coalesce(p.visits, 0), coalesce(p.households, 0) FROM {changed} LEFT JOIN LATERAL ("
                f" SELECT * FROM {table} t WHERE {same} AND t.recorded_on < g.recorded_on"
                " ORDER BY t.recorded_on DESC LIMIT 1) p ON true ON CONFLICT DO NOTHING",
                *_columns(late),
            )
            for change in late:
                await conn.execute(
                    f"UPDATE {table} t SET visits = t.visits + $6, households = t.households + $7"
                    " FROM (SELECT $1::text AS board, $2::text AS kind, $3::date AS period_start, $4::text AS key) g"
                    f" WHERE {same} AND t.recorded_on >= $5",
                    *change,
                )


def _columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


class Leaderboards(Projection):
    name = "leaderboards"
    version = 4  # reach kept as counts per month
    reads = ("verdicts",)
    deferred = True  # nothing reads it within a batch: it runs beside the county's next (projections.driver)
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        await self._cadres(conn, schema, events)
        await self._visits(conn, schema, events, rules)

    async def _cadres(self, conn: AsyncConnection, schema: str, events: Sequence[Any]) -> None:
        mine = [e for e in events if event_name(e) in ("Cadre.Enrolled", "Cadre.RankChanged", "Cadre.Transferred",
                                                        "Cadre.Departed")]
        if not mine:
            return
        known = {  # cadre -> its newest name, township, rank and unit
            r["cadre_id"]: dict(r) for r in await conn.fetch(
                f"SELECT DISTINCT ON (cadre_id) cadre_id, name, township, rank, unit FROM {schema}.leaderboards_cadres"
                " WHERE cadre_id = ANY($1) ORDER BY cadre_id, version DESC",
                list({e.originator_id for e in mine}),
            )
        }
        rows = []
        for event in mine:
            name, cadre_id = event_name(event), event.originator_id
            if name == "Cadre.Enrolled":
                known[cadre_id] = {"name": event.name, "township": event.township, "rank": event.rank,
                                   "unit": event.unit}
            elif cadre_id not in known:
                continue
            elif name == "Cadre.RankChanged":
                known[cadre_id]["rank"] = event.rank
            elif name == "Cadre.Transferred":
                known[cadre_id].update(township=event.township, unit=event.unit)
            cadre = known[cadre_id]
            rows.append((cadre_id, event.originator_version, event.timestamp, cadre["name"], cadre["township"],
                         name == "Cadre.Departed", cadre["rank"], cadre["unit"]))
        await conn.executemany(f"INSERT INTO {schema}.leaderboards_cadres VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                               rows)

    async def _visits(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        mine = [e for e in events if event_name(e).startswith(("Household.", "Visit."))]
        if not mine:
            return
        verdicts = await judged(conn, schema, mine)
        turned = [row for rows in verdicts.rejudged.values() for row in rows if counts_as_visit(row["kind"], rules)]
        wanted = {e.originator_id for e in mine if event_name(e).startswith("Household.")}
        wanted |= {_uuid(e.household_id) for e in mine if event_name(e) == "Visit.CheckedIn" and e.household_id}
        homes = {r["household_id"]: dict(r) for r in await conn.fetch(
            f"SELECT * FROM {schema}.leaderboards_households WHERE household_id = ANY($1)", list(wanted))}
        # The verified visits the batch may take away: voided, or turned unverified (impossible travel).
        visits = {r["visit_id"]: dict(r) for r in await conn.fetch(
            f"SELECT * FROM {schema}.leaderboards_visits WHERE visit_id = ANY($1)",
            [e.originator_id for e in mine if event_name(e) == "Visit.Voided"] + [r["visit_id"] for r in turned])}
        reached = {reached for visit in [*visits.values(), *map(_visit, turned), *(
            _visit(e) for e in mine if event_name(e) == "Visit.CheckedIn")] for reached in _reach(visit)}
        reach: dict[Reached, list[int]] = {
            (r["board"], r["key"], r["household_id"], r["year"]): list(r["months"]) for r in await conn.fetch(
            f"SELECT r.* FROM unnest($1::text[], $2::text[], $3::uuid[], $4::int[])"
            f" AS w(board, key, household_id, year) CROSS JOIN LATERAL (SELECT * FROM {schema}.leaderboards_reach r"
            " WHERE (r.board, r.key, r.household_id, r.year) = (w.board, w.key, w.household_id, w.year)) r",
            *(_columns(list(reached)) if reached else [[], [], [], []]),
        )}
        tally, changed_homes, touched = Tally(), set(), set()
        for event in mine:
            name, day = event_name(event), local_date(event.timestamp)
            if name in ("Household.Registered", "Household.Relocated"):
                before = homes.get(event.originator_id)
                if before is not None:
                    tally.add("present", "all", ALWAYS, before["township"], day, -1, 0)
                homes[event.originator_id] = {"household_id": event.originator_id, "township": event.township,
                                              "lat": float(event.lat), "lon": float(event.lon), "archived_at": None}
                tally.add("present", "all", ALWAYS, event.township, day, 1, 0)
                changed_homes.add(event.originator_id)
            elif name == "Household.Archived" and event.originator_id in homes:
                homes[event.originator_id]["archived_at"] = event.timestamp
                tally.add("present", "all", ALWAYS, homes[event.originator_id]["township"], day, -1, 0)
                changed_homes.add(event.originator_id)
            elif name == "Visit.CheckedIn" and counts_as_visit(event.kind, rules):
                if verdicts.arrived[event.originator_id]:
                    visits[event.originator_id] = visit = _visit(event)
                    touched.add(event.originator_id)
                    _count(tally, reach, visit, day, 1)
            elif name == "Visit.Voided" and event.originator_id in visits:
                _count(tally, reach, visits.pop(event.originator_id), day, -1)
                touched.add(event.originator_id)
            for row in verdicts.turned_by(event):
                if not counts_as_visit(row["kind"], rules) or (row["visit_id"] in visits) == row["after"]:
                    continue
                if row["after"]:
                    visits[row["visit_id"]] = _visit(row)
                    _count(tally, reach, visits[row["visit_id"]], day, 1)
                else:
                    _count(tally, reach, visits.pop(row["visit_id"]), day, -1)
                touched.add(row["visit_id"])
        if changed_homes:
            await upsert_rows(conn, f"{schema}.leaderboards_households",
                              [("household_id", "uuid"), ("township", "text"), ("lat", "float8"), ("lon", "float8"),
                               ("archived_at", "timestamptz")], 1,
                              [tuple(homes[h][c] for c in ("household_id", "township", "lat", "lon", "archived_at"))
                               for h in changed_homes])
        if touched:  # each touched visit as the batch leaves it: counted (verified, live) or not
            await conn.execute(f"DELETE FROM {schema}.leaderboards_visits WHERE visit_id = ANY($1)", list(touched))
            await insert_rows(
                conn, f"{schema}.leaderboards_visits", ("uuid", "uuid", "uuid", "text", "date"),
                [tuple(visits[v][c] for c in ("visit_id", "cadre_id", "household_id", "township", "day"))
                 for v in touched if v in visits],
            )
        if reached:
            await conn.execute(
                f"INSERT INTO {schema}.leaderboards_reach SELECT board, key, household_id, year, months::int[]"
                " FROM unnest($1::text[], $2::text[], $3::uuid[], $4::int[], $5::text[])"
                " AS r(board, key, household_id, year, months)"
                " ON CONFLICT (board, key, household_id, year) DO UPDATE SET months = excluded.months",
                # int[] per row travel as text: unnest would flatten a two-dimensional array
                *_columns([(*k, "{" + ",".join(map(str, reach.get(k, NO_VISITS))) + "}") for k in reached]),
            )
        await tally.write(conn, schema)


projection = Leaderboards()


def _visit(source: Any) -> dict[str, Any]:
    """A counted visit's facts from its `Visit.CheckedIn` event or its row of the verdicts read model."""
    if isinstance(source, Record):
        visit_id, cadre_id, household_id, village, occurred = (
            source["visit_id"], source["cadre_id"], source["household_id"], source["village"], source["occurred_at"])
    else:
        visit_id, cadre_id, household_id = source.originator_id, _uuid(source.cadre_id), _uuid(source.household_id)
        village, occurred = source.village, parse_time(source.occurred_at)
    return {"visit_id": visit_id, "cadre_id": cadre_id, "household_id": household_id,
            "township": village[:9] if village else None, "day": local_date(occurred)}


def _boards(visit: dict[str, Any]) -> list[tuple[str, str]]:
    return [("cadre", str(visit["cadre_id"]))] + ([("township", visit["township"])] if visit["township"] else [])


def _reach(visit: dict[str, Any]) -> list[Reached]:
    if not visit["household_id"]:
        return []
    return [(board, key, visit["household_id"], visit["day"].year) for board, key in _boards(visit)]


def _count(tally: Tally, reach: dict[Reached, list[int]], visit: dict[str, Any], day: date, sign: int) -> None:
    """Add (sign 1) or take away (-1) a verified visit recorded on `day`: its periods' visits, and
    its household in a period where it is the first (or was the last) such visit."""
    month = visit["day"].month - 1
    quarter = slice(month - month % 3, month - month % 3 + 3)
    household, year = visit["household_id"], visit["day"].year
    for board, key in _boards(visit):
        # the household's visits of this board key in the visit's month, quarter and year, before it
        before: dict[str, int] = {}
        if household:
            months = reach.setdefault((board, key, household, year), list(NO_VISITS))
            before = {"month": months[month], "quarter": sum(months[quarter]), "year": sum(months)}
            months[month] += sign
        for kind, period in fixed_periods(visit["day"]):
            households = int(before[kind] + sign > 0) - int(before[kind] > 0) if before else 0
            tally.add(board, kind, period.start, key, day, sign, households)


def rank_rows(rows: list[dict[str, Any]], by: str, key: str) -> list[dict[str, Any]]:
    """Order rows by figure `by`, the other figures, then `key` ascending (a uuid orders as its text does);
    a row's rank is its place from 1, which `_page` writes on the rows it returns."""
    if by not in FIGURES:
        raise ValueError(f"a leaderboard ranks by one of {', '.join(FIGURES)}, not {by!r}")
    order = [by, *(f for f in FIGURES if f != by)]

    def sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
        return (*(-(row[f] if row[f] is not None else -1) for f in order), row[key])

    return sorted(rows, key=sort_key)


def _figures(visits: Any, households: Any, resolved: Any, rated: Any, satisfied: Any) -> dict[str, Any]:
    return {
        "verified_visits": visits or 0, "distinct_households": households or 0, "issues_resolved": resolved or 0,
        "satisfaction_pct": round(100.0 * satisfied / rated, 1) if rated else None,
    }


def _page(ranked: list[dict[str, Any]], limit: int, offset: int) -> dict[str, Any]:
    if not 1 <= limit <= 1000 or offset < 0:
        raise ValueError(f"limit is 1 to 1000 and offset ≥ 0, not {limit} and {offset}")
    return {"total": len(ranked),
            "items": [{"rank": offset + i, **row} for i, row in enumerate(ranked[offset:offset + limit], start=1)]}


async def _tallied(conn: AsyncConnection, schema: str, board: str, kind: str, start: date,
                   as_of: date | None, keys: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """key -> (visits, households) of the tallies' versions on or before `as_of`: one probe per key,
    none for now; only `keys` when given."""
    args: list[Any] = [board, kind, start] + ([] if as_of is None else [as_of])
    among = ""
    if keys is not None:
        args.append(keys)
        among = f" AND k.key = ANY(${len(args)})"
    if as_of is None:
        rows = await conn.fetch(
            f"SELECT k.key, k.visits, k.households FROM {schema}.leaderboards_keys k"
            f" WHERE k.board = $1 AND k.kind = $2 AND k.period_start = $3{among}",
            *args,
        )
        return {r["key"]: (r["visits"], r["households"]) for r in rows}
    rows = await conn.fetch(
        f"""
        SELECT k.key, t.visits, t.households FROM {schema}.leaderboards_keys k
        CROSS JOIN LATERAL (
            SELECT t.visits, t.households FROM {schema}.leaderboards_tallies t
            WHERE (t.board, t.kind, t.period_start, t.key) = (k.board, k.kind, k.period_start, k.key)
              AND t.recorded_on <= $4 ORDER BY t.recorded_on DESC LIMIT 1
        ) t
        WHERE k.board = $1 AND k.kind = $2 AND k.period_start = $3{among}
        """,
        *args,
    )
    return {r["key"]: (r["visits"], r["households"]) for r in rows}


async def _visits(conn: AsyncConnection, schema: str, board: str, period: Period,
                  as_of: date | None, keys: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """key (cadre id as text, township) -> (verified visits, distinct households) in the period; only
    `keys` when given."""
    kind = kind_of(period)
    if kind is not None:
        return await _tallied(conn, schema, board, kind, period.start, as_of, keys)
    # Any other range is counted from its own check-ins: O(the visits in the range).
    key, township = ("cadre_id::text", "") if board == "cadre" else ("left(village, 9)", "AND village IS NOT NULL")
    among = "" if keys is None else f" AND {key} = ANY($4)"
    rows = await conn.fetch(
        f"SELECT {key} AS key, count(*) AS visits, count(DISTINCT household_id) AS households"
        f" FROM {visible_checkins(schema)} v WHERE verified AND occurred_at >= $2 AND occurred_at < $3 {township}"
        f"{among} GROUP BY 1",
        recorded_before(as_of), *period.instants(), *([] if keys is None else [keys]),
    )
    return {r["key"]: (r["visits"], r["households"]) for r in rows}


async def _issues(conn: AsyncConnection, schema: str, key: str, period: Period,
                  as_of: date | None, among: list[Any] | None = None) -> dict[Any, tuple[int, int, int]]:
    """key -> (resolved, rated, satisfied) of every issue known as of the date, grouped by `key` (a column:
    the key is a cadre's uuid or a township's name); only the keys `among` when given."""
    rows = await conn.fetch(
        f"SELECT {key} AS key, {PERIOD_COUNTS} FROM {issues_snapshot(schema)} s WHERE {key} IS NOT NULL"
        f"{'' if among is None else f' AND {key} = ANY($4)'} GROUP BY 1",
        recorded_before(as_of), *period.instants(), *([] if among is None else [among]),
    )
    return {r["key"]: (r["resolved"], r["rated"], r["satisfied"]) for r in rows}


async def cadres(conn: AsyncConnection, schema: str, period: Period, *, by: str = "verified_visits", limit: int = 20,
                 offset: int = 0, as_of: date | None = None) -> dict[str, Any]:
    """Cadres ranked for the period: `{total, items: [{rank, cadre_id, name, township, figures…}]}`."""
    known = await known_cadres(conn, schema, as_of)
    visits = {UUID(k): v for k, v in (await _visits(conn, schema, "cadre", period, as_of)).items()}
    issues = await _issues(conn, schema, "raised_by", period, as_of)
    page = _page(rank_rows(_listed(known, visits, issues), by, "cadre_id"), limit, offset)
    # Days stayed and reports filed do not rank: read for the page's cadres only.
    shown = [row["cadre_id"] for row in page["items"]]
    stayed = await stays_by_cadre(conn, schema, period, cadre_ids=shown, as_of=as_of)
    filed = await reports_filed(conn, schema, period, cadre_ids=shown, as_of=as_of)
    page["items"] = [{**row, "stay_days": stayed.get(row["cadre_id"], {}).get("verified_days", 0),
                      "reports_filed": filed.get(row["cadre_id"], 0)} for row in page["items"]]
    return page


async def township_place(conn: AsyncConnection, schema: str, period: Period, cadre_id: UUID, *,
                         as_of: date | None = None) -> tuple[int | None, int]:
    """(place, cadres listed) of a cadre among the cadres of its township (its posting) on the cadres'
    board by verified visits: the order `cadres` gives them, read for that township's cadres only.
    (None, 0) when the cadre has no township or is not on the board."""
    me = await conn.fetchrow(
        f"SELECT township FROM {schema}.leaderboards_cadres WHERE cadre_id = $1"
        " AND valid_from < coalesce($2::timestamptz, 'infinity') ORDER BY version DESC LIMIT 1",
        cadre_id, recorded_before(as_of),
    )
    if me is None or me["township"] is None:
        return None, 0
    known = await known_cadres(conn, schema, as_of, township=me["township"])
    keys = list(known)
    visits = {UUID(k): v for k, v in (await _visits(conn, schema, "cadre", period, as_of,
                                                    [str(k) for k in keys])).items()}
    issues = await _issues(conn, schema, "raised_by", period, as_of, keys)
    ranked = rank_rows(_listed(known, visits, issues), "verified_visits", "cadre_id")
    place = next((rank for rank, row in enumerate(ranked, start=1) if row["cadre_id"] == cadre_id), None)
    return (place, len(ranked)) if place is not None else (None, 0)


async def known_cadres(conn: AsyncConnection, schema: str, as_of: date | None,
                        township: str | None = None) -> dict[UUID, Record]:
    """cadre id -> its newest version as of the date (name, township, departed, rank, unit); only the cadres
    posted to `township` then when given."""
    rows = await conn.fetch(
        f"SELECT * FROM (SELECT DISTINCT ON (cadre_id) cadre_id, name, township, departed, rank, unit"
        f" FROM {schema}.leaderboards_cadres WHERE valid_from < coalesce($1::timestamptz, 'infinity')"
        f" ORDER BY cadre_id, version DESC) k{'' if township is None else ' WHERE k.township = $2'}",
        recorded_before(as_of), *([] if township is None else [township]),
    )
    return {r["cadre_id"]: r for r in rows}


def _listed(known: dict[UUID, Record], visits: dict[UUID, tuple[int, int]],
            issues: dict[Any, tuple[int, int, int]]) -> list[dict[str, Any]]:
    """The board's rows before ranking: the cadres known, less the departed (or never enrolled) ones
    without a figure in the period."""
    listed = []
    for cadre_id in known.keys() | visits.keys() | issues.keys():
        cadre = known.get(cadre_id)
        figures = _figures(*visits.get(cadre_id, (0, 0)), *issues.get(cadre_id, (0, 0, 0)))
        rated = issues.get(cadre_id, (0, 0, 0))[1]
        if (cadre is None or cadre["departed"]) and not any(figures[f] for f in FIGURES[:3]) and not rated:
            continue
        listed.append({"cadre_id": cadre_id, "name": cadre["name"] if cadre else None,
                       "township": cadre["township"] if cadre else None, **figures})
    return listed


async def townships(conn: AsyncConnection, schema: str, period: Period, *, by: str = "verified_visits", limit: int = 50,
                    offset: int = 0, as_of: date | None = None) -> dict[str, Any]:
    """Townships ranked for the period: `{total, items: [{rank, township, figures…}]}`."""
    start = period.instants()[0]
    present = await _tallied(conn, schema, "present", "all", ALWAYS, as_of)
    # Households archived since the period began count in it, where they lived.
    archived = await conn.fetch(
        f"SELECT DISTINCT township FROM {schema}.leaderboards_households"
        " WHERE archived_at >= $1 AND archived_at < coalesce($2::timestamptz, 'infinity')",
        start, recorded_before(as_of),
    )
    visits = await _visits(conn, schema, "township", period, as_of)
    issues = await _issues(conn, schema, "township", period, as_of)
    towns = {k for k, (households, _) in present.items() if households > 0} | {r["township"] for r in archived}
    listed = [
        {"township": town, **_figures(*visits.get(town, (0, 0)), *issues.get(town, (0, 0, 0)))}
        # A township whose only visits were voided keeps a zero tally: not a reason to list it.
        for town in towns | {k for k, (verified, _) in visits.items() if verified} | issues.keys()
    ]
    return _page(rank_rows(listed, by, "township"), limit, offset)
