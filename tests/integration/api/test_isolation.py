"""The isolation matrix: every endpoint that takes an id × every role × an object of another county.

The endpoints are discovered from the app itself (every operation with a path parameter), so a new
id-taking endpoint joins the matrix by existing. It needs two things here: its path parameter's kind
in FOREIGN_KINDS (how to make such an object in county B) and, when it takes a body or a required
query, a valid one in REQUESTS (so the request gets past validation to the lookup). A role that may
use the endpoint must get 404; a role that may not gets 403; either way the answer for the other
county's object must be identical to the answer for an id that exists nowhere, and say nothing of it.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.api.app import create_app
from services.api.openapi import operations
from services.domain import commands as c
from services.storage.database import connect

from .conftest import COUNTY_A, COUNTY_B, COUNTY_C, COUNTY_ROLES, DEPARTMENT

VIEWERS = ["province_viewer", "prefecture_viewer"]
ROLES = [*COUNTY_ROLES, *VIEWERS]

# Built once at collection: routes only, no database is touched.
ID_OPERATIONS = {op.operation_id: (prefix, op) for prefix, op in
                 operations(create_app("postgresql://collection-only", projector=None, pwa_dir=None).routes)
                 if op.path_parameters()}

# Path parameter -> a function making such an object in a county (the Api fixture's helpers).
FOREIGN_KINDS = {
    "household_id": lambda api, county: api.household(county),
    "cadre_id": lambda api, county: api.cadre(county),
    "pairing_id": lambda api, county: api.pairing(county),
    "visit_id": lambda api, county: api.visit(county),
    # routed to the department of the same name as county A's, so a department is tempted
    "issue_id": lambda api, county: api.issue(county, department=DEPARTMENT),
    # a county itself (province endpoints): C is in another province than A, so foreign to every role of A
    "adcode": lambda api, county: COUNTY_C,
    "user_id": lambda api, county: api.account("department", county).user.id,
    "campaign_id": lambda api, county: api._applied(api.execute(county, c.DefineCampaign(
        command_id=uuid.uuid4(), festival="spring_festival", starts_on="2026-02-05", ends_on="2026-02-19",
        tags=["left_behind_child"]))),
    "proposal_id": lambda api, county: api._applied(api.county_apps.get(county).execute(c.ProposeHousehold(
        command_id=uuid.uuid4(), village=county + "001001", township=county + "001", address="五组 1 号",
        lat=18.64, lon=109.70, size=2, head_name="申报某", occurred_at=datetime.now(UTC)), api.cadre_actor(county))),
    "schedule_id": lambda api, county: api._applied(api.execute(county, c.SetReceptionSchedule(
        command_id=uuid.uuid4(), rank="staff", place="联系点", cadence="monthly", day=20, starts_on="2026-01-01"))),
    # assigned to county B's cadre: a cadre of county A is not its assignee either
    "topic_id": lambda api, county: api._applied(api.execute(county, c.AssignTopic(
        command_id=uuid.uuid4(), title="某课题", assignee_ids=[api.cadre(county)], due_on="2026-12-31"))),
    "target_id": lambda api, county: api._applied(api.execute(county, c.RegisterTarget(
        command_id=uuid.uuid4(), kind="enterprise", name="某企业", township=county + "001"))),
    # last: county B's first department makes its list binding (its issue above is routed as free text)
    "department_code": lambda api, county: _department(api, county),
}


def _department(api, county: str) -> str:
    with connect(api.county_apps.url) as conn:
        conn.execute("INSERT INTO core.departments (county, code, name, added_by) VALUES (%s, 'isolation',"
                     " '隔离测试局', 'test') ON CONFLICT DO NOTHING", (county,))
    return "isolation"

# operation id -> a valid request apart from the id: {"json": body, "params": query}
REQUESTS = {
    "relocate_household": {"json": {"village": "910001002003", "township": "910001002", "address": "新村 1 号",
                                    "lat": 18.7, "lon": 109.8, "expected_version": 1}},
    "retag_household": {"json": {"tags": ["disabled"], "expected_version": 1}},
    "archive_household": {"json": {"reason": "迁出", "expected_version": 1}},
    "change_rank": {"json": {"rank": "section_chief", "expected_version": 1}},
    "transfer_cadre": {"json": {"unit": "某镇", "expected_version": 1}},
    "depart_cadre": {"json": {"reason": "调离", "expected_version": 1}},
    "end_pairing": {"json": {"reason": "结束", "ended_on": "2026-06-30", "expected_version": 1}},
    "void_visit": {"json": {"reason": "重复", "expected_version": 1}},
    "route_issue": {"json": {"route": "monthly_review", "expected_version": 2}},
    "resolve_issue": {"json": {"resolution": "已办", "expected_version": 2}},
    "reply_issue": {"json": {"reply": "已答复", "expected_version": 2}},
    "rate_issue": {"json": {"satisfaction": "satisfied", "expected_version": 2}},
    "reopen_issue": {"json": {"reason": "未解决", "expected_version": 2}},
    "user_change": {"json": {"disabled": True}},
    "erase_personal_data": {"params": {"reason": "本人申请删除"}},
    "confirm_proposal": {"json": {"expected_version": 1}},
    "merge_proposal": {"json": {"expected_version": 1, "household_id": str(uuid.uuid4())}},
    "refuse_proposal": {"json": {"reason": "已在册", "expected_version": 1}},
    "department_rename": {"json": {"name": "改名局"}},
    "end_reception_schedule": {"json": {"ends_on": "2026-12-31", "expected_version": 1}},
    "revise_reception_schedule": {"json": {"rank": "staff", "place": "联系点", "cadence": "monthly", "day": 10,
                                           "from_on": "2099-01-01", "expected_version": 1}},
    "revise_target": {"json": {"name": "改名企业", "township": "910001001", "expected_version": 1}},
    "archive_target": {"json": {"reason": "已注销", "expected_version": 1}},
    "decide_issue": {"json": {"month": "2026-06", "department": "县民政局", "decision": "限期办结",
                              "deadline": "2099-12-31", "expected_version": 2}},
}


@pytest.fixture(scope="module")
def foreign(api) -> Iterator[dict[str, uuid.UUID | str]]:
    """One object of each kind in county B (its department removed after: B keeps free-text departments)."""
    yield {kind: make(api, COUNTY_B) for kind, make in FOREIGN_KINDS.items()}
    with connect(api.county_apps.url) as conn:
        conn.execute("DELETE FROM core.departments WHERE county = %s", (COUNTY_B,))


def test_every_id_taking_endpoint_is_in_the_matrix():
    for operation_id, (_, op) in ID_OPERATIONS.items():
        for name, _ in op.path_parameters():
            assert name in FOREIGN_KINDS, f"{operation_id}: add how to make a {name} to FOREIGN_KINDS"
        if op.body is not None or (op.query is not None and any(
                f.is_required() for f in op.query.model_fields.values())):
            assert operation_id in REQUESTS, f"{operation_id}: add a valid request to REQUESTS"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation_id", sorted(ID_OPERATIONS))
async def test_another_county_s_object_answers_like_nothing_at_all(api, foreign, operation_id, role):
    prefix, op = ID_OPERATIONS[operation_id]
    client = await api.client(role, COUNTY_A)
    request = REQUESTS.get(operation_id, {})

    async def call(ids: dict[str, uuid.UUID | str]):
        path = prefix + op.openapi_path.format(**{name: ids[name] for name, _ in op.path_parameters()})
        return await client.request(op.method, path, json=request.get("json"), params=request.get("params"))

    names = [name for name, _ in op.path_parameters()]
    theirs = await call({name: foreign[name] for name in names})
    nowhere = await call({name: "999999" if name == "adcode" else uuid.uuid4() for name in names})
    # A prefecture viewer is refused any county outside its prefecture by the adcode alone (C's, and
    # 999999, are not in 930100): 403 for both, which again tells them apart by nothing.
    expected = 404 if role in op.roles and role != "prefecture_viewer" else 403
    assert (theirs.status_code, nowhere.status_code) == (expected, expected), theirs.text
    assert theirs.json() == nowhere.json()
    for secret in (*(str(foreign[name]) for name in names), COUNTY_B, "测试乙县"):
        assert secret not in theirs.text


def test_nothing_of_the_other_county_was_changed(api, foreign):
    # Runs after the matrix (file order): every object of county B is still at its first version.
    county = api.county_apps.get(COUNTY_B)
    assert county.household(foreign["household_id"])["version"] == 1
    assert county.cadre(foreign["cadre_id"])["version"] == 1
    assert county.pairing(foreign["pairing_id"])["version"] == 1
    assert county.visit(foreign["visit_id"])["version"] == 1
    assert county.issue(foreign["issue_id"])["version"] == 2  # raised, then routed
    proposal = county.load_many([foreign["proposal_id"]])[foreign["proposal_id"]]
    assert (proposal.version, proposal.state) == (1, "pending")
    with connect(api.county_apps.url) as conn:
        assert conn.execute("SELECT name FROM core.departments WHERE county = %s AND code = 'isolation'",
                            (COUNTY_B,)).fetchone()[0] == "隔离测试局"


# What a province or prefecture viewer may call: its own session, the map config, and its area's rollups.
PROVINCE_VIEWER_PATHS = {"/api/v1/session", "/api/v1/me", "/api/v1/config"}
ALL_OPERATIONS = list(operations(create_app("postgresql://collection-only", projector=None, pwa_dir=None).routes))


@pytest.mark.parametrize("viewer", VIEWERS)
def test_a_viewer_is_declared_only_on_province_rollups_and_its_own_session(viewer):
    for prefix, op in ALL_OPERATIONS:
        path = prefix + op.openapi_path
        if op.roles is not None and viewer in op.roles:
            assert path.startswith("/api/v1/province/") or path in PROVINCE_VIEWER_PATHS, path


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("path", sorted(
    prefix + op.openapi_path for prefix, op in ALL_OPERATIONS
    if op.method == "GET" and op.roles is not None and not set(VIEWERS) & op.roles
    and not op.path_parameters()))
async def test_a_viewer_is_refused_every_county_query(api, path, viewer):
    response = await (await api.client(viewer)).get(path)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
