"""POST /api/v1/cadres/import and /pairings/import: a 干部名册 and a 结对名单, all or nothing, idempotent,
checked against the county's cadres, households and pairings; their templates; the pure row checks."""
from __future__ import annotations

import io
import uuid
from datetime import datetime
from urllib.parse import unquote
from uuid import UUID

import pytest
from openpyxl import Workbook, load_workbook

from services.domain import commands as c
from services.roster_import import ImportRejected, parse_cadres, parse_pairings
from tests.integration.api.conftest import COUNTY_A, COUNTY_B

from .test_imports import event_count
from .test_queries import wait_for_projections

CADRE_HEADER = ["姓名", "职级", "单位", "乡镇代码", "联系电话"]
PAIRING_HEADER = ["干部电话", "农户编号", "结对项目", "结对日期", "走访频次"]


def table_file(header: list[str], rows: list[list[object]], kind: str = "csv") -> tuple[str, bytes, str]:
    if kind == "csv":
        text = "\ufeff" + "\r\n".join(",".join(str(v) for v in row) for row in [header, *rows]) + "\r\n"
        return ("file.csv", text.encode(), "text/csv")
    workbook = Workbook()
    for row in [header, *rows]:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return ("file.xlsx", buffer.getvalue(), "application/octet-stream")


def cadre_rows(prefix: str, count: int) -> list[list[object]]:
    return [[f"干部{n}", "一般干部", "县委组织部", f"{COUNTY_A}100", f"{prefix}{n:04d}"] for n in range(count)]


def rejected(call) -> list[tuple[int, str | None]]:
    with pytest.raises(ImportRejected) as caught:
        call()
    return [(error.row, error.column) for error in caught.value.errors]


# ---- the row checks, before anything touches the database ------------------------------------------------------


def test_a_cadre_row_reads_rank_labels_and_phones_and_names_every_bad_cell():
    plan = parse_cadres([CADRE_HEADER, ["李明", "正科", "县民政局", "", "139-7654-3210"]], "469029", {})
    (row,) = plan.rows
    assert (row.name, row.rank, row.unit, row.township, row.phone) == ("李明", "section_chief", "县民政局", None,
                                                                       "13976543210")
    table = [CADRE_HEADER, ["李明", "处长", "", "469030100", "123"], ["王五", "staff", "单位", "", "13976543210"],
             ["赵六", "staff", "单位", "", "13976543210"]]
    assert set(rejected(lambda: parse_cadres(table, "469029", {}))) == {
        (2, "职级"), (2, "单位"), (2, "乡镇代码"), (2, "联系电话"), (4, "联系电话")}


def test_a_cadre_already_enrolled_with_the_phone_is_refused_but_the_same_row_again_is_not():
    table = [CADRE_HEADER, ["李明", "正科", "县民政局", "", "13976543210"]]
    first = parse_cadres(table, "469029", {})
    again = parse_cadres(table, "469029", {"13976543210": first.rows[0].command_id})
    assert again.rows[0].command_id == first.rows[0].command_id
    assert rejected(lambda: parse_cadres(table, "469029", {"13976543210": UUID(int=7)})) == [(2, "联系电话")]


def test_a_pairing_row_reads_excel_dates_and_cadences_and_names_every_bad_cell():
    household = "5f0c3b8e-8a51-4c1e-9a51-0c2d6c1e4a01"
    plan = parse_pairings([PAIRING_HEADER, ["13976543210", household, "结穷亲", datetime(2026, 3, 1), "每月"],
                           ["13976543211", household, "结穷亲", "2026年3月2日", ""]], "469029")
    assert [(r.formed_on.isoformat(), r.cadence) for r in plan.rows] == [("2026-03-01", "monthly"),
                                                                          ("2026-03-02", None)]
    table = [PAIRING_HEADER, ["139", "not-an-id", "", "2026-02-30", "每周"],
             ["13976543210", household, "结穷亲", "2026-03-01", ""],
             ["13976543210", household, "结穷亲", "2026-04-01", ""],
             ["", household, "结穷亲", "2026-04-01", ""]]
    assert set(rejected(lambda: parse_pairings(table, "469029"))) == {
        (2, "干部电话"), (2, "农户编号"), (2, "结对项目"), (2, "结对日期"), (2, "走访频次"), (4, "农户编号"),
        (5, "干部电话")}
    by_number = [["干部编号", *PAIRING_HEADER[1:]], ["not-a-number", household, "结穷亲", "2026-03-01", ""]]
    assert rejected(lambda: parse_pairings(by_number, "469029")) == [(2, "干部编号")]


