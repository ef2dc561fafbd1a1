"""The household reads cost O(their answer), not O(county) (DESIGN §6): on a seeded county, every SQL a
read runs is EXPLAIN ANALYZEd and the rows its scans touch in the county's tables are bounded by the
answer, with no sequential scan over the big tables.

The seeded county is small enough for the planner to prefer reading a few pages whole, as it would not
at real size, so sequential scans are priced out (`enable_seqscan = off`): a plan still scanning a table
whole then has no index path to the answer."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta

import asyncpg
import pytest

from projections import completeness, coverage, issues, leaderboards, pairing, verdicts
from projections.base import Period
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from services.domain import Cadre, Household, Issue, Pairing, Visit, clock
from tests.integration.projections.strategies import SHANGHAI, reset_county, store_events

ADCODE = "469035"
SCHEMA = f"county_{ADCODE}"
TOWNSHIPS, VILLAGES_EACH, HOUSEHOLDS_EACH = 4, 10, 100  # 4,000 households, 8,000 visits
ISSUES = 400
BIG = {"coverage_places", "coverage_households", "coverage_placed", "coverage_tallies", "coverage_counts",
       "coverage_visits", "verdicts_checkins", "verdicts_households", "issues_versions"}


def _village(t: int, v: int) -> tuple[str, str, float, float]:
    return f"469035{100 + t}{200 + v}", f"469035{100 + t}", 18.5 + 0.05 * t, 109.5 + 0.02 * v


def _county() -> tuple[list, uuid.UUID, uuid.UUID]:
    """Households in 40 villages, each visited twice in 2026 by a township cadre; a cadre with no township
    paired with three households."""
    events: list = []
    start = datetime(2026, 3, 1, 9, tzinfo=SHANGHAI)
    with clock.at(start):
        walker = Cadre(id=uuid.uuid4(), name="w", rank="staff", unit="u", township="469035100", phone=None)
        partner = Cadre(id=uuid.uuid4(), name="p", rank="staff", unit="u", township=None, phone=None)
        events += walker.collect_events() + partner.collect_events()
        homes = []
        for t in range(TOWNSHIPS):
            for v in range(VILLAGES_EACH):
                village, township, lat, lon = _village(t, v)
                for h in range(HOUSEHOLDS_EACH):
                    home = Household(id=uuid.uuid4(), village=village, township=township, address="",
                                     lat=lat + h * 1e-5, lon=lon, tags=[], size=2, personal="sealed")
                    homes.append(home)
                    events += home.collect_events()
        for home in homes[:3]:
            pairing = Pairing(id=uuid.uuid4(), cadre_id=partner.id, target_kind="household", target_id=str(home.id),
                              programme="结对", cadence="quarterly", formed_on="2026-03-01")
            events += pairing.collect_events()
    for n, home in enumerate(homes[:ISSUES]):  # a problem raised at one household in ten, a day apart
        with clock.at(start + timedelta(days=n % 200, minutes=n)):
            issue = Issue(id=uuid.uuid4(), source_kind="visit", source_id=None, household_id=home.id,
                          village=home.village, category="roads", summary="", raised_by=None,
                          occurred_at=start + timedelta(days=n % 200, minutes=n))
            events += issue.collect_events()
    for n, home in enumerate(homes * 2):
        moment = start + timedelta(days=1 + n // 100, minutes=n % 100)
        with clock.at(moment):
            visit = Visit(id=uuid.uuid4(), cadre_id=walker.id, target_kind="household", target_id=str(home.id),
                          household_id=home.id, village=home.village, kind="home", occurred_at=moment,
                          received_at=moment, position={"lat": home.lat, "lon": home.lon, "accuracy_m": 10.0,
                                                        "provider": "gps", "is_mock": False},
                          topics=[], note="", companions=[], device_id=None)
            events += visit.collect_events()
    return events, walker.id, partner.id


class Explaining:
    """An asyncpg connection that EXPLAIN ANALYZEs each statement before running it, adding up the rows
    its scans touched per table of the county."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.touched: dict[str, int] = {}
        self.seq_scans: set[str] = set()

    async def _explain(self, query: str, args: tuple) -> None:
        if query.lstrip().upper().startswith("SELECT") or query.lstrip().upper().startswith("WITH"):
            [plan] = json.loads(await self.conn.fetchval(f"EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) {query}", *args))
            self._walk(plan["Plan"])

    def _walk(self, node: dict) -> None:
        if node.get("Schema") == SCHEMA and "Relation Name" in node:
            table = node["Relation Name"]
            rows = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
                    + node.get("Rows Removed by Index Recheck", 0))
            self.touched[table] = self.touched.get(table, 0) + rows * node["Actual Loops"]
            if node["Node Type"] == "Seq Scan" and table in BIG:
                self.seq_scans.add(table)
        for child in node.get("Plans", []):
            self._walk(child)

    async def fetch(self, query: str, *args):
        await self._explain(query, args)
        return await self.conn.fetch(query, *args)

    async def fetchrow(self, query: str, *args):
        await self._explain(query, args)
        return await self.conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args):
        await self._explain(query, args)
        return await self.conn.fetchval(query, *args)

    def total(self) -> int:
        return sum(self.touched.values())


