"""Property: the summary-based answers (leaderboards' tallies, pairings judged by index probes,
interview and issue figures) equal a plain recomputation from the events for random periods (year,
quarter, month, arbitrary ranges) and random `as_of` days, including days before, inside and long
after the history."""
from __future__ import annotations

import asyncio
from datetime import date, timedelta

import asyncpg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import interviews, leaderboards, pairing
from projections.base import Period
from projections.rules import Rules
from tests.examples import examples
from tests.integration.projections.ledger_strategies import (
    LedgerFold, all_pages, ledger_histories, run_history, township_board,
)
from tests.integration.projections.test_leaderboards_property import FIGURES

ADCODE = "469030"
FIRST, LAST = date(2026, 3, 1), date(2027, 3, 31)


@st.composite
def periods(draw):
    day = draw(st.dates(FIRST, LAST))
    kind = draw(st.sampled_from(["year", "quarter", "month", "range", "range"]))
    if kind == "year":
        return Period.year(day.year)
    if kind == "quarter":
        return Period.quarter(day.year, (day.month - 1) // 3 + 1)
    if kind == "month":
        return Period.month(day.year, day.month)
    return Period(day, day + timedelta(days=draw(st.integers(0, 120))))


async def check(url, schema, events, chunks, batch_size, asked):
    conn = await asyncpg.connect(url)
    try:
        await run_history(conn, url, schema, events, chunks, batch_size)
        for as_of, period in asked:
            fold = LedgerFold(events, as_of, Rules())
            first, last = period.start, period.end
            board = await leaderboards.cadres(conn, schema, period, limit=1000, as_of=as_of)
            assert {i["cadre_id"]: tuple(i[f] for f in FIGURES) for i in board["items"]} \
                == fold.cadre_board(first, last), (as_of, period)
            towns = await leaderboards.townships(conn, schema, period, limit=1000, as_of=as_of)
            assert {t["township"]: tuple(t[f] for f in FIGURES) for t in towns["items"]} \
                == township_board(fold, first, last), (as_of, period)
            statuses = fold.pairing_statuses()
            listed = await all_pages(
                lambda after, day=as_of: pairing.pairings(conn, schema, limit=4, after=after, as_of=day))
            assert {p["pairing_id"]: (p["status"], p["due_date"], p["last_visit"]) for p in listed} == statuses
            compliance = await pairing.compliance(conn, schema, as_of=as_of)
            assert [compliance[s] for s in ("pairings", "ok", "due", "overdue")] == [
                len(statuses), *(sum(v[0] == s for v in statuses.values()) for s in ("ok", "due", "overdue"))]
            for status in ("ok", "due", "overdue"):
                chosen = await all_pages(lambda after, day=as_of, status=status: pairing.pairings(
                    conn, schema, status=status, limit=2, after=after, as_of=day))
                assert {p["pairing_id"] for p in chosen} == {k for k, v in statuses.items() if v[0] == status}
            # Without as_of: every event (the fold's cutoff after them all).
            everything = LedgerFold(events, date(2100, 1, 1), Rules())
            board = await leaderboards.cadres(conn, schema, period, limit=1000)
            assert {i["cadre_id"]: tuple(i[f] for f in FIGURES) for i in board["items"]} \
                == everything.cadre_board(first, last), period
            towns = await leaderboards.townships(conn, schema, period, limit=1000)
            assert {t["township"]: tuple(t[f] for f in FIGURES) for t in towns["items"]} \
                == township_board(everything, first, last), period
            quotas = await pairing.quotas(conn, schema)
            assert {q["cadre_id"]: (q["compliant"], [(r["rule"], r["actual"]) for r in q["quotas"]]) for q in quotas} \
                == everything.quotas()
            expected = fold.interview_statuses()
            county = (await interviews.coverage_by_rank(conn, schema, as_of=as_of))["county"]
            assert (county["cadres"], county["interviewed"]) == (
                len(expected), sum(s == "ok" for s, *_ in expected.values())), as_of
    finally:
        await conn.close()


@settings(max_examples=examples(8), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=ledger_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40),
       asked=st.lists(st.tuples(st.dates(FIRST, LAST), periods()), min_size=1, max_size=5))
def test_summaries_answer_any_period_as_of_any_day_as_a_plain_recomputation(database_url, county, events, chunks,
                                                                          batch_size, asked):
    asyncio.run(check(database_url, county(ADCODE), events, chunks, batch_size, asked))
