"""GET queries over every read model: county scope, pages, as_of, roles; and the data the API tests share.

`seeded` writes a small, fixed county A world (one township, three households, a cadre with a pairing,
check-ins and issues) plus one household in county B, waits until the projector has applied it and
hands out the ids. It is idempotent (fixed command ids), so modules that import it may run it again.
"""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from services.county import Actor
from services.domain import commands as c
from services.identity import ensure_user
from services.storage.database import connect
from tests.integration.api.conftest import COUNTY_A, COUNTY_B, DEPARTMENT, PASSWORD, PROVINCE_AB

SEED = uuid.UUID("a3d1c5e0-6b7e-4f55-9a3e-5d0f3b8e2c10")
TOWNSHIP = f"{COUNTY_A}101"
VILLAGE_1, VILLAGE_2 = f"{TOWNSHIP}201", f"{TOWNSHIP}202"
PHONE_CADRE = "t_seed_cadre"


def sid(name: str) -> uuid.UUID:
    return uuid.uuid5(SEED, name)


@dataclass(frozen=True)
class Seed:
    cadre: uuid.UUID
    households: tuple[uuid.UUID, uuid.UUID, uuid.UUID]
    household_b: uuid.UUID
    visit_good: uuid.UUID
    visit_far: uuid.UUID
    issue_department: uuid.UUID
    issue_review: uuid.UUID
    issue_b: uuid.UUID
    cadre_b: uuid.UUID
    username: str  # a cadre account bound to `cadre`


def run(api, county: str, command, actor=None) -> dict:
    app = api.county_apps.get(county)
    actor = actor or Actor(user_id="seed", roles=frozenset({"county_admin"}), county=county)
    outcome = app.execute(command, actor)
    assert outcome.status in ("applied", "duplicate"), outcome
    return outcome.result


def caught_up(database_url: str, county: str) -> bool:
    with connect(database_url) as conn:
        last = conn.execute(
            f"SELECT coalesce(max(notification_id), 0) FROM county_{county}.county_events").fetchone()[0]
        lowest = conn.execute(f"SELECT min(notification_id) FROM county_{county}.projection_tracking").fetchone()[0]
    return lowest is not None and lowest >= last


