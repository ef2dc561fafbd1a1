"""The composite assessment (三维考核, Chongqing: results 60 %, democratic evaluation and opinion polls 30 % …):
the democratic evaluation and opinion poll scores admins enter, and each cadre's and township's weighted
score for a period.

Own table: every score entered (`AssessmentScore.Entered`), kept as a fact; a cadre's score for a period
and part is the newest entry recorded before the cutoff (ties: the greater entry id), so `as_of` a day
before a correction answers the first entry.

The score of a cadre for a period P (a year or a quarter; any period the leaderboards take), as known on
day D (`as_of`, default today), each part 0–100 or null when there is nothing to judge:
- `completeness`: of the cadre's active pairings, those with a verified visit in their current cadence
  period (`projections.pairing.by_cadre`);
- `pairing`: of the cadre's active pairings, those not overdue (same);
- `interviews`: the cadre's interviews this year by an expected interviewer against the county's
  `interviews_per_year`, at most 100 (`projections.interviews.interviewed`);
- `resolution`: of the issues the cadre raised in P, those standing resolved (`projections.issues.by_raiser`);
- `satisfaction`: of the cadre's issues rated in P, satisfied or basically satisfied (same);
- `receptions`: of the cadre's scheduled reception days in P already past, those held (`projections.receptions`);
- `reports`: of the research topics assigned to the cadre due in P, those reported (`projections.research`);
- `evaluation`, `poll`: the scores entered for exactly P (a year's or a quarter's).
Pairing compliance, completeness and interview coverage are judged on P's last day, or on D if earlier.

`score` = Σ weight × part / Σ weight over the parts with a figure (a part with nothing to judge, such
as receptions where none are scheduled, leaves the others to carry the score), rounded to 0.1; null when
the county set no weights (`Rules.assessment_weights`) or no weighted part has a figure. Parts are rounded
to 0.1 after the score is computed. A township's score is the mean of the scores of the cadres posted to
it (those with a score); the county's mean is the mean over all its cadres with a score.

Cost: O(the county's cadres) for a board: each part is one grouped query over its read model (no loop
over households); a changed weight changes no table, so the score follows a rules change at once, and every
`as_of` is judged by the weights in force (history re-judged, as a rules change does elsewhere by a rebuild). The
province's ranking reads each county's mean from `assessment_means`, computed again only for a county
whose projected position or rules changed since (`county_mean`).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from asyncpg import Record

from projections import interviews, issues, pairing, receptions, research
from projections.base import Period, Projection, event_name, recorded_before, reference_date
from projections.base import as_uuid as _uuid  # one definition for every read model
from projections.rules import ASSESSMENT_PARTS, AssessmentPart, Rules, load_rules
from services.storage.connections import AsyncConnection
from services.storage.names import adcode_of

ENTERED = ("evaluation", "poll")

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.assessment_scores ("
    " entry_id uuid PRIMARY KEY, cadre_id uuid NOT NULL, period_start date NOT NULL, period_end date NOT NULL,"
    " part text NOT NULL, score int NOT NULL, entered_by text NOT NULL, recorded_at timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS assessment_scores_period ON {schema}.assessment_scores"
    " (period_start, period_end, cadre_id, part, recorded_at)",
    # The county's mean for a period as of a day, kept by `county_mean` (not by `apply`: it is a cache) with
    # the basis it was computed on: the county's projected position and its rules. A new event or a rules
    # change gives another basis, so the row is computed again when next asked.
    "CREATE TABLE IF NOT EXISTS {schema}.assessment_means ("
    " period_start date NOT NULL, period_end date NOT NULL, as_of_date date NOT NULL, basis text NOT NULL,"
    " score float8, cadres int NOT NULL, scored int NOT NULL, PRIMARY KEY (period_start, period_end, as_of_date))",
]


class Assessment(Projection):
    name = "assessment"
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        rows = []
        for event in events:
            if event_name(event) == "AssessmentScore.Entered":
                period = Period.parse(event.period)
                rows.append((event.originator_id, _uuid(event.cadre_id), period.start, period.end, event.part,
                             event.score, event.entered_by, event.timestamp))
        if rows:
            await conn.executemany(
                f"INSERT INTO {schema}.assessment_scores VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT DO NOTHING", rows)


projection = Assessment()


async def entered(conn: AsyncConnection, schema: str, period: Period, *, cadre_ids: Sequence[UUID] | None = None,
                  as_of: date | None = None) -> dict[UUID, dict[str, int]]:
    """cadre id -> {part: score} entered for exactly this period, the newest known on the day."""
    rows = await conn.fetch(
        f"SELECT DISTINCT ON (cadre_id, part) cadre_id, part, score FROM {schema}.assessment_scores"
        " WHERE period_start = $1 AND period_end = $2 AND recorded_at < coalesce($3::timestamptz, 'infinity')"
        " AND ($4::uuid[] IS NULL OR cadre_id = ANY($4::uuid[]))"
        " ORDER BY cadre_id, part, recorded_at DESC, entry_id DESC",
        period.start, period.end, recorded_before(as_of), None if cadre_ids is None else list(cadre_ids))
    scores: dict[UUID, dict[str, int]] = {}
    for row in rows:
        scores.setdefault(row["cadre_id"], {})[row["part"]] = row["score"]
    return scores


def _pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def weighted(parts: Mapping[str, float | None], weights: Mapping[AssessmentPart, int] | None) -> float | None:
    """The composite score of one cadre's parts (see the module doc), unrounded."""
    if not weights:
        return None
    counted = [(weight, value) for part, weight in weights.items() if weight and (value := parts.get(part)) is not None]
    total = sum(weight for weight, _ in counted)
    return sum(weight * value for weight, value in counted) / total if total else None


