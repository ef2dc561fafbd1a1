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
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

from projections.base import (
    SHANGHAI, Period, Projection, event_name, parse_date, recorded_before, reference_date,
)
from projections.base import as_uuid as _uuid  # one definition for every read model
from projections.coverage import households_as_of
from projections.interviews import cadres_as_of
from projections.rules import Rules, load_rules
from projections.verdicts import visible_checkins
from services.storage.names import adcode_of

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.pairing_pairings ("
    " pairing_id uuid PRIMARY KEY, cadre_id uuid NOT NULL, target_kind text NOT NULL, target_id text NOT NULL,"
    " programme text NOT NULL, cadence text NOT NULL, formed_on date NOT NULL, formed_at timestamptz NOT NULL,"
    " ended_on date, ended_at timestamptz)",
    "CREATE INDEX IF NOT EXISTS pairing_pairings_cadre ON {schema}.pairing_pairings (cadre_id)",
    "CREATE TABLE IF NOT EXISTS {schema}.pairing_households ("
    " household_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL, tags text[] NOT NULL,"
    " archived boolean NOT NULL, PRIMARY KEY (household_id, version))",
]

STATUSES = ("ok", "due", "overdue")


class Pairings(Projection):
    name = "pairing"
    tables = TABLES

    async def apply(self, conn: Any, schema: str, events: Sequence[Any], rules: Rules) -> None:
        formed, ended, households = [], [], []
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
                    event.programme, event.cadence or rules.default_pairing_cadence, parse_date(event.formed_on),
                    event.timestamp,
                ))
            elif name == "Pairing.Ended":
                ended.append((event.originator_id, parse_date(event.ended_on), event.timestamp))
            elif name in ("Household.Registered", "Household.Retagged", "Household.Archived"):
                if name != "Household.Archived":
                    tags[event.originator_id] = list(event.tags)
                households.append((event.originator_id, event.originator_version, event.timestamp,
                                   tags.get(event.originator_id, []), name == "Household.Archived"))
        if formed:
            await conn.executemany(
                f"INSERT INTO {schema}.pairing_pairings VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)", formed
            )
        if ended:
            await conn.executemany(
                f"UPDATE {schema}.pairing_pairings SET ended_on = $2, ended_at = $3 WHERE pairing_id = $1", ended
            )
        if households:
            await conn.executemany(f"INSERT INTO {schema}.pairing_households VALUES ($1, $2, $3, $4, $5)", households)


projection = Pairings()


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


def judge_pairing(cadence: str, formed_on: date, visit_days: list[date], today: date) -> tuple[str, date]:
    """(status, due date) of one pairing on `today`, given the days its target was visited."""
    current = cadence_period(cadence, today)
    previous = cadence_period(cadence, current.start - timedelta(days=1))
    if any(current.start <= d <= current.end for d in visit_days):
        return "ok", cadence_period(cadence, current.end + timedelta(days=1)).end
    if formed_on < previous.start and not any(previous.start <= d <= previous.end for d in visit_days):
        return "overdue", previous.end
    return "due", current.end


def _active(alias: str) -> str:
    return (
        f"($1::timestamptz IS NULL OR {alias}.formed_at < $1::timestamptz) AND ({alias}.ended_at IS NULL"
        f" OR ($1::timestamptz IS NOT NULL AND {alias}.ended_at >= $1::timestamptz))"
    )


async def _judged_pairings(conn: Any, schema: str, as_of: date | None, cadre_id: UUID | None = None,
                           township: str | None = None, village: str | None = None,
                           rank: str | None = None) -> list[dict]:
    """Every pairing active as of the date, judged, by pairing id, with its cadre's rank and, for a
    household target, the household's township and village then. A place filter keeps only household
    targets (the other kinds of target have no place in the read models)."""
    today = reference_date(as_of)
    # Visits since last year began cover the current and previous period of every cadence.
    since = datetime.combine(date(today.year - 1, 1, 1), time(), SHANGHAI)
    rows = await conn.fetch(
        f"""
        WITH v AS {visible_checkins(schema)}
        SELECT p.pairing_id, p.cadre_id, p.target_kind, p.target_id, p.programme, p.cadence, p.formed_on,
               h.household_id, h.township, h.village, c.rank, max(v.day) AS last_visit,
               coalesce(array_agg(v.day) FILTER (WHERE v.occurred_at >= $2), '{{}}') AS recent,
               coalesce(array_agg(v.day) FILTER (WHERE v.verified AND v.occurred_at >= $2), '{{}}')
                 AS recent_verified
        FROM {schema}.pairing_pairings p
        LEFT JOIN {households_as_of(schema)} h ON p.target_kind = 'household' AND h.household_id::text = p.target_id
        LEFT JOIN {cadres_as_of(schema)} c ON c.cadre_id = p.cadre_id
        LEFT JOIN (SELECT *, (occurred_at AT TIME ZONE 'Asia/Shanghai')::date AS day FROM v) v
          ON v.cadre_id = p.cadre_id AND v.target_kind = p.target_kind AND v.target_id = p.target_id
        WHERE {_active("p")} AND ($3::uuid IS NULL OR p.cadre_id = $3) AND ($4::text IS NULL OR h.township = $4)
          AND ($5::text IS NULL OR h.village = $5) AND ($6::text IS NULL OR c.rank = $6)
        GROUP BY p.pairing_id, h.household_id, h.township, h.village, c.rank ORDER BY p.pairing_id
        """,
        recorded_before(as_of), since, cadre_id, township, village, rank,
    )
    result = []
    for row in rows:
        days = row["recent"]
        status, due = judge_pairing(row["cadence"], row["formed_on"], days, today)
        period = cadence_period(row["cadence"], today)
        result.append({
            "pairing_id": row["pairing_id"], "cadre_id": row["cadre_id"], "target_kind": row["target_kind"],
            "target_id": row["target_id"], "programme": row["programme"], "cadence": row["cadence"],
            "formed_on": row["formed_on"], "household_id": row["household_id"], "township": row["township"],
            "village": row["village"],
            "rank": row["rank"], "last_visit": row["last_visit"],
            "visits_in_period": sum(1 for d in days if period.start <= d <= period.end),
            "verified_visits_in_period": sum(1 for d in row["recent_verified"] if period.start <= d <= period.end),
            "status": status, "due_date": due,
        })
    return result


