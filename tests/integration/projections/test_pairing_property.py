"""Property: pairing compliance after incremental batches equals a rebuild, a plain fold and (as_of) a cut rebuild."""
from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import pairing
from tests.examples import examples
from tests.integration.projections.ledger_strategies import all_pages, check_read_model, ledger_histories

ADCODE = "469030"


async def answer(conn, schema, day):
    return {
        "pairings": await all_pages(lambda after: pairing.pairings(conn, schema, limit=3, after=after, as_of=day)),
        "quotas": await pairing.quotas(conn, schema, as_of=day),
        "summary": await pairing.summary(conn, schema, as_of=day),
        "by_cadre": await pairing.by_cadre(conn, schema, as_of=day),
    }


def compare(got, fold):
    assert {p["pairing_id"]: (p["status"], p["due_date"], p["last_visit"]) for p in got["pairings"]} \
        == fold.pairing_statuses()
    assert {q["cadre_id"]: (q["compliant"], [(r["rule"], r["actual"]) for r in q["quotas"]]) for q in got["quotas"]} \
        == fold.quotas()
    assert got["summary"]["overdue"] == sum(s == "overdue" for s, _, _ in fold.pairing_statuses().values())
    assert (got["summary"]["cadres"], got["summary"]["cadres_meeting_quotas"]) \
        == (len(fold.quotas()), sum(compliant for compliant, _ in fold.quotas().values()))
    assert got["by_cadre"] == fold.pairing_by_cadre()


@settings(max_examples=examples(6), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=ledger_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40))
def test_pairing_compliance_is_the_same_incrementally_rebuilt_folded_and_cut(database_url, county, events, chunks,
                                                                            batch_size):
    asyncio.run(check_read_model(database_url, county(ADCODE), events, chunks, batch_size, answer, compare))
