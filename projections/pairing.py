"""Pairing compliance (结对子 / 结穷亲 / 五个一): is every paired target visited each cadence period,
and does every cadre hold the pairings the county's quotas ask for?

A pairing is judged on a day (`as_of`, or today in China) in its cadence period (month, quarter or
year; quarterly unless the pairing says): `ok` when its cadre visited its target in the current
period (due next by the end of the next period); `overdue` when not, and the previous period was
missed too while the pairing already existed when it began (due date = that period's end); else
`due` (by the end of the current period). The same judgement as the cadre's due list in
`projections.completeness`, and like it, a visit is any check-in of the pairing's cadre at the
pairing's target that is not voided and of a kind the county counts as a visit (`counts_as_visit`;
`verified_visits_in_period` says how many the verdicts accepted).

Quotas per active cadre, each switched off by a None in the county's Rules:
- `hardship_households_per_cadre`: paired households carrying a hardship tag (`hardship_tags`);
- `paired_households_by_rank`: paired households of any kind, by the cadre's rank (3/2/1);
- `five_contacts` (五个一): one pairing of each kind; `household` must be a hardship household.
Archived households and ended pairings count for nothing. Pairings, households' tags and (through
`projections.interviews`) cadres' ranks are time-stamped facts, so `as_of` answers what a rebuild cut
at that date would.

Quota shortfalls (`shortfalls`): each enrolled cadre's quotas are kept as versions in `pairing_quotas`
(valid from the event that changed them, to the next: a pairing of theirs formed or ended, their rank,
township or departure, a paired household's tags or archiving), with `shortfall`, the most any rule is
short by. The cadres short of a quota now are a range of a partial index, whatever the county's size;
as of a past day, a range of the short versions.

Cost (DESIGN §6): each pairing's visits are kept with the cadence period they fall in
(`pairing_visits`), so the county's compliance is one hash join of its pairings with two periods'
visits, and a page looks up its rows' households, ranks and last visits by index.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

from asyncpg import Record

from projections.base import (
    Period, Projection, event_name, insert_rows, local_date, parse_date, parse_time, recorded_before, reference_date,
)
from projections.base import as_uuid as _uuid  # one definition for every read model
from projections.interviews import cadres_as_of
from projections.rules import Rules, load_rules
from projections.verdicts import counts_as_visit, judged
from services.storage.connections import AsyncConnection
from services.storage.names import adcode_of

TABLES = [
    # `household_id`: the target as a uuid when it is a household's id as the household read models
    # write it, so pairings join households by index (a `household_id::text = target_id` join cannot).
    "CREATE TABLE IF NOT EXISTS {schema}.pairing_pairings ("
    " pairing_id uuid PRIMARY KEY, cadre_id uuid NOT NULL, target_kind text NOT NULL, target_id text NOT NULL,"
    " household_id uuid, programme text NOT NULL, cadence text NOT NULL, formed_on date NOT NULL,"
    " formed_at timestamptz NOT NULL, ended_on date, ended_at timestamptz,"
    # the household's tags and archived flag now, for the quotas without as_of (no probe per pairing)
    " household_tags text[], household_archived boolean,"
    # why it ended (ENDED_REASONS); `needs_new_cadre`: ended by its cadre's departure, and its household
    # is neither archived nor paired again since (the admin's list of households to pair again)
    " ended_reason text, needs_new_cadre boolean NOT NULL DEFAULT false)",
    "CREATE INDEX IF NOT EXISTS pairing_pairings_cadre ON {schema}.pairing_pairings (cadre_id)",
    "CREATE INDEX IF NOT EXISTS pairing_pairings_target ON {schema}.pairing_pairings (cadre_id, target_id)",
    # a household's change of tags or archiving re-judges the quotas of the cadres paired with it
    "CREATE INDEX IF NOT EXISTS pairing_pairings_household ON {schema}.pairing_pairings (household_id)"
    " WHERE household_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS pairing_pairings_needing ON {schema}.pairing_pairings (pairing_id)"
    " WHERE needs_new_cadre",
    "CREATE TABLE IF NOT EXISTS {schema}.pairing_households ("
    " household_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL, tags text[] NOT NULL,"
    " archived boolean NOT NULL, PRIMARY KEY (household_id, version))",
    "CREATE INDEX IF NOT EXISTS pairing_households_since ON {schema}.pairing_households (valid_from)",
    # Every check-in, by cadre and target: a pairing formed later finds the visits it already had.
    "CREATE TABLE IF NOT EXISTS {schema}.pairing_checkins ("
    " visit_id uuid PRIMARY KEY, cadre_id uuid NOT NULL, target_kind text NOT NULL, target_id text NOT NULL,"
    " day date NOT NULL, recorded_at timestamptz NOT NULL, voided_at timestamptz)",
    "CREATE INDEX IF NOT EXISTS pairing_checkins_target ON {schema}.pairing_checkins (cadre_id, target_id)",
    # Each pairing's visits with the start of the cadence period they fall in: a county's compliance is
    # one hash join of its pairings with the visits of two periods (at 40,000 households a probe per
    # pairing into every check-in took 36 µs each, 56 ms). `verified`: the visit's verdict as it stands
    # (`verdicts_checkins`), so the assessment's completeness part needs no probe per pairing into the
    # check-ins either (at 290,000 households 14,000 of them took 90 ms).
    "CREATE TABLE IF NOT EXISTS {schema}.pairing_visits ("
    " pairing_id uuid NOT NULL, visit_id uuid NOT NULL, period_start date NOT NULL, day date NOT NULL,"
    " recorded_at timestamptz NOT NULL, voided_at timestamptz, verified boolean NOT NULL,"
    " PRIMARY KEY (pairing_id, visit_id))",
    "CREATE INDEX IF NOT EXISTS pairing_visits_period ON {schema}.pairing_visits (period_start)",
    "CREATE INDEX IF NOT EXISTS pairing_visits_visit ON {schema}.pairing_visits (visit_id)",
    # Each enrolled cadre's rank, township and departure, as versions (the quotas judge a cadre by them).
    "CREATE TABLE IF NOT EXISTS {schema}.pairing_cadres ("
    " cadre_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL, rank text NOT NULL,"
    " township text, departed boolean NOT NULL, PRIMARY KEY (cadre_id, version))",
    # Each enrolled cadre's quotas (`judge_quotas` of their active pairings) from `valid_from` up to
    # `valid_to` (NULL: still); `shortfall` = the most any rule is short by, 0 when every quota is met.
    # The partial indexes hold only versions short of a quota, by cadre id: the shortfall table now reads
    # a range of one of the current ones (township, rank or neither), as of a day the historical one.
    "CREATE TABLE IF NOT EXISTS {schema}.pairing_quotas ("
    " cadre_id uuid NOT NULL, valid_from timestamptz NOT NULL, valid_to timestamptz, rank text NOT NULL,"
    " township text, departed boolean NOT NULL, pairings int NOT NULL, households int NOT NULL,"
    " hardship int NOT NULL, kinds text[] NOT NULL, quotas jsonb NOT NULL, shortfall int NOT NULL,"
    " PRIMARY KEY (cadre_id, valid_from))",
    "CREATE INDEX IF NOT EXISTS pairing_quotas_short ON {schema}.pairing_quotas (cadre_id)"
    " WHERE valid_to IS NULL AND shortfall > 0 AND NOT departed",
    "CREATE INDEX IF NOT EXISTS pairing_quotas_short_township ON {schema}.pairing_quotas (township, cadre_id)"
    " WHERE valid_to IS NULL AND shortfall > 0 AND NOT departed",
    "CREATE INDEX IF NOT EXISTS pairing_quotas_short_rank ON {schema}.pairing_quotas (rank, cadre_id)"
    " WHERE valid_to IS NULL AND shortfall > 0 AND NOT departed",
    "CREATE INDEX IF NOT EXISTS pairing_quotas_short_then ON {schema}.pairing_quotas (cadre_id, valid_from)"
    " WHERE shortfall > 0 AND NOT departed",
]

STATUSES = ("ok", "due", "overdue")
# A pairing ends by hand (`end_pairing`), or with its household (archived) or its cadre (departed): a
# pairing that can never be met again is judged no more from that moment on.
ENDED_REASONS = ("ended", "household_archived", "cadre_departed")
CADENCES = ("monthly", "quarterly", "yearly")


class Pairings(Projection):
    name = "pairing"
    version = 2  # judges check-ins by backdating and counts only the kinds the rules count as visits
    reads = ("verdicts",)  # each visit's verdict
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        formed, ended, households, checkins, voids = [], [], [], [], []
        departed: list[tuple[UUID, date, datetime]] = []
        archived = [e.originator_id for e in events if event_name(e) == "Household.Archived"]
        tags: dict[UUID, list[str]] = {}
        if archived:
            tags.update({
                r["household_id"]: r["tags"] for r in await conn.fetch(
                    f"SELECT DISTINCT ON (household_id) household_id, tags FROM {schema}.pairing_households"
                    " WHERE household_id = ANY($1) ORDER BY household_id, version DESC",
                    archived,
                )
            })
        for event in events:
            name = event_name(event)
            if name == "Pairing.Formed":
                formed.append((
                    event.originator_id, _uuid(event.cadre_id), event.target_kind, str(event.target_id),
                    _household_id(event.target_kind, str(event.target_id)), event.programme,
                    event.cadence or rules.default_pairing_cadence, parse_date(event.formed_on),
                    event.timestamp,
                ))
            elif name == "Visit.CheckedIn" and counts_as_visit(event.kind, rules):
                checkins.append((event.originator_id, _uuid(event.cadre_id), event.target_kind, str(event.target_id),
                                 local_date(parse_time(event.occurred_at)), event.timestamp))
            elif name == "Visit.Voided":
                voids.append((event.originator_id, event.timestamp))
            elif name == "Pairing.Ended":
                ended.append((event.originator_id, parse_date(event.ended_on), event.timestamp, "ended"))
            elif name == "Cadre.Departed":
                departed.append((event.originator_id, local_date(event.timestamp), event.timestamp))
            elif name in ("Household.Registered", "Household.Retagged", "Household.Archived"):
                if name != "Household.Archived":
                    tags[event.originator_id] = list(event.tags)
                households.append((event.originator_id, event.originator_version, event.timestamp,
                                   tags.get(event.originator_id, []), name == "Household.Archived"))
        if formed:
            await conn.executemany(
                f"INSERT INTO {schema}.pairing_pairings"
                f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, NULL, NULL, NULL, false)",
                formed,
            )
        # The earliest end stands, whichever the batch applies first: a pairing ended by its household's
        # archiving and later by hand ended when the household was archived.
        earliest = "(ended_at IS NULL OR ended_at > $3)"
        if ended:
            await conn.executemany(
                f"UPDATE {schema}.pairing_pairings SET ended_on = $2, ended_at = $3, ended_reason = $4,"
                f" needs_new_cadre = false WHERE pairing_id = $1 AND {earliest}", ended
            )
        if households:
            await insert_rows(conn, f"{schema}.pairing_households",
                              ("uuid", "bigint", "timestamptz", "text[]", "boolean"), households)
            gone = [(h[0], local_date(h[2]), h[2]) for h in households if h[4]]
            if gone:
                await conn.executemany(
                    f"UPDATE {schema}.pairing_pairings SET ended_on = $2, ended_at = $3,"
                    f" ended_reason = 'household_archived' WHERE household_id = $1 AND {earliest}", gone
                )
                await conn.execute(f"UPDATE {schema}.pairing_pairings SET needs_new_cadre = false"
                                   " WHERE household_id = ANY($1) AND needs_new_cadre", [g[0] for g in gone])
        if households or formed:
            await conn.execute(
                f"UPDATE {schema}.pairing_pairings p SET household_tags = h.tags, household_archived = h.archived"
                f" FROM (SELECT DISTINCT ON (household_id) * FROM {schema}.pairing_households"
                "        WHERE household_id = ANY($1) ORDER BY household_id, version DESC) h"
                " WHERE p.household_id = h.household_id",
                list({h[0] for h in households} | {f[4] for f in formed if f[4] is not None}),
            )
        if departed:
            await conn.executemany(
                f"UPDATE {schema}.pairing_pairings SET ended_on = $2, ended_at = $3,"
                f" ended_reason = 'cadre_departed' WHERE cadre_id = $1 AND {earliest}", departed
            )
            await _mark_households_needing_a_cadre(conn, schema, [d[0] for d in departed])
        repaired = list({f[4] for f in formed if f[4] is not None})
        if repaired:
            await conn.execute(
                f"UPDATE {schema}.pairing_pairings SET needs_new_cadre = false"
                " WHERE household_id = ANY($1) AND needs_new_cadre AND pairing_id <> ALL($2)",
                repaired, [f[0] for f in formed])
        if checkins:
            await insert_rows(conn, f"{schema}.pairing_checkins",
                              ("uuid", "uuid", "text", "text", "date", "timestamptz"), checkins,
                              "visit_id, cadre_id, target_kind, target_id, day, recorded_at")
        if checkins or formed:
            await _match(conn, schema, [c[0] for c in checkins], [f[0] for f in formed])
        if voids:
            for table in ("pairing_checkins", "pairing_visits"):
                await conn.executemany(
                    f"UPDATE {schema}.{table} SET voided_at = $2 WHERE visit_id = $1 AND voided_at IS NULL", voids
                )
        # The stored visits whose verdict this batch's arrivals and voids turned (impossible travel), as the
        # batch's other read models take them: `judged` asks once per batch for all of them.
        turned = [row["visit_id"] for rows in (await judged(conn, schema, events)).rejudged.values() for row in rows]
        if turned:
            await conn.execute(
                f"UPDATE {schema}.pairing_visits pv SET verified = vc.verified FROM {schema}.verdicts_checkins vc"
                " WHERE vc.visit_id = pv.visit_id AND pv.visit_id = ANY($1)", turned)
        await _requote(conn, schema, events, rules)


async def _mark_households_needing_a_cadre(conn: AsyncConnection, schema: str, cadres: list[UUID]) -> None:
    """The household pairings the departed `cadres` held mark their households as needing a new cadre,
    unless the household is archived or another pairing still serves it (by index, per pairing)."""
    await conn.execute(
        f"""
        UPDATE {schema}.pairing_pairings p SET needs_new_cadre = true
        WHERE p.cadre_id = ANY($1) AND p.ended_reason = 'cadre_departed' AND p.household_id IS NOT NULL
          AND NOT coalesce(p.household_archived, false)
          AND NOT EXISTS (SELECT 1 FROM {schema}.pairing_pairings o
                          WHERE o.household_id = p.household_id AND o.ended_at IS NULL)
        """,
        cadres,
    )


async def _match(conn: AsyncConnection, schema: str, visits: list[UUID], pairings: list[UUID]) -> None:
    """Add to `pairing_visits` the new check-ins' pairings and the new pairings' check-ins (by index)."""
    # A searched CASE: Citus 13.2 sends a simple one (`CASE p.cadence WHEN 'monthly'`) inside an
    # INSERT..SELECT to the worker as `WHEN NULL::boolean`.
    period = ("CASE WHEN p.cadence = 'monthly' THEN date_trunc('month', k.day) WHEN p.cadence = 'quarterly' THEN"
              " date_trunc('quarter', k.day) ELSE date_trunc('year', k.day) END::date")
    same = "p.cadre_id = k.cadre_id AND p.target_id = k.target_id AND p.target_kind = k.target_kind"
    # The verdicts read model applies a batch first, so every check-in here has its verdict.
    columns = f"p.pairing_id, k.visit_id, {period}, k.day, k.recorded_at, k.voided_at, vc.verified"
    verdict = f"JOIN {schema}.verdicts_checkins vc ON vc.visit_id = k.visit_id"
    await conn.execute(
        f"""
        INSERT INTO {schema}.pairing_visits
        SELECT {columns} FROM {schema}.pairing_checkins k
        CROSS JOIN LATERAL (SELECT * FROM {schema}.pairing_pairings p WHERE {same}) p {verdict}
        WHERE k.visit_id = ANY($1)
        UNION ALL
        SELECT {columns} FROM {schema}.pairing_pairings p
        CROSS JOIN LATERAL (SELECT * FROM {schema}.pairing_checkins k WHERE {same}) k {verdict}
        WHERE p.pairing_id = ANY($2)
        ON CONFLICT DO NOTHING
        """,
        visits, pairings,
    )


async def _requote(conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
    """New `pairing_quotas` versions for the cadres this batch touched, one at each moment something of
    theirs changed: enrolled, re-ranked, transferred or departed; a pairing of theirs formed or ended;
    a household paired with them retagged or archived. By index, O(their pairings) each; the pairings
    and households above are already applied."""
    await _record_cadres(conn, schema, [e for e in events if event_name(e).startswith("Cadre.")])
    moments: dict[UUID, set[datetime]] = {}
    ended: dict[UUID, datetime] = {}
    homes: dict[UUID, list[datetime]] = {}
    for event in events:
        name = event_name(event)
        if name.startswith("Cadre."):
            moments.setdefault(event.originator_id, set()).add(event.timestamp)
        elif name == "Pairing.Formed":
            moments.setdefault(_uuid(event.cadre_id), set()).add(event.timestamp)
        elif name == "Pairing.Ended":
            ended[event.originator_id] = event.timestamp
        elif name in ("Household.Registered", "Household.Retagged", "Household.Archived"):
            homes.setdefault(event.originator_id, []).append(event.timestamp)
    if ended or homes:
        for row in await conn.fetch(
                f"SELECT cadre_id, pairing_id, household_id FROM {schema}.pairing_pairings"
                " WHERE pairing_id = ANY($1) OR household_id = ANY($2)", list(ended), list(homes)):
            mine = moments.setdefault(row["cadre_id"], set())
            mine.update([ended[row["pairing_id"]]] if row["pairing_id"] in ended else [])
            mine.update(homes.get(row["household_id"], []))
    if not moments:
        return
    # Versions from the earliest new moment on are judged again: a late event (its timestamp before a
    # version already kept) changes every version after it.
    first = {cadre: min(times) for cadre, times in moments.items()}
    later = await conn.fetch(
        f"SELECT q.cadre_id, q.valid_from FROM {schema}.pairing_quotas q"
        " JOIN unnest($1::uuid[], $2::timestamptz[]) AS f(cadre_id, since) USING (cadre_id)"
        " WHERE q.valid_from >= f.since", list(first), list(first.values()))
    for row in later:
        moments[row["cadre_id"]].add(row["valid_from"])
    pairs = [(cadre, moment) for cadre, times in moments.items() for moment in sorted(times)]
    judged = await conn.fetch(
        f"""
        SELECT m.cadre_id, m.moment, c.rank, c.township, c.departed, f.*
        FROM unnest($1::uuid[], $2::timestamptz[]) AS m(cadre_id, moment)
        JOIN LATERAL (
            SELECT pc.rank, pc.township, pc.departed FROM {schema}.pairing_cadres pc
            WHERE pc.cadre_id = m.cadre_id AND pc.valid_from <= m.moment ORDER BY pc.version DESC LIMIT 1
        ) c ON true
        CROSS JOIN LATERAL (
            SELECT count(*) AS pairings,
                   count(DISTINCT p.target_id) FILTER (WHERE p.target_kind = 'household') AS households,
                   count(DISTINCT p.target_id) FILTER (WHERE p.target_kind = 'household' AND h.tags && $3)
                     AS hardship,
                   coalesce(array_agg(DISTINCT p.target_kind) FILTER (WHERE p.target_kind <> 'household'), '{{}}')
                     AS kinds
            FROM {schema}.pairing_pairings p
            LEFT JOIN LATERAL (
                SELECT ph.tags, ph.archived FROM {schema}.pairing_households ph
                WHERE ph.household_id = p.household_id AND ph.valid_from <= m.moment
                ORDER BY ph.version DESC LIMIT 1
            ) h ON true
            WHERE p.cadre_id = m.cadre_id AND p.formed_at <= m.moment
              AND (p.ended_at IS NULL OR p.ended_at > m.moment) AND NOT coalesce(h.archived, false)
        ) f
        ORDER BY m.cadre_id, m.moment
        """,
        [p[0] for p in pairs], [p[1] for p in pairs], rules.hardship_tags)
    rows = []
    for i, row in enumerate(judged):
        following = judged[i + 1] if i + 1 < len(judged) else None
        until = following["moment"] if following is not None and following["cadre_id"] == row["cadre_id"] else None
        quotas = judge_quotas(row["rank"], row["households"], row["hardship"], list(row["kinds"]), rules)
        rows.append((row["cadre_id"], row["moment"], until, row["rank"], row["township"], row["departed"],
                     row["pairings"], row["households"], row["hardship"], list(row["kinds"]),
                     json.dumps(quotas, ensure_ascii=False), shortfall_of(quotas)))
    starts = {row[0]: row[1] for row in reversed(rows)}  # each cadre's first new version
    await conn.execute(
        f"DELETE FROM {schema}.pairing_quotas q USING unnest($1::uuid[], $2::timestamptz[]) AS f(cadre_id, since)"
        " WHERE q.cadre_id = f.cadre_id AND q.valid_from >= f.since", list(starts), list(starts.values()))
    await conn.execute(
        f"UPDATE {schema}.pairing_quotas q SET valid_to = f.since"
        " FROM unnest($1::uuid[], $2::timestamptz[]) AS f(cadre_id, since)"
        " WHERE q.cadre_id = f.cadre_id AND q.valid_from < f.since AND (q.valid_to IS NULL OR q.valid_to > f.since)",
        list(starts), list(starts.values()))
    await conn.executemany(
        f"INSERT INTO {schema}.pairing_quotas VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12)", rows)


async def _record_cadres(conn: AsyncConnection, schema: str, cadre_events: list[Any]) -> None:
    """`pairing_cadres` versions: rank, township and departure as the cadre events leave them."""
    if not cadre_events:
        return
    known = {row["cadre_id"]: dict(row) for row in await conn.fetch(
        f"SELECT DISTINCT ON (cadre_id) cadre_id, rank, township, departed FROM {schema}.pairing_cadres"
        " WHERE cadre_id = ANY($1) ORDER BY cadre_id, version DESC", list({e.originator_id for e in cadre_events}))}
    versions = []
    for event in cadre_events:  # in log order
        name, cadre = event_name(event), event.originator_id
        if name == "Cadre.Enrolled":
            known[cadre] = {"rank": event.rank, "township": event.township, "departed": False}
        elif cadre not in known:
            continue
        elif name == "Cadre.RankChanged":
            known[cadre]["rank"] = event.rank
        elif name == "Cadre.Transferred":
            known[cadre]["township"] = event.township
        elif name == "Cadre.Departed":
            known[cadre]["departed"] = True
        else:
            continue
        state = known[cadre]
        versions.append((cadre, event.originator_version, event.timestamp, state["rank"], state["township"],
                         state["departed"]))
    await conn.executemany(f"INSERT INTO {schema}.pairing_cadres VALUES ($1, $2, $3, $4, $5, $6)", versions)


projection = Pairings()


def _household_id(target_kind: str, target_id: str) -> UUID | None:
    """The household a target names, when it names one exactly as households' ids are written (the
    text join it replaces matched no other spelling)."""
    if target_kind != "household":
        return None
    try:
        household = UUID(target_id)
    except ValueError:
        return None
    return household if str(household) == target_id else None


@lru_cache(maxsize=4096)  # a county's pairings share a few (cadence, day) pairs; Period is never mutated
def cadence_period(cadence: str, day: date) -> Period:
    """The period of `cadence` (monthly / quarterly / yearly) that holds `day`."""
    if cadence == "monthly":
        return Period.month(day.year, day.month)
    if cadence == "yearly":
        return Period.year(day.year)
    if cadence == "quarterly":
        return Period.quarter(day.year, (day.month - 1) // 3 + 1)
    raise ValueError(f"cadence is monthly, quarterly or yearly, not {cadence!r}")


def _cadences(today: date) -> list[list[Any]]:
    """Per cadence, the periods a pairing of it is judged by on `today`, as columns for `unnest`:
    cadence, the previous period's first day, the current period's first day."""
    columns: list[list[Any]] = [[], [], []]
    for cadence in CADENCES:
        current = cadence_period(cadence, today)
        previous = cadence_period(cadence, current.start - timedelta(days=1))
        for column, value in zip(columns, (cadence, previous.start, current.start), strict=True):
            column.append(value)
    return columns


def _judged(schema: str, until: str, first: int) -> str:
    """SQL: every pairing active at cutoff `until`, judged on the day whose `_cadences` are parameters
    $first… : its visits in its current period, its status, its current period's first day and whether a
    visit in it was verified (`_verified_then`). One hash join of the pairings with their visits of the
    periods judged, never a scan of check-ins. (Grouping after the join instead sorted every pairing's
    row before a page could be cut from them, and the page's probes then ran for every pairing.)"""
    cadence, previous, current = (f"${first}::text[]", f"${first + 1}::date[]", f"${first + 2}::date[]")
    return f"""(
        SELECT p.*, c.current_start,
               coalesce(cardinality(array_positions(v.periods, c.current_start)), 0) AS current,
               CASE WHEN array_position(v.periods, c.current_start) IS NOT NULL THEN 'ok'
                    WHEN p.formed_on < c.previous_start AND array_position(v.periods, c.previous_start) IS NULL
                    THEN 'overdue' ELSE 'due' END AS status,
               coalesce(array_position(v.verified, c.current_start) IS NOT NULL, false) AS verified
        FROM {schema}.pairing_pairings p
        JOIN unnest({cadence}, {previous}, {current}) AS c(cadence, previous_start, current_start) USING (cadence)
        LEFT JOIN (
            SELECT pv.pairing_id, array_agg(pv.period_start) AS periods,
                   array_agg(pv.period_start) FILTER (WHERE pv.period_start = ANY({current})
                                                      AND {_verified_then(schema, until)}) AS verified
            FROM {schema}.pairing_visits pv
            WHERE pv.period_start = ANY({previous} || {current}) AND pv.recorded_at < {until}
              AND (pv.voided_at IS NULL OR pv.voided_at >= {until})
            GROUP BY pv.pairing_id
        ) v ON v.pairing_id = p.pairing_id
        WHERE p.formed_at < {until} AND (p.ended_at IS NULL OR p.ended_at >= {until})
    )"""


def _verified_then(schema: str, until: str, alias: str = "pv") -> str:
    """SQL: whether pairing visit `alias` was verified by its verdict as it stood at cutoff `until`: the
    kept one when that is now, else the first later change's `verified_before` (a probe into the
    travel history, `projections.verdicts.travel_then`)."""
    return (f"CASE WHEN {until} = 'infinity' THEN {alias}.verified ELSE coalesce((SELECT t.verified_before"
            f" FROM {schema}.verdicts_travel t WHERE t.visit_id = {alias}.visit_id AND t.until >= {until}"
            f" ORDER BY t.until LIMIT 1), {alias}.verified) END")


def _until(parameter: str) -> str:
    # `coalesce` to infinity, not `$1 IS NULL OR …`: see `projections.verdicts.visible_checkins`.
    return f"coalesce({parameter}::timestamptz, 'infinity')"


async def pairings(conn: AsyncConnection, schema: str, *, cadre_id: UUID | None = None, status: str | None = None,
                   township: str | None = None, village: str | None = None, rank: str | None = None,
                   limit: int = 100, after: UUID | None = None, as_of: date | None = None) -> dict[str, Any]:
    """A page of active pairings (by pairing id) with last visit, due date and status: `{items, next}`.
    `township` and `village` are where a paired household lives, `rank` the cadre's. A place filter
    keeps only household targets (the other kinds of target have no place in the read models)."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status is one of {', '.join(STATUSES)}, not {status!r}")
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit is 1 to 1000, not {limit}")
    today = reference_date(as_of)
    until = _until("$1")
    args: list[Any] = [recorded_before(as_of), *_cadences(today), limit + 1]
    # Only the filters asked for go into the SQL (a generic plan of `$n IS NULL OR …` misjudges).
    wanted = []
    for column, value in (("cadre_id", cadre_id), ("status", status), ("township", township),
                          ("village", village), ("rank", rank)):
        if value is not None:
            args.append(value)
            wanted.append(f"{column} = ${len(args)}")
    if after is not None:
        args.append(after)
        wanted.append(f"pairing_id > ${len(args)}")
    rows = await conn.fetch(
        f"""
        SELECT j.*, h.household_id AS known_household, h.township, h.village, r.rank,
               lv.last_visit, lv.current_verified
        FROM {_judged(schema, until, 2)} j
        LEFT JOIN LATERAL (
            SELECT cp.household_id, cp.township, cp.village FROM {schema}.coverage_places cp
            WHERE cp.household_id = j.household_id AND cp.valid_from < {until} ORDER BY cp.version DESC LIMIT 1
        ) h ON true
        LEFT JOIN LATERAL (
            SELECT ic.rank FROM {schema}.interviews_cadres ic
            WHERE ic.cadre_id = j.cadre_id AND ic.valid_from < {until} ORDER BY ic.version DESC LIMIT 1
        ) r ON true
        LEFT JOIN LATERAL (
            SELECT max(pv.day) AS last_visit,
                   count(*) FILTER (WHERE pv.period_start = j.current_start AND {_verified_then(schema, until)})
                     AS current_verified
            FROM {schema}.pairing_visits pv
            WHERE pv.pairing_id = j.pairing_id AND pv.recorded_at < {until}
              AND (pv.voided_at IS NULL OR pv.voided_at >= {until})
        ) lv ON true
        WHERE {" AND ".join(["true", *(f"({w})" for w in wanted)])}
        ORDER BY j.pairing_id LIMIT $5
        """,
        *args,
    )
    page = [_item(row, today) for row in rows[:limit]]
    return {"items": page, "next": page[-1]["pairing_id"] if len(rows) > limit else None}


async def one(conn: AsyncConnection, schema: str, pairing_id: UUID) -> dict[str, Any] | None:
    """One pairing, active or ended, with when and why it ended (`ended_reason`: ENDED_REASONS)."""
    row = await conn.fetchrow(
        f"SELECT pairing_id, cadre_id, target_kind, target_id, household_id, programme, cadence, formed_on,"
        f" ended_on, ended_reason, needs_new_cadre FROM {schema}.pairing_pairings WHERE pairing_id = $1",
        pairing_id)
    return None if row is None else dict(row)


async def active_pairs(conn: AsyncConnection, schema: str,
                       household_ids: list[UUID]) -> dict[tuple[UUID, UUID], UUID]:
    """The active pairings of these households, (cadre id, household id) → pairing id: what a pairing file
    is checked against (by the household index: the file's households' pairings only)."""
    rows = await conn.fetch(
        f"SELECT cadre_id, household_id, pairing_id FROM {schema}.pairing_pairings"
        f" WHERE household_id = ANY($1::uuid[]) AND ended_on IS NULL", household_ids)
    return {(row["cadre_id"], row["household_id"]): row["pairing_id"] for row in rows}


async def needing_a_cadre(conn: AsyncConnection, schema: str, *, limit: int = 100,
                          after: UUID | None = None) -> dict[str, Any]:
    """A page of the households to pair again (by pairing id): each household pairing that ended with its
    cadre's departure, whose household is neither archived nor paired again since: `{items, next}`.
    By the partial index of those pairings: the answer's rows only."""
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit is 1 to 1000, not {limit}")
    rows = await conn.fetch(
        f"""
        SELECT p.pairing_id, p.household_id, p.cadre_id, p.programme, p.cadence, p.formed_on, p.ended_on,
               p.ended_reason, h.township, h.village
        FROM {schema}.pairing_pairings p
        LEFT JOIN LATERAL (
            SELECT cp.township, cp.village FROM {schema}.coverage_places cp
            WHERE cp.household_id = p.household_id ORDER BY cp.version DESC LIMIT 1
        ) h ON true
        WHERE p.needs_new_cadre AND ($1::uuid IS NULL OR p.pairing_id > $1)
        ORDER BY p.pairing_id LIMIT $2
        """,
        after, limit + 1,
    )
    page = [dict(row) for row in rows[:limit]]
    return {"items": page, "next": page[-1]["pairing_id"] if len(rows) > limit else None}


def _item(row: Record, today: date) -> dict[str, Any]:
    current = cadence_period(row["cadence"], today)
    due = {"ok": cadence_period(row["cadence"], current.end + timedelta(days=1)).end,
           "overdue": current.start - timedelta(days=1), "due": current.end}[row["status"]]
    return {
        "pairing_id": row["pairing_id"], "cadre_id": row["cadre_id"], "target_kind": row["target_kind"],
        "target_id": row["target_id"], "programme": row["programme"], "cadence": row["cadence"],
        "formed_on": row["formed_on"], "household_id": row["known_household"], "township": row["township"],
        "village": row["village"], "rank": row["rank"], "last_visit": row["last_visit"],
        "visits_in_period": row["current"], "verified_visits_in_period": row["current_verified"],
        "status": row["status"], "due_date": due,
    }


def judge_quotas(rank: str, households: int, hardship: int, kinds: list[str], rules: Rules) -> list[dict[str, Any]]:
    """The county's quota rules for one cadre, from their active pairings (archived households left
    out): distinct paired households, of those with a hardship tag, and the other kinds of target."""
    quotas: list[dict[str, Any]] = []
    if rules.hardship_households_per_cadre is not None:
        quotas.append({"rule": "hardship_households", "required": rules.hardship_households_per_cadre,
                       "actual": hardship})
    by_rank = (rules.paired_households_by_rank or {}).get(rank)
    if by_rank is not None:
        quotas.append({"rule": "households_by_rank", "required": by_rank, "actual": households})
    if rules.five_contacts is not None:
        held = set(kinds) | ({"household"} if hardship else set())
        missing = [kind for kind in rules.five_contacts if kind not in held]
        quotas.append({"rule": "five_contacts", "required": len(rules.five_contacts),
                       "actual": len(rules.five_contacts) - len(missing), "missing": missing})
    for quota in quotas:
        quota["met"] = quota["actual"] >= quota["required"]
        quota["short_by"] = max(quota["required"] - quota["actual"], 0)
    return quotas


def shortfall_of(judged: list[dict[str, Any]]) -> int:
    """The most any one quota rule is short by (0: every quota met): at least that many more pairings."""
    return max((quota["short_by"] for quota in judged), default=0)


async def shortfalls(conn: AsyncConnection, schema: str, *, township: str | None = None, rank: str | None = None,
                     limit: int = 100, after: UUID | None = None, as_of: date | None = None) -> dict[str, Any]:
    """A page (by cadre id) of the active cadres short of a quota, with every rule's figures and
    `shortfall`, the most any rule is short by: `{items, next}`. `township` and `rank` are the cadre's
    (as of `as_of`). Now: a range of one partial index of the current versions, O(the page); as of a
    day: a range of the short versions, O(the page × the versions a cadre had)."""
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit is 1 to 1000, not {limit}")
    args: list[Any] = [limit + 1]
    # the partial indexes' predicates, word for word
    wanted = ["shortfall > 0", "NOT departed"]
    if as_of is None:
        wanted.append("valid_to IS NULL")
    else:
        args.append(recorded_before(as_of))
        wanted.append(f"valid_from < ${len(args)} AND (valid_to IS NULL OR valid_to >= ${len(args)})")
    for condition, value in (("township =", township), ("rank =", rank), ("cadre_id >", after)):
        if value is not None:  # only the filters asked for go into the SQL (see `pairings`)
            args.append(value)
            wanted.append(f"{condition} ${len(args)}")
    rows = await conn.fetch(
        f"SELECT cadre_id, rank, township, pairings, households, hardship, kinds, quotas, shortfall"
        f" FROM {schema}.pairing_quotas WHERE {' AND '.join(wanted)} ORDER BY cadre_id LIMIT $1",
        *args,
    )
    page = [{**dict(row), "kinds": list(row["kinds"]), "quotas": json.loads(row["quotas"])} for row in rows[:limit]]
    return {"items": page, "next": page[-1]["cadre_id"] if len(rows) > limit else None}


# The active cadres' `pairing_quotas` versions valid at cutoff $1 (NULL: now), as `quota_page` and `summary` read them.
ACTIVE_QUOTAS_THEN = ("NOT departed AND valid_from < coalesce($1::timestamptz, 'infinity')"
                      " AND (valid_to IS NULL OR valid_to >= coalesce($1::timestamptz, 'infinity'))")


async def quota_page(conn: AsyncConnection, schema: str, *, limit: int, offset: int = 0, cadre_id: UUID | None = None,
                     compliant: bool | None = None, as_of: date | None = None) -> tuple[list[dict[str, Any]], int]:
    """A page (by cadre id) of `quotas`, only the cadres meeting every quota (or not) when `compliant` is
    given, and how many there are: from the versions of the day kept in `pairing_quotas`, the page
    O(offset + limit) and the count in SQL, where `quotas` judges every cadre afresh."""
    args: list[Any] = [recorded_before(as_of)]
    wanted = [ACTIVE_QUOTAS_THEN]
    if cadre_id is not None:
        args.append(cadre_id)
        wanted.append(f"cadre_id = ${len(args)}")
    if compliant is not None:
        wanted.append("shortfall = 0" if compliant else "shortfall > 0")
    where = " AND ".join(wanted)
    total = await conn.fetchval(f"SELECT count(*) FROM {schema}.pairing_quotas WHERE {where}", *args)
    rows = await conn.fetch(
        f"SELECT cadre_id, rank, pairings, quotas, shortfall FROM {schema}.pairing_quotas WHERE {where}"
        f" ORDER BY cadre_id LIMIT {int(limit)} OFFSET {int(offset)}", *args)
    return [{"cadre_id": row["cadre_id"], "rank": row["rank"], "pairings": row["pairings"],
             "quotas": json.loads(row["quotas"]), "compliant": row["shortfall"] == 0} for row in rows], total


async def quotas(conn: AsyncConnection, schema: str, *, cadre_id: UUID | None = None,
                 as_of: date | None = None) -> list[dict[str, Any]]:
    """Per active cadre (by id): their rank, pairings, each quota rule's figures and whether all are met,
    judged afresh from the pairings (the reference the kept versions are tested against)."""
    rules = await load_rules(conn, adcode_of(schema))
    cutoff = recorded_before(as_of)
    cadres = await conn.fetch(
        f"SELECT cadre_id, rank FROM {cadres_as_of(schema)} c WHERE NOT departed AND ($2::uuid IS NULL OR"
        " cadre_id = $2) ORDER BY cadre_id",
        cutoff, cadre_id,
    )
    until = _until("$1")
    # Each pairing's household now as kept beside it, or as of the cutoff by one index probe.
    household = "SELECT p.household_tags AS tags, p.household_archived AS archived" if as_of is None else (
        f"SELECT ph.tags, ph.archived FROM {schema}.pairing_households ph"
        f" WHERE ph.household_id = p.household_id AND ph.valid_from < {until} ORDER BY ph.version DESC LIMIT 1")
    held = {
        row["cadre_id"]: row for row in await conn.fetch(
            f"""
            SELECT p.cadre_id, count(*) AS pairings,
                   count(DISTINCT p.target_id) FILTER (WHERE p.target_kind = 'household') AS households,
                   count(DISTINCT p.target_id) FILTER (WHERE p.target_kind = 'household' AND h.tags && $2::text[])
                     AS hardship,
                   coalesce(array_agg(DISTINCT p.target_kind) FILTER (WHERE p.target_kind <> 'household'), '{{}}')
                     AS kinds
            FROM {schema}.pairing_pairings p
            LEFT JOIN LATERAL ({household}) h ON true
            WHERE p.formed_at < {until} AND (p.ended_at IS NULL OR p.ended_at >= {until})
              AND NOT coalesce(h.archived, false) AND ($3::uuid IS NULL OR p.cadre_id = $3)
            GROUP BY p.cadre_id
            """,
            cutoff, rules.hardship_tags, cadre_id,
        )
    }
    result = []
    for cadre in cadres:
        mine = held.get(cadre["cadre_id"])
        judged = judge_quotas(cadre["rank"], mine["households"] if mine else 0, mine["hardship"] if mine else 0,
                              mine["kinds"] if mine else [], rules)
        result.append({"cadre_id": cadre["cadre_id"], "rank": cadre["rank"],
                       "pairings": mine["pairings"] if mine else 0,
                       "quotas": judged, "compliant": all(q["met"] for q in judged)})
    return result


async def compliance(conn: AsyncConnection, schema: str, *, as_of: date | None = None) -> dict[str, Any]:
    """Active pairings by status and the share not overdue (`compliant_pct`), counted in SQL."""
    row = await conn.fetchrow(
        f"SELECT count(*) AS pairings, count(*) FILTER (WHERE status = 'ok') AS ok,"
        f" count(*) FILTER (WHERE status = 'due') AS due, count(*) FILTER (WHERE status = 'overdue') AS overdue"
        f" FROM {_judged(schema, _until('$1'), 2)} j",
        recorded_before(as_of), *_cadences(reference_date(as_of)),
    )
    assert row is not None  # an aggregate without GROUP BY returns one row
    total = row["pairings"]
    return {
        "pairings": total, **{status: row[status] for status in STATUSES},
        "compliant_pct": round(100.0 * (total - row["overdue"]) / total, 1) if total else None,
    }


async def by_cadre(conn: AsyncConnection, schema: str, *,
                   as_of: date | None = None) -> dict[UUID, tuple[int, int, int]]:
    """cadre id -> (active pairings, of those not overdue, of those with a verified visit in their current
    period) judged as of the day, grouped in SQL (the composite assessment's pairing and completeness parts)."""
    rows = await conn.fetch(
        f"SELECT j.cadre_id, count(*) AS pairings, count(*) FILTER (WHERE j.status <> 'overdue') AS kept,"
        f" count(*) FILTER (WHERE j.verified) AS verified FROM {_judged(schema, _until('$1'), 2)} j"
        " GROUP BY j.cadre_id",
        recorded_before(as_of), *_cadences(reference_date(as_of)),
    )
    return {r["cadre_id"]: (r["pairings"], r["kept"], r["verified"]) for r in rows}


async def summary(conn: AsyncConnection, schema: str, *, as_of: date | None = None) -> dict[str, Any]:
    """County figures: pairings by status, % not overdue, cadres meeting every quota (counted in SQL from the
    active cadres' `pairing_quotas` versions of the day, as `quotas` judges them)."""
    row = await conn.fetchrow(
        f"SELECT count(*) AS cadres, count(*) FILTER (WHERE shortfall = 0) AS meeting FROM {schema}.pairing_quotas"
        f" WHERE {ACTIVE_QUOTAS_THEN}",
        recorded_before(as_of),
    )
    assert row is not None  # an aggregate without GROUP BY returns one row
    cadres, meeting = row["cadres"], row["meeting"]
    return {
        **await compliance(conn, schema, as_of=as_of),
        "cadres": cadres, "cadres_meeting_quotas": meeting,
        "quota_pct": round(100.0 * meeting / cadres, 1) if cadres else None,
    }


async def households_changed_since(conn: AsyncConnection, schema: str, moment: datetime) -> set[UUID]:
    """Households whose pairings changed in this read model from `moment` on."""
    rows = await conn.fetch(
        f"SELECT DISTINCT household_id FROM {schema}.pairing_households WHERE valid_from >= $1", moment)
    return {row["household_id"] for row in rows}