async def parts(conn: AsyncConnection, schema: str, period: Period, cadre_ids: Sequence[UUID], *,
                as_of: date | None = None, rules: Rules | None = None) -> dict[UUID, Scored]:
    """cadre id -> its parts unrounded and its score rounded (see the module doc) for these cadres."""
    rules = rules or await load_rules(conn, adcode_of(schema))
    ids = list(cadre_ids)
    judged_on = min(reference_date(as_of), period.end)
    judged = None if as_of is None and judged_on == reference_date(None) else judged_on
    # Every cadre's rows, not just these: a board scores the county's active cadres, and sending 3,000 ids to
    # each query and matching them cost more (county290k) than the few other cadres' rows.
    pairs = await pairing.by_cadre(conn, schema, as_of=judged)
    talks = await interviews.interviewed(conn, schema, as_of=judged)
    raised = await issues.by_raiser(conn, schema, period, as_of=as_of)
    topics = {r["cadre_id"]: r for r in await research.by_cadre(conn, schema, period, as_of=as_of)}
    received = await receptions.kept(conn, schema, period, as_of=as_of)
    scores = await entered(conn, schema, period, as_of=as_of)
    answer: dict[UUID, Scored] = {}
    for cadre in ids:
        held, kept, verified = pairs.get(cadre, (0, 0, 0))
        mine = raised.get(cadre, {"raised": 0, "raised_resolved": 0, "rated": 0, "satisfied": 0})
        topic = topics.get(cadre, {"topics": 0, "reported": 0})
        due, on_schedule = received.get(cadre, (0, 0))
        figures: dict[str, float | None] = {
            "completeness": _pct(verified, held), "pairing": _pct(kept, held),
            "interviews": min(100.0, _pct(talks[cadre], rules.interviews_per_year) or 0.0) if cadre in talks else None,
            "resolution": _pct(mine["raised_resolved"], mine["raised"]),
            "satisfaction": _pct(mine["satisfied"], mine["rated"]),
            "receptions": _pct(on_schedule, due), "reports": _pct(topic["reported"], topic["topics"]),
            **{part: float(value) if (value := scores.get(cadre, {}).get(part)) is not None else None
               for part in ENTERED},
        }
        total = weighted(figures, rules.assessment_weights)
        answer[cadre] = Scored(figures, None if total is None else round(total, 1))
    return answer


@dataclass(frozen=True)
class Scored:
    """One cadre's parts (unrounded: only the rows shown are rounded) and its score, rounded to 0.1."""

    figures: dict[str, float | None]
    score: float | None

    def shown(self) -> dict[str, Any]:
        """The parts and the score as a board shows them: each part rounded to 0.1."""
        return {**{p: None if (v := self.figures[p]) is None else round(v, 1) for p in ASSESSMENT_PARTS},
                "score": self.score}


