"""On the demo data, coverage and completeness equal an independent SQL computation over the raw events."""
from __future__ import annotations


import asyncpg
import pytest

from projections import completeness, coverage
from projections.base import Period
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from services.demo.loader import load_demo

SCHEMA = "county_469001"  # 五指山
YEAR_START, YEAR_END = "2026-01-01 00:00+08", "2027-01-01 00:00+08"

# Straight from the stored JSON of the events, sharing no code with the read models.
PER_HOUSEHOLD = f"""
WITH ev AS (
    SELECT originator_id, originator_version, topic, convert_from(state, 'UTF8')::jsonb AS s
    FROM {SCHEMA}.county_events
), places AS (
    SELECT DISTINCT ON (originator_id) originator_id AS household, s->>'village' AS village, s->>'township' AS township
    FROM ev WHERE topic IN ('grassroots:Household.Registered', 'grassroots:Household.Relocated')
    ORDER BY originator_id, originator_version DESC
), archived AS (
    SELECT originator_id AS household, (s->'timestamp'->>'_data_')::timestamptz AS at
    FROM ev WHERE topic = 'grassroots:Household.Archived'
), visits AS (
    SELECT (s->'household_id'->>'_data_')::uuid AS household, (s->'occurred_at'->>'_data_')::timestamptz AS at
    FROM ev WHERE topic = 'grassroots:Visit.CheckedIn' AND jsonb_typeof(s->'household_id') = 'object'
      AND s->>'kind' <> 'phone'  -- a phone call is no visit (the default rules' visit_kinds_counted)
      AND originator_id NOT IN (SELECT originator_id FROM ev WHERE topic = 'grassroots:Visit.Voided')
)
SELECT p.household, p.village, p.township, a.at AS archived_at,
       count(v.at) FILTER (WHERE v.at >= '{YEAR_START}' AND v.at < '{YEAR_END}') AS visits
FROM places p LEFT JOIN archived a USING (household) LEFT JOIN visits v USING (household)
GROUP BY 1, 2, 3, 4
"""


@pytest.fixture(scope="module")
def demo_url(new_database) -> str:
    url = new_database("demo_projections")  # a URL, not key=value: asyncpg takes only URLs
    load_demo(url, seed=7, scale=0.01)
    return url


async def test_demo_coverage_and_completeness_equal_sql_over_the_raw_events(demo_url):
    conn = await asyncpg.connect(demo_url)
    try:
        mine = [by_name(n) for n in ("verdicts", "coverage", "completeness")]
        await Driver(demo_url, mine, decoder(), 1000, 2).process(conn, FollowedCounty("469001", SCHEMA, Rules()))
        rows = await conn.fetch(PER_HOUSEHOLD)
        assert len(rows) > 20 and sum(r["visits"] for r in rows) > 20  # the demo has something to count
        in_year = [r for r in rows if r["archived_at"] is None or str(r["archived_at"].year) >= "2026"]
        expected = {}
        for r in in_year:
            figures = expected.setdefault(r["village"], [0, 0, 0, 0])
            figures[0] += 1
            figures[1] += r["visits"] >= 1
            figures[2] += r["visits"] >= 2
            figures[3] += r["visits"]
        got = {r["key"]: [r["households"], r["visited_once"], r["visited_twice"], r["visits"]]
               for r in await coverage.coverage(conn, SCHEMA, Period.year(2026), "village")}
        assert got == expected

        active = [r for r in rows if r["archived_at"] is None]
        shares = await completeness.percentages(conn, SCHEMA)
        assert shares["county"]["households"] == len(active)
        assert shares["county"]["complete"] == sum(r["visits"] >= 2 for r in active)
        by_township = {}
        for r in active:
            counts = by_township.setdefault(r["township"], [0, 0])
            counts[0] += 1
            counts[1] += r["visits"] >= 2
        assert {t["township"]: [t["households"], t["complete"]] for t in shares["townships"]} == by_township
    finally:
        await conn.close()
