"""POST /api/v1/households/import: a 民情档案 file, all or nothing, idempotent; and its template."""
from __future__ import annotations

import io
from urllib.parse import unquote
from uuid import UUID

from openpyxl import Workbook, load_workbook

from services.storage.database import connect
from tests.integration.api.conftest import COUNTY_A, COUNTY_B

HEADER = ["户主姓名", "联系电话", "村(社区)代码", "乡镇代码", "地址", "纬度", "经度", "人口", "标签", "备注"]


def household_rows(prefix: str, count: int) -> list[list[str]]:
    return [[f"{prefix}{n}", f"1387654{n:04d}", f"{COUNTY_A}100201", f"{COUNTY_A}100", f"一组{n}号",
             f"{18.64 + n / 10000:.5f}", "109.70", "3", "困难群众", ""] for n in range(count)]


def csv_file(rows: list[list[str]]) -> bytes:
    return ("\ufeff" + "\r\n".join(",".join(row) for row in [HEADER, *rows]) + "\r\n").encode()


def xlsx_file(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in [HEADER, *rows]:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def event_count(database_url: str, county: str) -> int:
    with connect(database_url) as conn:
        return conn.execute(f"SELECT count(*) FROM county_{county}.county_events").fetchone()[0]


async def test_a_good_csv_registers_every_household_and_a_second_upload_registers_none(api, database_url):
    admin = await api.client("county_admin")
    data = csv_file(household_rows("导入甲", 5))
    first = await admin.post("/api/v1/households/import", files={"file": ("民情档案.csv", data, "text/csv")})
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["households"], body["applied"], body["duplicate"]) == (5, 5, 0)
    assert [item["row"] for item in body["items"]] == [2, 3, 4, 5, 6]
    household = api.county_apps.get(COUNTY_A).household(UUID(body["items"][0]["id"]))
    assert (household["head_name"], household["phone"], household["tags"]) == ("导入甲0", "13876540000",
                                                                              ["hardship_resident"])
    events = event_count(database_url, COUNTY_A)
    again = await admin.post("/api/v1/households/import", files={"file": ("民情档案.csv", data, "text/csv")})
    assert again.status_code == 200 and (again.json()["applied"], again.json()["duplicate"]) == (0, 5)
    assert [i["id"] for i in again.json()["items"]] == [i["id"] for i in body["items"]]
    assert event_count(database_url, COUNTY_A) == events


async def test_an_xlsx_with_one_more_row_registers_only_the_new_one(api):
    admin = await api.client("county_admin")
    rows = household_rows("导入乙", 3)
    await admin.post("/api/v1/households/import",
                     files={"file": ("a.xlsx", xlsx_file(rows[:2]), "application/octet-stream")})
    response = await admin.post("/api/v1/households/import",
                                files={"file": ("a.xlsx", xlsx_file(rows), "application/octet-stream")})
    assert response.status_code == 200, response.text
    assert [(i["row"], i["status"]) for i in response.json()["items"]] == [(2, "duplicate"), (3, "duplicate"),
                                                                          (4, "applied")]


async def test_a_file_with_bad_rows_names_each_of_them_and_writes_nothing(api, database_url):
    admin = await api.client("county_admin")
    rows = household_rows("导入丙", 4)
    rows[1][2] = f"{COUNTY_B}100201"  # another county's village
    rows[3][7] = "很多"  # not a number
    rows[3][1] = "12345"  # not a phone number
    events = event_count(database_url, COUNTY_A)
    response = await admin.post("/api/v1/households/import", files={"file": ("bad.csv", csv_file(rows), "text/csv")})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {(e["row"], e["column"]) for e in problem["errors"]} == {(3, "村(社区)代码"), (5, "人口"), (5, "联系电话")}
    assert all(e["reason"]["zh"] and e["reason"]["en"] for e in problem["errors"])
    assert "2 row(s)" in problem["detail"]
    assert event_count(database_url, COUNTY_A) == events


async def test_a_file_that_is_not_a_spreadsheet_gets_a_422_with_a_reason(api):
    admin = await api.client("county_admin")
    response = await admin.post("/api/v1/households/import",
                                files={"file": ("photo.xlsx", b"PK\x03\x04not really a zip", "application/zip")})
    assert response.status_code == 422 and response.json()["errors"][0]["reason"]["zh"]


async def test_only_a_county_admin_may_import(api):
    for role in ("cadre", "department", "province_viewer"):
        client = await api.client(role)
        response = await client.post("/api/v1/households/import",
                                     files={"file": ("a.csv", csv_file(household_rows("越权", 1)), "text/csv")})
        assert response.status_code == 403, role


async def test_an_upload_without_a_file_part_is_a_422(api):
    admin = await api.client("county_admin")
    response = await admin.post("/api/v1/households/import", data={"note": "no file"},
                                files={"placeholder": (None, b"")})
    assert response.status_code == 422 and "file" in response.json()["detail"]


async def test_the_template_downloads_as_xlsx_with_the_chinese_headers_and_a_chinese_file_name(api):
    admin = await api.client("county_admin")
    response = await admin.get("/api/v1/households/import/template")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "民情档案导入模板.xlsx"
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [cell.value for cell in sheet[1]] == HEADER
    csv_response = await admin.get("/api/v1/households/import/template?format=csv")
    assert csv_response.content.startswith(b"\xef\xbb\xbf" + "户主姓名".encode())
    assert (await admin.get("/api/v1/households/import/template?format=pdf")).status_code == 422
