"""The work log (民情日记): a cadre's visits and a household's visits read as a diary, newest first, paged
by key; notes and heads' names (personal data) only for the roles allowed to see them.

The module writes its own world in township 195, which no other test uses.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.county import Actor
from services.domain import commands as c
from tests.integration.api.conftest import COUNTY_A, COUNTY_B
from tests.integration.api.test_compliance_filters import listed
from tests.integration.api.test_queries import household, run, sid, wait_for_projections

TOWNSHIP = f"{COUNTY_A}195"
VILLAGE = f"{TOWNSHIP}201"
POSITION = {"lat": 18.95, "lon": 109.70, "accuracy_m": 10, "provider": "gps", "is_mock": False}


@pytest.fixture(scope="module")
async def world(api, database_url) -> dict:
    now = datetime.now(UTC) - timedelta(minutes=10)
    writer = uuid.UUID(run(api, COUNTY_A, c.EnrolCadre(command_id=sid("wl-w"), name="日记干部", rank="staff",
                                                       unit="县委组织部", township=TOWNSHIP))["id"])
    other = uuid.UUID(run(api, COUNTY_A, c.EnrolCadre(command_id=sid("wl-o"), name="同行干部", rank="staff",
                                                      unit="县委组织部", township=TOWNSHIP))["id"])
    h1 = uuid.UUID(run(api, COUNTY_A, household(VILLAGE, "日记一", "wl-h1", 18.95))["id"])
    h2 = uuid.UUID(run(api, COUNTY_A, household(VILLAGE, "日记二", "wl-h2", 18.951))["id"])

    def visit(key: str, cadre: uuid.UUID, home: uuid.UUID, hours: int, note: str) -> uuid.UUID:
        actor = Actor(user_id="seed", roles=frozenset({"cadre"}), county=COUNTY_A, cadre_id=cadre)
        return uuid.UUID(run(api, COUNTY_A, c.CheckIn(
            command_id=sid(key), target_kind="household", target_id=str(home), kind="home",
            occurred_at=now - timedelta(hours=hours), position=POSITION, topics=["生活", "就业"], note=note,
            companions=[other] if cadre == writer else []), actor)["id"])

    visits = {
        "first": visit("wl-1", writer, h1, 50, "老人腿脚不便，需要轮椅"),
        "second": visit("wl-2", writer, h2, 26, "孩子上学路远"),
        "third": visit("wl-3", writer, h1, 2, "轮椅已送到"),
        "others": visit("wl-4", other, h1, 1, "回访：轮椅合用"),
    }
    run(api, COUNTY_A, c.VoidVisit(command_id=sid("wl-void"), visit_id=visits["second"], expected_version=1,
                                   reason="重复录入"))
    await wait_for_projections(database_url, COUNTY_A)
    return {"writer": writer, "other": other, "h1": h1, "h2": h2, "visits": visits}


async def test_a_cadres_log_is_their_visits_newest_first_with_notes_topics_and_verdicts(api, world):
    admin = await api.client("county_admin")
    rows = await listed(admin, f"/api/v1/cadres/{world['writer']}/worklog")
    v = world["visits"]
    assert [row["visit_id"] for row in rows] == [str(v["third"]), str(v["second"]), str(v["first"])]
    assert [row["note"] for row in rows] == ["轮椅已送到", "孩子上学路远", "老人腿脚不便，需要轮椅"]
    assert [row["head_name"] for row in rows] == ["日记一", "日记二", "日记一"]
    assert [row["verdict"] for row in rows] == ["verified", "voided", "verified"]
    assert rows[1]["void_reason"] == "重复录入"
    assert rows[0]["topics"] == ["生活", "就业"] and rows[0]["companions"] == [str(world["other"])]
    assert rows[0]["note_erased"] is False and rows[0]["kind"] == "home"


async def test_a_households_log_is_every_cadres_visits_to_it(api, world):
    admin = await api.client("county_admin")
    rows = await listed(admin, f"/api/v1/households/{world['h1']}/worklog")
    v = world["visits"]
    assert [(row["visit_id"], row["cadre_id"]) for row in rows] == [
        (str(v["others"]), str(world["other"])), (str(v["third"]), str(world["writer"])),
        (str(v["first"]), str(world["writer"]))]
    assert rows[0]["note"] == "回访：轮椅合用"


async def test_the_log_pages_by_the_next_cursor(api, world):
    admin = await api.client("county_admin")
    path, seen, after = f"/api/v1/cadres/{world['writer']}/worklog", [], None
    while True:
        response = await admin.get(path, params={"limit": 1, **({"after": after} if after else {})})
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == 1
        seen.append(response.json()["items"][0]["visit_id"])
        after = response.json()["next"]
        if after is None:
            break
    assert seen == [str(world["visits"][k]) for k in ("third", "second", "first")]


async def test_a_cadre_reads_notes_and_a_department_reads_the_log_without_personal_fields(api, world):
    cadre = await api.client("cadre")
    rows = await listed(cadre, f"/api/v1/households/{world['h1']}/worklog")
    assert rows[0]["note"] == "回访：轮椅合用" and rows[0]["head_name"] == "日记一"
    department = await api.client("department")
    for path in (f"/api/v1/households/{world['h1']}/worklog", f"/api/v1/cadres/{world['writer']}/worklog"):
        rows = await listed(department, path)
        assert len(rows) == 3 and rows[0]["topics"] == ["生活", "就业"]
        assert not {"note", "note_erased", "head_name"} & {key for row in rows for key in row}, rows[0]
        assert "轮椅" not in str(rows) and "日记一" not in str(rows) and "重复录入" not in str(rows)


async def test_another_countys_cadre_or_household_is_404(api, world):
    cadre_b = uuid.UUID(run(api, COUNTY_B, c.EnrolCadre(command_id=sid("wl-b"), name="乙县日记", rank="staff",
                                                        unit="县委组织部"))["id"])
    home_b = uuid.UUID(run(api, COUNTY_B, household(f"{COUNTY_B}195201", "乙县户", "wl-hb", 19.0))["id"])
    admin = await api.client("county_admin")
    for path in (f"/api/v1/cadres/{cadre_b}/worklog", f"/api/v1/households/{home_b}/worklog",
                 f"/api/v1/cadres/{world['h1']}/worklog", f"/api/v1/households/{world['writer']}/worklog"):
        response = await admin.get(path)
        assert response.status_code == 404 and response.json()["detail_zh"], path


@pytest.mark.parametrize("params", [{"after": "not-a-cursor"}, {"limit": "0"}, {"limit": "501"},
                                    {"as_of": "1999-01-01"}])
async def test_a_bad_page_is_422_with_a_reason(api, world, params):
    admin = await api.client("county_admin")
    response = await admin.get(f"/api/v1/cadres/{world['writer']}/worklog", params=params)
    assert response.status_code == 422 and next(iter(params)) in response.text, response.text


async def test_a_province_viewer_reads_no_county_log(api, world):
    viewer = await api.client("province_viewer")
    assert (await viewer.get(f"/api/v1/cadres/{world['writer']}/worklog")).status_code == 403


async def test_an_erased_households_notes_and_void_reasons_read_as_erased_in_the_log(api, world):
    admin = await api.client("county_admin")
    response = await admin.delete(f"/api/v1/households/{world['h2']}/personal-data", params={"reason": "本人申请删除"})
    assert response.status_code == 200, response.text
    rows = {row["visit_id"]: row for row in await listed(admin, f"/api/v1/cadres/{world['writer']}/worklog")}
    erased = rows[str(world["visits"]["second"])]
    assert (erased["note"], erased["note_erased"], erased["void_reason"], erased["verdict"]) == (
        None, True, None, "voided")
    kept = rows[str(world["visits"]["third"])]
    assert (kept["note"], kept["note_erased"]) == ("轮椅已送到", False)
