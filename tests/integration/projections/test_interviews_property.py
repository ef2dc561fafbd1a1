"""Property: interview coverage after incremental batches equals a rebuild, a plain fold and (as_of) a cut rebuild."""
from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import interviews
from tests.examples import examples
from tests.integration.projections.ledger_strategies import all_pages, check_read_model, ledger_histories

ADCODE = "469030"


async def answer(conn, schema, day):
    return {
        "cadres": await all_pages(lambda after: interviews.cadres(conn, schema, limit=3, after=after, as_of=day)),
        "by_rank": await interviews.coverage_by_rank(conn, schema, as_of=day),
        "mismatches": await interviews.rank_mismatches(conn, schema, as_of=day),
    }


def compare(got, fold):
    expected = fold.interview_statuses()
    assert {c["cadre_id"]: (c["status"], c["interviews_this_year"], c["expected_rank_this_year"],
                            c["last_interview"] and c["last_interview"]["interview_id"])
            for c in got["cadres"]} == expected
    assert {m["interview_id"] for m in got["mismatches"]} == fold.rank_mismatches()
    county = got["by_rank"]["county"]
    assert (county["cadres"], county["interviewed"]) == (len(expected), sum(s == "ok" for s, *_ in expected.values()))
    assert sum(r["cadres"] for r in got["by_rank"]["ranks"]) == county["cadres"]


@settings(max_examples=examples(6), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=ledger_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40))
def test_interview_coverage_is_the_same_incrementally_rebuilt_folded_and_cut(database_url, county, events, chunks,
                                                                            batch_size):
    asyncio.run(check_read_model(database_url, county(ADCODE), events, chunks, batch_size, answer, compare))
