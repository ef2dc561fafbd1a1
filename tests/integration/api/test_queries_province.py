"""GET /province/about: the province viewer's own province by code and name, for the views' header."""
from __future__ import annotations

from tests.integration.api.conftest import COUNTY_C, PROVINCE_AB, PROVINCE_C, TEST_COUNTIES


async def test_a_province_viewer_gets_its_provinces_code_and_name(api):
    for county, code in ((None, PROVINCE_AB), (COUNTY_C, PROVINCE_C)):
        viewer = await api.client("province_viewer", *([county] if county else []))
        response = await viewer.get("/api/v1/province/about")
        assert response.status_code == 200, response.text
        name = next(spec[1] for spec in TEST_COUNTIES.values() if spec[2] == code)
        assert response.json() == {"code": code, "name": name, "prefecture": None}


async def test_county_roles_cannot_read_the_province(api):
    admin = await api.client("county_admin")
    assert (await admin.get("/api/v1/province/about")).status_code == 403
