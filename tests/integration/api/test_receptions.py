"""Reception days over HTTP: a county admin sets schedules (a named cadre monthly on the 31st, a rank
weekly), bad schedules answer 422 naming the field; receptions are recorded by the admin and from a
cadre's own account, their issues enter the issue ledger; the report shows held against scheduled by
cadre and month with the missed days, and the reception ledger (接访台账) lists both."""
from __future__ import annotations

import calendar
import uuid
from datetime import datetime, time, timedelta

from projections.base import SHANGHAI
from services.domain import clock
from services.domain import commands as c
from services.domain.reception import reception_issue_id

from .conftest import COUNTY_A, COUNTY_B, Api
from .test_queries import wait_for_projections

VILLAGE = COUNTY_A + "001001"


def _last_month() -> tuple[datetime, datetime]:
    first_of_this = datetime.now(SHANGHAI).date().replace(day=1)
    end = first_of_this - timedelta(days=1)
    return datetime.combine(end.replace(day=1), time(10), SHANGHAI), datetime.combine(end, time(10), SHANGHAI)


async def test_receptions_held_against_scheduled_by_cadre_and_month_with_the_missed_days(api: Api, database_url):
    admin = await api.client("county_admin")
    start, end = _last_month()
    month = start.strftime("%Y-%m")
    with clock.at(start - timedelta(days=20)):  # both in post since before last month
        minister = api._applied(api.execute(COUNTY_A, c.EnrolCadre(command_id=uuid.uuid4(), name="组织部长",
                                                                     rank="section_chief", unit="县委组织部")))
        secretary = api._applied(api.execute(COUNTY_A, c.EnrolCadre(command_id=uuid.uuid4(), name="村支书",
                                                                      rank="village_cadre", unit="一村")))
    monthly = {"cadre_id": str(minister), "place": "县委组织部接访室", "cadence": "monthly", "day": 31,
               "starts_on": start.date().isoformat()}
    assert (made := await admin.post("/api/v1/reception-schedules", json=monthly)).status_code == 201, made.text
    weekly = {"rank": "village_cadre", "place": "村委会", "village": VILLAGE, "cadence": "weekly", "day": 1,
              "starts_on": start.date().isoformat()}
    assert (made := await admin.post("/api/v1/reception-schedules", json=weekly)).status_code == 201, made.text
    weekly_id = made.json()["result"]["id"]

    # Received on the month's last day (the 31st's rule in a short month) and on its first Monday.
    first_monday = start + timedelta(days=(7 - start.weekday()) % 7)
    reception = {"receiver_id": str(minister), "occurred_at": end.isoformat(), "place": "县委组织部接访室",
                 "residents": 7, "issues": [{"category": "道路", "summary": "村道坑洼", "village": VILLAGE},
                                            {"category": "低保", "summary": "申请低保", "village": VILLAGE}]}
    recorded = await admin.post("/api/v1/receptions", json=reception)
    assert recorded.status_code == 201, recorded.text
    reception_id = uuid.UUID(recorded.json()["result"]["id"])
    assert (await admin.post("/api/v1/receptions", json={
        "receiver_id": str(secretary), "occurred_at": first_monday.isoformat(), "place": "村委会", "village": VILLAGE,
        "residents": 3})).status_code == 201
    await wait_for_projections(database_url, COUNTY_A)

    rows = (await admin.get("/api/v1/receptions/report", params={"period": month})).json()["items"]
    mine = {r["cadre_id"]: r for r in rows if r["cadre_id"] in (str(minister), str(secretary))}
    minister_row, secretary_row = mine[str(minister)], mine[str(secretary)]
    assert (minister_row["scheduled"], minister_row["held"], minister_row["on_schedule"], minister_row["missed"],
            minister_row["residents"], minister_row["issues"]) == (1, 1, 1, 0, 7, 2)
    mondays = [d for d in range(1, end.day + 1) if calendar.weekday(start.year, start.month, d) == 0]
    assert (secretary_row["scheduled"], secretary_row["held"], secretary_row["missed"]) == (
        len(mondays), 1, len(mondays) - 1)
    assert [m["day"] for m in secretary_row["missed_days"]] == [
        start.replace(day=d).date().isoformat() for d in mondays[1:]]
    assert {m["place"] for m in secretary_row["missed_days"]} == {"村委会"}

    # The issues raised at the reception are issues like any other, raised by the receiver.
    issue = (await admin.get(f"/api/v1/issues/{reception_issue_id(reception_id, 1)}")).json()
    assert (issue["source_kind"], issue["source_id"], issue["raised_by"], issue["summary"], issue["state"]) == (
        "reception", str(reception_id), str(minister), "申请低保", "raised")

    listed = (await admin.get("/api/v1/receptions", params={"period": month, "cadre_id": str(minister)})).json()
    assert [(i["reception_id"], i["name"], i["residents"]) for i in listed["items"]] == [
        (str(reception_id), "组织部长", 7)]
    schedules = (await admin.get("/api/v1/reception-schedules")).json()["items"]
    assert {(s["name"], s["rank"], s["cadence"], s["day"]) for s in schedules} >= {
        ("组织部长", None, "monthly", 31), (None, "village_cadre", "weekly", 1)}

    ledger = await admin.get("/api/v1/exports/receptions", params={"period": month, "format": "csv"})
    assert ledger.status_code == 200, ledger.text
    text = ledger.content.decode("utf-8-sig")
    assert "接访人" in text and "组织部长" in text and "未按期接访" in text
    assert (await admin.get("/api/v1/exports/receptions", params={"period": month})).content[:2] == b"PK"

    # Ending the weekly schedule before the month began leaves the secretary nothing scheduled then.
    ended = await admin.post(f"/api/v1/reception-schedules/{weekly_id}/end",
                             json={"expected_version": 1, "ends_on": start.date().isoformat()})
    assert ended.status_code == 200, ended.text
    await wait_for_projections(database_url, COUNTY_A)
    rows = (await admin.get("/api/v1/receptions/report", params={"period": month, "cadre_id": str(secretary)})).json()
    assert [(r["scheduled"], r["held"]) for r in rows["items"]] == [(1 if start.weekday() == 0 else 0, 1)]
    # …and as of yesterday (before it was ended) the report is what it was.
    yesterday = (datetime.now(SHANGHAI).date() - timedelta(days=1)).isoformat()
    rows = (await admin.get("/api/v1/receptions/report", params={
        "period": month, "cadre_id": str(secretary), "as_of": yesterday})).json()["items"]
    assert rows == []  # the schedules and receptions were all recorded today


