"""Property: every row the rollup keeps by applying deltas equals a plain recomputation of its day.

Random histories (voids, relocations, archives, pairings ending, check-ins, interviews and issues
synced late, months and quarters rolling over) are followed by the real driver in random batches;
then each stored row (county, as_of_date D) must hold exactly what a plain fold of the events
recorded up to D says about D's month, `county_months` as of random days must pick those rows, and
a rebuild from the log must write the same rows.
"""
from __future__ import annotations

import asyncio
from datetime import date, timedelta

import asyncpg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import rollup
from projections.base import Period, local_date
from projections.rebuild import rebuild_county
from projections.registry import PROJECTIONS
from projections.rules import Rules
from tests.examples import examples
from tests.integration.projections.ledger_strategies import LedgerFold, ledger_histories, run_history

ADCODE = "469030"


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def recomputed(events: list, day: date) -> dict:
    """The figures of `day`'s month as of `day`, from the events recorded up to it, in plain Python."""
    fold = LedgerFold(events, day, Rules())
    month = Period.month(day.year, day.month)
    places = fold.base.coverage(month.start, month.end, "county")
    place = next(iter(places.values()), {"households": 0, "visited_once": 0, "verified_visits": 0})
    verified = fold.base.verified_households(month.start, month.end)
    start, end = month.instants()
    issues = list(fold.issues.values())
    resolved, rated, satisfied = fold._period_issue_counts(issues, start, end)
    pairings = [s for s, _, _ in fold.pairing_statuses().values()]
    talked = [s for s, *_ in fold.interview_statuses().values()]
    return {
        "county": ADCODE, "month": month.start, "as_of_date": day,
        "households": place["households"], "visited": place["visited_once"],
        "coverage_pct": _pct(place["visited_once"], place["households"]),
        "verified_visits": place["verified_visits"], "verified_visited": verified,
        "verified_coverage_pct": _pct(verified, place["households"]),
        "issues_raised": sum(start <= i["occurred_at"] < end for i in issues), "issues_resolved": resolved,
        "issues_rated": rated, "issues_satisfied": satisfied, "satisfaction_pct": _pct(satisfied, rated),
        "pairings": len(pairings), "pairings_compliant_pct": _pct(sum(s != "overdue" for s in pairings), len(pairings)),
        "cadres": len(talked), "interview_coverage_pct": _pct(talked.count("ok"), len(talked)),
    }


async def stored_rows(conn: asyncpg.Connection) -> list[dict]:
    rows = await conn.fetch("SELECT * FROM rollup.rollup_county_months WHERE county = $1 ORDER BY as_of_date", ADCODE)
    return [{"county": r["county"], "month": r["month"], "as_of_date": r["as_of_date"],
             **{f: r[f] for f in rollup.FIGURES}} for r in rows]


async def check(url: str, schema: str, events: list, chunks: list[int], batch_size: int, offsets: list[int]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await run_history(conn, url, schema, events, chunks, batch_size)
        rows = await stored_rows(conn)
        days = sorted({local_date(e.timestamp) for e in events})
        assert [r["as_of_date"] for r in rows] == days  # one row per day with events
        for row in rows:
            assert row == recomputed(events, row["as_of_date"]), row["as_of_date"]
        by_day = {r["as_of_date"]: r for r in rows}
        for offset in offsets:  # as_of a random day: per month, the latest row up to it
            as_of = days[0] + timedelta(days=offset)
            months = await rollup.county_months(conn, ADCODE, as_of=as_of)
            latest = {}
            for day in days:
                if day <= as_of:
                    latest[day.replace(day=1)] = day
            assert [m["as_of_date"] for m in months] == [latest[m] for m in sorted(latest)]
            assert all(m == by_day[m["as_of_date"]] for m in months)
        await rebuild_county(conn, schema, PROJECTIONS)
        assert await stored_rows(conn) == rows, "a rebuild wrote other rows"
    finally:
        await conn.close()


@settings(max_examples=examples(25), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=ledger_histories(min_steps=10, max_steps=70), chunks=st.lists(st.integers(1, 30), min_size=1, max_size=4),
       batch_size=st.integers(1, 50), offsets=st.lists(st.integers(-3, 400), min_size=1, max_size=5))
def test_rollup_rows_kept_by_deltas_equal_a_plain_recomputation_of_their_day(database_url, county, events, chunks,
                                                                            batch_size, offsets):
    asyncio.run(check(database_url, county(ADCODE), events, chunks, batch_size, offsets))
