"""The monthly review pack (一月一议): the month's agenda, the decisions recorded on its items (each routes
its issue to a department with a deadline), the minutes saved as an event, the follow-up of earlier
decisions, last month's figures, and the same pack as an XLSX.

The county here (950003) is this module's own: its agenda holds only the issues made here.
"""
from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from projections.base import SHANGHAI
from services.domain import commands as c
from services.identity import ensure_user
from services.storage.database import connect
from services.storage.schemas import provision_county

from .conftest import PASSWORD, admin_actor, fresh_address
from .test_queries import wait_for_projections

COUNTY = "950003"
ADMIN = "t_review_admin"
TODAY = datetime.now(SHANGHAI).date()
MONTH = TODAY.strftime("%Y-%m")
FIRST = TODAY.replace(day=1)
LAST_MONTH = (FIRST - timedelta(days=1)).strftime("%Y-%m")


def _provision(database_url: str) -> None:
    provision_county(database_url, COUNTY, "例会县", "例会省", province_code="950000", centroid=(18.6, 109.7))
    with connect(database_url) as conn:
        ensure_user(conn, ADMIN, roles=["county_admin"], password=PASSWORD, county=COUNTY)


def applied(api, command: c.Command) -> uuid.UUID:
    outcome = api.county_apps.get(COUNTY).execute(command, admin_actor(COUNTY))
    assert outcome.status == "applied", outcome
    return uuid.UUID(outcome.result["id"])


def on_agenda(api, household_id: uuid.UUID | None = None, occurred_at: datetime | None = None) -> uuid.UUID:
    """An issue routed to the monthly review."""
    issue_id = applied(api, c.RaiseIssue(
        command_id=uuid.uuid4(), source_kind="visit", village=COUNTY + "001001", category="住房",
        summary="危房待修", household_id=household_id, occurred_at=occurred_at or datetime.now(UTC)))
    applied(api, c.RouteIssue(command_id=uuid.uuid4(), issue_id=issue_id, expected_version=1,
                              route="monthly_review"))
    return issue_id


@pytest.fixture(scope="module")
async def admin(api, database_url):
    await asyncio.to_thread(_provision, database_url)
    response = await api.anonymous(address=fresh_address()).post(
        "/api/v1/session", json={"username": ADMIN, "password": PASSWORD})
    assert response.status_code == 201, response.text
    client = api.anonymous(token=response.json()["token"])
    assert (await client.post("/api/v1/departments", json={"code": "zhujian", "name": "县住建局"})).status_code == 201
    return client


async def the_pack(admin, database_url, month: str = MONTH) -> dict:
    await wait_for_projections(database_url, COUNTY)
    response = await admin.get("/api/v1/reviews/pack", params={"month": month})
    assert response.status_code == 200, response.text
    return response.json()


