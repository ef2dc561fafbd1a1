"""Property: running totals (`projections.running`) answer "as of D" with the sum of every delta recorded
on or before D, whatever order the batches bring the days in. Late days (a delta on a day before the
key's latest row, as a racing writer's older event makes) take the second pass of `RunningTotals.add`,
which the read models' property tests, whose events come in time order, never reach."""
from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, timedelta
from uuid import uuid4

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.running import RunningTotals
from tests.examples import examples

TOTALS = RunningTotals("running_test", [("key", "text")], [("count", "int"), ("big", "numeric")])
FIRST = date(2026, 1, 1)
DAYS = 12

deltas = st.tuples(st.sampled_from("abc"), st.integers(0, DAYS - 1), st.integers(-3, 3), st.integers(-2 ** 70, 2 ** 70))
batches = st.lists(st.lists(deltas, min_size=1, max_size=8), min_size=1, max_size=6)


async def check(url: str, history: list[list[tuple[str, int, int, int]]]) -> None:
    schema = f"running_{uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(TOTALS.ddl().format(schema=schema))
        folded: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        for batch in history:
            changes: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
            for key, offset, count, big in batch:
                day = FIRST + timedelta(days=offset)
                for totals in (changes[(key, day)], folded[key][day]):
                    totals[0] += count
                    totals[1] += big
            async with conn.transaction():
                await TOTALS.add(conn, schema, dict(changes))
        rows = await conn.fetch(f"SELECT * FROM {schema}.running_test")
        stored = {(r["key"], r["day"]): TOTALS.read(r) for r in rows}
        for key in "abc":
            for offset in range(DAYS + 1):
                day = FIRST + timedelta(days=offset)
                expected = [sum(v[i] for d, v in folded[key].items() if d <= day) for i in range(2)]
                latest = max((d for k, d in stored if k == key and d <= day), default=None)
                got = stored[(key, latest)] if latest is not None else [0, 0]
                assert got == expected, (key, day, got, expected)
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=batches)
def test_running_totals_as_of_any_day_are_the_sum_of_the_deltas_up_to_it(database_url, history):
    asyncio.run(check(database_url, history))