async def test_bad_schedules_and_receptions_answer_422_naming_the_field(api: Api):
    admin = await api.client("county_admin")
    base = {"rank": "staff", "place": "联系点", "cadence": "weekly", "day": 3, "starts_on": "2026-01-01"}
    cases = [({"day": 8}, "day"), ({"cadence": "monthly", "day": 32}, "day"), ({"day": 0}, "day"),
             ({"cadre_id": str(uuid.uuid4())}, ""), ({"rank": None}, ""), ({"cadence": "daily"}, "cadence")]
    for change, field in cases:
        answer = await admin.post("/api/v1/reception-schedules", json={**base, **change})
        assert answer.status_code == 422, (change, answer.text)
        assert field in {e["field"] for e in answer.json()["errors"]} or field == "", (change, answer.json())
        assert answer.json()["detail_zh"], answer.json()
    made = await admin.post("/api/v1/reception-schedules", json=base)
    ended = await admin.post(f"/api/v1/reception-schedules/{made.json()['result']['id']}/end",
                             json={"expected_version": 1, "ends_on": "2025-12-31"})
    assert ended.status_code == 422 and "2026-01-01" in ended.text
    unknown = await admin.post("/api/v1/reception-schedules",
                               json={**base, "rank": None, "cadre_id": str(uuid.uuid4())})
    assert unknown.status_code == 422, unknown.text

    now = datetime.now(SHANGHAI).isoformat()
    no_receiver = await admin.post("/api/v1/receptions", json={"occurred_at": now, "place": "接访室", "residents": 1})
    assert no_receiver.status_code == 422 and "receiver_id" in no_receiver.text
    homeless = await admin.post("/api/v1/receptions", json={
        "receiver_id": str(api.cadre()), "occurred_at": now, "place": "接访室", "residents": 1,
        "issues": [{"category": "道路", "summary": "路坏了"}]})
    assert homeless.status_code == 422 and "village" in homeless.text


