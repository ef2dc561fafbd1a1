"""Property: the summary-based answers of coverage and completeness equal a plain recomputation from the
events, for random periods (calendar years, quarters, months and arbitrary ranges) and random `as_of`
days (and now), over histories with voids, relocations, archives and late syncs, processed in random
batches."""
from __future__ import annotations

import asyncio
import math
from datetime import date, datetime, timedelta

import asyncpg
import h3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections import completeness, coverage
from projections.base import Period, local_date
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from tests.examples import examples
from tests.integration.projections.strategies import SHANGHAI, START, Fold, histories, reset_county, store_events

ADCODE = "469029"
MINE = [by_name(name) for name in ("verdicts", "coverage", "completeness")]
LEVELS = [("village", 8), ("township", 8), ("county", 8), ("h3", 7), ("h3", 8), ("h3", 9)]


@st.composite
def periods(draw) -> Period:
    form = draw(st.sampled_from(["year", "quarter", "month", "range", "range"]))
    year = draw(st.sampled_from([2026, 2026, 2026, 2025, 2027]))
    if form == "year":
        return Period.year(year)
    if form == "quarter":
        return Period.quarter(year, draw(st.integers(1, 4)))
    if form == "month":
        return Period.month(year, draw(st.integers(1, 12)))
    start = date(2026, 2, 1) + timedelta(days=draw(st.integers(0, 150)))
    return Period(start, start + timedelta(days=draw(st.integers(0, 90))))


def plain_coverage(fold: Fold, period: Period, level: str, resolution: int) -> dict[str, dict]:
    """Coverage per group from the fold, with the H3 cells and mean positions the fold does not give."""
    first = datetime.combine(period.start, datetime.min.time(), SHANGHAI)
    after = datetime.combine(period.end + timedelta(days=1), datetime.min.time(), SHANGHAI)
    groups: dict[str, list] = {}
    for household, place in fold.places.items():
        if household in fold.archived and fold.archived[household] < first:
            continue
        visits = [c for c in fold.checkins.values()
                  if c["household_id"] == household and first <= c["occurred_at"] < after]
        key = {"county": ADCODE, "h3": h3.latlng_to_cell(place["lat"], place["lon"], resolution)}.get(level) \
            or place[level]
        groups.setdefault(key, []).append((len(visits), sum(fold.verified(c) for c in visits), place))
    return {
        key: {"households": len(g), "visited_once": sum(v >= 1 for v, _, _ in g),
              "visited_twice": sum(v >= 2 for v, _, _ in g), "visits": sum(v for v, _, _ in g),
              "verified_visits": sum(w for _, w, _ in g),
              "lat": math.fsum(p["lat"] for _, _, p in g) / len(g),
              "lon": math.fsum(p["lon"] for _, _, p in g) / len(g)}
        for key, g in groups.items()
    }