@pytest.fixture(scope="module")
def seeded(database_url, county):
    county(ADCODE)
    events, walker, partner = _county()

    async def load() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await reset_county(conn, SCHEMA)
            for start in range(0, len(events), 5000):
                await store_events(conn, SCHEMA, events[start:start + 5000])
            mine = [by_name(n) for n in ("verdicts", "coverage", "completeness", "pairing", "leaderboards", "issues")]
            await Driver(database_url, mine, decoder(), 5000, 2).process(conn, FollowedCounty(ADCODE, SCHEMA, Rules()))
            for table in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", SCHEMA):
                await conn.execute(f"ANALYZE {SCHEMA}.{table['tablename']}")
        finally:
            await conn.close()

    import asyncio

    asyncio.run(load())
    return walker, partner


async def _cost(database_url, read) -> tuple[object, Explaining]:
    conn = await asyncpg.connect(database_url, server_settings={"enable_seqscan": "off"})
    try:
        explaining = Explaining(conn)
        answer = await read(explaining)
        return answer, explaining
    finally:
        await conn.close()


COUNTY_ROWS = TOWNSHIPS * VILLAGES_EACH * HOUSEHOLDS_EACH * 3  # households + their 2 visits each


@pytest.mark.parametrize("level, resolution", [("village", 8), ("township", 8), ("county", 8), ("h3", 7)])
@pytest.mark.parametrize("period", ["2026", "2026-Q1", "2026-03"])
@pytest.mark.parametrize("as_of", [None, date(2026, 3, 20)])
async def test_coverage_of_a_calendar_period_reads_its_groups_not_its_households(
        database_url, seeded, level, resolution, period, as_of):
    answer, cost = await _cost(database_url, lambda conn: coverage.coverage(
        conn, SCHEMA, Period.parse(period), level, resolution=resolution, as_of=as_of))
    assert answer and sum(r["households"] for r in answer) == TOWNSHIPS * VILLAGES_EACH * HOUSEHOLDS_EACH
    groups = TOWNSHIPS * VILLAGES_EACH if level != "h3" else len(answer)
    assert not cost.seq_scans, cost.seq_scans
    assert cost.total() <= 5 * groups + 50, cost.touched  # 3 probes of one row per group, and the groups


async def test_a_villages_completeness_list_reads_that_village(database_url, seeded):
    village = _village(2, 3)[0]
    answer, cost = await _cost(database_url, lambda conn: completeness.households(conn, SCHEMA, village=village))
    assert len(answer) == HOUSEHOLDS_EACH and {h["visits_this_year"] for h in answer} == {2}
    assert not cost.seq_scans, cost.seq_scans
    assert cost.total() <= 8 * len(answer) + 50, cost.touched
    assert cost.total() < COUNTY_ROWS / 10


async def test_the_first_page_and_total_of_the_completeness_table_read_a_page(database_url, seeded):
    async def read(conn):
        return (await completeness.households(conn, SCHEMA, limit=20, offset=0),
                await completeness.count_households(conn, SCHEMA, status="ok"))

    (page, total), cost = await _cost(database_url, read)
    assert len(page) == 20 and total == TOWNSHIPS * VILLAGES_EACH * HOUSEHOLDS_EACH
    assert not cost.seq_scans, cost.seq_scans
    assert cost.total() <= 8 * 20 + 5 * TOWNSHIPS * VILLAGES_EACH + 50, cost.touched


async def test_households_in_a_small_box_read_those_in_the_box(database_url, seeded):
    _, _, lat, lon = _village(1, 1)
    box = (lon - 0.001, lat - 0.0001, lon + 0.001, lat + 0.000255)  # 26 of the village's households
    answer, cost = await _cost(database_url, lambda conn: completeness.households(conn, SCHEMA, bbox=box))
    assert len(answer) == 26
    assert not cost.seq_scans, cost.seq_scans
    assert cost.total() <= 8 * len(answer) + 50, cost.touched


async def test_a_paired_cadres_due_list_reads_their_pairings(database_url, seeded):
    _, partner = seeded
    answer, cost = await _cost(database_url, lambda conn: completeness.due_list(conn, SCHEMA, partner,
                                                                               as_of=date(2026, 7, 2)))
    assert len(answer) == 3 and {i["reason"] for i in answer} == {"pairing"}
    assert not cost.seq_scans, cost.seq_scans
    assert cost.total() <= 100, cost.touched


