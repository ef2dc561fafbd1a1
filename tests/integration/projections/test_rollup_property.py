"""Property: the province rollup after incremental batches equals a rebuild, a plain fold and (as_of) a cut rebuild."""
from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import rollup
from projections.base import Period
from tests.examples import examples
from tests.integration.projections.ledger_strategies import LedgerFold, check_read_model, ledger_histories

ADCODE = "469030"


async def answer(conn, schema, day):
    return {
        "months": await rollup.county_months(conn, ADCODE, as_of=day),
        "rankings": await rollup.rankings(conn, "460000", Period.month(day.year, day.month), as_of=day),
    }


def _pct(part, whole):
    return round(100.0 * part / whole, 1) if whole else None


def compare(got, fold):
    month = Period.month(fold.as_of.year, fold.as_of.month)
    rows = [r for r in got["months"] if r["month"] == month.start]
    mine = [r for r in got["rankings"] if r["county"] == ADCODE]
    assert mine == [{"rank": mine[0]["rank"], **rows[0]}] if rows else not mine
    if not rows:
        assert not any(e.timestamp.astimezone(month.instants()[0].tzinfo).date() >= month.start
                       for e in fold.events if e.timestamp < month.instants()[1])
        return
    row = rows[0]
    # The row is the month as of its last day with events, no later than the as_of day.
    days = {e.timestamp.astimezone(month.instants()[0].tzinfo).date() for e in fold.events}
    assert row["as_of_date"] == max(d for d in days if month.start <= d <= fold.as_of)
    then = LedgerFold(fold.events, row["as_of_date"], fold.rules)
    places = then.base.coverage(month.start, month.end, "county")
    place = next(iter(places.values()), {"households": 0, "visited_once": 0, "verified_visits": 0})
    assert (row["households"], row["visited"], row["verified_visits"]) == (
        place["households"], place["visited_once"], place["verified_visits"])
    verified = then.base.verified_households(month.start, month.end)
    assert (row["verified_visited"], row["verified_coverage_pct"]) == (verified, _pct(verified, place["households"]))
    start, end = month.instants()
    issues = list(then.issues.values())
    resolved, rated, satisfied = then._period_issue_counts(issues, start, end)
    assert (row["issues_raised"], row["issues_resolved"], row["issues_rated"], row["issues_satisfied"]) == (
        sum(start <= i["occurred_at"] < end for i in issues), resolved, rated, satisfied)
    statuses = [s for s, _, _ in then.pairing_statuses().values()]
    assert (row["pairings"], row["pairings_compliant_pct"]) == (
        len(statuses), _pct(sum(s != "overdue" for s in statuses), len(statuses)))
    talked = [s for s, *_ in then.interview_statuses().values()]
    assert (row["cadres"], row["interview_coverage_pct"]) == (len(talked), _pct(talked.count("ok"), len(talked)))


@settings(max_examples=examples(5), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=ledger_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40))
def test_province_rollup_is_the_same_incrementally_rebuilt_folded_and_cut(database_url, county, events, chunks,
                                                                         batch_size):
    asyncio.run(check_read_model(database_url, county(ADCODE), events, chunks, batch_size, answer, compare))
