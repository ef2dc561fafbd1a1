"""Stays (蹲点 / 三进三同): a `stay` check-in records its whole days (required for a stay, refused for any other
kind); the days show per cadre and period on GET /stays, on the cadre's leaderboard row (verified stays
only), in the work log and in the stays ledger (XLSX).

The module writes its own world in township 196, which no other test uses.
"""
from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from services.county import Actor
from services.domain import commands as c
from tests.integration.api.conftest import COUNTY_A
from tests.integration.api.test_queries import household, run, sid, wait_for_projections

TOWNSHIP = f"{COUNTY_A}196"
VILLAGE = f"{TOWNSHIP}201"
NEAR = {"lat": 18.96, "lon": 109.70, "accuracy_m": 10, "provider": "gps", "is_mock": False}
FAR = {**NEAR, "lat": 19.2}  # ~27 km from the household: not verified


def year() -> str:
    return str(datetime.now(UTC).astimezone().year)


@pytest.fixture(scope="module")
async def world(api, database_url) -> dict:
    now = datetime.now(UTC) - timedelta(minutes=5)
    stayer = uuid.UUID(run(api, COUNTY_A, c.EnrolCadre(command_id=sid("st-c"), name="蹲点干部", rank="staff",
                                                       unit="县委组织部", township=TOWNSHIP))["id"])
    home = uuid.UUID(run(api, COUNTY_A, household(VILLAGE, "蹲点户", "st-h", 18.96))["id"])
    actor = Actor(user_id="seed", roles=frozenset({"cadre"}), county=COUNTY_A, cadre_id=stayer)

    def stay(key: str, days: int, position: dict, at: datetime = now) -> uuid.UUID:
        return uuid.UUID(run(api, COUNTY_A, c.CheckIn(
            command_id=sid(key), target_kind="household", target_id=str(home), kind="stay", days=days,
            occurred_at=at, position=position), actor)["id"])

    # the far one an hour before: 27 km at one moment would be impossible travel for the near ones too
    stays = {"verified": stay("st-1", 5, NEAR), "far": stay("st-2", 3, FAR, now - timedelta(hours=1)),
             "voided": stay("st-3", 7, NEAR)}
    run(api, COUNTY_A, c.VoidVisit(command_id=sid("st-void"), visit_id=stays["voided"], expected_version=1,
                                   reason="重复录入"))
    await wait_for_projections(database_url, COUNTY_A)
    return {"stayer": stayer, "home": home, "stays": stays}


def check_in(home: uuid.UUID, **fields) -> dict:
    payload = {"target_kind": "household", "target_id": str(home), "kind": "stay",
               "occurred_at": datetime.now(UTC).isoformat(), "position": NEAR, **fields}
    return {"id": str(uuid.uuid4()), "type": "check_in", "payload": payload}


@pytest.mark.parametrize(("fields", "says"), [
    ({}, "a stay needs its number of days"),
    ({"days": 0}, "greater than or equal to 1"),
    ({"days": 93}, "less than or equal to 92"),
    ({"days": 2.5}, "integer"),
    ({"days": "3"}, "must be a number"),
    ({"kind": "home", "days": 2}, "only a stay records days"),
])
async def test_a_stay_records_whole_days_and_no_other_kind_does(api, world, fields, says):
    client = await api.client("cadre")
    [result] = (await client.post("/api/v1/sync", json={"commands": [check_in(world["home"], **fields)]}
                                  )).json()["results"]
    assert result["status"] == "rejected", result
    assert says in result["reason"]["en"] and "days" in result["reason"]["en"], result


async def test_a_stay_with_days_is_applied_and_read_back(api, world):
    client = await api.client("cadre")
    entry = check_in(world["home"], days=4)
    [result] = (await client.post("/api/v1/sync", json={"commands": [entry]})).json()["results"]
    assert result["status"] == "applied", result
    admin = await api.client("county_admin")
    visit = (await admin.get(f"/api/v1/visits/{entry['id']}")).json()
    assert (visit["kind"], visit["days"]) == ("stay", 4)


async def test_days_stayed_per_cadre_count_every_stay_not_voided_and_verify_the_verified(api, world):
    admin = await api.client("county_admin")
    page = (await admin.get("/api/v1/stays", params={"period": year()})).json()
    [row] = [r for r in page["items"] if r["cadre_id"] == str(world["stayer"])]
    assert (row["name"], row["township"]) == ("蹲点干部", TOWNSHIP)
    assert (row["stays"], row["days"], row["verified_stays"], row["verified_days"]) == (2, 8, 1, 5)
    yesterday = (datetime.now(UTC).astimezone().date() - timedelta(days=1)).isoformat()
    before = (await admin.get("/api/v1/stays", params={"period": year(), "as_of": yesterday})).json()
    assert str(world["stayer"]) not in [r["cadre_id"] for r in before["items"]]


async def test_the_cadres_leaderboard_row_shows_verified_days_stayed(api, world):
    admin = await api.client("county_admin")
    board = (await admin.get("/api/v1/leaderboards/cadres", params={"period": year(), "limit": 500})).json()
    [row] = [r for r in board["items"] if r["cadre_id"] == str(world["stayer"])]
    assert row["stay_days"] == 5 and row["verified_visits"] == 1


async def test_the_work_log_shows_each_stays_days(api, world):
    admin = await api.client("county_admin")
    rows = (await admin.get(f"/api/v1/cadres/{world['stayer']}/worklog")).json()["items"]
    assert sorted((row["visit_id"], row["days"]) for row in rows) == sorted(
        (str(world["stays"][k]), d) for k, d in (("verified", 5), ("far", 3), ("voided", 7)))


async def test_the_stays_ledger_lists_each_stay_with_its_cadre_and_days(api, world):
    admin = await api.client("county_admin")
    response = await admin.get("/api/v1/exports/stays", params={"period": year(), "cadre_id": str(world["stayer"])})
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("干部", "干部编号", "开始日期", "蹲点天数")
    assert sorted((r[0], r[3], r[7]) for r in rows[1:]) == [("蹲点干部", 3, "否"), ("蹲点干部", 5, "是")]
    assert all(isinstance(r[2], datetime) and r[2].date() <= date.today() + timedelta(days=1) for r in rows[1:])


async def test_a_cadre_may_not_read_the_stays_ledger(api, world):
    cadre = await api.client("cadre")
    assert (await cadre.get("/api/v1/stays")).status_code == 403
