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

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from projections.base import Period, Projection, event_name, local_date, parse_time, recorded_before, reference_date
from projections.base import as_uuid as _uuid  # one definition for every read model
from projections.completeness import cadre_townships_as_of
from projections.rules import Rules, load_rules
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
]

STATUSES = ("ok", "due", "overdue")


class Interviews(Projection):
    name = "interviews"
    tables = TABLES

    async def apply(self, conn: Any, schema: str, events: Sequence[Any], rules: Rules) -> None:
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


async def _judge_all(conn: Any, schema: str, as_of: date | None) -> tuple[list[dict], list[dict]]:
    """(per active cadre their year, every leader-to-cadre interview of last and this year judged)."""
    rules = await load_rules(conn, adcode_of(schema))
    cutoff, today = recorded_before(as_of), reference_date(as_of)
    this_year, last_year = Period.year(today.year), Period.year(today.year - 1)
    cadres = await conn.fetch(
        f"SELECT c.*, t.township FROM {cadres_as_of(schema)} c LEFT JOIN {cadre_townships_as_of(schema)} t"
        " USING (cadre_id) ORDER BY cadre_id",
        cutoff,
    )
    held = await conn.fetch(
        f"SELECT * FROM {schema}.interviews_held WHERE direction = 'leader_to_cadre'"
        " AND ($1::timestamptz IS NULL OR recorded_at < $1::timestamptz) ORDER BY occurred_at, interview_id",
        cutoff,
    )
    judged = [
        {**dict(h), "day": local_date(h["occurred_at"]),
         "expected_rank": expected_rank(h["interviewer_rank"], h["interviewee_rank"], rules)}
        for h in held
    ]
    by_cadre: dict[UUID, list[dict]] = {}
    for interview in judged:
        by_cadre.setdefault(interview["interviewee_id"], []).append(interview)
    required = rules.interviews_per_year
    result = []
    for cadre in cadres:
        if cadre["departed"]:
            continue
        mine = by_cadre.get(cadre["cadre_id"], [])
        this = [i for i in mine if this_year.start <= i["day"] <= this_year.end]
        good_this = sum(i["expected_rank"] for i in this)
        good_last = sum(i["expected_rank"] for i in mine if last_year.start <= i["day"] <= last_year.end)
        judged_last_year = local_date(cadre["enrolled_at"]) <= last_year.start
        status = "ok" if good_this >= required else (
            "overdue" if judged_last_year and good_last < required else "due"
        )
        last = mine[-1] if mine else None
        result.append({
            "cadre_id": cadre["cadre_id"], "rank": cadre["rank"], "township": cadre["township"],
            "status": status, "required": required,
            "interviews_this_year": len(this), "expected_rank_this_year": good_this,
            "last_interview": None if last is None else {
                "interview_id": last["interview_id"], "day": last["day"], "interviewer_id": last["interviewer_id"],
                "interviewer_rank": last["interviewer_rank"], "expected_rank": last["expected_rank"],
            },
        })
    return result, [i for i in judged if i["day"] >= last_year.start]


async def cadres(conn: Any, schema: str, *, rank: str | None = None, status: str | None = None,
                 township: str | None = None, cadre_id: UUID | None = None, limit: int = 100,
                 after: UUID | None = None, as_of: date | None = None) -> dict:
    """A page of active cadres with their year (by cadre id): `{items, next}`; pass `next` as `after`.
    `township` is the cadre's own (none for county-level cadres)."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status is one of {', '.join(STATUSES)}, not {status!r}")
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit is 1 to 1000, not {limit}")
    rows, _ = await _judge_all(conn, schema, as_of)
    chosen = [
        r for r in rows
        if (rank is None or r["rank"] == rank) and (status is None or r["status"] == status)
        and (township is None or r["township"] == township) and (cadre_id is None or r["cadre_id"] == cadre_id)
        and (after is None or r["cadre_id"] > after)
    ]
    page = chosen[:limit]
    return {"items": page, "next": page[-1]["cadre_id"] if len(chosen) > limit else None}


async def coverage_by_rank(conn: Any, schema: str, *, as_of: date | None = None) -> dict:
    """Per rank and for the county: active cadres, those `ok` this year, coverage %, and this year's
    interviews whose interviewer did not have the expected rank."""
    rows, judged = await _judge_all(conn, schema, as_of)
    year = reference_date(as_of).year
    wrong = [i for i in judged if i["day"].year == year and not i["expected_rank"]]

    def figures(group: list[dict], mismatched: int) -> dict:
        ok = sum(1 for r in group if r["status"] == "ok")
        return {"cadres": len(group), "interviewed": ok,
                "coverage_pct": round(100.0 * ok / len(group), 1) if group else None,
                "rank_mismatches": mismatched}

    ranks = sorted({r["rank"] for r in rows})
    return {
        "county": figures(rows, len(wrong)),
        "ranks": [
            {"rank": rank, **figures([r for r in rows if r["rank"] == rank],
                                     sum(1 for i in wrong if i["interviewee_rank"] == rank))}
            for rank in ranks
        ],
    }


async def rank_mismatches(conn: Any, schema: str, *, as_of: date | None = None) -> list[dict]:
    """This year's leader-to-cadre interviews whose interviewer lacked the rank the rule expects."""
    _, judged = await _judge_all(conn, schema, as_of)
    year = reference_date(as_of).year
    return [
        {k: i[k] for k in ("interview_id", "day", "interviewer_id", "interviewer_rank", "interviewee_id",
                           "interviewee_rank")}
        for i in judged if i["day"].year == year and not i["expected_rank"]
    ]


async def active_cadres(conn: Any, schema: str) -> list[UUID]:
    """The county's active cadres now: enrolled and not departed (the one list every page uses)."""
    rows = await conn.fetch(f"SELECT cadre_id FROM {cadres_as_of(schema)} c WHERE NOT departed ORDER BY cadre_id",
                            None)
    return [row["cadre_id"] for row in rows]