async def test_decisions_route_the_agenda_s_items_and_the_pack_shows_them(api, admin, database_url):
    household = applied(api, c.RegisterHousehold(
        command_id=uuid.uuid4(), village=COUNTY + "001001", township=COUNTY + "001", address="一组 1 号",
        lat=18.6, lon=109.7, size=2, head_name="王某", tags=[]))
    decided, waiting = on_agenda(api, household), on_agenda(api)
    last_month_issue = on_agenda(api, occurred_at=datetime.combine(FIRST - timedelta(days=3), datetime.min.time(),
                                                                   SHANGHAI))
    pack = await the_pack(admin, database_url)
    assert {item["issue_id"] for item in pack["agenda"]} == {str(decided), str(waiting), str(last_month_issue)}
    assert pack["decisions"] == [] and pack["minutes"] is None
    assert pack["last_month"]["month"] == LAST_MONTH and pack["last_month"]["issues_raised"] == 1

    deadline = (TODAY + timedelta(days=14)).isoformat()
    unknown = await admin.post(f"/api/v1/issues/{decided}/decide", json={
        "month": MONTH, "department": "住建局", "decision": "两周内修缮", "deadline": deadline,
        "expected_version": 2})
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["department"]
    bad_month = await admin.post(f"/api/v1/issues/{decided}/decide", json={
        "month": "2026-13", "department": "zhujian", "decision": "两周内修缮", "deadline": deadline,
        "expected_version": 2})
    assert bad_month.status_code == 422 and [e["field"] for e in bad_month.json()["errors"]] == ["month"]
    made = await admin.post(f"/api/v1/issues/{decided}/decide", json={
        "month": MONTH, "department": "县住建局", "decision": "两周内修缮", "deadline": deadline,
        "expected_version": 2})
    assert made.status_code == 200, made.text

    # The decision is a route: to the department (by code) with the deadline.
    issue = (await admin.get(f"/api/v1/issues/{decided}")).json()
    assert (issue["route"], issue["department"], issue["deadline"]) == ("department", "zhujian", deadline)

    saved = await admin.post("/api/v1/reviews/minutes", json={
        "month": MONTH, "minutes": "会议研究了三个问题。\n住建局负责危房。", "attendees": ["张部长", "李科长"]})
    assert saved.status_code in (200, 201), saved.text
    again = await admin.post("/api/v1/reviews/minutes", json={"month": MONTH, "minutes": "修订后的纪要"})
    assert again.status_code in (200, 201), again.text

    pack = await the_pack(admin, database_url)
    [decision] = pack["decisions"]
    assert decision["issue_id"] == str(decided) and decision["department"] == "zhujian"
    assert decision["department_name"] == "县住建局" and decision["deadline"] == deadline
    assert decision["decision"] == "两周内修缮"  # sealed with the household's key, opened for the admin
    items = {item["issue_id"]: item for item in pack["agenda"]}
    assert set(items) == {str(decided), str(waiting), str(last_month_issue)}  # decided: still this meeting's
    assert [d["decision"] for d in items[str(decided)]["decisions"]] == ["两周内修缮"]
    assert items[str(waiting)]["decisions"] == []
    assert pack["minutes"]["minutes"] == "修订后的纪要" and pack["minutes"]["attendees"] == []

    # Last month's pack: nothing decided then, and this month's decision is not on it.
    earlier = await the_pack(admin, database_url, LAST_MONTH)
    assert earlier["decisions"] == [] and earlier["minutes"] is None

    workbook = await admin.get("/api/v1/reviews/pack.xlsx", params={"month": MONTH})
    assert workbook.status_code == 200
    book = load_workbook(io.BytesIO(workbook.content))
    assert book.sheetnames[:3] == ["议题", "议定事项", "跟踪督办"]
    decisions = list(book["议定事项"].iter_rows(values_only=True))
    assert decisions[0][:4] == ("问题编号", "问题描述", "责任部门", "议定事项")
    assert decisions[1][2:4] == ("县住建局", "两周内修缮")
    assert list(book["会议纪要"].iter_rows(values_only=True))[1][0] == "修订后的纪要"


async def test_a_pack_for_a_month_not_begun_answers_422_naming_the_month(admin):
    later = (FIRST + timedelta(days=40)).strftime("%Y-%m")
    response = await admin.get("/api/v1/reviews/pack", params={"month": later})
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["month"]
    malformed = await admin.get("/api/v1/reviews/pack", params={"month": "2026-6"})
    assert malformed.status_code == 422


async def test_minutes_need_text(admin):
    response = await admin.post("/api/v1/reviews/minutes", json={"month": MONTH, "minutes": "   "})
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["minutes"]


async def test_an_earlier_meeting_s_decision_is_followed_up_while_its_issue_stays_open(api, admin, database_url):
    issue = on_agenda(api)
    deadline = (TODAY + timedelta(days=7)).isoformat()
    made = await admin.post(f"/api/v1/issues/{issue}/decide", json={
        "month": LAST_MONTH, "department": "zhujian", "decision": "下月复核", "deadline": deadline,
        "expected_version": 2})
    assert made.status_code == 200, made.text
    pack = await the_pack(admin, database_url)
    followed = {item["issue_id"]: item for item in pack["follow_up"]}
    assert followed[str(issue)]["decided_in"] == LAST_MONTH and followed[str(issue)]["department_name"] == "县住建局"
    assert str(issue) not in {item["issue_id"] for item in pack["agenda"]}
    earlier = await the_pack(admin, database_url, LAST_MONTH)
    assert [d["issue_id"] for d in earlier["decisions"]] == [str(issue)]

    resolved = await admin.post(f"/api/v1/issues/{issue}/resolve", json={"resolution": "已修缮", "expected_version": 3})
    assert resolved.status_code == 200, resolved.text
    pack = await the_pack(admin, database_url)
    assert str(issue) not in {item["issue_id"] for item in pack["follow_up"]}
