"""Interview coverage (约谈 / 谈心谈话): is every cadre interviewed each year, by the right rank?

Every leader-to-cadre interview counts for its interviewee. Its interviewer had the expected rank
when the county's `interviewer_ranks` lists the interviewer's rank for the interviewee's rank (a rank
missing from that map accepts any interviewer; an interviewer who is not an enrolled cadre never
has the expected rank). Ranks are those known when the interview was recorded. Interviews the other
way (`cadre_to_leader`: a cadre asking to talk to a leader) are kept but judge nobody.

A cadre's year is `ok` with ≥ `interviews_per_year` interviews by an expected-rank interviewer
(counted by `occurred_at`, Chinese calendar year of the day judged); otherwise `overdue` when last
year fell short too and the cadre was already enrolled when last year began, else `due`. Departed
cadres are left out. Cadres and interviews are time-stamped facts, so `as_of` answers what a rebuild
cut at that date would.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from asyncpg import Record

from projections.base import Period, Projection, event_name, parse_time, recorded_before, reference_date
from projections.base import as_uuid as _uuid  # one definition for every read model
from projections.rules import Rules, load_rules
from services.storage.connections import AsyncConnection
from services.storage.names import adcode_of

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.interviews_cadres ("
    " cadre_id uuid NOT NULL, version bigint NOT NULL, valid_from timestamptz NOT NULL, rank text NOT NULL,"
    " departed boolean NOT NULL, PRIMARY KEY (cadre_id, version))",
    "CREATE TABLE IF NOT EXISTS {schema}.interviews_held ("
    " interview_id uuid PRIMARY KEY, interviewer_id uuid NOT NULL, interviewee_id uuid NOT NULL,"
    " form text NOT NULL, direction text NOT NULL, topics text[] NOT NULL, opinions_count int NOT NULL,"
    " follow_up boolean NOT NULL, occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL,"
    " interviewer_rank text, interviewee_rank text)",
    "CREATE INDEX IF NOT EXISTS interviews_held_interviewee ON {schema}.interviews_held (interviewee_id, occurred_at)",
    "CREATE INDEX IF NOT EXISTS interviews_held_occurred ON {schema}.interviews_held (occurred_at)",
]

STATUSES = ("ok", "due", "overdue")


class Interviews(Projection):
    name = "interviews"
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        cadre_events = [e for e in events if event_name(e).startswith("Cadre.")]
        held = [e for e in events if event_name(e) == "Interview.Held"]
        if not cadre_events and not held:
            return
        # Ranks as known before this batch, then as the batch changes them, in log order.
        wanted = {e.originator_id for e in cadre_events}
        wanted |= {_uuid(e.interviewer_id) for e in held} | {_uuid(e.interviewee_id) for e in held}
        ranks = {
            r["cadre_id"]: r["rank"] for r in await conn.fetch(
                f"SELECT DISTINCT ON (cadre_id) cadre_id, rank FROM {schema}.interviews_cadres"
                " WHERE cadre_id = ANY($1) ORDER BY cadre_id, version DESC",
                list(wanted),
            )
        }
        versions, interviews = [], []
        for event in events:
            name = event_name(event)
            if name in ("Cadre.Enrolled", "Cadre.RankChanged"):
                ranks[event.originator_id] = event.rank
                versions.append((event.originator_id, event.originator_version, event.timestamp, event.rank, False))
            elif name == "Cadre.Departed" and event.originator_id in ranks:
                versions.append((event.originator_id, event.originator_version, event.timestamp,
                                 ranks[event.originator_id], True))
            elif name == "Interview.Held":
                interviewer, interviewee = _uuid(event.interviewer_id), _uuid(event.interviewee_id)
                interviews.append((
                    event.originator_id, interviewer, interviewee, event.form, event.direction, list(event.topics),
                    int(event.opinions_count), bool(event.follow_up), parse_time(event.occurred_at), event.timestamp,
                    ranks.get(interviewer), ranks.get(interviewee),
                ))
        if versions:
            await conn.executemany(f"INSERT INTO {schema}.interviews_cadres VALUES ($1, $2, $3, $4, $5)", versions)
        if interviews:
            await conn.executemany(
                f"INSERT INTO {schema}.interviews_held VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                interviews,
            )


projection = Interviews()


def expected_rank(interviewer_rank: str | None, interviewee_rank: str | None, rules: Rules) -> bool:
    """Whether the county's rule accepts this interviewer's rank for this interviewee's rank."""
    allowed = rules.interviewer_ranks.get(interviewee_rank or "")
    if allowed is None:
        return True
    return interviewer_rank in allowed


