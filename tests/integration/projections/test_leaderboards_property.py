"""Property: leaderboards after incremental batches equal a rebuild, a plain fold and (as_of) a cut rebuild."""
from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import leaderboards
from projections.base import Period
from tests.examples import examples
from tests.integration.projections.ledger_strategies import check_read_model, ledger_histories, township_board

ADCODE = "469030"
FIGURES = ("verified_visits", "distinct_households", "issues_resolved", "satisfaction_pct")


def _periods(day):
    return {"month": Period.month(day.year, day.month), "year": Period.year(day.year)}


async def answer(conn, schema, day):
    result = {}
    for label, period in _periods(day).items():
        for by in FIGURES:
            result[f"cadres {label} {by}"] = await leaderboards.cadres(conn, schema, period, by=by, limit=1000,
                                                                        as_of=day)
        result[f"townships {label}"] = await leaderboards.townships(conn, schema, period, as_of=day)
        result[f"places {label}"] = {
            row["cadre_id"]: await leaderboards.township_place(conn, schema, period, row["cadre_id"], as_of=day)
            for row in result[f"cadres {label} verified_visits"]["items"]}
    return result


def _order(rows, by):
    """The documented tie-breaking, written out: chosen figure, the others in order, then id."""
    others = [f for f in FIGURES if f != by]

    def key(item):
        cadre_id, figures = item
        values = dict(zip(FIGURES, figures, strict=True))
        return tuple(-(values[f] if values[f] is not None else -1) for f in [by, *others]) + (str(cadre_id),)

    return [cadre_id for cadre_id, _ in sorted(rows.items(), key=key)]


def compare(got, fold):
    for label, period in _periods(fold.as_of).items():
        expected = fold.cadre_board(period.start, period.end)
        for by in FIGURES:
            board = got[f"cadres {label} {by}"]
            assert {i["cadre_id"]: tuple(i[f] for f in FIGURES) for i in board["items"]} == expected, (label, by)
            assert [i["cadre_id"] for i in board["items"]] == _order(expected, by), (label, by)
            assert [i["rank"] for i in board["items"]] == list(range(1, len(expected) + 1))
        # a cadre's place in its township is its place among the board's rows of that township
        board = got[f"cadres {label} verified_visits"]["items"]
        for cadre_id, place in got[f"places {label}"].items():
            [township] = [row["township"] for row in board if row["cadre_id"] == cadre_id]
            neighbours = [row["cadre_id"] for row in board if township is not None and row["township"] == township]
            assert place == ((neighbours.index(cadre_id) + 1, len(neighbours)) if neighbours else (None, 0)), label
        towns = got[f"townships {label}"]["items"]
        assert {t["township"]: tuple(t[f] for f in FIGURES) for t in towns} == township_board(
            fold, period.start, period.end), label


@settings(max_examples=examples(6), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=ledger_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40))
def test_leaderboards_are_the_same_incrementally_rebuilt_folded_and_cut(database_url, county, events, chunks,
                                                                       batch_size):
    asyncio.run(check_read_model(database_url, county(ADCODE), events, chunks, batch_size, answer, compare))
