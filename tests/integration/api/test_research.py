"""Research topics and reports over HTTP: a county admin assigns topics to a cadre or a team (bad ones
answer 422 naming the field); the cadre files a report from the phone (/sync) on their own topic and is
refused another's; the admin files for a cadre; the topics show their state (open, overdue, reported), a
cadre sees only their own, the per-cadre figures count topics, reports and overdue ones, and the research
ledger (调研台账) lists them."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

from projections.base import SHANGHAI

from .conftest import COUNTY_A, Api
from .test_queries import wait_for_projections


async def test_topics_are_assigned_reported_on_and_counted(api: Api, database_url):
    admin = await api.client("county_admin")
    cadre = await api.client("cadre")
    mine = api.account("cadre").user.cadre_id
    colleague = api.cadre()
    today = datetime.now(SHANGHAI).date()
    period = f"{today - timedelta(days=10)}..{today + timedelta(days=10)}"

    async def assign(title: str, team: list, due_in: int) -> str:
        made = await admin.post("/api/v1/research-topics", json={
            "title": title, "description": "围绕产业发展开展调研", "assignee_ids": [str(i) for i in team],
            "due_on": (today + timedelta(days=due_in)).isoformat()})
        assert made.status_code == 201, made.text
        return made.json()["result"]["id"]

    team_topic = await assign("农村电商调研", [mine, colleague], -1)  # past due, reported below
    theirs = await assign("集体经济调研", [colleague], 5)  # open, the colleague's alone
    late = await assign("基层治理调研", [mine], -2)  # overdue: nobody reports

    refused = await admin.post("/api/v1/research-topics", json={"title": "空", "assignee_ids": [],
                                                                "due_on": "2026-06-30"})
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["assignee_ids"]
    assert (await cadre.post("/api/v1/research-topics", json={
        "title": "自拟", "assignee_ids": [str(mine)], "due_on": "2026-06-30"})).status_code == 403

    # The cadre files from the phone on the team's topic, drawing on a visit and an issue.
    visit, issue = api.visit(), api.issue()
    report_id = str(uuid.uuid4())
    synced = await cadre.post("/api/v1/sync", json={"commands": [{"id": report_id, "type": "file_report", "payload": {
        "topic_id": team_topic, "title": "关于农村电商的调研报告", "summary": "走访三个村。\n建议建设物流点。",
        "visit_ids": [str(visit)], "issue_ids": [str(issue)], "occurred_at": datetime.now(UTC).isoformat()}}]})
    assert synced.json()["results"][0]["status"] == "applied", synced.text
    # … and is refused a topic that is not theirs, and a visit that does not exist, naming the field.
    report = {"title": "报告", "summary": "内容", "occurred_at": datetime.now(UTC).isoformat()}
    not_mine = await cadre.post("/api/v1/research-reports", json={**report, "topic_id": theirs})
    assert not_mine.status_code == 422 and not_mine.json()["errors"][0]["field"] == "topic_id", not_mine.text
    assert "未分配给该干部" in not_mine.json()["errors"][0]["message_zh"]
    nowhere = await cadre.post("/api/v1/research-reports", json={**report, "topic_id": team_topic,
                                                                  "visit_ids": [str(uuid.uuid4())]})
    assert nowhere.status_code == 422 and nowhere.json()["errors"][0]["field"] == "visit_ids", nowhere.text
    # The office files for the colleague on their topic; without naming the author it is told to.
    assert (await admin.post("/api/v1/research-reports", json={**report, "topic_id": theirs})).status_code == 422
    filed = await admin.post("/api/v1/research-reports", json={**report, "topic_id": theirs,
                                                               "author_id": str(colleague)})
    assert filed.status_code == 201, filed.text
    await wait_for_projections(database_url, COUNTY_A)

    listed = (await admin.get("/api/v1/research-topics", params={"period": period, "limit": 500})).json()["items"]
    states = {t["topic_id"]: (t["state"], t["reports"]) for t in listed}
    assert {k: states[k] for k in (team_topic, theirs, late)} == {
        team_topic: ("reported", 1), theirs: ("reported", 1), late: ("overdue", 0)}
    overdue = (await admin.get("/api/v1/research-topics", params={"state": "overdue", "limit": 500})).json()["items"]
    assert late in {t["topic_id"] for t in overdue} and team_topic not in {t["topic_id"] for t in overdue}
    # As of two days ago nothing was assigned yet.
    before = (await admin.get("/api/v1/research-topics", params={
        "as_of": (today - timedelta(days=2)).isoformat(), "limit": 500})).json()["items"]
    assert not {team_topic, theirs, late} & {t["topic_id"] for t in before}

    # A cadre sees their own topics only.
    own = (await cadre.get("/api/v1/research-topics", params={"limit": 500})).json()["items"]
    assert {team_topic, late} <= {t["topic_id"] for t in own} and theirs not in {t["topic_id"] for t in own}
    assert (await cadre.get("/api/v1/research-topics", params={"cadre_id": str(colleague)})).status_code == 403
    assert (await cadre.get(f"/api/v1/research-topics/{theirs}")).status_code == 404
    detail = (await cadre.get(f"/api/v1/research-topics/{team_topic}")).json()
    assert {a["cadre_id"] for a in detail["assignees"]} == {str(mine), str(colleague)}
    [filed_report] = detail["reports_filed"]
    assert (filed_report["report_id"], filed_report["author_id"], filed_report["summary"]) == (
        report_id, str(mine), "走访三个村。\n建议建设物流点。")
    assert (filed_report["visit_ids"], filed_report["issue_ids"]) == ([str(visit)], [str(issue)])

    figures = (await admin.get("/api/v1/research/cadres", params={"period": period})).json()["items"]
    rows = {r["cadre_id"]: r for r in figures}
    assert {k: rows[str(mine)][k] for k in ("topics", "reported", "overdue", "open", "reports")} == {
        "topics": 2, "reported": 1, "overdue": 1, "open": 0, "reports": 1}
    assert {k: rows[str(colleague)][k] for k in ("topics", "reported", "overdue", "reports")} == {
        "topics": 2, "reported": 2, "overdue": 0, "reports": 1}

    ledger = await admin.get("/api/v1/exports/research", params={"period": period, "format": "csv"})
    assert ledger.status_code == 200
    lines = {row["调研课题"]: row for row in csv.DictReader(io.StringIO(ledger.text.lstrip("\ufeff")))}
    assert lines["基层治理调研"]["状态"] == "逾期未交"
    assert (lines["农村电商调研"]["状态"], lines["农村电商调研"]["报告(篇)"]) == ("已提交", "1")
    assert "关于农村电商的调研报告" in lines["农村电商调研"]["调研报告"]
    xlsx = await admin.get("/api/v1/exports/research", params={"period": period})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


async def test_reports_filed_count_on_the_cadres_leaderboard_row(api: Api, database_url):
    admin = await api.client("county_admin")
    author = api.cadre()
    topic = await admin.post("/api/v1/research-topics", json={
        "title": "人才队伍调研", "assignee_ids": [str(author)], "due_on": "2099-12-31"})
    for n in range(2):
        filed = await admin.post("/api/v1/research-reports", json={
            "topic_id": topic.json()["result"]["id"], "author_id": str(author), "title": f"第{n + 1}篇",
            "summary": "调研情况", "occurred_at": datetime.now(UTC).isoformat()})
        assert filed.status_code == 201, filed.text
    await wait_for_projections(database_url, COUNTY_A)
    year = str(datetime.now(SHANGHAI).year)
    board = (await admin.get("/api/v1/leaderboards/cadres", params={"period": year, "limit": 500})).json()["items"]
    [row] = [r for r in board if r["cadre_id"] == str(author)]
    assert row["reports_filed"] == 2
    yesterday = (datetime.now(SHANGHAI).date() - timedelta(days=1)).isoformat()
    earlier = (await admin.get("/api/v1/leaderboards/cadres", params={"period": year, "limit": 500,
                                                                      "as_of": yesterday})).json()["items"]
    assert all(r["reports_filed"] == 0 for r in earlier if r["cadre_id"] == str(author))