def cadres_as_of(schema: str) -> str:
    """SQL: each cadre's latest version recorded before cutoff $1 (NULL = now) and when they enrolled.
    The pairing read model reads ranks from it too."""
    return f"""(
        SELECT DISTINCT ON (cadre_id) cadre_id, rank, departed,
               min(valid_from) OVER (PARTITION BY cadre_id) AS enrolled_at
        FROM {schema}.interviews_cadres WHERE $1::timestamptz IS NULL OR valid_from < $1::timestamptz
        ORDER BY cadre_id, version DESC
    )"""


def _expected(alias: str, ranks: str) -> str:
    """SQL of `expected_rank` for interview `alias`, the rule's map being the jsonb parameter `ranks`."""
    allowed = f"({ranks}::jsonb -> coalesce({alias}.interviewee_rank, ''))"
    return f"coalesce({allowed} ? {alias}.interviewer_rank, {allowed} IS NULL)"


async def _judged(conn: AsyncConnection, schema: str, as_of: date | None, wanted: dict[str, Any], *,
                  tail: str = "", select: str = "j.*") -> list[Record]:
    """Every active cadre's year judged in SQL, each by index probes into its own interviews;
    `wanted` = condition -> value filters (e.g. `rank =`; only those given go into the SQL), `tail` =
    ORDER/GROUP/LIMIT."""
    rules = await load_rules(conn, adcode_of(schema))
    today = reference_date(as_of)
    this_year, last_year = Period.year(today.year), Period.year(today.year - 1)
    until = "coalesce($1::timestamptz, 'infinity')"
    args: list[Any] = [recorded_before(as_of), json.dumps(rules.interviewer_ranks), rules.interviews_per_year,
                       last_year.instants()[0], this_year.instants()[0], this_year.instants()[1],
                       # enrolled by the time last year began (its first day, in China)
                       Period(last_year.start, last_year.start).instants()[1]]
    filters = []
    for condition, value in wanted.items():
        args.append(value)
        filters.append(f"j.{condition} ${len(args)}")
    mine = f"h.interviewee_id = c.cadre_id AND h.direction = 'leader_to_cadre' AND h.recorded_at < {until}"
    return await conn.fetch(
        f"""
        SELECT {select} FROM (
            SELECT c.cadre_id, c.rank, t.township, k.this_year, k.good_this,
                   CASE WHEN k.good_this >= $3 THEN 'ok' WHEN c.enrolled_at < $7 AND k.good_last < $3 THEN 'overdue'
                        ELSE 'due' END AS status,
                   l.interview_id, (l.occurred_at AT TIME ZONE 'Asia/Shanghai')::date AS day, l.interviewer_id,
                   l.interviewer_rank, l.expected
            FROM {cadres_as_of(schema)} c
            LEFT JOIN LATERAL (
                SELECT cc.township FROM {schema}.completeness_cadres cc
                WHERE cc.cadre_id = c.cadre_id AND cc.valid_from < {until} ORDER BY cc.version DESC LIMIT 1
            ) t ON true
            CROSS JOIN LATERAL (
                SELECT count(*) FILTER (WHERE h.occurred_at >= $5) AS this_year,
                       count(*) FILTER (WHERE h.occurred_at >= $5 AND {_expected("h", "$2")}) AS good_this,
                       count(*) FILTER (WHERE h.occurred_at < $5 AND {_expected("h", "$2")}) AS good_last
                FROM {schema}.interviews_held h WHERE {mine} AND h.occurred_at >= $4 AND h.occurred_at < $6
            ) k
            LEFT JOIN LATERAL (
                SELECT h.interview_id, h.occurred_at, h.interviewer_id, h.interviewer_rank,
                       {_expected("h", "$2")} AS expected
                FROM {schema}.interviews_held h WHERE {mine} ORDER BY h.occurred_at DESC, h.interview_id DESC LIMIT 1
            ) l ON true
            WHERE NOT c.departed
        ) j
        WHERE {" AND ".join(["true", *filters])} {tail}
        """,
        *args,
    )


