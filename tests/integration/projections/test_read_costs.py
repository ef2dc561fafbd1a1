"""The pairing, leaderboard and assessment reads cost O(their answer), not O(county): on a seeded county
every query they send is run under EXPLAIN ANALYZE first, and the rows each county table gave up
(scanned rows, those a filter removed included, times loops) stay a small share of the table."""
from __future__ import annotations

import asyncio
import json
import re
import random
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from projections import assessment, leaderboards, pairing
from projections.base import Period
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import PROJECTIONS
from projections.rules import Rules
from services.domain import Cadre, Household, Interview, Pairing, Visit, clock
from tests.integration.projections.strategies import METRE, SHANGHAI, reset_county, store_events

ADCODE = "469031"
SCHEMA = f"county_{ADCODE}"
HOUSEHOLDS, CADRES, PAIRINGS, VISITS = 4000, 40, 120, 12000
BIG = ("verdicts_checkins", "coverage_places", "coverage_households", "pairing_households", "leaderboards_households",
       "leaderboards_visits", "leaderboards_reach", "pairing_checkins")


class Explained:
    """An asyncpg connection whose every query is EXPLAIN ANALYZEd before it runs: rows read per table."""

    schema = SCHEMA  # the county whose tables are counted

    def __init__(self, conn: Any) -> None:
        self.conn, self.read, self.scanned = conn, Counter(), set()

    async def _explain(self, sql: str, args: tuple) -> None:
        [plan] = json.loads(await self.conn.fetchval(f"EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) {sql}", *args))
        self._walk(plan["Plan"])

    def _walk(self, node: Any) -> None:
        """Every plan node below `node`, also inside the plans Citus runs on a worker (`Distributed Query`
        → tasks → `Remote Plan`), where a table is named by its shard (`verdicts_checkins_102008`)."""
        if isinstance(node, list):
            for item in node:
                self._walk(item)
            return
        if not isinstance(node, dict):
            return
        if "Relation Name" in node and node.get("Schema") == self.schema:
            table = re.sub(r"_[0-9]+$", "", node["Relation Name"])
            removed = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
            self.read[table] += (node["Actual Rows"] + removed) * node["Actual Loops"]
            if node["Node Type"] == "Seq Scan":
                self.scanned.add(table)
        for value in node.values():
            self._walk(value)

    async def fetch(self, sql: str, *args: Any) -> Any:
        await self._explain(sql, args)
        return await self.conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        await self._explain(sql, args)
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self._explain(sql, args)
        return await self.conn.fetchval(sql, *args)


def _history() -> list[Any]:
    """A year of a small county's work: households, cadres, pairings and their visits, interviews."""
    rng, events = random.Random(12), []
    start = datetime(2026, 1, 2, 9, tzinfo=SHANGHAI)

    def keep(aggregate: Any) -> Any:
        events.extend(aggregate.collect_events())
        return aggregate

    homes, cadres = [], []
    with clock.at(start):
        for i in range(HOUSEHOLDS):
            village = f"{ADCODE}{100 + i % 5:03d}{200 + i % 40:03d}"
            homes.append(keep(Household(id=uuid.uuid4(), village=village, township=village[:9], address="",
                                        lat=19.0 + rng.uniform(0, 0.2), lon=109.8 + rng.uniform(0, 0.2),
                                        tags=["hardship_resident"] if i % 7 == 0 else [], size=3, personal="sealed")))
        for i in range(CADRES):
            cadres.append(keep(Cadre(id=uuid.uuid4(), name=f"c{i}", rank=rng.choice(["staff", "section_chief"]),
                                     unit="u", township=f"{ADCODE}{100 + i % 5:03d}", phone=None)))
        pairs = [(rng.choice(cadres), rng.choice(homes)) for _ in range(PAIRINGS)]
        for cadre, home in pairs:
            keep(Pairing(id=uuid.uuid4(), cadre_id=cadre.id, target_kind="household", target_id=str(home.id),
                         programme="结对", cadence="quarterly", formed_on="2026-01-02"))
    for i in range(VISITS):
        moment = start + timedelta(minutes=40 * i)
        cadre, home = rng.choice(pairs) if i % 10 == 0 else (rng.choice(cadres), rng.choice(homes))
        with clock.at(moment):
            keep(Visit(id=uuid.uuid4(), cadre_id=cadre.id, target_kind="household", target_id=str(home.id),
                       household_id=home.id, village=home.village, kind="home", occurred_at=moment,
                       received_at=moment, position={"lat": home.lat + 30 * METRE, "lon": home.lon,
                                                     "accuracy_m": 10.0, "provider": "gps", "is_mock": False},
                       topics=[], note="", companions=[], device_id=None))
            if i % 40 == 0:
                a, b = rng.sample(cadres, 2)
                keep(Interview.hold(id=uuid.uuid4(), interviewer_id=a.id, interviewee_id=b.id, form="one_on_one",
                                    direction="leader_to_cadre", topics=["family"], opinions_count=0,
                                    follow_up=False, occurred_at=moment, received_at=moment, note=""))
    return events


