"""Every read of a household's personal data by a county admin writes an audit-log entry: who, which
households, when and through which request (a household, a list with heads' names, a ledger); a list
page read again within the window is not logged twice."""
from __future__ import annotations

import uuid

from services.storage.database import connect

from .conftest import COUNTY_A, Api
from .test_queries import wait_for_projections


def reads_of(database_url: str, household) -> list[dict]:
    """The `household.read` entries naming the household, oldest first."""
    with connect(database_url) as conn:
        rows = conn.execute(
            "SELECT username, county, at, detail FROM core.audit_log WHERE action = 'household.read'"
            " AND detail->'household_ids' ? %s ORDER BY id", (str(household),)).fetchall()
    return [{"username": u, "county": c, "at": a, **d} for u, c, a, d in rows]


async def test_an_admin_reading_a_household_is_logged_with_who_when_and_the_request(api: Api, database_url):
    household = api.household(head_name="周某")
    admin = await api.client("county_admin")
    assert (await admin.get(f"/api/v1/households/{household}")).json()["head_name"] == "周某"
    [entry] = reads_of(database_url, household)
    assert (entry["username"], entry["county"]) == (api.account("county_admin").username, COUNTY_A)
    assert entry["household_ids"] == [str(household)] and entry["at"] is not None
    assert entry["route"] == f"GET /api/v1/households/{household}"

    shown = (await admin.get("/api/v1/audit", params={"limit": 5})).json()["items"]
    assert any(e["action"] == "household.read" and e["detail"]["household_ids"] == [str(household)] for e in shown)


async def test_lists_and_ledgers_with_heads_names_log_the_households_they_show(api: Api, database_url):
    township = COUNTY_A + "001"
    household = api.household(head_name=f"吴{uuid.uuid4().hex[:6]}")
    await wait_for_projections(database_url, COUNTY_A)
    admin = await api.client("county_admin")
    page = (await admin.get("/api/v1/completeness/households", params={"township": township, "limit": 500})).json()
    assert str(household) in [item["household_id"] for item in page["items"]]
    # The same page again (the map's time slider, a live update): logged once per window, not per request.
    again = await admin.get("/api/v1/completeness/households", params={"township": township, "limit": 500,
                                                                       "as_of": "2099-12-31"})
    assert [i["household_id"] for i in again.json()["items"]] == [i["household_id"] for i in page["items"]]
    ledger = await admin.get("/api/v1/exports/completeness", params={"township": township})
    assert ledger.status_code == 200
    routes = [entry["route"] for entry in reads_of(database_url, household)]
    assert [r.split("?")[0] for r in routes] == ["GET /api/v1/completeness/households",
                                                 "GET /api/v1/exports/completeness"]
    assert f"township={township}" in routes[0]


async def test_cadres_and_pages_without_personal_data_log_nothing(api: Api, database_url):
    household = api.household()
    cadre = await api.client("cadre")
    assert (await cadre.get(f"/api/v1/households/{household}")).status_code == 200
    department = await api.client("department")
    assert (await department.get(f"/api/v1/households/{household}")).status_code == 403
    assert reads_of(database_url, household) == []
