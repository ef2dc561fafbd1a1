"""Property: the issue ledger after incremental batches equals a rebuild, a plain fold and (as_of) a cut rebuild."""
from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import issues
from tests.examples import examples
from tests.integration.projections.ledger_strategies import all_pages, check_read_model, ledger_histories

ADCODE = "469030"
COUNTS = ("total", "open", "overdue", "resolved", "rated", "satisfied")


async def answer(conn, schema, day):
    result = {by: await issues.ledger(conn, schema, by, as_of=day) for by in issues.GROUPINGS}
    result["summary"] = await issues.summary(conn, schema, as_of=day)
    result["all"] = await all_pages(lambda after: issues.issues(conn, schema, limit=4, after=after, as_of=day))
    result["overdue"] = await all_pages(
        lambda after: issues.issues(conn, schema, status="overdue", limit=2, after=after, as_of=day))
    result["of one department"] = await issues.ledger(conn, schema, "category", department="交通局", as_of=day)
    result["agenda"] = await issues.review_agenda(conn, schema, as_of=day)
    return result


def compare(got, fold):
    for by in issues.GROUPINGS:
        assert {r["key"]: {k: r[k] for k in COUNTS} for r in got[by]} == fold.ledger(by), by
    assert {i["issue_id"] for i in got["all"]} == set(fold.issues)
    assert [i["occurred_at"] for i in got["all"]] == sorted((i["occurred_at"] for i in got["all"]), reverse=True)
    assert {i["issue_id"] for i in got["overdue"]} == {k for k, i in fold.issues.items()
                                                        if fold.issue_status(i) == "overdue"}
    assert (sum(r["total"] for r in got["of one department"])
            == sum(i["department"] == "交通局" for i in fold.issues.values()))
    last, agenda = fold.agenda()
    assert got["agenda"]["last_meeting"] == last and {i["issue_id"] for i in got["agenda"]["items"]} == agenda
    assert got["summary"]["total"] == len(fold.issues)


@settings(max_examples=examples(6), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=ledger_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40))
def test_issue_ledger_is_the_same_incrementally_rebuilt_folded_and_cut(database_url, county, events, chunks,
                                                                      batch_size):
    asyncio.run(check_read_model(database_url, county(ADCODE), events, chunks, batch_size, answer, compare))
