"""Household-visit completeness: is every household getting its visits this year (default ≥ 2)?

The year's required visits n are spread evenly: visit k is due by the end of month ⌈12k/n⌉ (n = 2:
30 June and 31 December). A household with v < n visits this year has its next due date at visit
v+1's; it is `overdue` after that date, `due` within `due_soon_days` of it, otherwise `ok`. Visits
are all non-voided check-ins at the household (any cadre) of a kind the county counts as a visit
(`projections.verdicts.counts_as_visit`: not a phone call by default), counted by `occurred_at`.

A cadre answers for the households they are paired with and those of their township
(`responsibility`; the completeness table's cadre filter shows exactly these). A cadre's due list
holds (a) the paired households they have not visited in the pairing's current cadence period
(`reason: pairing`; overdue when the previous period was missed too), and (b) the households of their
township that the annual rule marks due or overdue (`reason: annual_rule`); township-level cadres
answer for their township's households, as in the
Chongqing practice of every household visited twice a year. Overdue first, then by due date.

Own tables: pairings with household targets and cadres' townships, as time-stamped facts; household
places and visits are read from the coverage and verdicts tables.
"""
from __future__ import annotations

from bisect import insort
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from asyncpg import Record

from projections.base import Period, Projection, event_name, local_date, parse_date, recorded_before, reference_date
from projections.campaigns import tagged
from projections.base import as_uuid as _uuid  # one definition for every read model
from projections.coverage import PLACED, TALLIES, households_as_of
from projections.rules import Rules, load_rules
from projections.verdicts import visible_checkins
from services.storage.connections import AsyncConnection
from services.storage.names import adcode_of

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.completeness_pairings ("
    " pairing_id uuid PRIMARY KEY, cadre_id uuid NOT NULL, household_id uuid NOT NULL, cadence text NOT NULL,"
    " formed_on date NOT NULL, formed_at timestamptz NOT NULL, ended_at timestamptz)",
    "CREATE INDEX IF NOT EXISTS completeness_pairings_cadre ON {schema}.completeness_pairings (cadre_id)",
    "CREATE TABLE IF NOT EXISTS {schema}.completeness_cadres ("
    " cadre_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL, township text,"
    " departed boolean NOT NULL, PRIMARY KEY (cadre_id, version))",
]


class Completeness(Projection):
    name = "completeness"
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        formed, ended, cadres = [], [], []
        townships: dict[UUID, str | None] = {}
        for event in events:
            name = event_name(event)
            if name == "Pairing.Formed" and event.target_kind == "household":
                formed.append((
                    event.originator_id, _uuid(event.cadre_id), _uuid(event.target_id),
                    event.cadence or rules.default_pairing_cadence, parse_date(event.formed_on), event.timestamp,
                ))
            elif name == "Pairing.Ended":
                ended.append((event.originator_id, event.timestamp))
            elif name in ("Cadre.Enrolled", "Cadre.Transferred"):
                townships[event.originator_id] = event.township
                cadres.append((event.originator_id, event.originator_version, event.timestamp, event.township, False))
            elif name == "Cadre.Departed":
                cadres.append((event.originator_id, event.originator_version, event.timestamp, None, True))
        departed = [c for c in cadres if c[4]]
        if departed:
            # A departure keeps the township the cadre had, for the record.
            known = await conn.fetch(
                f"SELECT DISTINCT ON (cadre_id) cadre_id, township FROM {schema}.completeness_cadres"
                " WHERE cadre_id = ANY($1) ORDER BY cadre_id, version DESC",
                [c[0] for c in departed if c[0] not in townships],
            )
            townships.update({r["cadre_id"]: r["township"] for r in known})
            cadres = [(c[0], c[1], c[2], townships.get(c[0]), True) if c[4] else c for c in cadres]
        if formed:
            await conn.executemany(
                f"INSERT INTO {schema}.completeness_pairings VALUES ($1, $2, $3, $4, $5, $6, NULL)", formed
            )
        if ended:
            await conn.executemany(
                f"UPDATE {schema}.completeness_pairings SET ended_at = $2 WHERE pairing_id = $1", ended
            )
        if cadres:
            await conn.executemany(f"INSERT INTO {schema}.completeness_cadres VALUES ($1, $2, $3, $4, $5)", cadres)


