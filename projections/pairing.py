"""Pairing compliance (结对子 / 结穷亲 / 五个一): is every paired target visited each cadence period,
and does every cadre hold the pairings the county's quotas ask for?

A pairing is judged on a day (`as_of`, or today in China) in its cadence period (month, quarter or
year; quarterly unless the pairing says): `ok` when its cadre visited its target in the current
period (due next by the end of the next period); `overdue` when not, and the previous period was
missed too while the pairing already existed when it began (due date = that period's end); else
`due` (by the end of the current period). The same judgement as the cadre's due list in
`projections.completeness`, and like it, a visit is any check-in of the pairing's cadre at the
pairing's target that is not voided (`verified_visits_in_period` says how many the verdicts accepted).

Quotas per active cadre, each switched off by a None in the county's Rules:
- `hardship_households_per_cadre`: paired households carrying a hardship tag (`hardship_tags`);
- `paired_households_by_rank`: paired households of any kind, by the cadre's rank (3/2/1);
- `five_contacts` (五个一): one pairing of each kind; `household` must be a hardship household.
Archived households and ended pairings count for nothing. Pairings, households' tags and (through
`projections.interviews`) cadres' ranks are time-stamped facts, so `as_of` answers what a rebuild cut
at that date would.

Cost (DESIGN §6): each pairing's visits are kept with the cadence period they fall in
(`pairing_visits`), so the county's compliance is one hash join of its pairings with two periods'
visits, and a page looks up its rows' households, ranks and last visits by index.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

from projections.base import (
    Period, Projection, event_name, local_date, parse_date, parse_time, recorded_before, reference_date,
)
from projections.base import as_uuid as _uuid  # one definition for every read model
from projections.interviews import cadres_as_of
from projections.rules import Rules, load_rules
from services.storage.names import adcode_of

TABLES = [
    # `household_id`: the target as a uuid when it is a household's id as the household read models
    # write it, so pairings join households by index (a `household_id::text = target_id` join cannot).
    "CREATE TABLE IF NOT EXISTS {schema}.pairing_pairings ("
    " pairing_id uuid PRIMARY KEY, cadre_id uuid NOT NULL, target_kind text NOT NULL, target_id text NOT NULL,"
    " household_id uuid, programme text NOT NULL, cadence text NOT NULL, formed_on date NOT NULL,"
    " formed_at timestamptz NOT NULL, ended_on date, ended_at timestamptz,"
    # the household's tags and archived flag now, for the quotas without as_of (no probe per pairing)
    " household_tags text[], household_archived boolean)",
    "CREATE INDEX IF NOT EXISTS pairing_pairings_cadre ON {schema}.pairing_pairings (cadre_id)",
    "CREATE INDEX IF NOT EXISTS pairing_pairings_target ON {schema}.pairing_pairings (cadre_id, target_id)",
    "CREATE TABLE IF NOT EXISTS {schema}.pairing_households ("
    " household_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL, tags text[] NOT NULL,"
    " archived boolean NOT NULL, PRIMARY KEY (household_id, version))",
    # Every check-in, by cadre and target: a pairing formed later finds the visits it already had.
    "CREATE TABLE IF NOT EXISTS {schema}.pairing_checkins ("
    " visit_id uuid PRIMARY KEY, cadre_id uuid NOT NULL, target_kind text NOT NULL, target_id text NOT NULL,"
    " day date NOT NULL, recorded_at timestamptz NOT NULL, voided_at timestamptz)",
    "CREATE INDEX IF NOT EXISTS pairing_checkins_target ON {schema}.pairing_checkins (cadre_id, target_id)",
    # Each pairing's visits with the start of the cadence period they fall in: a county's compliance is
    # one hash join of its pairings with the visits of two periods (at 40,000 households a probe per
    # pairing into every check-in took 36 µs each, 56 ms).
    "CREATE TABLE IF NOT EXISTS {schema}.pairing_visits ("
    " pairing_id uuid NOT NULL, visit_id uuid NOT NULL, period_start date NOT NULL, day date NOT NULL,"
    " recorded_at timestamptz NOT NULL, voided_at timestamptz, PRIMARY KEY (pairing_id, visit_id))",
    "CREATE INDEX IF NOT EXISTS pairing_visits_period ON {schema}.pairing_visits (period_start)",
    "CREATE INDEX IF NOT EXISTS pairing_visits_visit ON {schema}.pairing_visits (visit_id)",
]

STATUSES = ("ok", "due", "overdue")
CADENCES = ("monthly", "quarterly", "yearly")


class Pairings(Projection):
    name = "pairing"
    tables = TABLES

    async def apply(self, conn: Any, schema: str, events: Sequence[Any], rules: Rules) -> None:
        formed, ended, households, checkins, voids = [], [], [], [], []
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
            elif name == "Visit.CheckedIn":
                checkins.append((event.originator_id, _uuid(event.cadre_id), event.target_kind, str(event.target_id),
                                 local_date(parse_time(event.occurred_at)), event.timestamp))
            elif name == "Visit.Voided":
                voids.append((event.originator_id, event.timestamp))
            elif name == "Pairing.Ended":
                ended.append((event.originator_id, parse_date(event.ended_on), event.timestamp))
            elif name in ("Household.Registered", "Household.Retagged", "Household.Archived"):
                if name != "Household.Archived":
                    tags[event.originator_id] = list(event.tags)
                households.append((event.originator_id, event.originator_version, event.timestamp,
                                   tags.get(event.originator_id, []), name == "Household.Archived"))
        if formed:
            await conn.executemany(
                f"INSERT INTO {schema}.pairing_pairings"
                f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, NULL, NULL)",
                formed,
            )
        if ended:
            await conn.executemany(
                f"UPDATE {schema}.pairing_pairings SET ended_on = $2, ended_at = $3 WHERE pairing_id = $1", ended
            )
        if households:
            await conn.executemany(f"INSERT INTO {schema}.pairing_households VALUES ($1, $2, $3, $4, $5)", households)
        if households or formed:
            await conn.execute(
                f"UPDATE {schema}.pairing_pairings p SET household_tags = h.tags, household_archived = h.archived"
                f" FROM (SELECT DISTINCT ON (household_id) * FROM {schema}.pairing_households"
                "        WHERE household_id = ANY($1) ORDER BY household_id, version DESC) h"
                " WHERE p.household_id = h.household_id",
                list({h[0] for h in households} | {f[4] for f in formed if f[4] is not None}),
            )
        if checkins:
            await conn.executemany(
                f"INSERT INTO {schema}.pairing_checkins VALUES ($1, $2, $3, $4, $5, $6, NULL)", checkins
            )
        if checkins or formed:
            await _match(conn, schema, [c[0] for c in checkins], [f[0] for f in formed])
        if voids:
            for table in ("pairing_checkins", "pairing_visits"):
                await conn.executemany(
                    f"UPDATE {schema}.{table} SET voided_at = $2 WHERE visit_id = $1 AND voided_at IS NULL", voids
                )


async def _match(conn: Any, schema: str, visits: list[UUID], pairings: list[UUID]) -> None:
    """Add to `pairing_visits` the new check-ins' pairings and the new pairings' check-ins (by index)."""
    # A searched CASE: Citus 13.2 sends a simple one (`CASE p.cadence WHEN 'monthly'`) inside an
    # INSERT..SELECT to the worker as `WHEN NULL::boolean`.
    period = ("CASE WHEN p.cadence = 'monthly' THEN date_trunc('month', k.day) WHEN p.cadence = 'quarterly' THEN"
              " date_trunc('quarter', k.day) ELSE date_trunc('year', k.day) END::date")
    same = "p.cadre_id = k.cadre_id AND p.target_id = k.target_id AND p.target_kind = k.target_kind"
    columns = f"p.pairing_id, k.visit_id, {period}, k.day, k.recorded_at, k.voided_at"
    await conn.execute(
        f"""
        INSERT INTO {schema}.pairing_visits
        SELECT {columns} FROM {schema}.pairing_checkins k
        CROSS JOIN LATERAL (SELECT * FROM {schema}.pairing_pairings p WHERE {same}) p WHERE k.visit_id = ANY($1)
        UNION ALL
        SELECT {columns} FROM {schema}.pairing_pairings p
        CROSS JOIN LATERAL (SELECT * FROM {schema}.pairing_checkins k WHERE {same}) k WHERE p.pairing_id = ANY($2)
        ON CONFLICT DO NOTHING
        """,
        visits, pairings,
    )


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
    $first… : its visits in its current period, its status and its current period's first day. One
    hash join of the pairings with their visits of the periods judged, never a scan of check-ins."""
    cadence, previous, current = (f"${first}::text[]", f"${first + 1}::date[]", f"${first + 2}::date[]")
    return f"""(
        SELECT p.*, c.current_start,
               coalesce(cardinality(array_positions(v.periods, c.current_start)), 0) AS current,
               CASE WHEN array_position(v.periods, c.current_start) IS NOT NULL THEN 'ok'
                    WHEN p.formed_on < c.previous_start AND array_position(v.periods, c.previous_start) IS NULL
                    THEN 'overdue' ELSE 'due' END AS status
        FROM {schema}.pairing_pairings p
        JOIN unnest({cadence}, {previous}, {current}) AS c(cadence, previous_start, current_start) USING (cadence)
        LEFT JOIN (
            SELECT pv.pairing_id, array_agg(pv.period_start) AS periods FROM {schema}.pairing_visits pv
            WHERE pv.period_start = ANY({previous} || {current}) AND pv.recorded_at < {until}
              AND (pv.voided_at IS NULL OR pv.voided_at >= {until})
            GROUP BY pv.pairing_id
        ) v ON v.pairing_id = p.pairing_id
        WHERE p.formed_at < {until} AND (p.ended_at IS NULL OR p.ended_at >= {until})
    )"""


