"""The register of contact targets (联系点 / 五个一) through the HTTP API: registering, listing, revising and
archiving; its file import (all or nothing, idempotent); pairings and check-ins naming a target of the
register, and the GPS verdict of a check-in there measured from the target's coordinates.

Everything here is in county B: once a county keeps a register, its free-text targets are refused, and
county A's tests still write those."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from projections.base import SHANGHAI as CHINA
from services.county import Actor
from services.domain import commands as c
from services.storage.database import connect
from tests.integration.api.conftest import COUNTY_A, COUNTY_B, admin_actor

from .test_imports import event_count
from .test_imports_roster import table_file
from .test_queries import wait_for_projections

TOWNSHIP = COUNTY_B + "001"
VILLAGE = TOWNSHIP + "001"
BRANCH_AT = (19.0300, 109.8400)


async def register(admin, **fields) -> str:
    body = {"kind": "party_branch", "name": "测试村党支部", "township": TOWNSHIP, "village": VILLAGE,
            "lat": BRANCH_AT[0], "lon": BRANCH_AT[1], "weak": True, **fields}
    response = await admin.post("/api/v1/targets", json=body)
    assert response.status_code == 201, response.text
    return response.json()["result"]["id"]


async def test_a_registered_weak_branch_is_listed_with_its_place_and_found_by_the_weak_filter(api, database_url):
    admin = await api.client("county_admin", COUNTY_B)
    branch = await register(admin, name="登记测试党支部")
    enterprise = await register(admin, kind="enterprise", name="测试合作社", village=None, lat=None, lon=None,
                                weak=False)
    await wait_for_projections(database_url, COUNTY_B)
    listed = (await admin.get("/api/v1/targets", params={"limit": 500})).json()["items"]
    by_id = {item["target_id"]: item for item in listed}
    assert by_id[branch]["kind"] == "party_branch" and by_id[branch]["weak"] is True
    assert (by_id[branch]["village"], by_id[branch]["lat"]) == (VILLAGE, BRANCH_AT[0])
    assert by_id[enterprise]["village"] is None and by_id[enterprise]["township"] == TOWNSHIP
    weak = (await admin.get("/api/v1/targets", params={"weak": "true", "limit": 500})).json()["items"]
    assert branch in {item["target_id"] for item in weak} and enterprise not in {item["target_id"] for item in weak}
    cadre = await api.client("cadre", COUNTY_B)  # the phone reads the register too
    assert (await cadre.get(f"/api/v1/targets/{branch}")).json()["name"] == "登记测试党支部"
    assert (await (await api.client("department", COUNTY_B)).get("/api/v1/targets")).status_code == 403


async def test_a_target_out_of_the_county_or_half_placed_or_weak_but_no_branch_is_refused_with_a_reason(api):
    admin = await api.client("county_admin", COUNTY_B)
    foreign = await admin.post("/api/v1/targets", json={"kind": "enterprise", "name": "外县企业",
                                                        "township": COUNTY_A + "001"})
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "township", foreign.text
    half = await admin.post("/api/v1/targets", json={"kind": "talent", "name": "某人才", "township": TOWNSHIP,
                                                     "lat": 19.0})
    assert half.status_code == 422 and "经纬度" in half.json()["detail_zh"]
    weak = await admin.post("/api/v1/targets", json={"kind": "project", "name": "某项目", "township": TOWNSHIP,
                                                     "weak": True})
    assert weak.status_code == 422 and "党支部" in weak.json()["detail_zh"]


async def test_revising_and_archiving_a_target_keeps_what_it_was_as_of_before(api, database_url):
    admin = await api.client("county_admin", COUNTY_B)
    branch = await register(admin, name="整顿前党支部")
    revised = await admin.post(f"/api/v1/targets/{branch}/revise", json={
        "name": "整顿后党支部", "township": TOWNSHIP, "village": VILLAGE, "lat": BRANCH_AT[0], "lon": BRANCH_AT[1],
        "weak": False, "expected_version": 1})
    assert revised.status_code == 200, revised.text
    enterprise = await register(admin, kind="enterprise", name="将停用企业", weak=False)
    not_a_branch = await admin.post(f"/api/v1/targets/{enterprise}/revise", json={
        "name": "将停用企业", "township": TOWNSHIP, "weak": True, "expected_version": 1})
    assert not_a_branch.status_code == 422 and not_a_branch.json()["errors"][0]["field"] == "weak"
    archived = await admin.post(f"/api/v1/targets/{enterprise}/archive", json={"reason": "企业注销",
                                                                               "expected_version": 1})
    assert archived.status_code == 200, archived.text
    await wait_for_projections(database_url, COUNTY_B)
    now = (await admin.get(f"/api/v1/targets/{branch}")).json()
    assert (now["name"], now["weak"]) == ("整顿后党支部", False)
    active = {i["target_id"] for i in (await admin.get("/api/v1/targets", params={"limit": 500})).json()["items"]}
    gone = {i["target_id"] for i in (await admin.get("/api/v1/targets", params={"state": "archived",
                                                                                 "limit": 500})).json()["items"]}
    assert enterprise not in active and enterprise in gone
    yesterday = (await admin.get(f"/api/v1/targets/{branch}", params={"as_of": "2020-01-01"}))
    assert yesterday.status_code == 404  # the register did not hold it then
    assert (await admin.get(f"/api/v1/targets/{uuid.uuid4()}/revise")).status_code in (404, 405)
    unknown = await admin.post(f"/api/v1/targets/{uuid.uuid4()}/archive", json={"reason": "x", "expected_version": 1})
    assert unknown.status_code == 404


async def test_pairings_name_a_target_of_the_register_of_its_kind_once_the_county_keeps_one(api):
    admin = await api.client("county_admin", COUNTY_B)
    branch = await register(admin, name="结对党支部")
    cadre = str(api.cadre(COUNTY_B))

    def pairing(kind: str, target: str) -> dict:
        return {"cadre_id": cadre, "target_kind": kind, "target_id": target, "programme": "五个一",
                "formed_on": "2026-03-01"}

    formed = await admin.post("/api/v1/pairings", json=pairing("party_branch", branch))
    assert formed.status_code == 201, formed.text
    stored = api.county_apps.get(COUNTY_B).pairing(uuid.UUID(formed.json()["result"]["id"]))
    assert (stored["target_kind"], stored["target_id"]) == ("party_branch", branch)
    for kind, target in (("party_branch", "某村党支部"), ("party_branch", str(uuid.uuid4())), ("enterprise", branch)):
        refused = await admin.post("/api/v1/pairings", json=pairing(kind, target))
        assert refused.status_code == 422, (kind, target)
        assert refused.json()["errors"][0]["field"] == "target_id" and "联系对象" in refused.json()["detail_zh"]


async def test_a_check_in_at_a_target_is_judged_by_its_distance_from_the_targets_coordinates(api, database_url):
    admin = await api.client("county_admin", COUNTY_B)
    branch = await register(admin, name="签到党支部")
    no_place = await register(admin, kind="project", name="无坐标项目", lat=None, lon=None, weak=False)
    actor = api.cadre_actor(COUNTY_B)
    app = api.county_apps.get(COUNTY_B)

    def check_in(target_kind: str, target: str, lat: float, lon: float, hours_ago: int) -> uuid.UUID:
        outcome = app.execute(c.CheckIn(
            command_id=uuid.uuid4(), target_kind=target_kind, target_id=target, kind="forum",
            occurred_at=datetime.now(UTC) - timedelta(hours=hours_ago),
            position={"lat": lat, "lon": lon, "accuracy_m": 10, "provider": "gps"}),
            actor)
        assert outcome.status == "applied", outcome
        return uuid.UUID(outcome.result["id"])

    # hours apart: places apart at one moment would be impossible travel
    near = check_in("party_branch", branch, BRANCH_AT[0] + 0.0005, BRANCH_AT[1], 6)  # ~55 m
    far = check_in("party_branch", branch, BRANCH_AT[0] + 0.01, BRANCH_AT[1], 5)  # ~1.1 km
    anywhere = check_in("project", no_place, 19.2, 109.9, 3)
    refused = app.execute(c.CheckIn(command_id=uuid.uuid4(), target_kind="party_branch", target_id="别的支部",
                                    kind="forum", occurred_at=datetime.now(UTC)), actor)
    assert refused.status == "rejected" and refused.field == "target_id"
    assert app.visit(near)["village"] == VILLAGE  # the visit is in the branch's village
    await wait_for_projections(database_url, COUNTY_B)
    audit = await admin.get("/api/v1/visits/audit", params={"cadre_id": str(actor.cadre_id), "limit": 500})
    rows = {row["visit_id"]: row for row in audit.json()["items"]}
    assert rows[str(near)]["verdict"] == "verified" and 40 < rows[str(near)]["distance_m"] < 70
    assert rows[str(far)]["verdict"] == "unverified" and "too_far" in rows[str(far)]["reasons"]
    assert rows[str(anywhere)]["verdict"] == "verified" and rows[str(anywhere)]["distance_m"] is None


async def test_an_archived_target_takes_no_pairing_or_check_in(api):
    admin = await api.client("county_admin", COUNTY_B)
    talent = await register(admin, kind="talent", name="已停用人才", weak=False)
    api.execute(COUNTY_B, c.ArchiveTarget(command_id=uuid.uuid4(), target_id=uuid.UUID(talent), expected_version=1,
                                          reason="调离"))
    outcome = api.county_apps.get(COUNTY_B).execute(c.CheckIn(
        command_id=uuid.uuid4(), target_kind="talent", target_id=talent, kind="chat",
        occurred_at=datetime.now(UTC)), api.cadre_actor(COUNTY_B))
    assert outcome.status == "rejected" and outcome.reason["zh"] == "该联系对象已停用。"


HEADER = ["类别", "名称", "乡镇代码", "村(社区)代码", "纬度", "经度", "软弱涣散"]


async def test_a_register_file_is_imported_all_or_nothing_and_a_second_upload_registers_nothing(api, database_url):
    admin = await api.client("county_admin", COUNTY_B)
    rows = [["党支部", "导入一村党支部", TOWNSHIP, VILLAGE, 19.03, 109.84, "是"],
            ["企业", "导入合作社", TOWNSHIP, "", "", "", ""],
            ["联系点", "导入联系点", TOWNSHIP, VILLAGE, 19.031, 109.841, "否"]]
    for kind in ("csv", "xlsx"):
        before = event_count(database_url, COUNTY_B)
        bad = await admin.post("/api/v1/targets/import", files={"file": table_file(HEADER, [
            *rows, ["企业", "坏企业", TOWNSHIP, "", "19.0", "", "是"],
            ["学校", "某校", COUNTY_A + "001", "", "", "", ""]], kind)})
        assert bad.status_code == 422, bad.text
        problems = {(e["row"], e["column"]) for e in bad.json()["errors"]}
        assert problems == {(5, "软弱涣散"), (6, "类别"), (6, "乡镇代码")}, problems
        assert event_count(database_url, COUNTY_B) == before  # nothing written
    foreign = await admin.post("/api/v1/targets/import", files={"file": table_file(HEADER, [
        ["企业", "外县企业", COUNTY_A + "001", "", "", "", ""]])})
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["column"] == "乡镇代码"
    first = await admin.post("/api/v1/targets/import", files={"file": table_file(HEADER, rows)})
    assert first.status_code == 200, first.text
    assert (first.json()["applied"], first.json()["duplicate"]) == (3, 0)
    again = await admin.post("/api/v1/targets/import", files={"file": table_file(HEADER, rows, "xlsx")})
    assert (again.json()["applied"], again.json()["duplicate"]) == (0, 3)
    await wait_for_projections(database_url, COUNTY_B)
    weak = (await admin.get("/api/v1/targets", params={"weak": "true", "limit": 500})).json()["items"]
    assert "导入一村党支部" in {item["name"] for item in weak}
    template = await admin.get("/api/v1/targets/import/template", params={"format": "csv"})
    assert template.status_code == 200 and template.text.lstrip("\ufeff").startswith("类别,名称,乡镇代码")


async def test_five_ones_show_what_each_cadre_contacted_in_the_period_once_the_county_turns_the_rule_on(
        api, database_url):
    admin = await api.client("county_admin", COUNTY_B)
    set_rules(database_url, COUNTY_B, None)
    assert (await admin.get("/api/v1/targets/five-ones")).json() == {"enabled": False, "period": None, "items": [],
                                                                      "next": None}
    weak = await register(admin, name="五个一软弱涣散党支部")
    sound = await register(admin, name="五个一正常党支部", weak=False)
    enterprise = await register(admin, kind="enterprise", name="五个一企业", village=None, lat=None, lon=None,
                                weak=False)
    talent = await register(admin, kind="talent", name="五个一人才", village=None, lat=None, lon=None, weak=False)
    app = api.county_apps.get(COUNTY_B)
    busy, idle = (uuid.UUID(app.execute(c.EnrolCadre(command_id=uuid.uuid4(), name=name, rank="staff",
                                                     unit="县委组织部", township=TOWNSHIP),
                                        admin_actor(COUNTY_B)).result["id"]) for name in ("五个一甲", "五个一乙"))

    def check_in(kind: str, target: str, when: datetime) -> None:
        actor = Actor(user_id="seed", roles=frozenset({"cadre"}), county=COUNTY_B, cadre_id=busy)
        outcome = app.execute(c.CheckIn(command_id=uuid.uuid4(), target_kind=kind, target_id=target, kind="forum",
                                        occurred_at=when), actor)
        assert outcome.status == "applied", outcome

    now = datetime.now(UTC)
    for kind, target in (("party_branch", weak), ("party_branch", sound), ("enterprise", enterprise)):
        check_in(kind, target, now)
    check_in("talent", talent, now.replace(year=now.year - 1))  # last year: not in this year's period
    set_rules(database_url, COUNTY_B, "yearly")
    await wait_for_projections(database_url, COUNTY_B)
    answer = (await admin.get("/api/v1/targets/five-ones", params={"township": TOWNSHIP, "limit": 500})).json()
    assert answer["enabled"] and answer["period"]["start"] == f"{now.astimezone(CHINA).year}-01-01"
    rows = {row["cadre_id"]: row for row in answer["items"]}
    assert {k: rows[str(busy)][k] for k in ("weak_branch", "enterprise", "talent", "project", "village", "covered")} \
        == {"weak_branch": 1, "enterprise": 1, "talent": 0, "project": 0, "village": 1, "covered": 3}
    assert rows[str(busy)]["missing"] == ["talent", "project"]
    assert rows[str(idle)]["covered"] == 0
    last_year = (await admin.get("/api/v1/targets/five-ones", params={"period": str(now.year - 1)})).json()
    assert {row["cadre_id"]: row["talent"] for row in last_year["items"]}[str(busy)] == 1
    set_rules(database_url, COUNTY_B, None)


def set_rules(database_url: str, county: str, period: str | None) -> None:
    """Turn the rule on or off, leaving the county's other rules as they are."""
    with connect(database_url) as conn:
        conn.execute("UPDATE core.counties SET rules = (coalesce(rules, '{}') - 'five_ones_period')"
                     " || jsonb_strip_nulls(jsonb_build_object('five_ones_period', %s::text)) WHERE adcode = %s",
                     (period, county))