async def test_completeness_shares_read_the_villages(database_url, seeded):
    answer, cost = await _cost(database_url, lambda conn: completeness.percentages(conn, SCHEMA))
    assert answer["county"]["complete"] == TOWNSHIPS * VILLAGES_EACH * HOUSEHOLDS_EACH
    assert not cost.seq_scans, cost.seq_scans
    assert cost.total() <= 5 * TOWNSHIPS * VILLAGES_EACH + 50, cost.touched


@pytest.mark.parametrize("by_cadre", [False, True])
@pytest.mark.parametrize("filters", [
    {}, {"village": _village(2, 3)[0]}, {"kind": "home"}, {"verdict": "verified"},
    {"occurred_from": date(2026, 3, 10), "occurred_to": date(2026, 3, 10)},
])
async def test_a_page_of_the_visit_audit_reads_the_page(database_url, seeded, filters, by_cadre):
    asked = {**filters, **({"cadre_id": seeded[0]} if by_cadre else {})}
    answer, cost = await _cost(database_url, lambda conn: verdicts.page(conn, SCHEMA, **asked, limit=50))
    assert len(answer["items"]) == 50 and answer["next"]
    assert not cost.seq_scans, cost.seq_scans
    # the page and one more, and each row's previous check-in (impossible travel): one probe each
    assert cost.total() <= 3 * 51 + 50, cost.touched
    following, cost = await _cost(database_url, lambda conn: verdicts.page(conn, SCHEMA, **asked, limit=50,
                                                                          after=answer["next"]))
    assert following["items"][0]["occurred_at"] <= answer["items"][-1]["occurred_at"]
    assert cost.total() <= 3 * 51 + 50, cost.touched


MARCH = Period.month(2026, 3)  # the walker's visits of 2 to 31 March: 30 days of 100


@pytest.mark.parametrize("as_of", [None])  # as of a date: over the bound, see docs/reliability.md
@pytest.mark.parametrize("offset", [0, 200])
@pytest.mark.parametrize("filters, scope", [
    ({}, 8000),  # the whole county: counted up to the cap, not through
    ({"household": True}, 2),
    ({"cadre": True, "period": MARCH}, 3000), ({"period": MARCH, "verified": True}, 3000),
])
async def test_a_page_of_visits_reads_the_page_and_counts_up_to_the_cap(
        database_url, seeded, filters, scope, offset, as_of):
    """The admin's visit list: the page (and one row more, for `more`) is read off an index, `offset`
    rows skipped in it; its total is counted in SQL over the filter's index range, at most TOTAL_CAP + 1
    rows of it: nothing else reaches Python, and a county's visits are never all read."""
    conn = await asyncpg.connect(database_url)
    try:
        household = await conn.fetchval(f"SELECT household_id FROM {SCHEMA}.verdicts_checkins LIMIT 1")
    finally:
        await conn.close()
    asked = {"period": filters.get("period"), "verified": filters.get("verified"),
             "cadre_id": seeded[0] if "cadre" in filters else None,
             "household_id": household if "household" in filters else None}
    answer, cost = await _cost(database_url, lambda conn: verdicts.visits(conn, SCHEMA, **asked, limit=50,
                                                                         offset=offset, as_of=as_of))
    assert answer["total"] == (scope if scope <= verdicts.TOTAL_CAP else None)
    assert len(answer["items"]) == max(0, min(50, scope - offset))
    assert answer["more"] == (scope > offset + 50)
    # with no filter, the count may scan the table in its order: its LIMIT stops it at the cap (bound below)
    assert not cost.seq_scans or not filters, cost.seq_scans
    # the count reads the range up to the cap; the page the skipped rows, its own and one more, and a
    # travel probe each
    assert cost.total() <= min(scope, verdicts.TOTAL_CAP + 1) + 3 * (offset + 51) + 10, cost.touched


async def test_a_visit_and_its_verdict_read_that_visit(database_url, seeded):
    conn = await asyncpg.connect(database_url)
    try:
        visit_id = await conn.fetchval(f"SELECT visit_id FROM {SCHEMA}.verdicts_checkins LIMIT 1")
    finally:
        await conn.close()
    answer, cost = await _cost(database_url, lambda conn: verdicts.verdict(conn, SCHEMA, visit_id))
    assert answer is not None and answer["visit_id"] == visit_id and answer["verified"]
    assert not cost.seq_scans, cost.seq_scans
    assert cost.total() <= 3, cost.touched  # its row, and a probe of its travel
    nothing, cost = await _cost(database_url, lambda conn: verdicts.verdict(conn, SCHEMA, uuid.uuid4()))
    assert nothing is None and cost.total() == 0, cost.touched