async def cadres(conn: AsyncConnection, schema: str, *, rank: str | None = None, status: str | None = None,
                 township: str | None = None, cadre_id: UUID | None = None, limit: int = 100,
                 after: UUID | None = None, as_of: date | None = None) -> dict[str, Any]:
    """A page of active cadres with their year (by cadre id): `{items, next}`; pass `next` as `after`.
    `township` is the cadre's own (none for county-level cadres)."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status is one of {', '.join(STATUSES)}, not {status!r}")
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit is 1 to 1000, not {limit}")
    wanted = {k: v for k, v in (("rank =", rank), ("status =", status), ("township =", township),
                                ("cadre_id =", cadre_id), ("cadre_id >", after)) if v is not None}
    rules = await load_rules(conn, adcode_of(schema))
    rows = await _judged(conn, schema, as_of, wanted, tail=f"ORDER BY j.cadre_id LIMIT {limit + 1}")
    page = [{
        "cadre_id": r["cadre_id"], "rank": r["rank"], "township": r["township"], "status": r["status"],
        "required": rules.interviews_per_year, "interviews_this_year": r["this_year"],
        "expected_rank_this_year": r["good_this"],
        "last_interview": None if r["interview_id"] is None else {
            "interview_id": r["interview_id"], "day": r["day"], "interviewer_id": r["interviewer_id"],
            "interviewer_rank": r["interviewer_rank"], "expected_rank": r["expected"],
        },
    } for r in rows[:limit]]
    return {"items": page, "next": page[-1]["cadre_id"] if len(rows) > limit else None}


async def interviewed(conn: AsyncConnection, schema: str, *, as_of: date | None = None) -> dict[UUID, int]:
    """active cadre id -> their interviews this year by an interviewer of an expected rank, as judged on
    the day (what the composite assessment's interview part counts against `interviews_per_year`)."""
    rows = await _judged(conn, schema, as_of, {}, select="j.cadre_id, j.good_this")
    return {r["cadre_id"]: r["good_this"] for r in rows}


async def _mismatched(conn: AsyncConnection, schema: str, as_of: date | None, select: str,
                      tail: str) -> list[Record]:
    """This year's leader-to-cadre interviews whose interviewer lacked the expected rank (by the
    occurred index: O(this year's interviews))."""
    rules = await load_rules(conn, adcode_of(schema))
    start, end = Period.year(reference_date(as_of).year).instants()
    return await conn.fetch(
        f"SELECT {select} FROM {schema}.interviews_held h WHERE h.direction = 'leader_to_cadre'"
        " AND h.recorded_at < coalesce($1::timestamptz, 'infinity') AND h.occurred_at >= $3 AND h.occurred_at < $4"
        f" AND NOT {_expected('h', '$2')} {tail}",
        recorded_before(as_of), json.dumps(rules.interviewer_ranks), start, end,
    )


async def coverage_by_rank(conn: AsyncConnection, schema: str, *, as_of: date | None = None) -> dict[str, Any]:
    """Per rank and for the county: active cadres, those `ok` this year, coverage %, and this year's
    interviews whose interviewer did not have the expected rank."""
    judged = await _judged(conn, schema, as_of, {}, select="j.rank, count(*) AS cadres,"
                           " count(*) FILTER (WHERE j.status = 'ok') AS interviewed", tail="GROUP BY j.rank")
    wrong = {r["rank"]: r["count"] for r in await _mismatched(
        conn, schema, as_of, "h.interviewee_rank AS rank, count(*)", "GROUP BY h.interviewee_rank")}

    def figures(cadres: int, ok: int, mismatched: int) -> dict[str, Any]:
        return {"cadres": cadres, "interviewed": ok, "coverage_pct": round(100.0 * ok / cadres, 1) if cadres else None,
                "rank_mismatches": mismatched}

    return {
        "county": figures(sum(r["cadres"] for r in judged), sum(r["interviewed"] for r in judged),
                          sum(wrong.values())),
        "ranks": [{"rank": r["rank"], **figures(r["cadres"], r["interviewed"], wrong.get(r["rank"], 0))}
                  for r in sorted(judged, key=lambda r: r["rank"])],
    }


async def rank_mismatches(conn: AsyncConnection, schema: str, *, as_of: date | None = None) -> list[dict[str, Any]]:
    """This year's leader-to-cadre interviews whose interviewer lacked the rank the rule expects."""
    rows = await _mismatched(
        conn, schema, as_of, "h.interview_id, (h.occurred_at AT TIME ZONE 'Asia/Shanghai')::date AS day,"
        " h.interviewer_id, h.interviewer_rank, h.interviewee_id, h.interviewee_rank",
        "ORDER BY h.occurred_at, h.interview_id",
    )
    return [dict(r) for r in rows]


async def active_cadres(conn: AsyncConnection, schema: str) -> list[UUID]:
    """The county's active cadres now: enrolled and not departed (the one list every page uses)."""
    rows = await conn.fetch(f"SELECT cadre_id FROM {cadres_as_of(schema)} c WHERE NOT departed ORDER BY cadre_id",
                            None)
    return [row["cadre_id"] for row in rows]
