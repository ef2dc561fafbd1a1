"""Property: the quota shortfall table (kept current in `pairing_quotas`) after incremental batches equals
a rebuild's, the cadres the per-read judgement (`pairing.quotas`) finds short, and a plain fold's."""
from __future__ import annotations

import asyncio

import asyncpg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import pairing
from projections.rebuild import rebuild_county
from projections.registry import PROJECTIONS
from projections.rules import Rules
from tests.integration.projections.ledger_strategies import (
    LedgerFold, all_pages, as_of_days, ledger_histories, run_history,
)

ADCODE = "469036"


async def short_now(conn, schema) -> dict:
    rows = await all_pages(lambda after: pairing.shortfalls(conn, schema, limit=2, after=after))
    return {row["cadre_id"]: row for row in rows}


async def check(url: str, schema: str, events, chunks, batch_size) -> None:
    conn = await asyncpg.connect(url)
    try:
        await run_history(conn, url, schema, events, chunks, batch_size)
        incremental = await short_now(conn, schema)
        judged = {q["cadre_id"]: q for q in await pairing.quotas(conn, schema)}
        assert set(incremental) == {cadre for cadre, q in judged.items() if not q["compliant"]}
        for cadre, row in incremental.items():
            assert (row["rank"], row["pairings"], row["quotas"]) == (
                judged[cadre]["rank"], judged[cadre]["pairings"], judged[cadre]["quotas"])
            assert row["shortfall"] == max(q["required"] - q["actual"] for q in row["quotas"]) > 0
        fold = LedgerFold(events, as_of_days(events)[1], Rules()).quotas()
        assert set(incremental) == {cadre for cadre, (compliant, _) in fold.items() if not compliant}
        assert {cadre: [(q["rule"], q["actual"]) for q in row["quotas"]] for cadre, row in incremental.items()} \
            == {cadre: figures for cadre, (compliant, figures) in fold.items() if not compliant}
        await rebuild_county(conn, schema, PROJECTIONS)
        assert await short_now(conn, schema) == incremental, "a rebuild differs"
    finally:
        await conn.close()


@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=ledger_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40))
def test_shortfalls_are_the_same_incrementally_rebuilt_judged_afresh_and_folded(database_url, county, events, chunks,
                                                                              batch_size):
    asyncio.run(check(database_url, county(ADCODE), events, chunks, batch_size))
