"""Property: the composite assessment (projections/assessment.py), each cadre's parts and weighted score
for a period, after incremental batches equals a rebuild, a plain fold of the events and (as_of) a rebuild
of only the events up to that day.

The history: cadres enrolled and departing; democratic evaluation and opinion poll scores entered for the
period, another period, and entered again (the newest counts); research topics due in and out of the
period and reports on them. The county weighs evaluation 40, poll 30, reports 20, interviews 10, so the
score mixes entered scores, a projected part (reports), a part judged on the period's last day
(interviews: nobody is interviewed, so 0 for a cadre in post then) and parts with nothing to judge.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import assessment
from projections.base import Period
from projections.rules import ASSESSMENT_PARTS
from services.domain import AssessmentScore, Cadre, ResearchReport, ResearchTopic, clock
from tests.examples import examples
from tests.integration.projections.ledger_strategies import as_of_days, rebuilds_agree, run_history
from tests.integration.projections.strategies import SHANGHAI, START, cutoff, name

ADCODE = "469047"
PERIOD_TEXT, OTHER_TEXT = "2026-Q1", "2026"
PERIOD = Period.parse(PERIOD_TEXT)
WEIGHTS = {"evaluation": 40, "poll": 30, "reports": 20, "interviews": 10}


@st.composite
def assessment_histories(draw: Any) -> list[Any]:
    events: list[Any] = []
    cadres: dict[uuid.UUID, Cadre] = {}
    topics: list[ResearchTopic] = []
    moment = START - timedelta(days=draw(st.integers(0, 40)))
    for made in range(1, draw(st.integers(3, 24)) + 1):
        moment += timedelta(minutes=draw(st.integers(1, 60 * 24 * 8)))
        action = draw(st.sampled_from(["enrol", "score", "score", "score", "assign", "report", "depart"]))
        active = [i for i, cadre in cadres.items() if not cadre.departed]
        if not active:
            action = "enrol"
        elif action == "report" and not topics:
            action = "assign"
        today = moment.astimezone(SHANGHAI).date()
        with clock.at(moment):
            if action == "enrol":
                cadre = Cadre(id=uuid.UUID(int=made), name=f"干部{made:02d}", rank="staff", unit="组织部",
                              township="469047100", phone=None)
                cadres[cadre.id] = cadre
                events += cadre.collect_events()
            elif action == "depart":
                cadre = cadres[draw(st.sampled_from(active))]
                cadre.depart("调离")
                events += cadre.collect_events()
            elif action == "score":
                entry = AssessmentScore(
                    id=uuid.UUID(int=made), cadre_id=draw(st.sampled_from(list(cadres))),
                    period=draw(st.sampled_from([PERIOD_TEXT, PERIOD_TEXT, OTHER_TEXT])),
                    part=draw(st.sampled_from(["evaluation", "poll"])), score=draw(st.integers(0, 100)),
                    entered_by="admin")
                events += entry.collect_events()
            elif action == "assign":
                team = draw(st.lists(st.sampled_from(active), min_size=1, max_size=2, unique=True))
                due = today + timedelta(days=draw(st.sampled_from([-40, -3, 0, 5, 30])))
                topic = ResearchTopic(id=uuid.UUID(int=made), title=f"课题{made}", description="",
                                      assignee_ids=[str(i) for i in team], due_on=due.isoformat(), assigned_by="admin")
                topics.append(topic)
                events += topic.collect_events()
            else:
                topic = topics[draw(st.integers(0, len(topics) - 1))]
                report = ResearchReport(
                    id=uuid.UUID(int=made), topic_id=topic.id, author_id=uuid.UUID(topic.assignee_ids[0]),
                    title=f"报告{made}", summary="调研", visit_ids=[], issue_ids=[], filed_by="admin",
                    received_at=moment, occurred_at=moment)
                events += report.collect_events()
    return events


def _in_post(events: list[Any], day: date) -> dict[uuid.UUID, str]:
    """Cadres enrolled and not departed as known on the day: id -> name."""
    seen = [e for e in events if e.timestamp < cutoff(day)]
    names = {e.originator_id: e.name for e in seen if name(e) == "Cadre.Enrolled"}
    gone = {e.originator_id for e in seen if name(e) == "Cadre.Departed"}
    return {i: n for i, n in names.items() if i not in gone}


def fold(events: list[Any], as_of: date) -> list[tuple]:
    """Every cadre in post as of the day, with each part and the score, in plain Python, by score."""
    seen = [e for e in events if e.timestamp < cutoff(as_of)]
    judged = _in_post(events, min(as_of, PERIOD.end))
    newest: dict[tuple[uuid.UUID, str], Any] = {}
    for e in seen:
        if name(e) == "AssessmentScore.Entered" and e.period == PERIOD_TEXT:
            key = (e.cadre_id, e.part)
            if key not in newest or (e.timestamp, e.originator_id) > (newest[key].timestamp, newest[key].originator_id):
                newest[key] = e
    topics = {e.originator_id: e for e in seen if name(e) == "ResearchTopic.Assigned"
              if PERIOD.start <= date.fromisoformat(e.due_on) <= PERIOD.end}
    reported = {e.topic_id for e in seen if name(e) == "ResearchReport.Filed"}
    rows = []
    for cadre, cadre_name in _in_post(events, as_of).items():
        mine = [t for t, e in topics.items() if str(cadre) in e.assignee_ids]
        parts: dict[str, float | None] = dict.fromkeys(ASSESSMENT_PARTS)
        parts["interviews"] = 0.0 if cadre in judged else None
        parts["reports"] = 100.0 * sum(1 for t in mine if t in reported) / len(mine) if mine else None
        for part in ("evaluation", "poll"):
            parts[part] = float(newest[(cadre, part)].score) if (cadre, part) in newest else None
        counted = [(w, parts[p]) for p, w in WEIGHTS.items() if parts[p] is not None]
        total = sum(w for w, _ in counted)
        score = round(sum(w * v for w, v in counted) / total, 1) if total else None  # type: ignore[operator]
        rows.append((cadre, cadre_name, score, *(None if parts[p] is None else round(parts[p], 1)  # type: ignore
                                                 for p in ASSESSMENT_PARTS)))
    return sorted(rows, key=lambda r: (r[2] is None, -(r[2] or 0.0), str(r[0])))


async def answer(conn: Any, schema: str, day: date) -> list[tuple]:
    board = await assessment.cadres(conn, schema, PERIOD, limit=1000, as_of=day)
    assert [row["rank"] for row in board["items"]] == list(range(1, board["total"] + 1))
    return [(row["cadre_id"], row["name"], row["score"], *(row[p] for p in ASSESSMENT_PARTS))
            for row in board["items"]]


async def check(url: str, schema: str, events: list[Any], chunks: list[int], batch_size: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE core.counties SET rules = $1::jsonb WHERE adcode = $2",
                           json.dumps({"assessment_weights": WEIGHTS}), ADCODE)
        await run_history(conn, url, schema, events, chunks, batch_size)
        middle, last = as_of_days(events)
        incremental = {day: await answer(conn, schema, day) for day in (middle, last, PERIOD.end)}
        for day, expected in incremental.items():
            assert expected == fold(events, day), day
        await rebuilds_agree(conn, url, schema, events, incremental, middle, answer)
    finally:
        await conn.close()


@settings(max_examples=examples(8), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=assessment_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40))
def test_scores_are_the_same_incrementally_rebuilt_folded_and_cut(database_url, county, events, chunks, batch_size):
    asyncio.run(check(database_url, county(ADCODE), events, chunks, batch_size))
