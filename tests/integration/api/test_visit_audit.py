"""The visit audit (走访核查): check-ins newest first with their stored verdict and its reasons, filtered by
cadre, village, verdict, kind and days, paged by key at the cost of the page; voiding a false one with a
reason over HTTP, audited, and the figures re-judged without it.

The module writes its own world in township 194, which no other test uses: two cadres, three households,
and check-ins that pass and fail each verdict rule.
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from projections import verdicts
from services.county import Actor
from services.domain import commands as c
from tests.integration.api.conftest import COUNTY_A, COUNTY_B
from tests.integration.api.test_compliance_filters import listed
from tests.integration.api.test_queries import household, run, sid, wait_for_projections
from tests.integration.plans import INDEXES_ONLY

TOWNSHIP = f"{COUNTY_A}194"
V1, V2, V3 = f"{TOWNSHIP}201", f"{TOWNSHIP}202", f"{TOWNSHIP}203"
AUDIT = "/api/v1/visits/audit"


def fix(lat: float, *, accuracy: float = 10, mock: bool = False) -> dict:
    return {"lat": lat, "lon": 109.70, "accuracy_m": accuracy, "provider": "gps", "is_mock": mock}


@pytest.fixture(scope="module")
async def world(api, database_url) -> dict:
    now = datetime.now(UTC) - timedelta(minutes=10)
    first = uuid.UUID(run(api, COUNTY_A, c.EnrolCadre(command_id=sid("va-a"), name="核查甲", rank="staff",
                                                      unit="县委组织部", township=TOWNSHIP))["id"])
    second = uuid.UUID(run(api, COUNTY_A, c.EnrolCadre(command_id=sid("va-b"), name="核查乙", rank="staff",
                                                       unit="县委组织部", township=TOWNSHIP))["id"])
    h1 = uuid.UUID(run(api, COUNTY_A, household(V1, "核查一", "va-h1", 18.90))["id"])
    h2 = uuid.UUID(run(api, COUNTY_A, household(V2, "核查二", "va-h2", 18.91))["id"])
    h3 = uuid.UUID(run(api, COUNTY_A, household(V3, "核查三", "va-h3", 18.92))["id"])

    def visit(key: str, cadre: uuid.UUID, home: uuid.UUID, kind: str, ago: timedelta, position) -> uuid.UUID:
        actor = Actor(user_id="seed", roles=frozenset({"cadre"}), county=COUNTY_A, cadre_id=cadre)
        return uuid.UUID(run(api, COUNTY_A, c.CheckIn(
            command_id=sid(key), target_kind="household", target_id=str(home), kind=kind, occurred_at=now - ago,
            position=position, topics=["生活"], note=f"{key} 记录"), actor)["id"])

    visits = {
        "good": visit("va-good", first, h1, "home", timedelta(hours=5), fix(18.9001)),
        "far": visit("va-far", first, h2, "chat", timedelta(hours=4), fix(19.10)),  # 21 km from home
        # a minute later 22 km away: verified where it is, but no one travels that fast
        "fast": visit("va-fast", first, h1, "home", timedelta(hours=3, minutes=59), fix(18.9001)),
        "mock": visit("va-mock", second, h1, "festival", timedelta(hours=3), fix(18.9001, mock=True)),
        "nofix": visit("va-nofix", second, h2, "phone", timedelta(hours=2), None),
        "false": visit("va-false", second, h3, "home", timedelta(hours=1), fix(18.9201)),
    }
    await wait_for_projections(database_url, COUNTY_A)
    return {"first": first, "second": second, "homes": (h1, h2, h3), "visits": visits}


def ids(rows: list[dict]) -> list[str]:
    return [row["visit_id"] for row in rows]


async def test_a_cadres_checkins_newest_first_with_their_verdicts_and_reasons(api, world):
    admin = await api.client("county_admin")
    rows = await listed(admin, AUDIT, cadre_id=str(world["first"]))
    v = world["visits"]
    assert ids(rows) == [str(v["fast"]), str(v["far"]), str(v["good"])]
    by_id = {row["visit_id"]: row for row in rows}
    assert (by_id[str(v["good"])]["verdict"], by_id[str(v["good"])]["reasons"]) == ("verified", [])
    assert [row["head_name"] for row in rows] == ["核查一", "核查二", "核查一"]
    assert (by_id[str(v["far"])]["verdict"], by_id[str(v["far"])]["reasons"]) == ("unverified", ["too_far"])
    fast = by_id[str(v["fast"])]
    # impossible travel is a verdict like the others: the check-in is not verified
    assert (fast["verdict"], fast["reasons"], fast["previous_visit_id"]) == (
        "unverified", ["impossible_travel"], str(v["far"]))
    assert fast["travel_kmh"] > 1000
    others = {row["visit_id"]: row for row in await listed(admin, AUDIT, cadre_id=str(world["second"]))}
    assert others[str(v["mock"])]["reasons"] == ["mocked"]
    assert others[str(v["nofix"])]["reasons"] == ["no_position"]


async def test_the_filters_combine_village_verdict_kind_and_days(api, world):
    admin = await api.client("county_admin")
    v = world["visits"]
    assert ids(await listed(admin, AUDIT, village=V2)) == [str(v["nofix"]), str(v["far"])]
    assert ids(await listed(admin, AUDIT, village=V2, verdict="unverified", kind="chat")) == [str(v["far"])]
    assert ids(await listed(admin, AUDIT, village=V1, verdict="verified")) == [str(v["good"])]
    assert ids(await listed(admin, AUDIT, reason="impossible_travel", village=V1)) == [str(v["fast"])]
    assert str(v["mock"]) in ids(await listed(admin, AUDIT, kind="festival"))
    today, yesterday = date.today(), date.today() - timedelta(days=1)
    mine = {"cadre_id": str(world["first"])}
    assert len(await listed(admin, AUDIT, **mine, occurred_from=yesterday.isoformat(),
                            occurred_to=(today + timedelta(days=1)).isoformat())) == 3
    assert await listed(admin, AUDIT, **mine, occurred_to=(today - timedelta(days=2)).isoformat()) == []
    # A range that ends before it starts holds nothing.
    assert await listed(admin, AUDIT, **mine, occurred_from=today.isoformat(),
                        occurred_to=yesterday.isoformat()) == []


async def test_pages_follow_the_next_cursor_without_gaps_or_repeats(api, world):
    admin = await api.client("county_admin")
    whole = ids(await listed(admin, AUDIT, village=V1))
    seen, after = [], None
    while True:
        response = await admin.get(AUDIT, params={"village": V1, "limit": 1, **({"after": after} if after else {})})
        assert response.status_code == 200, response.text
        seen += ids(response.json()["items"])
        after = response.json()["next"]
        if after is None:
            break
    assert seen == whole and len(whole) == 3


async def figures(admin, household_id: uuid.UUID, cadre: uuid.UUID) -> tuple[int, int, int, int]:
    """(the household's visits this year, its village's households visited once, its village's visits, the
    cadre's verified visits on the leaderboard)."""
    [row] = (await admin.get("/api/v1/completeness/households", params={"village": V3})).json()["items"]
    assert row["household_id"] == str(household_id)
    villages = (await admin.get("/api/v1/coverage", params={"level": "village"})).json()["features"]
    [village] = [f["properties"] for f in villages if f["properties"]["key"] == V3]
    board = (await admin.get("/api/v1/leaderboards/cadres", params={"limit": 500})).json()["items"]
    [mine] = [r for r in board if r["cadre_id"] == str(cadre)]
    return row["visits_this_year"], village["visited_once"], village["visits"], mine["verified_visits"]


async def test_voiding_a_false_visit_over_http_is_audited_and_the_figures_drop_it(api, world, database_url):
    admin = await api.client("county_admin")
    false, home = world["visits"]["false"], world["homes"][2]
    # The second cadre's verified visits: the false one only (the mocked and the unplaced ones never counted).
    assert await figures(admin, home, world["second"]) == (1, 1, 1, 1)
    body = {"reason": "照片与定位不符，实为电话联系", "expected_version": 1, "command_id": str(sid("va-void"))}
    cadre = await api.client("cadre")
    assert (await cadre.post(f"/api/v1/visits/{false}/void", json=body)).status_code == 403
    response = await admin.post(f"/api/v1/visits/{false}/void", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    # The same command again is a duplicate: no second void, no second audit line.
    assert (await admin.post(f"/api/v1/visits/{false}/void", json=body)).json()["status"] == "duplicate"
    again = await admin.post(f"/api/v1/visits/{false}/void", json={**body, "command_id": str(uuid.uuid4()),
                                                                    "expected_version": 2})
    assert again.status_code == 422 and again.json()["type"].endswith("/rejected"), again.text
    await wait_for_projections(database_url, COUNTY_A)
    assert await figures(admin, home, world["second"]) == (0, 0, 0, 0)
    [row] = await listed(admin, AUDIT, village=V3)
    assert (row["visit_id"], row["verdict"], row["reasons"], row["void_reason"]) == (
        str(false), "voided", ["voided"], body["reason"])
    assert ids(await listed(admin, AUDIT, village=V3, verdict="voided")) == [str(false)]
    assert await listed(admin, AUDIT, village=V3, verdict="verified") == []
    # As of yesterday it was neither recorded nor voided; the audit log names who voided it and why.
    assert await listed(admin, AUDIT, village=V3, as_of=(date.today() - timedelta(days=1)).isoformat()) == []
    log = (await admin.get("/api/v1/audit")).json()["items"]
    voids = [entry for entry in log if entry["action"] == "visit.voided" and entry["detail"]["visit_id"] == str(false)]
    assert [(e["username"], e["detail"]) for e in voids] == [(api.account("county_admin").username,
                                                             {"visit_id": str(false)})]
    # The reason is sealed with the household's key: never plain in the log, which outlives an erasure.
    assert body["reason"] not in str(log)


@pytest.mark.parametrize("body", [{"expected_version": 1}, {"reason": "", "expected_version": 1},
                                  {"reason": "重复", "expected_version": 1, "surprise": 1}])
async def test_a_void_without_a_reason_is_422_and_changes_nothing(api, world, body):
    admin = await api.client("county_admin")
    good = world["visits"]["good"]
    response = await admin.post(f"/api/v1/visits/{good}/void", json=body)
    assert response.status_code == 422 and response.json()["detail_zh"], response.text
    [row] = [r for r in await listed(admin, AUDIT, village=V1) if r["visit_id"] == str(good)]
    assert row["verdict"] == "verified"


@pytest.mark.parametrize("params", [{"verdict": "fake"}, {"kind": "walk"}, {"village": "1"},
                                    {"occurred_from": "2026-13-01"}, {"occurred_to": "1999-12-31"},
                                    {"after": "yesterday|x"}, {"cadre_id": "nope"}, {"limit": "501"}])
async def test_a_bad_filter_is_422_with_a_reason(api, params):
    response = await (await api.client("county_admin")).get(AUDIT, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail_zh"] and next(iter(params)) in response.text


async def test_another_countys_cadre_is_404_and_only_admins_audit(api, seeded_b_cadre):
    admin = await api.client("county_admin")
    assert (await admin.get(AUDIT, params={"cadre_id": str(seeded_b_cadre)})).status_code == 404
    for role in ("cadre", "department"):
        assert (await (await api.client(role)).get(AUDIT)).status_code == 403


@pytest.fixture(scope="module")
def seeded_b_cadre(api) -> uuid.UUID:
    return uuid.UUID(run(api, COUNTY_B, c.EnrolCadre(command_id=sid("va-b-cadre"), name="乙县核查", rank="staff",
                                                     unit="县委组织部"))["id"])


class Recording:
    """A real connection that keeps the last query it ran (to ask PostgreSQL for its plan)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn, self.sql, self.args = conn, "", ()

    async def fetchval(self, sql: str, *args):
        return await self.conn.fetchval(sql, *args)

    async def fetch(self, sql: str, *args):
        self.sql, self.args = sql, args
        return await self.conn.fetch(sql, *args)


@pytest.mark.parametrize("filters", [
    {}, {"cadre_id": "first"}, {"household_id": "home"}, {"village": V1}, {"kind": "festival"},
    {"verdict": "unverified"}, {"verdict": "voided"}, {"occurred_from": date.today()},
])
async def test_every_filter_reads_an_index_range_never_the_whole_table(world, database_url, filters):
    """O(the page): with sequential scans priced out, no plan of the audit's query still scans the table."""
    values = {k: world["first"] if v == "first" else world["homes"][0] if v == "home" else v
              for k, v in filters.items()}
    conn = await asyncpg.connect(database_url)
    try:
        recording = Recording(conn)
        await verdicts.page(recording, f"county_{COUNTY_A}", **values, limit=20)  # type: ignore[arg-type]
        async with conn.transaction():
            for statement in INDEXES_ONLY:
                await conn.execute(statement)
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {recording.sql}", *recording.args))
    finally:
        await conn.close()
    assert "Seq Scan" not in plan and "verdicts_checkins_" in plan, plan