async def test_a_cadre_records_their_own_reception_and_nobody_else_reads_the_report(api: Api, database_url):
    cadre = await api.client("cadre")
    now = datetime.now(SHANGHAI).isoformat()
    own = await cadre.post("/api/v1/receptions", json={"occurred_at": now, "place": "联系点", "village": VILLAGE,
                                                        "residents": 2})
    assert own.status_code == 201, own.text
    other = await cadre.post("/api/v1/receptions", json={"receiver_id": str(api.cadre()), "occurred_at": now,
                                                          "place": "联系点", "residents": 2})
    assert other.status_code == 422, other.text
    await wait_for_projections(database_url, COUNTY_A)
    mine = str(api.cadre_actor().cadre_id)
    rows = (await (await api.client("county_admin")).get("/api/v1/receptions/report", params={
        "cadre_id": mine, "period": datetime.now(SHANGHAI).strftime("%Y-%m")})).json()["items"]
    assert [(r["held"], r["residents"]) for r in rows] == [(1, 2)]
    assert (await cadre.get("/api/v1/receptions/report")).status_code == 403
    assert (await (await api.client("department")).get("/api/v1/receptions")).status_code == 403
    elsewhere = await (await api.client("county_admin", COUNTY_B)).get("/api/v1/receptions/report", params={
        "cadre_id": mine})
    assert elsewhere.json()["items"] == []


async def test_the_phone_sends_a_reception_through_sync_once_with_its_issue(api: Api, database_url):
    cadre = await api.client("cadre")
    entry = {"id": str(uuid.uuid4()), "type": "record_reception", "payload": {
        "occurred_at": datetime.now(SHANGHAI).isoformat(), "place": "同步联系点", "village": VILLAGE, "residents": 4,
        "issues": [{"category": "道路", "summary": "村口路灯坏了"}]}}
    for expected in ("applied", "duplicate"):  # the outbox sends again when an answer was lost
        sent = await cadre.post("/api/v1/sync", json={"device_id": "phone-1", "commands": [entry]})
        assert sent.status_code == 200, sent.text
        assert [r["status"] for r in sent.json()["results"]] == [expected]
    await wait_for_projections(database_url, COUNTY_A)
    admin = await api.client("county_admin")
    held = [r for r in (await admin.get("/api/v1/receptions")).json()["items"] if r["place"] == "同步联系点"]
    assert [(r["receiver_id"], r["residents"]) for r in held] == [(str(api.cadre_actor().cadre_id), 4)]
    issue = (await admin.get(f"/api/v1/issues/{held[0]['issue_ids'][0]}")).json()
    assert (issue["summary"], issue["source_kind"], issue["village"]) == ("村口路灯坏了", "reception", VILLAGE)


