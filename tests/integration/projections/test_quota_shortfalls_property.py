"""Property: the quota shortfall table (versions in `pairing_quotas`), now and as of a day, after incremental
batches equals a rebuild's and a cut rebuild's, the cadres the per-read judgement (`pairing.quotas`) finds
short, and a plain fold's."""
from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime

import asyncpg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import pairing
from services.domain import Cadre, Household, Pairing, clock
from tests.examples import examples
from tests.integration.projections.ledger_strategies import (
    all_pages, as_of_days, check_read_model, ledger_histories, run_history,
)
from tests.integration.projections.strategies import SHANGHAI

ADCODE = "469036"


async def answer(conn, schema, day) -> dict:
    rows = await all_pages(lambda after: pairing.shortfalls(conn, schema, limit=2, after=after, as_of=day))
    pages = {compliant: [await pairing.quota_page(conn, schema, limit=2, offset=offset, compliant=compliant,
                                                  as_of=day) for offset in range(0, 9, 2)]
             for compliant in (None, True, False)}
    return {"short": {row["cadre_id"]: row for row in rows},
            "judged": {q["cadre_id"]: q for q in await pairing.quotas(conn, schema, as_of=day)}, "pages": pages}


def compare(got, fold) -> None:
    short, judged = got["short"], got["judged"]
    for compliant, pages in got["pages"].items():  # the kept versions' pages are the fresh judgement's
        wanted = [q for q in judged.values() if compliant is None or q["compliant"] == compliant]
        assert [page for page, _ in pages] == [wanted[offset:offset + 2] for offset in range(0, 9, 2)]
        assert {total for _, total in pages} == {len(wanted)}
    assert set(short) == {cadre for cadre, q in judged.items() if not q["compliant"]}
    for cadre, row in short.items():
        assert (row["rank"], row["pairings"], row["quotas"]) == (
            judged[cadre]["rank"], judged[cadre]["pairings"], judged[cadre]["quotas"])
        assert row["shortfall"] == max(q["required"] - q["actual"] for q in row["quotas"]) > 0
    folded = fold.quotas()
    assert {cadre: [(q["rule"], q["actual"]) for q in row["quotas"]] for cadre, row in short.items()} \
        == {cadre: figures for cadre, (compliant, figures) in folded.items() if not compliant}


async def check(url: str, schema: str, events, chunks, batch_size) -> None:
    await check_read_model(url, schema, events, chunks, batch_size, answer, compare)
    # check_read_model leaves a rebuild of the events up to the middle day: now is that day's answer.
    conn = await asyncpg.connect(url)
    try:
        middle = as_of_days(events)[0]
        assert (await answer(conn, schema, None))["short"] == (await answer(conn, schema, middle))["short"]
    finally:
        await conn.close()


@settings(max_examples=examples(6), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=ledger_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40))
def test_shortfalls_are_the_same_incrementally_rebuilt_cut_judged_afresh_and_folded(database_url, county, events,
                                                                                   chunks, batch_size):
    asyncio.run(check(database_url, county(ADCODE), events, chunks, batch_size))


def test_a_late_pairing_recorded_before_a_kept_version_re_judges_the_versions_after_it(database_url, county):
    """Log order is not time order (two writers commit in the other order): a pairing recorded on 1 February
    that reaches the read model after one recorded on 1 March counts from 1 February on, in every later
    version too."""
    schema = county(ADCODE)
    moments = [datetime(2026, month, 1, 9, tzinfo=SHANGHAI) for month in (1, 2, 3)]
    with clock.at(moments[0]):
        cadre = Cadre(id=uuid.uuid4(), name="迟到", rank="section_chief", unit="u", township=None, phone=None)
        homes = [Household(id=uuid.uuid4(), village="469036101201", township="469036101", address="", lat=18.6,
                           lon=109.7, tags=["hardship_resident"], size=2, personal="sealed") for _ in range(2)]
        first = cadre.collect_events() + [e for home in homes for e in home.collect_events()]

    def paired(home: Household, moment: datetime) -> list:
        with clock.at(moment):
            return Pairing(id=uuid.uuid4(), cadre_id=cadre.id, target_kind="household", target_id=str(home.id),
                           programme="结对", cadence="quarterly", formed_on=moment.date().isoformat()).collect_events()

    march, february = paired(homes[0], moments[2]), paired(homes[1], moments[1])

    async def check() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await run_history(conn, database_url, schema, first + march + february, [len(first) + 1, 1], 50)
            for day, households in ((date(2026, 1, 15), 0), (date(2026, 2, 15), 1), (date(2026, 3, 15), 2),
                                    (None, 2)):
                [row] = (await pairing.shortfalls(conn, schema, as_of=day))["items"]
                assert (row["households"], row["shortfall"]) == (households, 5 - households), day
        finally:
            await conn.close()

    asyncio.run(check())