# ---- cadres over HTTP ----------------------------------------------------------------------------------------------


async def test_a_cadre_roster_enrols_every_cadre_once_and_a_second_upload_enrols_none(api, database_url):
    admin = await api.client("county_admin")
    upload = table_file(CADRE_HEADER, cadre_rows("1390001", 3), "xlsx")
    first = await admin.post("/api/v1/cadres/import", files={"file": upload})
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["rows"], body["applied"], body["duplicate"]) == (3, 3, 0)
    cadre = api.county_apps.get(COUNTY_A).cadre(UUID(body["items"][0]["id"]))
    assert (cadre["name"], cadre["rank"], cadre["township"], cadre["phone"]) == ("干部0", "staff", f"{COUNTY_A}100",
                                                                                 "13900010000")
    events = event_count(database_url, COUNTY_A)
    again = await admin.post("/api/v1/cadres/import", files={"file": upload})
    assert again.status_code == 200 and (again.json()["applied"], again.json()["duplicate"]) == (0, 3)
    assert event_count(database_url, COUNTY_A) == events
    await wait_for_projections(database_url, COUNTY_A)
    roster = (await admin.get("/api/v1/cadres")).json()["cadres"]
    assert sum(c["phone"] == "13900010001" for c in roster) == 1


async def test_a_roster_with_a_bad_row_or_an_enrolled_phone_writes_nothing(api, database_url):
    admin = await api.client("county_admin")
    assert (await admin.post("/api/v1/cadres/import",
                             files={"file": table_file(CADRE_HEADER, cadre_rows("1390002", 1))})).status_code == 200
    await wait_for_projections(database_url, COUNTY_A)
    rows = cadre_rows("1390003", 3)
    rows[0][4] = "13900020000"  # enrolled by the first file, under another row's content
    rows[0][0] = "另一个人"
    rows[2][3] = f"{COUNTY_B}100"  # another county's township
    events = event_count(database_url, COUNTY_A)
    response = await admin.post("/api/v1/cadres/import", files={"file": table_file(CADRE_HEADER, rows)})
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert {(e["row"], e["column"]) for e in response.json()["errors"]} == {(2, "联系电话"), (4, "乡镇代码")}
    assert all(e["reason"]["zh"] and e["reason"]["en"] for e in response.json()["errors"])
    assert event_count(database_url, COUNTY_A) == events


# ---- pairings over HTTP --------------------------------------------------------------------------------------------