def _until(parameter: str) -> str:
    # `coalesce` to infinity, not `$1 IS NULL OR …`: see `projections.verdicts.visible_checkins`.
    return f"coalesce({parameter}::timestamptz, 'infinity')"


async def pairings(conn: Any, schema: str, *, cadre_id: UUID | None = None, status: str | None = None,
                   township: str | None = None, village: str | None = None, rank: str | None = None,
                   limit: int = 100, after: UUID | None = None, as_of: date | None = None) -> dict:
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
                   count(*) FILTER (WHERE pv.period_start = j.current_start AND vc.verified) AS current_verified
            FROM {schema}.pairing_visits pv JOIN {schema}.verdicts_checkins vc USING (visit_id)
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


def _item(row: Any, today: date) -> dict:
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


def judge_quotas(rank: str, households: int, hardship: int, kinds: list[str], rules: Rules) -> list[dict]:
    """The county's quota rules for one cadre, from their active pairings (archived households left
    out): distinct paired households, of those with a hardship tag, and the other kinds of target."""
    quotas = []
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
    return quotas


async def quotas(conn: Any, schema: str, *, cadre_id: UUID | None = None, as_of: date | None = None) -> list[dict]:
    """Per active cadre (by id): their rank, pairings, each quota rule's figures and whether all are met."""
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


