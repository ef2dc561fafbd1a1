"""The composite assessment (三维考核) over HTTP: weights that do not sum to 100 answer 422 naming
`assessment_weights` and change nothing; a county admin enters democratic evaluation and opinion poll
scores (bad ones 422 naming the field; other roles 403; another county's cadre answers as one that exists
nowhere); the cadres' and townships' leaderboards rank by the weighted score with each part, as of a day;
the province viewer ranks counties by their mean score and sees no cadre or household."""
from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from projections.base import SHANGHAI
from services.county import Actor
from services.domain import commands as c
from services.storage.database import connect

from .conftest import COUNTY_A, COUNTY_B, Api
from .test_queries import wait_for_projections


async def test_weights_must_sum_to_100(api: Api):
    admin = await api.client("county_admin")
    before = (await admin.get("/api/v1/rules")).json()
    for weights, says in (({"evaluation": 50, "poll": 30, "pairing": 10}, "sum to 90"),
                          ({"evaluation": 60, "poll": 40, "luck": 0}, "luck"),
                          ({"evaluation": 101, "poll": -1}, "less than or equal to 100")):
        response = await admin.put("/api/v1/rules", json={"assessment_weights": weights})
        assert response.status_code == 422, response.text
        fields = [e["field"] for e in response.json()["errors"]]
        assert fields and all(f.startswith("assessment_weights") for f in fields), response.text
        assert says in response.text
    assert (await admin.get("/api/v1/rules")).json() == before
    assert "sum to 100" in json.dumps((await api.anonymous().get("/api/v1/openapi.json")).json()["components"])


async def test_scores_are_entered_by_county_admins_only_and_checked(api: Api):
    admin = await api.client("county_admin")
    cadre = api.cadre()
    body = {"cadre_id": str(cadre), "period": "2026-Q2", "part": "evaluation", "score": 88}
    assert (await admin.post("/api/v1/assessment-scores", json=body)).status_code == 201
    for changes, field in (({"score": 101}, "score"), ({"score": -1}, "score"), ({"score": "90"}, "score"),
                           ({"period": "2026-Q5"}, "period"), ({"period": "2026-03"}, "period"),
                           ({"part": "results"}, "part")):
        refused = await admin.post("/api/v1/assessment-scores", json={**body, **changes})
        assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == [field], refused.text
    for role in ("cadre", "department", "province_viewer"):
        assert (await (await api.client(role)).post("/api/v1/assessment-scores", json=body)).status_code == 403
    # Another county's cadre answers exactly as a cadre that exists nowhere.
    theirs = await admin.post("/api/v1/assessment-scores", json={**body, "cadre_id": str(api.cadre(COUNTY_B)),
                                                                   "command_id": str(uuid.uuid4())})
    nowhere = await admin.post("/api/v1/assessment-scores", json={**body, "cadre_id": str(uuid.uuid4()),
                                                                    "command_id": str(uuid.uuid4())})
    assert theirs.status_code == nowhere.status_code and theirs.status_code in (404, 422)
    assert theirs.json()["errors"][0]["field"] == nowhere.json()["errors"][0]["field"] == "cadre_id"


@pytest.fixture
def weights(database_url):
    """County A weighs evaluation 50, poll 30, interviews 20 (stored directly: the score reads the rule
    when asked, and no test here needs a re-judged history)."""
    with connect(database_url) as conn:
        before = conn.execute("SELECT rules FROM core.counties WHERE adcode = %s", (COUNTY_A,)).fetchone()[0]
        conn.execute("UPDATE core.counties SET rules = rules || %s::jsonb WHERE adcode = %s", (json.dumps(
            {"assessment_weights": {"evaluation": 50, "poll": 30, "interviews": 20}}), COUNTY_A))
    yield
    with connect(database_url) as conn:
        conn.execute("UPDATE core.counties SET rules = %s::jsonb WHERE adcode = %s", (json.dumps(before), COUNTY_A))