def _ranked(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """By score (none last), then `key` ascending; numbered from 1."""
    return [{"rank": i, **row} for i, row in enumerate(sorted(rows, key=lambda r: _order(r["score"], r[key])), 1)]


def _order(score: float | None, key: Any) -> tuple[bool, float, str]:
    return score is None, -(score or 0.0), str(key)


async def _scored(conn: AsyncConnection, schema: str, period: Period, as_of: date | None,
                  rules: Rules | None = None) -> tuple[Rules, dict[UUID, Record], dict[UUID, Scored]]:
    """(the rules, the county's active cadres as of the day in the board's order, each one's parts and score).
    The means over them are summed in that order, as they always were: a float sum depends on its order."""
    from projections.leaderboards import known_cadres

    rules = rules or await load_rules(conn, adcode_of(schema))
    known = {k: v for k, v in (await known_cadres(conn, schema, as_of)).items() if not v["departed"]}
    scored = await parts(conn, schema, period, list(known), as_of=as_of, rules=rules)
    ordered = sorted(known, key=lambda cadre: _order(scored[cadre].score, cadre))
    return rules, {cadre: known[cadre] for cadre in ordered}, scored


async def cadres(conn: AsyncConnection, schema: str, period: Period, *, limit: int = 20, offset: int = 0,
                 as_of: date | None = None) -> dict[str, Any]:
    """The county's active cadres as of the day ranked by score, each with its parts: `{total, weights,
    items: [{rank, cadre_id, name, township, score, parts…}]}`. Every cadre is scored to rank them, and only
    the page's rows are built: building 3,000 cadres' rows took most of a board's time at county290k."""
    rules, known, scored = await _scored(conn, schema, period, as_of)
    items = [{"rank": rank, "cadre_id": cadre, "name": known[cadre]["name"], "township": known[cadre]["township"],
              **scored[cadre].shown()}
             for rank, cadre in enumerate(list(known)[offset:offset + limit], start=offset + 1)]
    return {"total": len(known), "weights": rules.assessment_weights, "items": items}


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


async def townships(conn: AsyncConnection, schema: str, period: Period, *, limit: int = 50, offset: int = 0,
                    as_of: date | None = None) -> dict[str, Any]:
    """Townships ranked by the mean score of the cadres posted to them: `{total, weights, items: [{rank,
    township, score, cadres, scored, parts…}]}` (each part the mean of its cadres' parts with a figure)."""
    rules, known, scored = await _scored(conn, schema, period, as_of)
    towns: dict[str, list[dict[str, Any]]] = {}
    for cadre, row in known.items():
        if row["township"] is not None:
            towns.setdefault(row["township"], []).append(scored[cadre].shown())
    rows = [{"township": town, "cadres": len(members),
             "scored": sum(1 for m in members if m["score"] is not None),
             **{p: _mean([m[p] for m in members if m[p] is not None]) for p in (*ASSESSMENT_PARTS, "score")}}
            for town, members in towns.items()]
    ranked = _ranked(rows, "township")
    return {"total": len(ranked), "weights": rules.assessment_weights, "items": ranked[offset:offset + limit]}


async def county_mean(conn: AsyncConnection, schema: str, period: Period, *, as_of: date | None = None,
                      position: int | None = None, rules: Rules | None = None) -> dict[str, Any]:
    """`{score, cadres, scored}`: the mean score of the county's cadres with a score, as of the day (default
    today). With the county's projected `position` (`core.projection_positions`), the answer is kept in
    `assessment_means` and read back while that position and the rules stay: a province's ranking then
    costs one probe per county, and a county's cadres are scored again only after its figures moved."""
    rules = rules or await load_rules(conn, adcode_of(schema))
    day = reference_date(as_of)
    basis = None if position is None else f"{position}:{hashlib.sha256(rules.model_dump_json().encode()).hexdigest()}"
    if basis is not None:
        kept = await conn.fetchrow(
            f"SELECT score, cadres, scored FROM {schema}.assessment_means WHERE period_start = $1 AND period_end = $2"
            " AND as_of_date = $3 AND basis = $4", period.start, period.end, day, basis)
        if kept is not None:
            return dict(kept)
    _, known, scored = await _scored(conn, schema, period, day, rules)
    values = [score for cadre in known if (score := scored[cadre].score) is not None]
    mean = {"score": _mean(values), "cadres": len(known), "scored": len(values)}
    if basis is not None:
        await conn.execute(
            f"INSERT INTO {schema}.assessment_means VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (period_start, period_end, as_of_date) DO UPDATE SET basis = excluded.basis,"
            " score = excluded.score, cadres = excluded.cadres, scored = excluded.scored",
            period.start, period.end, day, basis, mean["score"], mean["cadres"], mean["scored"])
    return mean
