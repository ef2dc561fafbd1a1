"""Property: the research read model (projections/research.py), its topics with their state and its per
cadre figures, after incremental batches equals a rebuild, a plain fold of the events and (as_of) a
rebuild of only the events up to that day; the topic list pages (by every filter) through the topics the
fold keeps."""
from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import research
from projections.base import Period
from services.domain import Cadre, ResearchReport, ResearchTopic, clock
from tests.examples import examples
from tests.integration.projections.ledger_strategies import as_of_days, rebuilds_agree, run_history
from tests.integration.projections.strategies import SHANGHAI, START, cutoff, name

ADCODE = "469046"
PERIOD = Period(date(2026, 3, 1), date(2026, 5, 31))


@st.composite
def research_histories(draw: Any) -> list[Any]:
    """Cadres enrolled; topics for one cadre or a team, due before, in and after the period; reports by an
    assignee, some filed (occurred_at) days before they were recorded, several on one topic."""
    events: list[Any] = []
    cadres: list[uuid.UUID] = []
    topics: list[ResearchTopic] = []
    moment = START - timedelta(days=draw(st.integers(0, 30)))
    for made in range(1, draw(st.integers(3, 30)) + 1):
        moment += timedelta(minutes=draw(st.integers(1, 60 * 24 * 6)))
        action = draw(st.sampled_from(["enrol", "assign", "assign", "report", "report", "report"]))
        if not cadres:
            action = "enrol"
        elif action == "report" and not topics:
            action = "assign"
        today = moment.astimezone(SHANGHAI).date()
        with clock.at(moment):
            if action == "enrol":
                cadre = Cadre(id=uuid.UUID(int=made), name=f"干部{made:02d}", rank="staff", unit="组织部",
                              township=None, phone=None)
                cadres.append(cadre.id)
                events += cadre.collect_events()
            elif action == "assign":
                team = draw(st.lists(st.sampled_from(cadres), min_size=1, max_size=3, unique=True))
                due = today + timedelta(days=draw(st.sampled_from([-40, -3, 0, 1, 5, 30, 60])))
                topic = ResearchTopic(id=uuid.UUID(int=made), title=f"课题{made}", description="",
                                      assignee_ids=[str(i) for i in team], due_on=due.isoformat(), assigned_by="admin")
                topics.append(topic)
                events += topic.collect_events()
            else:
                topic = topics[draw(st.integers(0, len(topics) - 1))]
                author = uuid.UUID(draw(st.sampled_from(topic.assignee_ids)))
                filed = moment - timedelta(days=draw(st.sampled_from([0, 0, 2, 9])), hours=draw(st.integers(0, 5)))
                report = ResearchReport(
                    id=uuid.UUID(int=made), topic_id=topic.id, author_id=author, title=f"报告{made}", summary="调研",
                    visit_ids=[], issue_ids=[], filed_by="admin", received_at=moment, occurred_at=filed)
                events += report.collect_events()
    return events


def fold(events: list[Any], as_of: date) -> tuple[list[tuple], list[tuple]]:
    """(every topic as (due_on, id, assignees, reports, state), per cadre rows) from the events in Python."""
    seen = [e for e in events if e.timestamp < cutoff(as_of)]
    names = {e.originator_id: e.name for e in seen if name(e) == "Cadre.Enrolled"}
    topics = {e.originator_id: e for e in seen if name(e) == "ResearchTopic.Assigned"}
    reports = [e for e in seen if name(e) == "ResearchReport.Filed"]
    count = {t: sum(1 for r in reports if r.topic_id == t) for t in topics}

    def state(t: Any) -> str:
        due = date.fromisoformat(topics[t].due_on)
        return "reported" if count[t] else "overdue" if due < as_of else "open"

    listed = sorted(((date.fromisoformat(e.due_on), t, tuple(e.assignee_ids), count[t], state(t))
                     for t, e in topics.items()), reverse=True)
    rows: dict[Any, dict[str, int]] = {}
    for t, e in topics.items():
        if PERIOD.start <= date.fromisoformat(e.due_on) <= PERIOD.end:
            for cadre in e.assignee_ids:
                row = rows.setdefault(uuid.UUID(cadre), {"topics": 0, "reported": 0, "overdue": 0, "open": 0,
                                                         "reports": 0})
                row["topics"] += 1
                row[state(t)] += 1
    for r in reports:
        if PERIOD.start <= r.occurred_at.astimezone(SHANGHAI).date() <= PERIOD.end:
            rows.setdefault(r.author_id, {"topics": 0, "reported": 0, "overdue": 0, "open": 0, "reports": 0})
            rows[r.author_id]["reports"] += 1
    figures = sorted((names.get(c), c, r["topics"], r["reported"], r["overdue"], r["open"], r["reports"])
                     for c, r in rows.items())
    return listed, figures


async def every_topic(conn: Any, schema: str, day: date, **filters: Any) -> list[tuple]:
    items, after = [], None
    while True:
        page = await research.topics(conn, schema, as_of=day, limit=2, after=after, **filters)
        items += [(t["due_on"], t["topic_id"], tuple(str(a["cadre_id"]) for a in t["assignees"]), t["reports"],
                   t["state"]) for t in page["items"]]
        if page["next"] is None:
            return items
        after = page["next"]


async def answer(conn: Any, schema: str, day: date) -> tuple[list[tuple], list[tuple]]:
    rows = await research.by_cadre(conn, schema, PERIOD, as_of=day)
    return await every_topic(conn, schema, day), sorted(
        (r["name"], r["cadre_id"], r["topics"], r["reported"], r["overdue"], r["open"], r["reports"]) for r in rows)


async def check(url: str, schema: str, events: list[Any], chunks: list[int], batch_size: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await run_history(conn, url, schema, events, chunks, batch_size)
        middle, last = as_of_days(events)
        # Also judged on a topic's due day: not yet overdue then, overdue the day after.
        due = [date.fromisoformat(e.due_on) for e in events if name(e) == "ResearchTopic.Assigned"][:1]
        incremental = {day: await answer(conn, schema, day) for day in (middle, last, *due,
                                                                        *(d + timedelta(days=1) for d in due))}
        for day, expected in incremental.items():
            listed, figures = fold(events, day)
            assert expected == (listed, figures), day
            # The filters keep exactly the fold's topics of that state, cadre and period.
            for state in research.TOPIC_STATES:
                assert await every_topic(conn, schema, day, state=state) == [t for t in listed if t[4] == state]
            for cadre in {c for t in listed for c in t[2]}:
                assert await every_topic(conn, schema, day, cadre_id=uuid.UUID(cadre)) == [
                    t for t in listed if cadre in t[2]]
            assert await every_topic(conn, schema, day, period=PERIOD) == [
                t for t in listed if PERIOD.start <= t[0] <= PERIOD.end]
            for topic in listed[:3]:
                detail = await research.topic(conn, schema, topic[1], as_of=day)
                assert detail is not None and (detail["reports"], len(detail["reports_filed"])) == (topic[3], topic[3])
        await rebuilds_agree(conn, url, schema, events, incremental, middle, answer)
    finally:
        await conn.close()


@settings(max_examples=examples(12), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=research_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40))
def test_topics_and_figures_are_the_same_incrementally_rebuilt_folded_and_cut(database_url, county, events, chunks,
                                                                              batch_size):
    asyncio.run(check(database_url, county(ADCODE), events, chunks, batch_size))