async def wait_for_projections(database_url: str, *counties: str, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not all(caught_up(database_url, county) for county in counties):
        assert asyncio.get_running_loop().time() < deadline, "the projector did not catch up"
        await asyncio.sleep(0.1)


def household(village: str, name: str, key: str, lat: float, tags=()) -> c.RegisterHousehold:
    return c.RegisterHousehold(command_id=sid(key), village=village, township=village[:9], address=f"{name}家",
                               lat=lat, lon=109.70, tags=list(tags), size=3, head_name=name,
                               phone="13800000000", notes="")


_seeds: dict[str, Seed] = {}


@pytest.fixture(scope="package")  # as long as the `api` fixture it uses
async def seeded(api, database_url) -> Seed:
    # Each module importing this fixture gets its own fixture definition: seed the database only once.
    if database_url not in _seeds:
        _seeds[database_url] = await _seed(api, database_url)
    return _seeds[database_url]


async def _seed(api, database_url: str) -> Seed:
    today = date.today()
    now = datetime.now(UTC) - timedelta(minutes=5)
    cadre = uuid.UUID(run(api, COUNTY_A, c.EnrolCadre(command_id=sid("cadre"), name="种子干部", rank="staff",
                                                          unit="县委组织部", township=TOWNSHIP))["id"])
    cadre_b = uuid.UUID(run(api, COUNTY_B, c.EnrolCadre(command_id=sid("cadre-b"), name="乙县干部", rank="staff",
                                                            unit="县委组织部"))["id"])
    ids = tuple(uuid.UUID(run(api, COUNTY_A, cmd)["id"]) for cmd in (
        household(VILLAGE_1, "张大山", "h1", 18.6400, ["hardship_resident"]),
        household(VILLAGE_1, "李小河", "h2", 18.6410),
        household(VILLAGE_2, "王老林", "h3", 18.6500),
    ))
    household_b = uuid.UUID(run(api, COUNTY_B, household(f"{COUNTY_B}101201", "乙县户", "hb", 19.03))["id"])
    run(api, COUNTY_A, c.FormPairing(command_id=sid("pairing"), cadre_id=cadre, target_kind="household",
                                     target_id=str(ids[0]), programme="结对帮扶", formed_on=today - timedelta(days=1)))
    as_cadre = Actor(user_id="seed", roles=frozenset({"cadre"}), county=COUNTY_A, cadre_id=cadre)
    good = {"lat": 18.6401, "lon": 109.70, "accuracy_m": 12, "provider": "gps", "is_mock": False}
    far = {"lat": 18.70, "lon": 109.80, "accuracy_m": 12, "provider": "gps", "is_mock": False}
    visit_good = uuid.UUID(run(api, COUNTY_A, c.CheckIn(
        command_id=sid("visit-good"), target_kind="household", target_id=str(ids[0]), kind="home",
        occurred_at=now - timedelta(hours=3), position=good, topics=["生活"], note="家里一切都好"), as_cadre)["id"])
    visit_far = uuid.UUID(run(api, COUNTY_A, c.CheckIn(
        command_id=sid("visit-far"), target_kind="household", target_id=str(ids[1]), kind="home",
        occurred_at=now - timedelta(hours=1), position=far, note=""), as_cadre)["id"])
    issue_department = uuid.UUID(run(api, COUNTY_A, c.RaiseIssue(
        command_id=sid("issue-1"), source_kind="visit", source_id=str(visit_good), household_id=ids[0],
        village=VILLAGE_1, category="道路", summary="=HYPERLINK(\"x\") 村道塌方", occurred_at=now), as_cadre)["id"])
    run(api, COUNTY_A, c.RouteIssue(command_id=sid("route-1"), expected_version=1, issue_id=issue_department,
                                    route="department", department=DEPARTMENT, deadline=today + timedelta(days=10)))
    issue_review = uuid.UUID(run(api, COUNTY_A, c.RaiseIssue(
        command_id=sid("issue-2"), source_kind="reception", village=VILLAGE_2, category="低保",
        summary="低保申请", occurred_at=now), as_cadre)["id"])
    run(api, COUNTY_A, c.RouteIssue(command_id=sid("route-2"), expected_version=1, issue_id=issue_review,
                                    route="monthly_review"))
    issue_b = uuid.UUID(run(api, COUNTY_B, c.RaiseIssue(
        command_id=sid("issue-b"), source_kind="reception", village=f"{COUNTY_B}101201", category="道路",
        summary="乙县问题", occurred_at=now))["id"])
    run(api, COUNTY_B, c.RouteIssue(command_id=sid("route-b"), expected_version=1, issue_id=issue_b,
                                    route="department", department=DEPARTMENT, deadline=today + timedelta(days=5)))
    with connect(database_url) as conn:
        ensure_user(conn, PHONE_CADRE, roles=["cadre"], password=PASSWORD, county=COUNTY_A, cadre_id=cadre)
    await wait_for_projections(database_url, COUNTY_A, COUNTY_B)
    return Seed(cadre, ids, household_b, visit_good, visit_far, issue_department, issue_review, issue_b, cadre_b,
                PHONE_CADRE)


async def login(api, username: str):
    response = await api.anonymous().post("/api/v1/session", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return api.anonymous(token=response.json()["token"])


# ---- coverage -----------------------------------------------------------------------------------------------


async def test_coverage_is_geojson_of_the_callers_county_only(api, seeded):
    admin = await api.client("county_admin")
    response = await admin.get("/api/v1/coverage", params={"level": "village"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    by_village = {f["id"]: f["properties"] for f in collection["features"]}
    assert by_village[VILLAGE_1]["households"] == 2 and by_village[VILLAGE_1]["visited_once"] == 2
    assert by_village[VILLAGE_1]["verified_visits"] == 1
    assert not any(key.startswith(COUNTY_B) for key in by_village)
    point = collection["features"][0]["geometry"]
    assert point["type"] == "Point" and len(point["coordinates"]) == 2


async def test_coverage_by_h3_cell_gives_closed_polygons(api, seeded):
    admin = await api.client("county_admin")
    collection = (await admin.get("/api/v1/coverage", params={"level": "h3", "resolution": 9})).json()
    ring = collection["features"][0]["geometry"]["coordinates"][0]
    assert collection["features"][0]["geometry"]["type"] == "Polygon" and ring[0] == ring[-1]


async def test_coverage_as_of_a_day_before_the_data_is_empty_of_it(api, seeded):
    admin = await api.client("county_admin")
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    collection = (await admin.get("/api/v1/coverage", params={"as_of": yesterday})).json()
    assert VILLAGE_1 not in {f["id"] for f in collection["features"]}


@pytest.mark.parametrize("params", [{"level": "planet"}, {"resolution": 12, "level": "h3"}, {"period": "2026-13"},
                                    {"as_of": "yesterday"}, {"period": "2026-05-01..2026-04-01"}])
async def test_bad_coverage_parameters_are_422_not_500(api, params):
    admin = await api.client("county_admin")
    response = await admin.get("/api/v1/coverage", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail_zh"]


# ---- completeness, due lists ----------------------------------------------------------------------------------


async def test_completeness_households_page_with_totals_and_head_names_for_admins(api, seeded):
    admin = await api.client("county_admin")
    first = (await admin.get("/api/v1/completeness/households",
                             params={"township": TOWNSHIP, "limit": 2, "offset": 0})).json()
    second = (await admin.get("/api/v1/completeness/households",
                              params={"township": TOWNSHIP, "limit": 2, "offset": 2})).json()
    assert first["total"] == second["total"] == 3
    items = first["items"] + second["items"]
    assert {item["household_id"] for item in items} == {str(h) for h in seeded.households}
    assert {item["head_name"] for item in items} == {"张大山", "李小河", "王老林"}
    summary = (await admin.get("/api/v1/completeness")).json()
    assert summary["county"]["households"] >= 3


async def test_a_cadres_due_list_names_the_unvisited_households_overdue_first(api, seeded):
    admin = await api.client("county_admin")
    response = await admin.get(f"/api/v1/cadres/{seeded.cadre}/due")
    assert response.status_code == 200
    items = response.json()["items"]
    statuses = [item["status"] for item in items]
    assert statuses == sorted(statuses, key=lambda s: s != "overdue")
    assert all(item["head_name"] for item in items)


# ---- pairings, interviews -------------------------------------------------------------------------------------


async def test_pairings_list_and_summary(api, seeded):
    admin = await api.client("county_admin")
    page = (await admin.get("/api/v1/pairings", params={"cadre_id": str(seeded.cadre)})).json()
    (item,) = page["items"]
    assert item["target_id"] == str(seeded.households[0]) and item["status"] == "ok"
    assert page["next"] is None
    assert (await admin.get("/api/v1/pairings/summary")).json()["pairings"] >= 1
    quotas = (await admin.get("/api/v1/pairings/quotas", params={"cadre_id": str(seeded.cadre)})).json()
    assert quotas["total"] == 1 and quotas["items"][0]["pairings"] == 1
    bad = await admin.get("/api/v1/pairings", params={"after": "not-a-uuid"})
    assert bad.status_code == 422


async def test_interview_coverage_lists_active_cadres(api, seeded):
    admin = await api.client("county_admin")
    cadres = (await admin.get("/api/v1/interviews/cadres", params={"limit": 500})).json()
    assert str(seeded.cadre) in {item["cadre_id"] for item in cadres["items"]}
    coverage = (await admin.get("/api/v1/interviews/coverage")).json()
    assert coverage["county"]["cadres"] >= 1
    assert (await admin.get("/api/v1/interviews/mismatches")).json()["total"] == 0


# ---- issues ---------------------------------------------------------------------------------------------------


async def test_a_department_sees_only_the_issues_routed_to_it(api, seeded):
    department = await api.client("department")
    listed = (await department.get("/api/v1/issues", params={"limit": 500})).json()["items"]
    assert str(seeded.issue_department) in {item["issue_id"] for item in listed}
    assert str(seeded.issue_review) not in {item["issue_id"] for item in listed}
    assert {item["department"] for item in listed} == {DEPARTMENT}
    asked_other = (await department.get("/api/v1/issues",
                                        params={"department": "县公安局", "limit": 500})).json()["items"]
    assert asked_other == listed
    assert (await department.get(f"/api/v1/issues/{seeded.issue_department}")).status_code == 200
    assert (await department.get(f"/api/v1/issues/{seeded.issue_review}")).status_code == 404
    assert (await department.get("/api/v1/issues/agenda")).status_code == 403


async def test_the_admin_sees_every_issue_the_ledger_and_the_review_agenda(api, seeded):
    admin = await api.client("county_admin")
    listed = (await admin.get("/api/v1/issues", params={"limit": 500})).json()["items"]
    assert {str(seeded.issue_department), str(seeded.issue_review)} <= {item["issue_id"] for item in listed}
    assert str(seeded.issue_b) not in {item["issue_id"] for item in listed}
    ledger = (await admin.get("/api/v1/issues/ledger", params={"by": "route"})).json()["items"]
    assert {row["key"] for row in ledger} >= {"department", "monthly_review"}
    agenda = (await admin.get("/api/v1/issues/agenda")).json()
    assert str(seeded.issue_review) in {item["issue_id"] for item in agenda["items"]}
    detail = (await admin.get(f"/api/v1/issues/{seeded.issue_department}")).json()
    assert detail["department"] == DEPARTMENT and detail["route"] == "department"


async def test_issue_pages_follow_the_next_cursor(api, seeded):
    admin = await api.client("county_admin")
    first = (await admin.get("/api/v1/issues", params={"limit": 1})).json()
    assert len(first["items"]) == 1 and first["next"]
    second = (await admin.get("/api/v1/issues", params={"limit": 1, "after": first["next"]})).json()
    assert second["items"][0]["issue_id"] != first["items"][0]["issue_id"]
    assert (await admin.get("/api/v1/issues", params={"after": "garbage"})).status_code == 422


# ---- leaderboards, visits ---------------------------------------------------------------------------------------


async def test_leaderboards_count_only_verified_visits(api, seeded):
    cadre = await api.client("cadre")
    board = (await cadre.get("/api/v1/leaderboards/cadres", params={"limit": 500})).json()
    mine = next(item for item in board["items"] if item["cadre_id"] == str(seeded.cadre))
    assert mine["verified_visits"] == 1 and mine["rank"] >= 1
    townships = (await cadre.get("/api/v1/leaderboards/townships")).json()
    assert TOWNSHIP in {item["township"] for item in townships["items"]}
    assert (await cadre.get("/api/v1/leaderboards/cadres", params={"by": "bribes"})).status_code == 422


async def test_visits_carry_their_verdicts(api, seeded):
    admin = await api.client("county_admin")
    page = (await admin.get("/api/v1/visits", params={"cadre_id": str(seeded.cadre)})).json()
    verdict = {item["visit_id"]: item["verified"] for item in page["items"]}
    assert (verdict[str(seeded.visit_good)], verdict[str(seeded.visit_far)]) == (True, False)
    verified = (await admin.get("/api/v1/visits", params={"cadre_id": str(seeded.cadre), "verified": "true"})).json()
    assert str(seeded.visit_good) in {item["visit_id"] for item in verified["items"]}
    assert all(item["verified"] for item in verified["items"]) and verified["total"] == len(verified["items"])
    detail = (await admin.get(f"/api/v1/visits/{seeded.visit_good}")).json()
    assert detail["note"] == "家里一切都好" and detail["verdict"]["verified"] is True
    summary = (await admin.get("/api/v1/visits/summary")).json()
    assert summary["checkins"] >= 2 and summary["too_far"] >= 1


# ---- households ---------------------------------------------------------------------------------------------


async def test_household_detail_has_its_visits_and_open_issues(api, seeded):
    admin = await api.client("county_admin")
    detail = (await admin.get(f"/api/v1/households/{seeded.households[0]}")).json()
    assert detail["head_name"] == "张大山" and detail["phone"] == "13800000000"
    assert [v["visit_id"] for v in detail["visits"]] == [str(seeded.visit_good)]
    assert [i["issue_id"] for i in detail["open_issues"]] == [str(seeded.issue_department)]


async def test_a_department_never_sees_household_personal_data(api, seeded):
    department = await api.client("department")
    assert (await department.get(f"/api/v1/households/{seeded.households[0]}")).status_code == 403


# ---- province -----------------------------------------------------------------------------------------------


async def test_a_province_viewer_sees_its_own_provinces_rollups_only(api, seeded):
    viewer = await api.client("province_viewer", COUNTY_A)
    counties = (await viewer.get("/api/v1/province/counties")).json()["items"]
    assert {county["adcode"] for county in counties} >= {COUNTY_A, COUNTY_B}
    assert all(county["adcode"][:2] == PROVINCE_AB[:2] for county in counties)
    months = (await viewer.get(f"/api/v1/province/counties/{COUNTY_A}/months")).json()["items"]
    assert months and months[-1]["households"] >= 3
    assert next(county["months"] for county in counties if county["adcode"] == COUNTY_A) == months
    rankings = (await viewer.get("/api/v1/province/rankings")).json()["items"]
    assert [item["rank"] for item in rankings] == list(range(1, len(rankings) + 1))
    assert (await viewer.get("/api/v1/province/counties/920001/months")).status_code == 404
    assert (await viewer.get("/api/v1/province/rankings", params={"month": "2026-13"})).status_code == 422


async def test_the_province_county_list_pages_by_adcode(api, seeded):
    viewer = await api.client("province_viewer", COUNTY_A)
    whole = (await viewer.get("/api/v1/province/counties")).json()
    assert whole["next"] is None and len(whole["items"]) >= 2
    pages, after = [], None
    while True:
        params = {"limit": 1, **({"after": after} if after else {})}
        page = (await viewer.get("/api/v1/province/counties", params=params)).json()
        pages.append(page["items"])
        after = page["next"]
        if after is None:
            break
        assert after == page["items"][-1]["adcode"]
    assert all(len(items) == 1 for items in pages)
    assert [item for items in pages for item in items] == whole["items"]
    for bad in ({"after": "42"}, {"limit": 0}, {"limit": 501}):
        answer = await viewer.get("/api/v1/province/counties", params=bad)
        assert answer.status_code == 422, bad


async def test_county_roles_cannot_read_province_rollups_and_viewers_cannot_read_counties(api, seeded):
    admin = await api.client("county_admin")
    assert (await admin.get("/api/v1/province/rankings")).status_code == 403
    viewer = await api.client("province_viewer", COUNTY_A)
    for path in ("/api/v1/coverage", "/api/v1/issues", f"/api/v1/households/{seeded.households[0]}"):
        assert (await viewer.get(path)).status_code == 403, path


async def test_queries_need_a_session(api):
    assert (await api.anonymous().get("/api/v1/completeness")).status_code == 401


@pytest.mark.parametrize("path, params", [
    ("/api/v1/issues", {"department": "民政\x00局"}),
    ("/api/v1/issues", {"category": "\x1b[31m"}),
    ("/api/v1/completeness", {"as_of": "9999-12-31"}),
    ("/api/v1/pairings/summary", {"as_of": "0001-01-01"}),
    ("/api/v1/issues", {"after": "2026-01-01T00:00:00|nope"}),
    ("/api/v1/visits", {"limit": 0}),
    ("/api/v1/leaderboards/cadres", {"offset": -1}),
    ("/api/v1/leaderboards/cadres", {"offset": 10 ** 19}),
    ("/api/v1/pairings/quotas", {"offset": 24652231495583838208}),  # past bigint: it reached the SQL, a 500
])
async def test_hostile_query_values_get_a_422_never_a_500(api, path, params):
    admin = await api.client("county_admin")
    response = await admin.get(path, params=params)
    assert response.status_code == 422, response.text