async def test_a_revised_schedule_judges_the_days_from_its_change_on_and_keeps_the_past(api: Api, database_url):
    admin = await api.client("county_admin")
    start, _ = _last_month()
    today = datetime.now(SHANGHAI).date()
    with clock.at(start - timedelta(days=20)):
        cadre = api._applied(api.execute(COUNTY_A, c.EnrolCadre(command_id=uuid.uuid4(), name="改期干部",
                                                                  rank="deputy_section_chief", unit="县委组织部")))
    # (a rank no other test's schedule names: only this schedule expects the cadre)
    made = await admin.post("/api/v1/reception-schedules", json={
        "cadre_id": str(cadre), "place": "旧接访点", "cadence": "monthly", "day": 1,
        "starts_on": start.date().isoformat()})
    assert made.status_code == 201, made.text
    schedule = made.json()["result"]["id"]
    await wait_for_projections(database_url, COUNTY_A)

    async def months() -> list[tuple]:
        rows = []
        for month in (start.strftime("%Y-%m"), today.strftime("%Y-%m")):
            rows += [(r["month"], r["scheduled"], r["missed"], r["upcoming"], [(m["day"], m["place"]) for m in
                     r["missed_days"]]) for r in (await admin.get("/api/v1/receptions/report", params={
                         "period": month, "cadre_id": str(cadre)})).json()["items"]]
        return rows

    before = await months()
    assert before[0] == (start.strftime("%Y-%m"), 1, 1, 0, [(start.date().isoformat(), "旧接访点")])

    # Bad revisions answer 4xx with a reason naming what to change; none changes the schedule.
    good = {"cadre_id": str(cadre), "place": "新接访点", "cadence": "weekly", "day": today.isoweekday(),
            "from_on": today.isoformat(), "expected_version": 1}
    path = f"/api/v1/reception-schedules/{schedule}/revise"
    past = await admin.post(path, json={**good, "from_on": (today - timedelta(days=1)).isoformat()})
    assert past.status_code == 422 and past.json()["type"].endswith("/rejected"), past.text
    assert f"today ({today.isoformat()}) or later" in past.json()["detail"] and past.json()["detail_zh"], past.text
    for change, field in (({"day": 8}, "day"), ({"rank": "staff"}, ""), ({"cadence": "daily"}, "cadence"),
                          ({"from_on": "soon"}, "from_on"), ({"place": ""}, "place")):
        answer = await admin.post(path, json={**good, **change})
        assert answer.status_code == 422, (change, answer.text)
        assert field in {e["field"] for e in answer.json().get("errors", [])} or field == "", (change, answer.json())
    stale = await admin.post(path, json={**good, "expected_version": 2})
    assert stale.status_code == 409, stale.text
    missing = await admin.post(f"/api/v1/reception-schedules/{uuid.uuid4()}/revise", json=good)
    assert missing.status_code == 404, missing.text
    assert (await (await api.client("cadre")).post(path, json=good)).status_code == 403

    revised = await admin.post(path, json=good)
    assert revised.status_code == 200, revised.text
    await wait_for_projections(database_url, COUNTY_A)
    [listed] = [s for s in (await admin.get("/api/v1/reception-schedules")).json()["items"]
                if s["schedule_id"] == schedule]
    assert (listed["place"], listed["cadence"], listed["day"], listed["effective_on"], listed["version"]) == (
        "新接访点", "weekly", today.isoweekday(), today.isoformat(), 2)
    # Last month is judged as it was; this month by the old terms before today and the new ones from today.
    after = await months()
    assert after[0] == before[0]
    days = [today.replace(day=d) for d in range(1, calendar.monthrange(today.year, today.month)[1] + 1)]
    old = [d for d in days if d < today and d.day == 1]
    new = [d for d in days if d >= today and d.isoweekday() == today.isoweekday()]
    assert after[1:] == [(today.strftime("%Y-%m"), len(old) + len(new), len(old), len(new),
                          [(d.isoformat(), "旧接访点") for d in old])]
    # As of yesterday neither the schedule nor its revision was known (both were recorded today).
    yesterday = (today - timedelta(days=1)).isoformat()
    then = (await admin.get("/api/v1/reception-schedules", params={"as_of": yesterday})).json()["items"]
    assert schedule not in {s["schedule_id"] for s in then}
    # An ended schedule is not revised.
    ended = await admin.post(f"/api/v1/reception-schedules/{schedule}/end",
                             json={"expected_version": 2, "ends_on": today.isoformat()})
    assert ended.status_code == 200, ended.text
    again = await admin.post(path, json={**good, "expected_version": 3})
    assert again.status_code == 422 and "cannot be revised" in again.json()["detail"], again.text