@pytest.fixture(scope="module")
def seeded(database_url: str, county: Any) -> str:
    async def seed() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await reset_county(conn, county(ADCODE))
            await store_events(conn, SCHEMA, _history())
            driver = Driver(database_url, PROJECTIONS, decoder(), 5000, 2.0)
            await driver.process(conn, FollowedCounty(ADCODE, SCHEMA, Rules()))
            await driver.analyze(conn, FollowedCounty(ADCODE, SCHEMA, Rules()))
        finally:
            await conn.close()

    asyncio.run(seed())
    return database_url


DAY = date(2026, 10, 20)
READS = {
    "pairing compliance": lambda c: pairing.compliance(c, SCHEMA, as_of=DAY),
    "pairing summary": lambda c: pairing.summary(c, SCHEMA),
    "pairings first page": lambda c: pairing.pairings(c, SCHEMA, limit=20, as_of=DAY),
    "overdue pairings first page": lambda c: pairing.pairings(c, SCHEMA, status="overdue", limit=20),
    "cadres of the year": lambda c: leaderboards.cadres(c, SCHEMA, Period.year(2026)),
    "cadres of a month as of a day": lambda c: leaderboards.cadres(c, SCHEMA, Period.month(2026, 9), as_of=DAY),
    "townships of a quarter as of a day": lambda c: leaderboards.townships(c, SCHEMA, Period.quarter(2026, 3),
                                                                           as_of=DAY),
    "assessment of the year": lambda c: assessment.cadres(c, SCHEMA, Period.year(2026)),
    "assessment of townships for a quarter as of a day": lambda c: assessment.townships(
        c, SCHEMA, Period.quarter(2026, 3), as_of=DAY),
}


@pytest.mark.parametrize("read", sorted(READS))
def test_a_read_touches_a_small_share_of_each_county_table(seeded: str, read: str) -> None:
    async def run() -> tuple[Counter, set, dict]:
        conn = await asyncpg.connect(seeded)
        try:
            explained = Explained(conn)
            answer = await READS[read](explained)
            sizes = {t: await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.{t}") for t in BIG
                     if await conn.fetchval("SELECT to_regclass($1)", f"{SCHEMA}.{t}")}
            return explained.read, explained.scanned, {"answer": answer, **sizes}
        finally:
            await conn.close()

    read_rows, scanned, got = asyncio.run(run())
    assert got["answer"], "the read answered nothing: the seeded county is not what this test expects"
    assert got["verdicts_checkins"] == VISITS
    assert sum(read_rows.values()) > 0, "no county table seen in the plans"
    for table in got.keys() & set(BIG):
        assert table not in scanned, f"{read} scans all of {table}"
        assert read_rows[table] <= got[table] // 10, f"{read} read {read_rows[table]} of {got[table]} rows of {table}"