async def pairings(conn: Any, schema: str, *, cadre_id: UUID | None = None, status: str | None = None,
                   township: str | None = None, village: str | None = None, rank: str | None = None,
                   limit: int = 100, after: UUID | None = None, as_of: date | None = None) -> dict:
    """A page of active pairings (by pairing id) with last visit, due date and status: `{items, next}`.
    `township` and `village` are where a paired household lives, `rank` the cadre's."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status is one of {', '.join(STATUSES)}, not {status!r}")
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit is 1 to 1000, not {limit}")
    chosen = [
        p for p in await _judged_pairings(conn, schema, as_of, cadre_id, township, village, rank)
        if (status is None or p["status"] == status) and (after is None or p["pairing_id"] > after)
    ]
    page = chosen[:limit]
    return {"items": page, "next": page[-1]["pairing_id"] if len(chosen) > limit else None}


def judge_quotas(rank: str, paired: list[dict], rules: Rules) -> list[dict]:
    """The county's quota rules for one cadre; `paired` = their active pairings, households marked
    with `hardship` (True / False) and archived ones already left out."""
    households = {p["target_id"] for p in paired if p["target_kind"] == "household"}
    hardship = {p["target_id"] for p in paired if p["target_kind"] == "household" and p["hardship"]}
    quotas = []
    if rules.hardship_households_per_cadre is not None:
        quotas.append({"rule": "hardship_households", "required": rules.hardship_households_per_cadre,
                       "actual": len(hardship)})
    by_rank = (rules.paired_households_by_rank or {}).get(rank)
    if by_rank is not None:
        quotas.append({"rule": "households_by_rank", "required": by_rank, "actual": len(households)})
    if rules.five_contacts is not None:
        kinds = {p["target_kind"] for p in paired if p["target_kind"] != "household"}
        if hardship:
            kinds.add("household")
        missing = [kind for kind in rules.five_contacts if kind not in kinds]
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
    paired = await conn.fetch(
        f"""
        WITH h AS (
            SELECT DISTINCT ON (household_id) household_id::text AS target_id, tags, archived
            FROM {schema}.pairing_households WHERE $1::timestamptz IS NULL OR valid_from < $1::timestamptz
            ORDER BY household_id, version DESC
        )
        SELECT p.cadre_id, p.target_kind, p.target_id, coalesce(h.tags && $2::text[], false) AS hardship,
               coalesce(h.archived, false) AS archived
        FROM {schema}.pairing_pairings p
        LEFT JOIN h ON p.target_kind = 'household' AND h.target_id = p.target_id
        WHERE {_active("p")}
        """,
        cutoff, rules.hardship_tags,
    )
    by_cadre: dict[UUID, list[dict]] = {}
    for row in paired:
        if not row["archived"]:
            by_cadre.setdefault(row["cadre_id"], []).append(dict(row))
    result = []
    for cadre in cadres:
        mine = by_cadre.get(cadre["cadre_id"], [])
        judged = judge_quotas(cadre["rank"], mine, rules)
        result.append({"cadre_id": cadre["cadre_id"], "rank": cadre["rank"], "pairings": len(mine),
                       "quotas": judged, "compliant": all(q["met"] for q in judged)})
    return result


async def compliance(conn: Any, schema: str, *, as_of: date | None = None) -> dict:
    """Active pairings by status and the share not overdue (`compliant_pct`)."""
    judged = await _judged_pairings(conn, schema, as_of)
    counts = {status: sum(1 for p in judged if p["status"] == status) for status in STATUSES}
    return {
        "pairings": len(judged), **counts,
        "compliant_pct": round(100.0 * (len(judged) - counts["overdue"]) / len(judged), 1) if judged else None,
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
