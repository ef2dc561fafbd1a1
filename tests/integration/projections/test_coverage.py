"""Coverage figures per level and period, and GeoJSON that RFC 7946 accepts."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest

from projections import coverage
from projections.base import Period
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from tests.integration.projections.cases import MINE, Story, project
from tests.integration.projections.strategies import SHANGHAI, store_events

SCHEMA = "county_469029"
T0 = datetime(2026, 2, 1, 9, tzinfo=SHANGHAI)


def story() -> tuple[Story, dict]:
    s = Story()
    cadre = s.cadre(T0, "469029100")
    homes = {
        "a": s.household(T0, "469029100201", 18.640, 109.700),
        "b": s.household(T0, "469029100201", 18.641, 109.701),
        "c": s.household(T0, "469029100202", 18.655, 109.712),
        "d": s.household(T0, "469029101201", 18.600, 109.650),
    }
    s.visit(T0 + timedelta(days=10), cadre, homes["a"])
    s.visit(T0 + timedelta(days=40), cadre, homes["a"], north_m=500)  # not verified
    s.visit(T0 + timedelta(days=11), cadre, homes["c"])
    s.then(T0 + timedelta(days=20), homes["d"], "archive", "moved to the city")
    s.visit(T0 + timedelta(days=200), cadre, homes["b"])  # in August
    return s, homes


async def test_coverage_counts_households_visited_once_and_twice_per_village_township_and_county(
        database_url, county):
    county("469029")
    s, _ = story()
    conn = await project(database_url, SCHEMA, s.events)
    try:
        villages = {r["key"]: r for r in await coverage.coverage(conn, SCHEMA, Period.parse("2026-Q1"), "village")}
        assert {k: (r["households"], r["visited_once"], r["visited_twice"], r["visits"], r["verified_visits"],
                    r["coverage_pct"]) for k, r in villages.items()} == {
            "469029100201": (2, 1, 1, 2, 1, 50.0),
            "469029100202": (1, 1, 0, 1, 1, 100.0),
            "469029101201": (1, 0, 0, 0, 0, 0.0),  # archived during the quarter: still counted in it
        }
        [whole] = await coverage.coverage(conn, SCHEMA, Period.year(2026), "county")
        assert (whole["households"], whole["visited_once"], whole["visits"]) == (4, 3, 4)
        townships = await coverage.coverage(conn, SCHEMA, Period.month(2026, 8), "township")
        assert [(r["key"], r["households"], r["visited_once"]) for r in townships] == [("469029100", 3, 1)]
        # As of 5 February nothing had been visited yet, and the archive was unknown.
        [early] = await coverage.coverage(conn, SCHEMA, Period.year(2026), "county", as_of=date(2026, 2, 5))
        assert (early["households"], early["visits"]) == (4, 0)
    finally:
        await conn.close()


def assert_rfc7946(collection: dict) -> None:
    assert collection["type"] == "FeatureCollection" and isinstance(collection["features"], list)
    for feature in collection["features"]:
        assert feature["type"] == "Feature" and isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        if geometry["type"] == "Point":
            points = [geometry["coordinates"]]
        else:
            assert geometry["type"] == "Polygon"
            for ring in geometry["coordinates"]:
                assert len(ring) >= 4 and ring[0] == ring[-1]  # closed linear ring
            exterior = geometry["coordinates"][0]
            area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairwise(exterior))
            assert area > 0  # exterior rings are counter-clockwise
            points = [p for ring in geometry["coordinates"] for p in ring]
        for lon, lat in points:  # [longitude, latitude]: Hainan is at 109°E, 18°N
            assert 108 < lon < 112 and 18 < lat < 21


@pytest.mark.parametrize("level, resolution", [("village", 8), ("township", 8), ("county", 8), ("h3", 7),
                                               ("h3", 8), ("h3", 9)])
async def test_coverage_geojson_is_valid_rfc_7946(database_url, county, level, resolution):
    county("469029")
    s, _ = story()
    conn = await project(database_url, SCHEMA, s.events)
    try:
        collection = await coverage.geojson(conn, SCHEMA, Period.year(2026), level, resolution=resolution)
        assert_rfc7946(collection)
        assert sum(f["properties"]["households"] for f in collection["features"]) == 4
    finally:
        await conn.close()


async def test_an_unknown_level_or_resolution_is_refused_with_a_clear_error(database_url, county):
    county("469029")
    conn = await project(database_url, SCHEMA, [])
    try:
        with pytest.raises(ValueError, match="village, township, county or h3"):
            await coverage.coverage(conn, SCHEMA, Period.year(2026), "province")
        with pytest.raises(ValueError, match="resolution must be one of"):
            await coverage.geojson(conn, SCHEMA, Period.year(2026), "h3", resolution=12)
        with pytest.raises(ValueError, match="not a period"):
            Period.parse("2026-13")
    finally:
        await conn.close()


def square(lon: float, lat: float, half: float = 0.002) -> dict:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half]]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


async def test_coverage_geojson_draws_the_stored_polygons_of_known_places_and_points_for_the_rest(
        database_url, county):
    county("469029")
    s, _ = story()
    conn = await project(database_url, SCHEMA, s.events)
    shapes = {"469029": square(109.7, 18.64, 0.2), "469029100": square(109.7, 18.645, 0.05),
              "469029100201": square(109.7005, 18.6405)}
    levels = {"469029": "county", "469029100": "township", "469029100201": "village"}
    boundary = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shape, "properties": {"code": code, "level": levels[code]}}
        for code, shape in shapes.items()]}
    try:
        await conn.execute("UPDATE core.counties SET boundary = $1::jsonb WHERE adcode = '469029'",
                           json.dumps(boundary))
        for level in ("village", "township", "county"):
            collection = await coverage.geojson(conn, SCHEMA, Period.year(2026), level)
            assert_rfc7946(collection)
            geometries = {f["id"]: f["geometry"] for f in collection["features"]}
            for key, geometry in geometries.items():
                assert geometry == shapes.get(key, geometry)
                assert geometry["type"] == ("Polygon" if key in shapes else "Point"), (level, key)
        villages = {f["id"] for f in (await coverage.geojson(conn, SCHEMA, Period.year(2026)))["features"]}
        assert "469029100202" in villages  # no stored shape: drawn as a point at its households
    finally:
        await conn.execute("UPDATE core.counties SET boundary = NULL WHERE adcode = '469029'")
        await conn.close()


async def test_an_archive_on_a_quarters_first_day_keeps_the_household_in_that_quarter_not_in_the_next(
        database_url, county):
    """The summaries' day boundaries: archived at 00:30 on 1 April it counts in Q2 (not archived before
    Q2 began) and in no later quarter; archived late on 31 March it is out of Q2. Its late-synced visit
    and a void recorded after the archive move its figures only in the periods it counts in."""
    county("469029")
    s = Story()
    cadre = s.cadre(T0, "469029100")
    first_day = s.household(T0, "469029100201", 18.640, 109.700)
    eve = s.household(T0, "469029100201", 18.641, 109.701)
    s.visit(datetime(2026, 3, 30, 10, tzinfo=SHANGHAI), cadre, first_day)
    gone = s.visit(datetime(2026, 3, 30, 11, tzinfo=SHANGHAI), cadre, eve)
    s.then(datetime(2026, 3, 31, 23, 30, tzinfo=SHANGHAI), eve, "archive", "moved")
    s.visit(datetime(2026, 4, 1, 0, 10, tzinfo=SHANGHAI), cadre, first_day)
    s.then(datetime(2026, 4, 1, 0, 30, tzinfo=SHANGHAI), first_day, "archive", "moved")
    s.visit(datetime(2026, 4, 2, 9, tzinfo=SHANGHAI), cadre, None, lat=18.6, lon=109.6)  # not at a household
    s.then(datetime(2026, 4, 3, 9, tzinfo=SHANGHAI), gone, "void", "admin", "wrong household")
    conn = await project(database_url, SCHEMA, s.events)
    try:
        def figures(rows):
            return [(r["households"], r["visited_once"], r["visits"]) for r in rows]

        assert figures(await coverage.coverage(conn, SCHEMA, Period.parse("2026-Q1"), "county")) == [(2, 1, 1)]
        assert figures(await coverage.coverage(conn, SCHEMA, Period.parse("2026-Q1"), "county",
                                               as_of=date(2026, 4, 2))) == [(2, 2, 2)]  # before the void
        assert figures(await coverage.coverage(conn, SCHEMA, Period.parse("2026-Q2"), "county")) == [(1, 1, 1)]
        assert figures(await coverage.coverage(conn, SCHEMA, Period.parse("2026-Q2"), "county",
                                               as_of=date(2026, 3, 31))) == [(1, 0, 0)]
        assert figures(await coverage.coverage(conn, SCHEMA, Period.parse("2026-Q2"), "county",
                                               as_of=date(2026, 3, 30))) == [(2, 0, 0)]
        assert await coverage.coverage(conn, SCHEMA, Period.parse("2026-Q3"), "county") == []
        assert figures(await coverage.coverage(conn, SCHEMA, Period.parse("2026-03-31..2026-04-01"), "county")) \
            == [(2, 1, 1)]  # neither was archived before that range began
    finally:
        await conn.close()


async def test_a_late_visit_of_last_year_leaves_this_years_visits_of_its_household_as_they_were(database_url, county):
    # A visit loads only its own periods of the household's counts: the household's other years come from
    # what coverage kept, and must stay.
    county("469029")
    s = Story()
    cadre = s.cadre(T0, "469029100")
    home = s.household(T0, "469029100201", 18.640, 109.700)
    s.visit(datetime(2026, 12, 20, 9, tzinfo=SHANGHAI), cadre, home)
    s.visit(datetime(2027, 1, 5, 9, tzinfo=SHANGHAI), cadre, home)
    before = len(s.events)
    late = datetime(2026, 12, 28, 9, tzinfo=SHANGHAI)
    s.visit(datetime(2027, 1, 6, 9, tzinfo=SHANGHAI), cadre, home, occurred_at=late)
    conn = await project(database_url, SCHEMA, s.events[:before])
    try:
        await store_events(conn, SCHEMA, s.events[before:])  # the late sync, in a batch of its own
        await Driver(database_url, [by_name(n) for n in MINE], decoder(), 1000, 2).process(
            conn, FollowedCounty("469029", SCHEMA, Rules()))
        row = await conn.fetchrow(f"SELECT years, visits FROM {SCHEMA}.coverage_current WHERE household_id = $1",
                                  home.id)
        assert dict(zip(row["years"], row["visits"], strict=True)) == {2026: 2, 2027: 1}
        for year, visits in ((2026, 2), (2027, 1)):
            [whole] = await coverage.coverage(conn, SCHEMA, Period.year(year), "county")
            assert (whole["visited_once"], whole["visited_twice"], whole["visits"]) == (1, int(visits >= 2), visits)
    finally:
        await conn.close()