async def test_the_leaderboards_rank_by_the_weighted_score_with_its_parts(api: Api, database_url, weights):
    admin = await api.client("county_admin")
    today = datetime.now(SHANGHAI).date()
    year = str(today.year)
    township = COUNTY_A + "001"
    best, worst = (api._applied(api.execute(COUNTY_A, c.EnrolCadre(
        command_id=uuid.uuid4(), name=name, rank="staff", unit="县委组织部", township=township)))
        for name in ("考核甲", "考核乙"))
    # The best cadre keeps two pairings: one visited (verified) this period, one never visited (overdue).
    as_best = Actor(user_id="t", roles=frozenset({"cadre"}), county=COUNTY_A, cadre_id=best)
    for visited in (True, False):
        home = api.household()
        api._applied(api.execute(COUNTY_A, c.FormPairing(
            command_id=uuid.uuid4(), cadre_id=best, target_kind="household", target_id=str(home),
            programme="结穷亲", formed_on="2026-01-05")))
        if visited:
            api._applied(api.county_apps.get(COUNTY_A).execute(c.CheckIn(
                command_id=uuid.uuid4(), target_kind="household", target_id=str(home), kind="home",
                occurred_at=datetime.now(UTC) - timedelta(minutes=5),
                position={"lat": 18.64, "lon": 109.70, "accuracy_m": 10, "provider": "gps"}), as_best))
    # Both receive weekly on today's weekday (since three weeks ago, but in post only from today); only the
    # worst received today: the day is past for neither, held by one.
    for cadre in (best, worst):
        api._applied(api.execute(COUNTY_A, c.SetReceptionSchedule(
            command_id=uuid.uuid4(), cadre_id=cadre, place="联系点", cadence="weekly", day=today.isoweekday(),
            starts_on=today - timedelta(days=21))))
    api._applied(api.execute(COUNTY_A, c.RecordReception(
        command_id=uuid.uuid4(), receiver_id=worst, occurred_at=datetime.now(UTC), place="联系点", residents=2)))
    for cadre, evaluation, poll in ((best, 96, 100), (worst, 40, 50)):
        for part, score in (("evaluation", evaluation), ("poll", poll)):
            answer = await admin.post("/api/v1/assessment-scores", json={
                "cadre_id": str(cadre), "period": year, "part": part, "score": score})
            assert answer.status_code == 201, answer.text
    await wait_for_projections(database_url, COUNTY_A)
    board = (await admin.get("/api/v1/leaderboards/cadres", params={
        "by": "score", "period": year, "limit": 500})).json()["items"]
    rows = {row["cadre_id"]: row for row in board}
    # interviews: active, not interviewed this year → 0; no issues, receptions, topics → null
    assert rows[str(best)] | {"rank": 0} == {
        "rank": 0, "cadre_id": str(best), "name": "考核甲", "township": township, "score": 78.0, "completeness": 50.0,
        "pairing": 50.0, "interviews": 0.0, "resolution": None, "satisfaction": None, "receptions": None,
        "reports": None, "evaluation": 96.0, "poll": 100.0}
    assert rows[str(worst)]["score"] == 35.0  # (50×40 + 30×50 + 20×0) / 100
    assert rows[str(worst)]["receptions"] == 100.0  # held today (the weeks before, not yet in post)
    assert rows[str(best)]["rank"] < rows[str(worst)]["rank"]
    scores = [row["score"] for row in board]
    assert scores == sorted(scores, key=lambda s: (s is None, -(s or 0)))
    # A later page holds the whole board's rows there, ranks and parts included (only a page's rows are built).
    page = (await admin.get("/api/v1/leaderboards/cadres", params={
        "by": "score", "period": year, "limit": 2, "offset": rows[str(worst)]["rank"] - 1})).json()
    assert page["total"] == len(board) and page["items"] == board[rows[str(worst)]["rank"] - 1:][:2]
    # Entered again: the newest counts; as of yesterday nothing was entered.
    assert (await admin.post("/api/v1/assessment-scores", json={
        "cadre_id": str(worst), "period": year, "part": "poll", "score": 100})).status_code == 201
    await wait_for_projections(database_url, COUNTY_A)
    again = (await admin.get("/api/v1/leaderboards/cadres", params={"by": "score", "period": year, "limit": 500}))
    assert {r["cadre_id"]: r["score"] for r in again.json()["items"]}[str(worst)] == 50.0
    entered = (await admin.get("/api/v1/assessment/entered", params={"period": year, "cadre_id": str(worst)})).json()
    assert entered["items"] == [{"cadre_id": str(worst), "evaluation": 40, "poll": 100}]
    yesterday = (today - timedelta(days=1)).isoformat()
    earlier = (await admin.get("/api/v1/leaderboards/cadres", params={
        "by": "score", "period": year, "as_of": yesterday, "limit": 500})).json()["items"]
    assert all(row["evaluation"] is None for row in earlier)
    # The township's score is the mean of its cadres' scores.
    towns = (await admin.get("/api/v1/leaderboards/townships", params={"by": "score", "period": year})).json()
    mine = [row for row in board if row["township"] == township and row["score"] is not None]
    town = next(row for row in towns["items"] if row["township"] == township)
    assert town["score"] == round(sum(
        {r["cadre_id"]: r["score"] for r in again.json()["items"]}[row["cadre_id"]] for row in mine) / len(mine), 1)
    # The assessment ledger (考核台账) lists the same ranking.
    ledger = await admin.get("/api/v1/exports/assessment", params={"period": year, "format": "csv"})
    assert ledger.status_code == 200, ledger.text
    lines = list(csv.reader(io.StringIO(ledger.text.lstrip("\ufeff"))))
    assert lines[0][:4] == ["名次", "姓名", "乡镇代码", "乡镇（街道）"] and "民意调查" in lines[0]
    assert [line[1] for line in lines[1:]] == [row["name"] for row in again.json()["items"]]
    # A cadre reads the boards, but not by the score (their colleagues' evaluations).
    cadre = await api.client("cadre")
    assert (await cadre.get("/api/v1/leaderboards/cadres", params={"period": year})).status_code == 200
    for board_path in ("/api/v1/leaderboards/cadres", "/api/v1/leaderboards/townships"):
        assert (await cadre.get(board_path, params={"by": "score", "period": year})).status_code == 403
    # The province ranks its counties by their mean score, and shows no cadre.
    viewer = await api.client("province_viewer")
    counties = await viewer.get("/api/v1/province/scores", params={"period": year})
    assert counties.status_code == 200, counties.text
    items = counties.json()["items"]
    assert [set(row) for row in items] == [{"rank", "county", "name", "score", "cadres", "scored"}] * len(items)
    assert items[0]["county"] == COUNTY_A and items[0]["score"] is not None
    assert all(row["score"] is None for row in items[1:])  # the other county set no weights
    assert str(best) not in counties.text and "考核甲" not in counties.text
    # Asked again it is the same (kept); once a score changes, the county's mean follows.
    assert (await viewer.get("/api/v1/province/scores", params={"period": year})).json() == counties.json()
    assert (await admin.post("/api/v1/assessment-scores", json={
        "cadre_id": str(best), "period": year, "part": "poll", "score": 0})).status_code == 201
    await wait_for_projections(database_url, COUNTY_A)
    moved = (await viewer.get("/api/v1/province/scores", params={"period": year})).json()["items"][0]
    assert moved["county"] == COUNTY_A and moved["score"] < items[0]["score"]
    assert (await admin.get("/api/v1/province/scores")).status_code == 403
