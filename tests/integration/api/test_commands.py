"""The admin command endpoints: success, idempotent retries, conflicts, rejections, roles, rules."""
from __future__ import annotations

import uuid
from datetime import UTC

import pytest

from .conftest import COUNTY_A, DEPARTMENT

HOUSEHOLD = {"village": "910001001001", "township": "910001001", "address": "二组 8 号", "lat": 18.6,
             "lon": 109.7, "size": 4, "head_name": "黄某", "phone": "13800000000", "tags": ["left_behind_child"]}


async def test_registering_a_household_answers_201_with_its_new_id(api):
    admin = await api.client("county_admin")
    command_id = str(uuid.uuid4())
    response = await admin.post("/api/v1/households", json={**HOUSEHOLD, "command_id": command_id})
    assert response.status_code == 201
    assert response.json() == {"status": "applied", "result": {"id": command_id, "version": 1}}
    stored = api.county_apps.get(COUNTY_A).household(uuid.UUID(command_id))
    assert (stored["head_name"], stored["tags"]) == ("黄某", ["left_behind_child"])


async def test_retrying_a_command_with_its_command_id_is_a_harmless_duplicate(api):
    admin = await api.client("county_admin")
    body = {**HOUSEHOLD, "command_id": str(uuid.uuid4())}
    first, again = [await admin.post("/api/v1/households", json=body) for _ in range(2)]
    assert again.status_code == 201
    assert again.json() == {"status": "duplicate", "result": first.json()["result"]}


async def test_reusing_a_command_id_for_another_command_is_a_409(api):
    admin = await api.client("county_admin")
    command_id = str(uuid.uuid4())
    await admin.post("/api/v1/households", json={**HOUSEHOLD, "command_id": command_id})
    response = await admin.post("/api/v1/households", json={**HOUSEHOLD, "size": 5, "command_id": command_id})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail_zh"]


