"""Property: the monthly review's decisions and minutes (projections/reviews.py) after incremental batches
equal a rebuild, a plain fold of the events and (as_of) a rebuild of only the events up to that day."""
from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import reviews
from projections.rebuild import rebuild_county
from projections.registry import PROJECTIONS
from services.domain import Issue, ReviewMinutes, clock
from tests.examples import examples
from tests.integration.projections.ledger_strategies import as_of_days, before, run_history
from tests.integration.projections.strategies import SHANGHAI, START, cutoff, name, store_events

ADCODE = "469001"
MONTHS = ["2026-03", "2026-04"]


@st.composite
def review_histories(draw: Any) -> list[Any]:
    """Issues raised and put on the agenda, then decisions (also a second one on the same issue), other
    routes and minutes saved again and again, at drawn moments."""
    events: list[Any] = []
    issues: list[Issue] = []
    moment = START
    for step in range(draw(st.integers(3, 25))):
        moment += timedelta(minutes=draw(st.integers(1, 60 * 24 * 6)))
        action = draw(st.sampled_from(["raise", "decide", "decide", "route", "minutes"])) if issues else "raise"
        with clock.at(moment):
            if action == "raise":
                issue = Issue(id=uuid.UUID(int=step + 1), source_kind="visit", source_id=None, household_id=None,
                              village="469001100201", category="roads", summary="", raised_by=None,
                              occurred_at=moment)
                issue.route("monthly_review", None, None, "admin")
                issues.append(issue)
                events += issue.collect_events()
                continue
            if action == "minutes":
                minutes = ReviewMinutes(id=uuid.UUID(int=1000 + step), month=draw(st.sampled_from(MONTHS)),
                                        minutes=f"纪要 {step}", attendees=["部长"] * draw(st.integers(0, 2)),
                                        recorded_by="admin")
                events += minutes.collect_events()
                continue
            issue = issues[draw(st.integers(0, len(issues) - 1))]
            if issue.state not in ("raised", "routed", "reopened"):
                continue
            deadline = (moment.astimezone(SHANGHAI).date() + timedelta(days=draw(st.integers(0, 30)))).isoformat()
            if action == "decide":
                issue.decide(draw(st.sampled_from(MONTHS)), draw(st.sampled_from(["zhujian", "交通局"])), deadline,
                             f"决定 {step}", "admin")
            else:
                issue.route("department", "水务局", deadline, "admin")  # a route no meeting decided
            events += issue.collect_events()
    return events


def fold(events: list[Any], day: Any) -> dict[str, Any]:
    """The answers from the events in plain Python: decisions in the order recorded, the last minutes."""
    seen = [e for e in events if e.timestamp < cutoff(day)]
    answer: dict[str, Any] = {}
    for month in MONTHS:
        decided = sorted(((e.timestamp, e.originator_id, e.department, e.deadline, e.decision) for e in seen
                          if name(e) == "Issue.Routed" and getattr(e, "decision", None) is not None
                          and e.meeting == month), key=lambda d: (d[0], d[1]))
        saved = [e for e in seen if name(e) == "ReviewMinutes.Recorded" and e.month == month]
        answer[month] = ([d[1:] for d in decided],
                         None if not saved else (saved[-1].minutes, list(saved[-1].attendees)))
    return answer


async def answer(conn: Any, schema: str, day: Any) -> dict[str, Any]:
    result = {}
    for month in MONTHS:
        decided = await reviews.decisions(conn, schema, month, as_of=day)
        minutes = await reviews.minutes(conn, schema, month, as_of=day)
        result[month] = ([(d["issue_id"], d["department"], d["deadline"].isoformat(), d["decision"]) for d in decided],
                         None if minutes is None else (minutes["minutes"], minutes["attendees"]))
    return result


async def check(url: str, schema: str, events: list[Any], chunks: list[int], batch_size: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await run_history(conn, url, schema, events, chunks, batch_size)
        middle, last = as_of_days(events)
        incremental = {day: await answer(conn, schema, day) for day in (middle, last)}
        await rebuild_county(conn, schema, PROJECTIONS)
        for day, expected in incremental.items():
            assert await answer(conn, schema, day) == expected, f"rebuild differs on {day}"
            assert expected == fold(events, day), day
        await run_history(conn, url, schema, [], [1], 1)
        await store_events(conn, schema, before(events, middle))
        await rebuild_county(conn, schema, PROJECTIONS)
        assert await answer(conn, schema, middle) == incremental[middle], f"as_of {middle} differs from a cut rebuild"
    finally:
        await conn.close()


@settings(max_examples=examples(6), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=review_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40))
def test_decisions_and_minutes_are_the_same_incrementally_rebuilt_folded_and_cut(database_url, county, events, chunks,
                                                                                batch_size):
    asyncio.run(check(database_url, county(ADCODE), events, chunks, batch_size))
