"""The benchmarks' generated counties stay on the globe and apart (tenants3000 once failed to provision its
1,426th county: latitude -90.17)."""
from tests.bench.geography import generated_county, tenant_adcodes


def test_three_thousand_generated_counties_have_valid_and_distinct_centroids():
    places = [generated_county(a, i) for i, a in enumerate(tenant_adcodes())]
    assert all(-90 <= p.lat <= 90 and -180 <= p.lon <= 180 for p in places)
    assert all(-90 <= lat <= 90 and -180 <= lon <= 180 for p in places for lon, lat in p.boundary)
    assert len({(round(p.lat, 3), round(p.lon, 3)) for p in places}) == len(places)