async def compliance(conn: Any, schema: str, *, as_of: date | None = None) -> dict:
    """Active pairings by status and the share not overdue (`compliant_pct`), counted in SQL."""
    row = await conn.fetchrow(
        f"SELECT count(*) AS pairings, count(*) FILTER (WHERE status = 'ok') AS ok,"
        f" count(*) FILTER (WHERE status = 'due') AS due, count(*) FILTER (WHERE status = 'overdue') AS overdue"
        f" FROM {_judged(schema, _until('$1'), 2)} j",
        recorded_before(as_of), *_cadences(reference_date(as_of)),
    )
    total = row["pairings"]
    return {
        "pairings": total, **{status: row[status] for status in STATUSES},
        "compliant_pct": round(100.0 * (total - row["overdue"]) / total, 1) if total else None,
    }


async def summary(conn: Any, schema: str, *, as_of: date | None = None) -> dict:
    """County figures: pairings by status, % not overdue, cadres meeting every quota."""
    cadres = await quotas(conn, schema, as_of=as_of)
    meeting = sum(1 for c in cadres if c["compliant"])
    return {
        **await compliance(conn, schema, as_of=as_of),
        "cadres": len(cadres), "cadres_meeting_quotas": meeting,
        "quota_pct": round(100.0 * meeting / len(cadres), 1) if cadres else None,
    }


async def households_changed_since(conn: Any, schema: str, moment: datetime) -> set[UUID]:
    """Households whose pairings changed in this read model from `moment` on."""
    rows = await conn.fetch(
        f"SELECT DISTINCT household_id FROM {schema}.pairing_households WHERE valid_from >= $1", moment)
    return {row["household_id"] for row in rows}
