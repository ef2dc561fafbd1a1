"""The demo map: three adjacent counties in Hainan's central mountains, real townships, generated villages."""
from __future__ import annotations

import itertools
import re

import pytest

from services.demo.geography import VILLAGE_RADIUS_M, area_km2, contains, county, distance_m, hainan

DESIGN_TOWNSHIPS = {  # DESIGN §12
    "469029": "保城镇 什玲镇 加茂镇 响水镇 新政镇 三道镇 六弓乡 南林乡 毛感乡",
    "469030": "营根镇 湾岭镇 黎母山镇 和平镇 长征镇 红毛镇 中平镇 吊罗山乡 上安乡 什运乡",
    "469001": "通什镇 南圣镇 毛阳镇 番阳镇 畅好乡 毛道乡 水满乡",
}


def test_the_three_counties_have_their_real_adcodes_and_township_names():
    assert {c.adcode: " ".join(t.name for t in c.townships) for c in hainan()} == DESIGN_TOWNSHIPS


def test_codes_nest_township_in_county_and_village_in_township():
    for c in hainan():
        for township in c.townships:
            assert re.fullmatch(rf"{c.adcode}\d{{3}}", township.code)
            for village in township.villages:
                assert re.fullmatch(rf"{township.code}\d{{3}}", village.code)
        codes = [v.code for v in c.villages]
        assert len(codes) == len(set(codes))


def test_baoting_has_its_62_villages_and_the_others_about_60():
    counts = {c.adcode: len(c.villages) for c in hainan()}
    assert counts["469029"] == 62
    assert all(55 <= n <= 65 for n in counts.values())


def test_every_village_is_marked_generated_and_named_as_a_village():
    villages = [v for c in hainan() for v in c.villages]
    assert all(v.generated and v.name.endswith("村") for v in villages)
    for c in hainan():
        assert len({v.name for v in c.villages}) == len(c.villages)


def test_centroids_and_township_seats_lie_inside_their_county():
    for c in hainan():
        assert contains(c.boundary, (c.lon, c.lat))
        for township in c.townships:
            assert contains(c.boundary, (township.lon, township.lat))
            assert contains(township.boundary, (township.lon, township.lat))


def test_counties_are_adjacent_and_do_not_overlap():
    counties = hainan()
    for a, b in itertools.combinations(counties, 2):
        assert len(set(a.boundary) & set(b.boundary)) >= 2, f"{a.short_name} and {b.short_name} share no edge"
    # A fine grid over the three: no point falls in two counties.
    lons = [p[0] for c in counties for p in c.boundary]
    lats = [p[1] for c in counties for p in c.boundary]
    for i, j in itertools.product(range(60), range(60)):
        point = (min(lons) + (max(lons) - min(lons)) * (i + 0.5) / 60,
                 min(lats) + (max(lats) - min(lats)) * (j + 0.5) / 60)
        assert sum(contains(c.boundary, point) for c in counties) <= 1


def test_county_areas_are_the_right_order_of_magnitude():
    # Real areas: Baoting 1,153 km², Qiongzhong 2,704 km², Wuzhishan 1,169 km²; ours are rough polygons.
    real = {"469029": 1153, "469030": 2704, "469001": 1169}
    for c in hainan():
        assert 0.6 < area_km2(c.boundary) / real[c.adcode] < 1.5


def test_townships_tile_their_county():
    for c in hainan():
        assert sum(area_km2(t.boundary) for t in c.townships) == pytest.approx(area_km2(c.boundary), rel=0.01)


def test_villages_lie_inside_their_township_and_never_overlap():
    for c in hainan():
        for township in c.townships:
            for village in township.villages:
                assert all(contains(township.boundary, p) for p in village.boundary)
                assert all(contains(c.boundary, p) for p in village.boundary)
        for a, b in itertools.combinations(c.villages, 2):
            assert distance_m((a.lon, a.lat), (b.lon, b.lat)) > 2 * VILLAGE_RADIUS_M


def test_an_unknown_county_is_a_clear_error():
    with pytest.raises(KeyError, match="469029"):
        county("110101")