async def test_a_pairing_list_pairs_cadres_by_phone_with_households_by_number_once(api, database_url):
    admin = await api.client("county_admin")
    cadres = (await admin.post("/api/v1/cadres/import",
                               files={"file": table_file(CADRE_HEADER, cadre_rows("1390005", 2))})).json()
    assert cadres["applied"] == 2
    await wait_for_projections(database_url, COUNTY_A)
    households = [api.household(), api.household()]
    rows = [["13900050000", str(households[0]), "结穷亲", "2026-03-01", "每月"],
            ["13900050001", str(households[0]), "结穷亲", "2026-03-01", ""],
            ["13900050001", str(households[1]), "五个一", "2026/3/5", "每季度"]]
    upload = table_file(PAIRING_HEADER, rows, "xlsx")
    first = await admin.post("/api/v1/pairings/import", files={"file": upload})
    assert first.status_code == 200, first.text
    assert (first.json()["applied"], first.json()["duplicate"]) == (3, 0)
    pairing = api.county_apps.get(COUNTY_A).pairing(UUID(first.json()["items"][2]["id"]))
    assert (pairing["cadre_id"], pairing["target_id"], pairing["programme"], pairing["cadence"],
            pairing["formed_on"]) == (cadres["items"][1]["id"], str(households[1]), "五个一", "quarterly", "2026-03-05")
    events = event_count(database_url, COUNTY_A)
    await wait_for_projections(database_url, COUNTY_A)
    again = await admin.post("/api/v1/pairings/import", files={"file": upload})
    assert again.status_code == 200, again.text
    assert (again.json()["applied"], again.json()["duplicate"]) == (0, 3)
    assert event_count(database_url, COUNTY_A) == events
    # a cadre named by number (干部编号, as the ledgers print it) pairs the same; the same cadre and
    # household named once by phone and once by number in one file is a duplicate
    third = api.household()
    by_number = [["", cadres["items"][0]["id"], str(third), "结穷亲", "2026-03-01", ""],
                 ["13900050000", "", str(third), "结穷亲", "2026-03-02", ""]]
    header = ["干部电话", "干部编号", *PAIRING_HEADER[1:]]
    duplicate = await admin.post("/api/v1/pairings/import", files={"file": table_file(header, by_number)})
    assert [(e["row"], e["column"]) for e in duplicate.json()["errors"]] == [(3, "农户编号")]
    paired = await admin.post("/api/v1/pairings/import", files={"file": table_file(header, by_number[:1])})
    assert paired.status_code == 200, paired.text
    pairing = api.county_apps.get(COUNTY_A).pairing(UUID(paired.json()["items"][0]["id"]))
    assert (pairing["cadre_id"], pairing["target_id"]) == (cadres["items"][0]["id"], str(third))
    unknown = [["", str(uuid.uuid4()), str(third), "结穷亲", "2026-03-01", ""]]
    response = await admin.post("/api/v1/pairings/import", files={"file": table_file(header, unknown)})
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(2, "干部编号")]
    # the same pair under another date is a second pairing of the same cadre and household: refused
    rows[0][3] = "2026-04-01"
    response = await admin.post("/api/v1/pairings/import", files={"file": table_file(PAIRING_HEADER, rows[:1])})
    assert response.status_code == 422
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(2, "农户编号")]


async def test_a_pairing_list_naming_unknown_cadres_or_households_writes_nothing(api, database_url):
    admin = await api.client("county_admin")
    await admin.post("/api/v1/cadres/import", files={"file": table_file(CADRE_HEADER, cadre_rows("1390006", 1))})
    await wait_for_projections(database_url, COUNTY_A)
    household, archived = api.household(), api.household()
    api.execute(COUNTY_A, c.ArchiveHousehold(command_id=uuid.uuid4(), household_id=archived, expected_version=1,
                                             reason="迁出"))
    other_county = api.household(COUNTY_B, village=f"{COUNTY_B}001001", township=f"{COUNTY_B}001")
    rows = [["13900060000", str(household), "结穷亲", "2026-03-01", ""],
            ["13900069999", str(household), "结穷亲", "2026-03-01", ""],
            ["13900060000", str(archived), "结穷亲", "2026-03-01", ""],
            ["13900060000", str(other_county), "结穷亲", "2026-03-01", ""]]
    events = event_count(database_url, COUNTY_A)
    response = await admin.post("/api/v1/pairings/import", files={"file": table_file(PAIRING_HEADER, rows)})
    assert response.status_code == 422, response.text
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [
        (3, "干部电话"), (4, "农户编号"), (5, "农户编号")]
    assert event_count(database_url, COUNTY_A) == events


async def test_only_a_county_admin_may_import_cadres_or_pairings(api):
    for role in ("cadre", "department", "province_viewer"):
        client = await api.client(role)
        for path, header in (("/api/v1/cadres/import", CADRE_HEADER), ("/api/v1/pairings/import", PAIRING_HEADER)):
            response = await client.post(path, files={"file": table_file(header, [])})
            assert response.status_code == 403, (role, path)


@pytest.mark.parametrize("path, header, title", [
    ("/api/v1/cadres/import/template", CADRE_HEADER, "干部名册导入模板"),
    ("/api/v1/pairings/import/template", ["干部电话", "干部编号", *PAIRING_HEADER[1:]], "结对名单导入模板")])
async def test_the_templates_download_with_their_headers(api, path, header, title):
    admin = await api.client("county_admin")
    response = await admin.get(path)
    assert response.status_code == 200
    assert unquote(response.headers["content-disposition"].split("filename*=UTF-8''")[1]) == f"{title}.xlsx"
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [cell.value for cell in sheet[1]] == header
    assert (await admin.get(path, params={"format": "pdf"})).status_code == 422