async def test_a_village_outside_its_township_answers_422_naming_the_field(api):
    response = await (await api.client("county_admin")).post(
        "/api/v1/households", json={**HOUSEHOLD, "village": "910001002001"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["message_zh"] == "村代码不属于所选乡镇"


async def test_a_body_with_an_unknown_field_answers_422(api):
    admin = await api.client("county_admin")
    response = await admin.post("/api/v1/households", json={**HOUSEHOLD, "county": "910002"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["county"]


@pytest.mark.parametrize("path, body", [
    ("relocate", {"village": "910001002003", "township": "910001002", "address": "新村 1 号",
                  "lat": 18.7, "lon": 109.8}),
    ("retag", {"tags": ["disabled", "subsistence"]}),
    ("archive", {"reason": "迁出本县"}),
])
async def test_household_changes_apply_at_the_expected_version_and_conflict_when_stale(api, path, body):
    household = api.household()
    admin = await api.client("county_admin")
    applied = await admin.post(f"/api/v1/households/{household}/{path}", json={**body, "expected_version": 1})
    assert applied.status_code == 200, applied.text
    assert applied.json()["result"] == {"id": str(household), "version": 2}
    stale = await admin.post(f"/api/v1/households/{household}/{path}", json={**body, "expected_version": 1})
    assert stale.status_code == 409
    assert "version" in stale.json()["detail"]


async def test_a_change_to_a_household_that_does_not_exist_answers_404(api):
    response = await (await api.client("county_admin")).post(
        f"/api/v1/households/{uuid.uuid4()}/archive", json={"reason": "x", "expected_version": 1})
    assert response.status_code == 404
    assert response.json()["detail_zh"] == "农户不存在。"


async def test_a_path_id_that_is_no_uuid_answers_404(api):
    response = await (await api.client("county_admin")).post(
        "/api/v1/households/not-a-uuid/archive", json={"reason": "x", "expected_version": 1})
    assert response.status_code == 404


async def test_cadre_lifecycle_enrol_rank_transfer_depart(api):
    admin = await api.client("county_admin")
    enrolled = await admin.post("/api/v1/cadres", json={"name": "赵某", "rank": "staff", "unit": "县委组织部"})
    assert enrolled.status_code == 201
    cadre = enrolled.json()["result"]["id"]
    steps = [("rank", {"rank": "deputy_section_chief"}), ("transfer", {"unit": "什玲镇", "township": "910001002"}),
             ("depart", {"reason": "调离"})]
    for version, (path, body) in enumerate(steps, start=1):
        response = await admin.post(f"/api/v1/cadres/{cadre}/{path}", json={**body, "expected_version": version})
        assert response.status_code == 200, response.text
    stored = api.county_apps.get(COUNTY_A).cadre(uuid.UUID(cadre))
    assert (stored["rank"], stored["unit"], stored["departed"]) == ("deputy_section_chief", "什玲镇", True)


async def test_pairings_form_and_end(api):
    admin = await api.client("county_admin")
    formed = await admin.post("/api/v1/pairings", json={
        "cadre_id": str(api.cadre()), "target_kind": "household", "target_id": str(api.household()),
        "programme": "结穷亲", "cadence": "quarterly", "formed_on": "2026-03-01"})
    assert formed.status_code == 201, formed.text
    pairing = formed.json()["result"]["id"]
    ended = await admin.post(f"/api/v1/pairings/{pairing}/end",
                             json={"reason": "已脱贫", "ended_on": "2026-09-30", "expected_version": 1})
    assert ended.status_code == 200
    assert api.county_apps.get(COUNTY_A).pairing(uuid.UUID(pairing))["ended_on"] == "2026-09-30"


async def test_pairing_with_a_cadre_of_no_such_id_is_rejected_with_a_reason(api):
    response = await (await api.client("county_admin")).post("/api/v1/pairings", json={
        "cadre_id": str(uuid.uuid4()), "target_kind": "enterprise", "target_id": "E-1", "programme": "五个一",
        "formed_on": "2026-03-01"})
    assert response.status_code == 422
    assert response.json()["detail_zh"] == "找不到该干部。"


async def test_an_admin_voids_a_visit(api):
    visit = api.visit()
    response = await (await api.client("county_admin")).post(f"/api/v1/visits/{visit}/void",
                                                             json={"reason": "重复录入", "expected_version": 1})
    assert response.status_code == 200
    assert api.county_apps.get(COUNTY_A).visit(visit)["voided"] is True


async def test_an_issue_goes_from_department_to_resolution_reply_rating_and_reopening(api):
    issue = api.issue()
    admin, department, cadre = [await api.client(r) for r in ("county_admin", "department", "cadre")]
    steps = [
        (admin, "route", {"route": "department", "department": DEPARTMENT, "deadline": "2099-01-31"}),
        (department, "resolve", {"resolution": "已修复村道"}),
        (department, "reply", {"reply": "已答复群众"}),
        (cadre, "rate", {"satisfaction": "satisfied"}),
        (cadre, "reopen", {"reason": "又塌了"}),
    ]
    for version, (client, path, body) in enumerate(steps, start=1):
        response = await client.post(f"/api/v1/issues/{issue}/{path}", json={**body, "expected_version": version})
        assert response.status_code == 200, (path, response.text)
    assert api.county_apps.get(COUNTY_A).issue(issue)["state"] == "reopened"


async def test_a_department_cannot_see_an_issue_not_routed_to_it(api):
    elsewhere = api.issue(department="县交通局")
    unrouted = api.issue()
    department = await api.client("department")
    for issue in (elsewhere, unrouted):
        response = await department.post(f"/api/v1/issues/{issue}/resolve",
                                         json={"resolution": "x", "expected_version": 2 if issue == elsewhere else 1})
        assert response.status_code == 404
        assert response.json()["detail_zh"] == "问题不存在。"


async def test_a_department_route_without_a_deadline_answers_422(api):
    response = await (await api.client("county_admin")).post(
        f"/api/v1/issues/{api.issue()}/route", json={"route": "department", "department": DEPARTMENT,
                                                    "expected_version": 1})
    assert response.status_code == 422
    assert "deadline" in response.json()["detail"]


async def test_resolving_an_issue_that_is_only_raised_is_rejected_with_its_state(api):
    response = await (await api.client("county_admin")).post(
        f"/api/v1/issues/{api.issue()}/resolve", json={"resolution": "x", "expected_version": 1})
    assert response.status_code == 422
    assert "已提出" in response.json()["detail_zh"]


@pytest.mark.parametrize("role", ["cadre", "department", "operator", "province_viewer"])
async def test_roles_other_than_county_admin_may_not_register_households(api, role):
    response = await (await api.client(role)).post("/api/v1/households", json=HOUSEHOLD)
    assert response.status_code == 403
    assert response.json()["detail_zh"] == "您的角色无权执行此操作。"


async def test_commands_without_a_session_answer_401(api):
    assert (await api.anonymous().post("/api/v1/households", json=HOUSEHOLD)).status_code == 401


async def test_county_rules_are_replaced_and_read_back_with_defaults(api, database_url):
    admin = await api.client("county_admin", "910002")
    response = await admin.put("/api/v1/rules", json={"household_visits_per_year": 4, "verified_max_distance_m": 200})
    assert response.status_code == 200
    rules = (await admin.get("/api/v1/rules")).json()
    assert (rules["household_visits_per_year"], rules["verified_max_distance_m"]) == (4, 200)
    assert rules["interviews_per_year"] == 1  # a default
    from services.storage.database import connect
    with connect(database_url) as conn:
        stored = conn.execute("SELECT rules FROM core.counties WHERE adcode = '910002'").fetchone()[0]
    assert stored == {"household_visits_per_year": 4, "verified_max_distance_m": 200}
    untouched = (await (await api.client("county_admin")).get("/api/v1/rules")).json()
    assert untouched["household_visits_per_year"] == 2


async def test_invalid_rules_answer_422_and_change_nothing(api):
    admin = await api.client("county_admin")
    before = (await admin.get("/api/v1/rules")).json()
    response = await admin.put("/api/v1/rules", json={"household_visits_per_year": 0, "no_such_rule": True})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"household_visits_per_year", "no_such_rule"}
    assert (await admin.get("/api/v1/rules")).json() == before


@pytest.mark.parametrize("role", ["cadre", "department", "province_viewer"])
async def test_only_a_county_admin_changes_rules(api, role):
    client = await api.client(role)
    assert (await client.put("/api/v1/rules", json={})).status_code == 403
    assert (await client.get("/api/v1/rules/rejudging")).status_code == 403


async def test_new_rules_re_judge_the_countys_history_without_a_manual_rebuild(api, database_url):
    """A check-in 1.1 km from its household is not verified at the default 150 m; once the county admin
    allows 2 km the server rebuilds in the background and it is, and back again when the rule returns."""
    import asyncio
    from datetime import datetime, timedelta

    import asyncpg

    from services.county import Actor
    from services.domain import commands as c
    from tests.integration.api.conftest import COUNTY_C

    admin = await api.client("county_admin", COUNTY_C)
    home = api.execute(COUNTY_C, c.RegisterHousehold(
        command_id=uuid.uuid4(), village=f"{COUNTY_C}101201", township=f"{COUNTY_C}101", address="远处", lat=26.570,
        lon=107.980, size=2, head_name="远户", tags=[])).result["id"]
    cadre = api.account("cadre", COUNTY_C).user.cadre_id
    as_cadre = Actor(user_id="t", roles=frozenset({"cadre"}), county=COUNTY_C, cadre_id=cadre)
    moment = datetime.now(UTC) - timedelta(minutes=1)
    far = api.county_apps.get(COUNTY_C).execute(c.CheckIn(
        command_id=uuid.uuid4(), target_kind="household", target_id=str(home), kind="home", occurred_at=moment,
        position={"lat": 26.580, "lon": 107.980, "accuracy_m": 10, "provider": "gps"}), as_cadre)
    assert far.status == "applied", far

    async def verified() -> bool | None:
        # asyncpg, not a blocking driver: the rebuild runs on this very event loop.
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchval(f"SELECT verified FROM county_{COUNTY_C}.verdicts_checkins WHERE visit_id = $1",
                                       far.result["id"])
        finally:
            await conn.close()

    async def settles_on(expected: bool) -> None:
        for _ in range(300):
            if await verified() is expected:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"the check-in's verdict did not become verified={expected}")

    async def rejudged() -> None:
        for _ in range(300):
            answer = await admin.get("/api/v1/rules/rejudging")
            assert answer.status_code == 200
            if not answer.json()["running"]:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("re-judging did not finish")

    await settles_on(False)
    try:
        assert (await admin.put("/api/v1/rules", json={"verified_max_distance_m": 2000})).status_code == 200
        assert (await admin.get("/api/v1/rules/rejudging")).json() == {"running": True}
        await rejudged()
        assert await verified() is True  # final once the server says so
    finally:
        assert (await admin.put("/api/v1/rules", json={})).status_code == 200
    await rejudged()
    assert await verified() is False


async def test_a_rebuild_started_elsewhere_counts_as_re_judging(api, database_url):
    """Another server or `grassroots projections rebuild` holds the county's rebuild lock meanwhile."""
    import asyncpg

    from services.storage.names import REBUILD_LOCK_CLASS
    from tests.integration.api.conftest import COUNTY_C

    admin = await api.client("county_admin", COUNTY_C)
    elsewhere = await asyncpg.connect(database_url)
    try:
        await elsewhere.execute("SELECT pg_advisory_lock($1, $2::int)", REBUILD_LOCK_CLASS, int(COUNTY_C))
        assert (await admin.get("/api/v1/rules/rejudging")).json() == {"running": True}
        other = await api.client("county_admin")  # another county is not affected
        assert (await other.get("/api/v1/rules/rejudging")).json() == {"running": False}
    finally:
        await elsewhere.close()
    assert (await admin.get("/api/v1/rules/rejudging")).json() == {"running": False}


async def test_a_pairing_formed_without_a_cadence_follows_the_countys_default(api):
    """Rules: default_pairing_cadence. A pairing that names no cadence is judged by the county's default,
    now and after the default changes; one that names its own keeps it."""
    import asyncio
    from datetime import date

    from tests.integration.api.conftest import COUNTY_C

    admin = await api.client("county_admin", COUNTY_C)
    cadre = str(api.cadre(COUNTY_C))

    async def pair(**cadence) -> str:
        answer = await admin.post("/api/v1/pairings", json={
            "cadre_id": cadre, "target_kind": "household", "target_id": str(api.household(COUNTY_C)),
            "programme": "结对帮扶", "formed_on": date.today().isoformat(), **cadence})
        assert answer.status_code == 201, answer.text
        return answer.json()["result"]["id"]

    async def cadences() -> dict[str, str]:
        for _ in range(100):
            # Asked before the pairings are read: pairings read first could predate a rebuild that finished
            # just before this answer.
            settled = not (await admin.get("/api/v1/rules/rejudging")).json()["running"]
            items = (await admin.get("/api/v1/pairings", params={"cadre_id": cadre, "limit": 500})).json()["items"]
            found = {p["pairing_id"]: p["cadence"] for p in items}
            if settled and {default, own} <= set(found):
                return found
            await asyncio.sleep(0.1)
        raise AssertionError("the pairings did not show")

    default, own = await pair(), await pair(cadence="yearly")
    found = await cadences()
    assert (found[default], found[own]) == ("quarterly", "yearly")
    try:
        assert (await admin.put("/api/v1/rules", json={"default_pairing_cadence": "monthly"})).status_code == 200
        found = await cadences()
        assert (found[default], found[own]) == ("monthly", "yearly")
    finally:
        assert (await admin.put("/api/v1/rules", json={})).status_code == 200
        await cadences()


async def test_a_server_that_stopped_before_re_judging_resumes_it_when_it_starts(api, database_url):
    """Rules saved, then the server stopped before its rebuild finished: the county's rules are ahead of
    its judgement. The next server to start re-judges it, and says so until it is done."""
    import asyncio

    import asyncpg

    from services.api.app import create_app
    from tests.integration.api.conftest import COUNTY_C

    conn = await asyncpg.connect(database_url)
    try:
        async def revisions() -> tuple[int, int]:
            row = await conn.fetchrow("SELECT rules_revision, judged_revision FROM core.counties WHERE adcode = $1",
                                      COUNTY_C)
            return row["rules_revision"], row["judged_revision"]

        ruled, judged = await revisions()
        assert ruled == judged  # nothing pending from earlier tests
        # what PUT /rules commits, with no server left to rebuild
        await conn.execute("UPDATE core.counties SET rules_revision = rules_revision + 1 WHERE adcode = $1", COUNTY_C)
        admin = await api.client("county_admin", COUNTY_C)
        assert (await admin.get("/api/v1/rules/rejudging")).json() == {"running": True}  # pending counts
        app = create_app(database_url, projector=None, pwa_dir=None)
        async with app.router.lifespan_context(app):
            for _ in range(300):
                if (await revisions())[1] == ruled + 1:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the starting server did not re-judge the county")
        assert (await admin.get("/api/v1/rules/rejudging")).json() == {"running": False}
    finally:
        await conn.close()


async def test_a_partial_rebuild_does_not_count_as_re_judging(api, database_url):
    import asyncpg

    from projections.rebuild import rebuild
    from tests.integration.api.conftest import COUNTY_C

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE core.counties SET rules_revision = rules_revision + 1 WHERE adcode = $1", COUNTY_C)
        await rebuild(database_url, county=COUNTY_C, projection="coverage")
        assert await conn.fetchval("SELECT rules_revision - judged_revision FROM core.counties WHERE adcode = $1",
                                   COUNTY_C) == 1
        await rebuild(database_url, county=COUNTY_C)  # every read model: judged
        assert await conn.fetchval("SELECT rules_revision - judged_revision FROM core.counties WHERE adcode = $1",
                                   COUNTY_C) == 0
    finally:
        await conn.close()
