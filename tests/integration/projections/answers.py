"""Everything the verdicts, coverage and completeness read models answer for one county, as one value,
so tests can compare incremental processing, a rebuild and a plain-Python fold."""
from __future__ import annotations

from datetime import date
from typing import Any

from projections import completeness, coverage, verdicts
from projections.base import Period

PERIODS = [Period.year(2026), Period.quarter(2026, 2), Period.month(2026, 5)]


async def answers(conn: Any, schema: str, as_of: date | None) -> dict:
    result: dict[str, Any] = {"checkins": await verdicts.checkins(conn, schema, as_of=as_of)}
    for period in PERIODS:
        for level in ("village", "township", "county"):
            result[f"coverage {period} {level}"] = await coverage.coverage(conn, schema, period, level, as_of=as_of)
        result[f"coverage {period} h3"] = await coverage.geojson(conn, schema, period, "h3", as_of=as_of)
    result["households"] = await completeness.households(conn, schema, as_of=as_of)
    result["percentages"] = await completeness.percentages(conn, schema, as_of=as_of)
    cadres = await conn.fetch(f"SELECT DISTINCT cadre_id FROM {schema}.completeness_cadres ORDER BY 1")
    due = {r["cadre_id"]: await completeness.due_list(conn, schema, r["cadre_id"], as_of=as_of) for r in cadres}
    result["due"] = {cadre_id: items for cadre_id, items in due.items() if items}  # cadres enrolled later: []
    return result


def matches_fold(result: dict, fold: Any) -> None:
    """Assert the read models' answers equal the fold's."""
    expected = fold.verdicts()
    got = {c["visit_id"]: c for c in result["checkins"]}
    assert set(got) == set(expected)
    for visit_id, want in expected.items():
        assert got[visit_id]["verified"] == want["verified"], visit_id
        assert got[visit_id]["impossible_travel"] == want["impossible_travel"], visit_id
        if want["distance_m"] is None:
            assert got[visit_id]["distance_m"] is None
        else:
            assert abs(got[visit_id]["distance_m"] - want["distance_m"]) < 1e-6
    for period in PERIODS:
        for level in ("village", "township", "county"):
            rows = result[f"coverage {period} {level}"]
            figures = {r["key"]: {k: r[k] for k in ("households", "visited_once", "visited_twice", "visits",
                                                     "verified_visits", "verified_visited")} for r in rows}
            assert figures == fold.coverage(period.start, period.end, level), (period, level)
    statuses = {h["household_id"]: (h["visits_this_year"], h["status"], h["next_due"]) for h in result["households"]}
    assert statuses == fold.household_status()
    assert set(result["due"]) == {c for c in fold.cadres if fold.due_list(c)}
    for cadre_id, items in result["due"].items():
        got_items = [(i["household_id"], i["reason"], i["status"], i["due_date"]) for i in items]
        assert got_items == fold.due_list(cadre_id), cadre_id