projection = Completeness()


def due_dates(year: int, required: int) -> list[date]:
    """The due date of each of the year's `required` visits: ends of equal runs of months."""
    return [Period.month(year, -(-12 * k // required)).end for k in range(1, required + 1)]


def judge_household(visits_this_year: int, today: date, rules: Rules) -> tuple[str, date]:
    """(status, next due date) of one household on `today`."""
    required = rules.household_visits_per_year
    if visits_this_year >= required:
        return "ok", due_dates(today.year + 1, required)[0]
    due = due_dates(today.year, required)[visits_this_year]
    if today > due:
        return "overdue", due
    return ("due" if today >= due - timedelta(days=rules.due_soon_days) else "ok"), due


def _statuses(today: date, rules: Rules) -> list[tuple[str, date]]:
    """(status, next due) of a household with v = 0 .. n visits this year on `today`."""
    return [judge_household(v, today, rules) for v in range(rules.household_visits_per_year + 1)]


HOUSEHOLD_COLUMNS = "h.household_id, h.village, h.township, h.lat, h.lon, h.visits, h.last_visit"


async def households(conn: AsyncConnection, schema: str, *, township: str | None = None, village: str | None = None,
                     cadre_id: UUID | None = None, bbox: tuple[float, float, float, float] | None = None,
                     as_of: date | None = None, status: Sequence[str] | None = None,
                     limit: int | None = None, offset: int = 0, tag: str | None = None,
                     household_ids: Sequence[UUID] | None = None, after: UUID | None = None) -> list[dict[str, Any]]:
    """Per household (not archived as of the date): visits this year, last visit, status, next due,
    by household id. With `household_ids`, only those; with `cadre_id`, only the households that cadre
    answers for (see `responsibility`); with `bbox` (west, south, east, north in degrees), only those
    placed inside it; with `status`, only those in one of those statuses; with `tag`, only those carrying
    that household tag now; with `after`, only those with a greater id;
    `limit` and `offset` page it. Costs O(the households it reads):
    now from `coverage_current` (one index scan of a township, village, box or cadre's households);
    as of a past day from the places then, each household's visits read by its own index."""
    chosen = await _Chosen.of(conn, schema, township=township, village=village, cadre_id=cadre_id, bbox=bbox,
                              as_of=as_of, status=status, tag=tag, household_ids=household_ids)
    if chosen is None:
        return []
    if after is not None:
        chosen.sql += f" AND h.household_id > {chosen.param(after)}"
    page = f"LIMIT {chosen.param(limit)} OFFSET {chosen.param(offset)}" if limit is not None else ""
    rows = await conn.fetch(f"SELECT {HOUSEHOLD_COLUMNS} {chosen.sql} ORDER BY h.household_id {page}", *chosen.args)
    return [chosen.household(row) for row in rows]


async def households_by_place(conn: AsyncConnection, schema: str, *, chunk: int, township: str | None = None,
                              village: str | None = None, cadre_id: UUID | None = None, as_of: date | None = None,
                              status: Sequence[str] | None = None,
                              tag: str | None = None) -> AsyncIterator[list[dict[str, Any]]]:
    """`households` by township, village and household id, `chunk` at a time from one statement (a cursor:
    call it in a transaction). A ledger of a whole county (290,000 households) then holds one chunk in
    memory, and the county is read once, not once per page."""
    chosen = await _Chosen.of(conn, schema, township=township, village=village, cadre_id=cadre_id, as_of=as_of,
                              status=status, tag=tag)
    if chosen is None:
        return
    cursor = await conn.cursor(
        f"SELECT {HOUSEHOLD_COLUMNS} {chosen.sql} ORDER BY h.township, h.village, h.household_id", *chosen.args)
    while rows := await cursor.fetch(chunk):
        yield [chosen.household(row) for row in rows]


@dataclass
class _Chosen:
    """The households `households` lists for its filters: `FROM … WHERE …` (`sql`, alias `h`) with its
    `args`, and the (status, next due) of 0 … n visits this year."""

    sql: str
    args: list[Any]
    statuses: list[tuple[str, date]]

    def household(self, row: Record) -> dict[str, Any]:
        """A `HOUSEHOLD_COLUMNS` row as `households` answers it, judged by its visits this year."""
        required = len(self.statuses) - 1
        judged_as, next_due = self.statuses[min(row["visits"], required)]
        return {
            "household_id": row["household_id"], "village": row["village"], "township": row["township"],
            "lat": row["lat"], "lon": row["lon"], "visits_this_year": row["visits"],
            "last_visit": local_date(row["last_visit"]) if row["last_visit"] else None,
            "required": required, "status": judged_as, "next_due": next_due,
        }

    @property
    def judged(self) -> str:
        """SQL: a household's index into `statuses`."""
        return f"least(h.visits, {len(self.statuses) - 1})"

    def param(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def urgent_order(self) -> str:
        """SQL ORDER BY: the due list's order (`_order`), each visit count's place looked up in SQL."""
        keys = sorted({_urgency({"status": judged_as, "due_date": due}) for judged_as, due in self.statuses})
        ranks = [keys.index(_urgency({"status": judged_as, "due_date": due})) for judged_as, due in self.statuses]
        return f"({self.param(ranks)}::int[])[{self.judged} + 1], h.household_id"

    @classmethod
    async def of(cls, conn: AsyncConnection, schema: str, *, township: str | None = None, village: str | None = None,
                 cadre_id: UUID | None = None, bbox: tuple[float, float, float, float] | None = None,
                 as_of: date | None = None, status: Sequence[str] | None = None, tag: str | None = None,
                 household_ids: Sequence[UUID] | None = None) -> _Chosen | None:
        """None when `cadre_id` answers for no household."""
        rules = await load_rules(conn, adcode_of(schema))
        today = reference_date(as_of)
        cutoff = recorded_before(as_of)
        until = "coalesce($1::timestamptz, 'infinity')"
        if as_of is None:
            args: list[Any] = [today.year]
            current = f"{schema}.coverage_current"
            if tag is not None:
                # From the tagged households to theirs by key: filtering coverage_current would walk all of it.
                args.append(tag)
                # (LIMIT 1: a subquery the planner cannot merge into a join that walks coverage_current whole.)
                current = (f"(SELECT c.* FROM {tagged(schema, '$2')} t CROSS JOIN LATERAL (SELECT * FROM"
                           f" {schema}.coverage_current c WHERE c.household_id = t.household_id LIMIT 1) c)")
            source = (f"(SELECT household_id, village, township, lat, lon, last_visit,"
                      f" coalesce(visits[array_position(years, $1)], 0) AS visits"
                      f" FROM {current} c WHERE NOT archived) h")
        else:
            args = [cutoff, *Period.year(today.year).instants()]
            places = households_as_of(schema)
            if tag is not None:  # from the tagged households to their places by key, as above
                args.append(tag)
                places = (f"(SELECT p.* FROM {tagged(schema, '$4')} t CROSS JOIN LATERAL (SELECT * FROM {places} p"
                          f" WHERE p.household_id = t.household_id LIMIT 1) p)")
            source = f"""(SELECT p.*, v.visits, v.last_visit FROM {places} p CROSS JOIN LATERAL (
                    SELECT count(*) FILTER (WHERE c.occurred_at >= $2 AND c.occurred_at < $3)::int AS visits,
                           max(c.occurred_at) AS last_visit
                    FROM {schema}.verdicts_checkins c WHERE c.household_id = p.household_id AND c.counted
                    AND c.recorded_at < {until} AND (c.voided_at IS NULL OR c.voided_at >= {until})) v
                WHERE p.archived_at IS NULL) h"""
        chosen = cls("", args, _statuses(today, rules))
        where = ["true"]
        if township is not None:
            where.append(f"h.township = {chosen.param(township)}")
        if village is not None:
            where.append(f"h.village = {chosen.param(village)}")
        if cadre_id is not None:
            answers_for = await responsibility(conn, schema, cadre_id, cutoff)
            if answers_for is None:
                return None
            own_township, pairings = answers_for
            mine = f"h.household_id = ANY({chosen.param([p['household_id'] for p in pairings])}::uuid[])"
            where.append(f"({mine} OR h.township = {chosen.param(own_township)})" if own_township else mine)
        if bbox is not None:
            box = f"({chosen.param(list(bbox))}::float8[])"
            # The box finds them by the places' GiST index; its comparisons allow 1e-6°, the BETWEENs are exact.
            where.append(f"point(h.lon, h.lat) <@ box(point({box}[1], {box}[2]), point({box}[3], {box}[4]))"
                         f" AND h.lon BETWEEN {box}[1] AND {box}[3] AND h.lat BETWEEN {box}[2] AND {box}[4]")
        if household_ids is not None:
            where.append(f"h.household_id = ANY({chosen.param(list(household_ids))}::uuid[])")
        if status is not None:
            status = (status,) if isinstance(status, str) else status
            wanted = [v for v, (judged_as, _) in enumerate(chosen.statuses) if judged_as in status]
            where.append(f"{chosen.judged} = ANY({chosen.param(wanted)}::int[])")
        chosen.sql = f"FROM {source} WHERE {' AND '.join(where)}"
        return chosen


async def village_shares(conn: AsyncConnection, schema: str, as_of: date | None = None) -> list[dict[str, Any]]:
    """Per village (with its township) as of the date: households not archived, how many completed this
    year's visits and how many are ok, due or overdue, from the coverage summaries (O(villages))."""
    rules = await load_rules(conn, adcode_of(schema))
    today = reference_date(as_of)
    n = rules.household_visits_per_year
    match = "t.grouping = g.grouping AND t.key = g.key AND t.township = g.township"
    held = ", ".join(f"held{k}" for k in range(1, n + 1))
    rows = await conn.fetch(
        f"""SELECT g.key, g.township, p.households - p.archived AS households, {held}
            FROM {schema}.coverage_groups g
            CROSS JOIN LATERAL {PLACED.latest_sql(schema, match, "$1::date", "households, archived")} p
            LEFT JOIN LATERAL {TALLIES.latest_sql(schema, match + " AND t.period = $2", "$1::date", held)} v
              ON true
            WHERE g.grouping = 'village' AND p.households > p.archived""",
        as_of, str(today.year),
    )
    statuses = _statuses(today, rules)
    result = []
    for row in rows:
        reached = [row["households"], *(row[f"held{k}"] or 0 for k in range(1, n + 1)), 0]
        counts = {"ok": 0, "due": 0, "overdue": 0}
        for visits, (judged, _) in enumerate(statuses):
            counts[judged] += reached[visits] - reached[visits + 1] if visits < n else reached[n]
        result.append({"village": row["key"], "township": row["township"], "households": row["households"],
                       "complete": reached[n], **counts})
    return result


def _summary(villages: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(v["households"] for v in villages)
    complete = sum(v["complete"] for v in villages)
    return {
        "households": total,
        "complete": complete,
        "complete_pct": round(100.0 * complete / total, 1) if total else None,
        **{status: sum(v[status] for v in villages) for status in ("ok", "due", "overdue")},
    }


async def tagged_shares(conn: AsyncConnection, schema: str,
                        tag: str, as_of: date | None = None) -> list[dict[str, Any]]:
    """`village_shares` of the households carrying `tag` now, counted one by one (O(those households)):
    the summaries are kept per place, not per tag."""
    villages: dict[tuple[str, str], dict[str, Any]] = {}
    for household in await households(conn, schema, as_of=as_of, tag=tag):
        village = villages.setdefault((household["village"], household["township"]), {
            "village": household["village"], "township": household["township"], "households": 0, "complete": 0,
            "ok": 0, "due": 0, "overdue": 0})
        village["households"] += 1
        village["complete"] += household["visits_this_year"] >= household["required"]
        village[household["status"]] += 1
    return [villages[key] for key in sorted(villages)]


async def percentages(conn: AsyncConnection, schema: str,
                      *, as_of: date | None = None, tag: str | None = None) -> dict[str, Any]:
    """County and per-township shares of households that already had this year's required visits (with
    `tag`: of the households carrying that tag now)."""
    villages = await (village_shares(conn, schema, as_of) if tag is None else tagged_shares(conn, schema, tag, as_of))
    by_township: dict[str, list[dict[str, Any]]] = {}
    for village in villages:
        by_township.setdefault(village["township"], []).append(village)
    return {
        "county": _summary(villages),
        "townships": [{"township": t, **_summary(g)} for t, g in sorted(by_township.items())],
    }


def _cadence_period(cadence: str, day: date) -> Period:
    if cadence == "monthly":
        return Period.month(day.year, day.month)
    if cadence == "yearly":
        return Period.year(day.year)
    return Period.quarter(day.year, (day.month - 1) // 3 + 1)


async def responsibility(conn: AsyncConnection, schema: str, cadre_id: UUID,
                         cutoff: datetime | None) -> tuple[str | None, list[Record]] | None:
    """What a cadre answers for as of `cutoff`: (their township, their active household pairings with
    cadence and start day); None for a cadre not enrolled by then or departed. The one definition of
    "a cadre's households", shared by the due list and the completeness table's cadre filter."""
    cadre = await conn.fetchrow(
        f"SELECT township, departed FROM {schema}.completeness_cadres WHERE cadre_id = $1"
        " AND ($2::timestamptz IS NULL OR valid_from < $2) ORDER BY version DESC LIMIT 1",
        cadre_id, cutoff,
    )
    if cadre is None or cadre["departed"]:
        return None
    pairings = await conn.fetch(
        f"SELECT household_id, cadence, formed_on FROM {schema}.completeness_pairings WHERE cadre_id = $2"
        " AND ($1::timestamptz IS NULL OR formed_at < $1) AND (ended_at IS NULL OR ($1::timestamptz IS NOT NULL"
        " AND ended_at >= $1)) ORDER BY household_id",
        cutoff, cadre_id,
    )
    return cadre["township"], list(pairings)


DUE = ("due", "overdue")  # the statuses the annual rule puts on a due list
DueKey = tuple[bool, date, str]  # a due-list item's place in its order (`_order`): not overdue, due date, id


async def due_list(conn: AsyncConnection, schema: str, cadre_id: UUID, *,
                   as_of: date | None = None) -> list[dict[str, Any]]:
    """The cadre's households to visit: paired ones not visited this cadence period, then those of the
    cadre's township that the annual rule marks due or overdue. Overdue first, then by due date."""
    found = await _paired_due(conn, schema, cadre_id, as_of)
    if found is None:
        return []
    township, paired = found
    annual = await _annual_due(conn, schema, township, as_of, paired) if township else []
    return _merged(annual, paired.values())


async def due_page(conn: AsyncConnection, schema: str, cadre_id: UUID, *, limit: int, offset: int = 0,
                   as_of: date | None = None) -> tuple[list[dict[str, Any]], int]:
    """`due_list(…)[offset:offset + limit]` and the list's length, without judging every household of the
    cadre's township: its annual-rule part is ordered and cut in SQL and counted from the village shares,
    O(the page + the cadre's pairings + the county's villages)."""
    found = await _paired_due(conn, schema, cadre_id, as_of)
    if found is None:
        return [], 0
    township, paired = found
    if not township:
        return _merged([], paired.values())[offset:offset + limit], len(paired)
    # Enough of the township's first rows to fill the page where some are paired households already listed.
    annual = await _annual_due(conn, schema, township, as_of, paired, limit=offset + limit + len(paired))
    listed_twice = await households(conn, schema, township=township, as_of=as_of, status=DUE,
                                    household_ids=list(paired))
    total = len(paired) - len(listed_twice) + sum(
        v["due"] + v["overdue"] for v in await village_shares(conn, schema, as_of) if v["township"] == township)
    return _merged(annual, paired.values())[offset:offset + limit], total


async def due_after(conn: AsyncConnection, schema: str, cadre_id: UUID, *, limit: int, after: DueKey | None = None,
                    extra: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The due list's first `limit` items after `after` (the `_order` key of the previous page's last),
    today: a keyset page of `due_list`, with the `extra` items (a running campaign's, say) of households
    not otherwise on it put in their places. O(the page + the cadre's pairings + the extras)."""
    township, paired = await _paired_due(conn, schema, cadre_id, None) or (None, {})
    listed = set(paired)
    if township and extra:
        listed |= {h["household_id"] for h in await households(
            conn, schema, township=township, status=DUE, household_ids=[e["household_id"] for e in extra])}
    few = [i for i in [*paired.values(), *(e for e in extra if e["household_id"] not in listed)]
           if after is None or _order(i) > after]
    # Enough of the township's rows to fill the page where some are paired households, which it leaves out.
    annual = await _annual_due(conn, schema, township, None, paired, limit=limit + len(paired),
                               after=after) if township else []
    return _merged(annual, few)[:limit]


async def _annual_due(conn: AsyncConnection, schema: str, township: str, as_of: date | None,
                      paired: dict[UUID, dict[str, Any]], limit: int | None = None,
                      after: DueKey | None = None) -> list[dict[str, Any]]:
    """The township's households the annual rule marks due or overdue, as due-list items in its order (the
    first `limit`, after `after`), less the `paired` ones (their pairing item stands for them): one dict a
    household."""
    chosen = await _Chosen.of(conn, schema, township=township, as_of=as_of, status=DUE)
    assert chosen is not None  # only a cadre filter chooses none
    statuses, required = chosen.statuses, len(chosen.statuses) - 1
    order = chosen.urgent_order()
    if after is not None:  # each visit count's urgency is known: later ones, or the same one past the id
        urgencies = [_urgency({"status": judged_as, "due_date": due}) for judged_as, due in statuses]
        later = [v for v, urgency in enumerate(urgencies) if urgency > after[:2]]
        same = [v for v, urgency in enumerate(urgencies) if urgency == after[:2]]
        chosen.sql += (f" AND ({chosen.judged} = ANY({chosen.param(later)}::int[]) OR ({chosen.judged} ="
                       f" ANY({chosen.param(same)}::int[]) AND h.household_id > {chosen.param(UUID(after[2]))}))")
    page = f"LIMIT {chosen.param(limit)}" if limit is not None else ""
    rows = await conn.fetch(
        f"SELECT h.household_id, h.village, h.township, h.lat, h.lon, h.visits,"
        f" (h.last_visit AT TIME ZONE 'Asia/Shanghai')::date AS last_visit {chosen.sql} ORDER BY {order} {page}",
        *chosen.args,
    )
    judged = [statuses[min(row["visits"], required)] for row in rows]
    return [_item(row, "annual_rule", status, due, row["last_visit"])
            for row, (status, due) in zip(rows, judged, strict=True) if row["household_id"] not in paired]


def _merged(annual: list[dict[str, Any]], few: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The annual-rule items (in the due list's order) with the few others put in their places."""
    for item in few:
        insort(annual, item, key=_order)
    return annual


async def _paired_due(conn: AsyncConnection, schema: str, cadre_id: UUID,
                      as_of: date | None) -> tuple[str | None, dict[UUID, dict[str, Any]]] | None:
    """(the cadre's township, its due list's pairing items by household), None when it answers for none."""
    cutoff = recorded_before(as_of)
    today = reference_date(as_of)
    answers_for = await responsibility(conn, schema, cadre_id, cutoff)
    if answers_for is None:
        return None
    township, pairings = answers_for
    paired = [p["household_id"] for p in pairings]
    places = {
        r["household_id"]: r for r in await conn.fetch(
            f"SELECT * FROM {households_as_of(schema)} h WHERE archived_at IS NULL AND household_id = ANY($2)",
            cutoff, paired,
        )
    }
    own_visits = await conn.fetch(
        f"SELECT household_id, occurred_at FROM {visible_checkins(schema)} v WHERE cadre_id = $2"
        " AND household_id = ANY($3)", cutoff, cadre_id, paired,
    )
    visited: dict[UUID, list[date]] = {}
    for row in own_visits:
        visited.setdefault(row["household_id"], []).append(local_date(row["occurred_at"]))
    items: dict[UUID, dict[str, Any]] = {}
    for pairing in pairings:
        household = places.get(pairing["household_id"])
        if household is None:
            continue
        current = _cadence_period(pairing["cadence"], today)
        previous = _cadence_period(pairing["cadence"], current.start - timedelta(days=1))
        days = visited.get(pairing["household_id"], [])
        if any(current.start <= d <= current.end for d in days):
            continue
        missed_previous = pairing["formed_on"] < previous.start and not any(
            previous.start <= d <= previous.end for d in days
        )
        item = _item(household, "pairing", "overdue" if missed_previous else "due",
                     previous.end if missed_previous else current.end, max(days, default=None))
        # Two pairings of one cadre with one household (say quarterly and monthly): the more urgent one counts.
        earlier = items.get(pairing["household_id"])
        if earlier is None or _urgency(item) < _urgency(earlier):
            items[pairing["household_id"]] = item
    return township, items


def _order(item: dict[str, Any]) -> DueKey:
    """The due list's order: `_urgency`, then the household id."""
    return (*_urgency(item), str(item["household_id"]))


def _urgency(item: dict[str, Any]) -> tuple[bool, date]:
    """Due-list order: overdue first, then the earliest due date."""
    return item["status"] != "overdue", item["due_date"]


def _item(household: Record | dict[str, Any], reason: str, status: str, due: date,
          last_visit: date | None) -> dict[str, Any]:
    return {
        "household_id": household["household_id"], "village": household["village"],
        "township": household["township"], "lat": household["lat"], "lon": household["lon"],
        "reason": reason, "status": status, "due_date": due, "last_visit": last_visit,
    }


async def count_households(conn: AsyncConnection, schema: str,
                           *, township: str | None = None, village: str | None = None,
                           cadre_id: UUID | None = None, bbox: tuple[float, float, float, float] | None = None,
                           as_of: date | None = None, status: str | None = None, tag: str | None = None) -> int:
    """How many households `households` lists with these filters: from the village shares (O(villages))
    unless a cadre, a box or a tag picks them, counted in SQL (O(those households), none built in Python)."""
    if cadre_id is not None or bbox is not None or tag is not None:
        chosen = await _Chosen.of(conn, schema, township=township, village=village, cadre_id=cadre_id, bbox=bbox,
                                  as_of=as_of, status=status, tag=tag)
        return 0 if chosen is None else await conn.fetchval(f"SELECT count(*) {chosen.sql}", *chosen.args)
    return sum(
        v["households"] if status is None else v[status] for v in await village_shares(conn, schema, as_of)
        if (township is None or v["township"] == township) and (village is None or v["village"] == village)
    )