async def _check(url: str, schema: str, events: list, chunks: list[int],
                 asked: list[tuple[Period, int | None]]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await reset_county(conn, schema)
        driver, county = Driver(url, MINE, decoder(), 1000, 2.0), FollowedCounty(ADCODE, schema, Rules())
        position = 0
        while position < len(events):
            size = chunks[position % len(chunks)]
            await store_events(conn, schema, events[position:position + size])
            position += size
            await driver.process(conn, county)
        last = (events[-1].timestamp if events else START).astimezone(SHANGHAI).date()
        for period, days_back in asked:
            as_of = None if days_back is None else last - timedelta(days=days_back)
            fold = Fold(events, as_of or datetime.now(SHANGHAI).date(), Rules())
            for level, resolution in LEVELS:
                rows = await coverage.coverage(conn, schema, period, level, resolution=resolution, as_of=as_of)
                got = {r["key"]: {k: r[k] for k in ("households", "visited_once", "visited_twice", "visits",
                                                     "verified_visits", "lat", "lon")} for r in rows}
                assert got == plain_coverage(fold, period, level, resolution), (period, as_of, level, resolution)
            await _check_completeness(conn, schema, fold, as_of)
    finally:
        await conn.close()


async def _check_completeness(conn, schema: str, fold: Fold, as_of: date | None) -> None:
    statuses = fold.household_status()
    listed = await completeness.households(conn, schema, as_of=as_of)
    assert {h["household_id"]: (h["visits_this_year"], h["status"], h["next_due"]) for h in listed} == statuses
    if as_of is None:  # each household's last visit (its day in China) now, kept batch by batch
        last: dict = {}
        for checkin in fold.checkins.values():
            household = checkin["household_id"]
            last[household] = max(last.get(household, checkin["occurred_at"]), checkin["occurred_at"])
        assert {h["household_id"]: h["last_visit"] for h in listed} == {
            h["household_id"]: local_date(last[h["household_id"]]) if h["household_id"] in last else None
            for h in listed}
    shares = await completeness.percentages(conn, schema, as_of=as_of)
    expected_county = {"households": len(statuses), "complete": sum(v >= 2 for v, _, _ in statuses.values()),
                       **{s: sum(status == s for _, status, _ in statuses.values()) for s in ("ok", "due", "overdue")}}
    assert {k: shares["county"][k] for k in expected_county} == expected_county
    for township in shares["townships"]:
        mine = [h for h in listed if h["township"] == township["township"]]
        assert township["households"] == len(mine)
        assert township["complete"] == sum(h["visits_this_year"] >= 2 for h in mine)
    for status in (None, "ok", "due", "overdue"):
        for township in (None, *sorted({h["township"] for h in listed})):
            wanted = [h for h in listed if (status is None or h["status"] == status)
                      and (township is None or h["township"] == township)]
            assert await completeness.count_households(conn, schema, township=township, as_of=as_of,
                                                       status=status) == len(wanted)
            page = await completeness.households(conn, schema, township=township, as_of=as_of, status=status,
                                                 limit=2, offset=1)
            assert page == wanted[1:3]
    box = (109.69, 18.63, 109.705, 18.66)
    inside = [h for h in listed if box[0] <= h["lon"] <= box[2] and box[1] <= h["lat"] <= box[3]]
    assert await completeness.households(conn, schema, bbox=box, as_of=as_of) == inside
    for cadre_id in fold.cadres:
        due = await completeness.due_list(conn, schema, cadre_id, as_of=as_of)
        assert [(i["household_id"], i["reason"], i["status"], i["due_date"]) for i in due] == fold.due_list(cadre_id)
        last_visits = {h["household_id"]: h["last_visit"] for h in listed}
        assert all(i["last_visit"] == last_visits[i["household_id"]] for i in due if i["reason"] == "annual_rule")
        for offset, limit in ((0, 1), (0, 3), (1, 2), (2, 50), (len(due), 5)):
            assert await completeness.due_page(conn, schema, cadre_id, limit=limit, offset=offset,
                                               as_of=as_of) == (due[offset:offset + limit], len(due))
        if as_of is None:  # the phone's keyset pages are today's
            await _check_due_pages(conn, schema, cadre_id, due, listed)


async def _check_due_pages(conn, schema: str, cadre_id, due: list[dict], listed: list[dict]) -> None:
    """Walking `due_after` page by page gives the due list, with extra items (as a campaign's) of households
    not on it put in their places, those on it left as they are."""
    extra = [completeness._item(h, "campaign", "due", date(2026, 2, 1) + timedelta(days=n * 37 % 300), h["last_visit"])
             for n, h in enumerate(listed[::3])]
    on_list = {i["household_id"] for i in due}
    expected = sorted(due + [e for e in extra if e["household_id"] not in on_list], key=completeness._order)
    for limit in (1, 2, 5, 500):
        walked, after = [], None
        while True:
            page = await completeness.due_after(conn, schema, cadre_id, limit=limit, after=after, extra=extra)
            assert len(page) <= limit and all(after is None or completeness._order(i) > after for i in page)
            walked += page
            if len(page) < limit:
                break
            after = completeness._order(page[-1])
        assert walked == expected, limit


@settings(max_examples=examples(15), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=histories(min_steps=8), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       asked=st.lists(st.tuples(periods(), st.one_of(st.none(), st.integers(0, 60))), min_size=1, max_size=4))
def test_summary_answers_equal_a_plain_recomputation_for_any_period_and_day(database_url, county, events, chunks,
                                                                          asked):
    asyncio.run(_check(database_url, county(ADCODE), events, chunks, asked))
