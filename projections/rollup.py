"""Province rollup (schema `rollup`): per county and month the county-level figures, no personal data.

Hook with the driver: `rollup` is `deferred`: the driver commits each batch to the county's other read
models first, then applies it here in a transaction of its own (with its tracking row), never past
their position, so they already hold every event it is given (maybe a few more, which it gets in its
next batch and which then recompute the days they touch). Its `apply` then computes, for each Chinese calendar day D the batch's events were recorded on, the figures of D's
month as of D, by asking the county's own read models (`as_of=D`, in their schema), and upserts one
row (county, month, as_of_date = D) into `rollup.rollup_county_months`. Rows recorded later than the
batch's first day are recomputed too (a late event changes them); a row already stored for a day
keeps the figure groups (`GROUPS`) that none of the batch's events can change. So:
- a month's figures are those known at the last day with events in it, and frozen after the month;
- `as_of` d reads, per month, the row with the latest `as_of_date` ≤ d, which is exactly the row a
  rebuild cut at d would have written (each row only depends on events recorded up to its day);
- no SQL reads a county table and a rollup table together (Citus: they live on different nodes);
  the figures cross over in Python. The county's `projection_tracking` row `rollup` is this
  projection's tracking row per (projection, county), moved in the rollup's own transaction;
  `rollup.rollup_counties.last_event_at` says how current each county's rows are.

Figures: households (not archived before the month), visited ≥ 1, coverage %, verified visits
(`projections.coverage`'s definitions, summed in SQL over its and the verdicts' tables); issues
raised / resolved / rated / satisfied in the month (`projections.issues`); pairings compliant % (not
overdue, `projections.pairing`); interview coverage % (`projections.interviews`), the last two judged
on D.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from projections import coverage, interviews, pairing
from projections.base import Period, Projection, event_name, local_date, recorded_before
from projections.issues import PERIOD_COUNTS
from projections.issues import snapshot as issues_snapshot
from projections.rules import Rules
from projections.verdicts import visible_checkins
from services.storage.names import adcode_of

FIGURES = (
    "households", "visited", "coverage_pct", "verified_visits", "issues_raised", "issues_resolved", "issues_rated",
    "issues_satisfied", "satisfaction_pct", "pairings", "pairings_compliant_pct", "cadres", "interview_coverage_pct",
)
RANKABLE = ("coverage_pct", "verified_visits", "issues_resolved", "satisfaction_pct", "pairings_compliant_pct",
            "interview_coverage_pct")

SHARED_TABLES = [
    "CREATE SCHEMA IF NOT EXISTS rollup",
    "CREATE TABLE IF NOT EXISTS rollup.rollup_county_months ("
    " county text NOT NULL, province_code text, month date NOT NULL, as_of_date date NOT NULL,"
    " households int NOT NULL, visited int NOT NULL, coverage_pct float8, verified_visits int NOT NULL,"
    " issues_raised int NOT NULL, issues_resolved int NOT NULL, issues_rated int NOT NULL,"
    " issues_satisfied int NOT NULL, satisfaction_pct float8, pairings int NOT NULL,"
    " pairings_compliant_pct float8, cadres int NOT NULL, interview_coverage_pct float8,"
    " PRIMARY KEY (county, as_of_date))",
    "CREATE INDEX IF NOT EXISTS rollup_county_months_province ON rollup.rollup_county_months"
    " (province_code, month, county, as_of_date)",
    "CREATE TABLE IF NOT EXISTS rollup.rollup_counties ("
    " county text PRIMARY KEY, province_code text, last_event_at timestamptz NOT NULL)",
]


def _month(day: date) -> Period:
    return Period.month(day.year, day.month)


# Which events can change which figures: a day's stored row keeps the figures no new event touches.
GROUPS = {
    "coverage": (("Household.", "Visit."), ("households", "visited", "coverage_pct", "verified_visits")),
    "issues": (("Issue.",), ("issues_raised", "issues_resolved", "issues_rated", "issues_satisfied",
                            "satisfaction_pct")),
    "pairing": (("Pairing.", "Visit."), ("pairings", "pairings_compliant_pct")),
    "interviews": (("Interview.", "Cadre."), ("cadres", "interview_coverage_pct")),
}


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


async def county_figures(conn: Any, schema: str, day: date, groups: Sequence[str] = tuple(GROUPS)) -> dict:
    """The figures of `day`'s month for the county, as of `day` (reads only the county schema), for
    the figure groups asked for."""
    month = _month(day)
    start, end = month.instants()
    cutoff = recorded_before(day)
    figures: dict[str, Any] = {}
    if "coverage" in groups:
        # `coverage.household_visits` summed in SQL: its figures, without a row per household in Python.
        place = await conn.fetchrow(
            f"""
            WITH h AS {coverage.households_as_of(schema)}, v AS {visible_checkins(schema)},
            per AS (
                SELECT h.household_id, count(v.visit_id) AS visits,
                       count(v.visit_id) FILTER (WHERE v.verified) AS verified
                FROM h LEFT JOIN v ON v.household_id = h.household_id AND v.occurred_at >= $2 AND v.occurred_at < $3
                WHERE h.archived_at IS NULL OR h.archived_at >= $2 GROUP BY h.household_id
            )
            SELECT count(*)::int AS households, count(*) FILTER (WHERE visits >= 1)::int AS visited,
                   coalesce(sum(verified), 0)::int AS verified_visits FROM per
            """,
            cutoff, start, end,
        )
        figures.update(households=place["households"], visited=place["visited"],
                       coverage_pct=_pct(place["visited"], place["households"]),
                       verified_visits=place["verified_visits"])
    if "issues" in groups:
        handled = await conn.fetchrow(f"SELECT {PERIOD_COUNTS} FROM {issues_snapshot(schema)} s", cutoff, start, end)
        figures.update(issues_raised=handled["raised"], issues_resolved=handled["resolved"],
                       issues_rated=handled["rated"], issues_satisfied=handled["satisfied"],
                       satisfaction_pct=_pct(handled["satisfied"], handled["rated"]))
    if "pairing" in groups:
        paired = await pairing.compliance(conn, schema, as_of=day)
        figures.update(pairings=paired["pairings"], pairings_compliant_pct=paired["compliant_pct"])
    if "interviews" in groups:
        talked = (await interviews.coverage_by_rank(conn, schema, as_of=day))["county"]
        figures.update(cadres=talked["cadres"], interview_coverage_pct=talked["coverage_pct"])
    return figures


class Rollup(Projection):
    name = "rollup"
    deferred = True  # ~90 ms a batch: the county's read models commit first (projections.driver)
    tables: list[str] = []
    shared_tables = SHARED_TABLES

    async def apply(self, conn: Any, schema: str, events: Sequence[Any], rules: Rules) -> None:
        if not events:
            return
        county = adcode_of(schema)
        dated = [(local_date(e.timestamp), event_name(e)) for e in events]
        first = min(day for day, _ in dated)
        stored = {
            r["as_of_date"]: dict(r) for r in await conn.fetch(
                "SELECT * FROM rollup.rollup_county_months WHERE county = $1 AND as_of_date >= $2", county, first
            )
        }
        province = await conn.fetchval("SELECT province_code FROM core.counties WHERE adcode = $1", county)
        rows = []
        for day in sorted({day for day, _ in dated} | set(stored)):
            # The new events a day's figures include are those recorded on or before it.
            touched = [
                group for group, (prefixes, _) in GROUPS.items()
                if any(d <= day and name.startswith(prefixes) for d, name in dated)
            ]
            if day in stored:
                figures = {**stored[day], **await county_figures(conn, schema, day, touched)}
            else:
                figures = await county_figures(conn, schema, day)
            rows.append((county, province, _month(day).start, day, *(figures[f] for f in FIGURES)))
        placeholders = ", ".join(f"${i}" for i in range(1, len(FIGURES) + 5))
        updates = ", ".join(f"{f} = excluded.{f}" for f in FIGURES)
        await conn.executemany(
            f"INSERT INTO rollup.rollup_county_months (county, province_code, month, as_of_date, {', '.join(FIGURES)})"
            f" VALUES ({placeholders}) ON CONFLICT (county, as_of_date) DO UPDATE SET {updates}",
            rows,
        )
        await conn.execute(
            "INSERT INTO rollup.rollup_counties VALUES ($1, $2, $3) ON CONFLICT (county) DO UPDATE"
            " SET province_code = excluded.province_code,"
            " last_event_at = greatest(rollup_counties.last_event_at, excluded.last_event_at)",
            county, province, max(e.timestamp for e in events),
        )

    async def forget(self, conn: Any, schema: str) -> None:
        county = adcode_of(schema)
        await conn.execute("DELETE FROM rollup.rollup_county_months WHERE county = $1", county)
        await conn.execute("DELETE FROM rollup.rollup_counties WHERE county = $1", county)


projection = Rollup()


def _row(row: Any) -> dict:
    return {"county": row["county"], "month": row["month"], "as_of_date": row["as_of_date"],
            **{f: row[f] for f in FIGURES}}


async def county_months(conn: Any, county: str, *, year: int | None = None, as_of: date | None = None) -> list[dict]:
    """One county's figures per month (oldest first), each as of its latest day ≤ `as_of`."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (month) * FROM rollup.rollup_county_months WHERE county = $1"
        " AND ($2::date IS NULL OR as_of_date <= $2) AND ($3::int IS NULL OR extract(year FROM month) = $3)"
        " ORDER BY month, as_of_date DESC",
        county, as_of, year,
    )
    return [_row(r) for r in rows]


async def rankings(conn: Any, province_code: str, month: Period, *, by: str = "coverage_pct",
                   as_of: date | None = None) -> list[dict]:
    """The province's counties for a month, ranked by `by` (more is better; no figure ranks last), then
    by verified visits, then by adcode ascending; `rank` is the position, never shared."""
    if by not in RANKABLE:
        raise ValueError(f"counties rank by one of {', '.join(RANKABLE)}, not {by!r}")
    if month != _month(month.start):
        raise ValueError(f"the rollup is monthly: {month} is not one calendar month")
    rows = await conn.fetch(
        "SELECT DISTINCT ON (county) * FROM rollup.rollup_county_months WHERE province_code = $1 AND month = $2"
        " AND ($3::date IS NULL OR as_of_date <= $3) ORDER BY county, as_of_date DESC",
        province_code, month.start, as_of,
    )
    items = [_row(r) for r in rows]

    def key(item: dict) -> tuple:
        value = item[by]
        return (value is None, -(value or 0), -item["verified_visits"], item["county"])

    return [{"rank": i, **item} for i, item in enumerate(sorted(items, key=key), start=1)]