@pytest.mark.parametrize("as_of", [None, date(2026, 3, 20)])
async def test_the_visit_summary_reads_a_kept_row_for_a_month_and_counts_another_range_in_sql(
        database_url, seeded, as_of):
    """The summary's figures equal those counted over `checkins` in Python (what it did before). A calendar
    month reads one kept row; a range no kept figure covers reads its range of the index, not the county's
    visits."""
    expected_checkins = 3000 if as_of is None else 1900
    expected = {"checkins": expected_checkins, "verified": expected_checkins, "without_position": 0, "mocked": 0,
                "too_far": 0, "poor_accuracy": 0, "impossible_travel": 0, "backdated": 0, "future": 0}
    answer, cost = await _cost(database_url, lambda conn: verdicts.summary(conn, SCHEMA, period=MARCH, as_of=as_of))
    assert answer == expected
    assert not cost.seq_scans and cost.total() <= 2, cost.touched  # the month's row as of the day
    # The walker's visits are of 2 to 31 March: this range holds the same ones.
    counted, cost = await _cost(database_url, lambda conn: verdicts.summary(
        conn, SCHEMA, period=Period(date(2026, 3, 2), date(2026, 3, 31)), as_of=as_of))
    assert counted == expected
    assert not cost.seq_scans, cost.seq_scans
    assert cost.total() <= 2 * expected_checkins + 20, cost.touched  # the range's rows (as of: a probe each)
    june, cost = await _cost(database_url, lambda conn: verdicts.summary(conn, SCHEMA, period=Period.month(2026, 6)))
    assert june["checkins"] == 0 and cost.total() <= 1, cost.touched  # the last visits are of 20 May


@pytest.mark.parametrize("as_of", [None, date(2026, 3, 20)])
async def test_a_cadres_month_counts_and_township_place_read_that_cadre_and_township(database_url, seeded, as_of):
    walker, partner = seeded

    async def read(conn):
        return (await verdicts.tally(conn, SCHEMA, walker, MARCH, as_of=as_of),
                await leaderboards.township_place(conn, SCHEMA, MARCH, walker, as_of=as_of))

    ((visits, verified), place), cost = await _cost(database_url, read)
    assert visits == verified == (3000 if as_of is None else 1900) and place == (1, 1)
    assert not cost.seq_scans, cost.seq_scans
    assert cost.total() <= 3000 + 20, cost.touched  # the cadre's month, its tally and its township's cadres
    nothing, cost = await _cost(database_url, lambda conn: verdicts.tally(conn, SCHEMA, partner, MARCH, as_of=as_of))
    assert nothing == (0, 0) and cost.total() == 0, cost.touched


async def test_an_empty_verdict_reads_nothing(database_url, seeded):
    for verdict in ("unverified", "voided"):
        answer, cost = await _cost(database_url, lambda conn, v=verdict: verdicts.page(conn, SCHEMA, verdict=v))
        assert answer == {"items": [], "next": None} and cost.total() == 0, cost.touched


@pytest.mark.parametrize("as_of", [None, date(2026, 3, 20)])
async def test_the_quota_shortfalls_read_the_cadres_short_not_the_pairings(database_url, seeded, as_of):
    walker, partner = seeded
    answer, cost = await _cost(database_url, lambda conn: pairing.shortfalls(conn, SCHEMA, as_of=as_of))
    assert {row["cadre_id"] for row in answer["items"]} == {walker, partner}
    assert not cost.seq_scans, cost.seq_scans
    assert cost.total() <= 10, cost.touched


async def test_what_changed_since_a_phones_cursor_reads_the_changes(database_url, seeded):
    last_day = datetime(2026, 3, 1, 9, tzinfo=SHANGHAI) + timedelta(days=80)  # the last 100 visits' day

    async def read(conn):
        return [await model.households_changed_since(conn, SCHEMA, last_day) for model in (coverage, pairing, verdicts)]

    (places, pairings, visits), cost = await _cost(database_url, read)
    assert (len(places), len(pairings), len(visits)) == (0, 0, HOUSEHOLDS_EACH)
    assert not cost.seq_scans, cost.seq_scans
    assert cost.total() <= 2 * HOUSEHOLDS_EACH + 50, cost.touched


async def test_the_first_page_of_the_issue_board_reads_the_page(database_url, seeded):
    """Newest first by the current versions' index: not every issue of the county sorted for 20 of them."""
    answer, cost = await _cost(database_url, lambda conn: issues.issues(conn, SCHEMA, limit=20))
    assert len(answer["items"]) == 20 and answer["next"]
    assert [i["occurred_at"] for i in answer["items"]] == sorted((i["occurred_at"] for i in answer["items"]),
                                                                 reverse=True)
    assert not cost.seq_scans, cost.seq_scans
    assert cost.touched.get("issues_versions", 0) <= 3 * 21, cost.touched
