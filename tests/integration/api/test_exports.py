"""Ledger exports (台账): XLSX that opens in openpyxl and matches the ledger query, CSV with a BOM, GeoJSON."""
from __future__ import annotations

import csv
import io
from urllib.parse import unquote

from openpyxl import load_workbook

from tests.integration.api.conftest import DEPARTMENT
from tests.integration.api.test_queries import seeded  # noqa: F401 (a fixture)


def sheet_rows(content: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def filename(response) -> str:
    return unquote(response.headers["content-disposition"].split("filename*=UTF-8''")[1])


async def test_the_issue_ledger_xlsx_matches_the_ledger_query(api, seeded):
    admin = await api.client("county_admin")
    listed = (await admin.get("/api/v1/issues", params={"limit": 500})).json()["items"]
    response = await admin.get("/api/v1/exports/issues")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert filename(response).startswith("问题台账-测试甲县-") and filename(response).endswith(".xlsx")
    header, *rows = sheet_rows(response.content)
    assert header[:6] == ["问题编号", "提出时间", "乡镇代码", "村(社区)代码", "类别", "问题描述"]
    assert [row[0] for row in rows] == [item["issue_id"] for item in listed]
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    routed = by_id[str(seeded.issue_department)]
    assert (routed["办理方式"], routed["责任部门"], routed["状态"]) == ("转办", DEPARTMENT, "办理中")
    # A summary that starts like a formula stays text: opening the ledger runs nothing.
    assert routed["问题描述"].startswith("=HYPERLINK")
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


async def test_a_department_exports_only_its_own_issues(api, seeded):
    department = await api.client("department")
    response = await department.get("/api/v1/exports/issues", params={"format": "csv"})
    assert response.status_code == 200
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert str(seeded.issue_department) in {row[0] for row in rows}
    assert str(seeded.issue_review) not in {row[0] for row in rows}
    assert {row[header.index("责任部门")] for row in rows} == {DEPARTMENT}
    assert (await department.get("/api/v1/exports/completeness")).status_code == 403


async def test_the_csv_ledger_has_a_bom_chinese_headers_and_defused_formulas(api, seeded):
    admin = await api.client("county_admin")
    response = await admin.get("/api/v1/exports/issues", params={"format": "csv"})
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "问题编号"
    summary = next(row[5] for row in rows if row[0] == str(seeded.issue_department))
    assert summary.startswith("'=HYPERLINK")


async def test_the_completeness_ledger_lists_each_household_with_its_head(api, seeded):
    admin = await api.client("county_admin")
    response = await admin.get("/api/v1/exports/completeness")
    header, *rows = sheet_rows(response.content)
    assert header[:2] == ["户编号", "户主姓名"]
    names = {row[0]: row[1] for row in rows}
    assert names[str(seeded.households[0])] == "张大山"
    assert str(seeded.household_b) not in names


async def test_the_completeness_ledger_is_written_a_chunk_at_a_time_by_place(api, seeded, monkeypatch, database_url):
    """A county's 290,000 households are read, opened and written a chunk at a time: the same ledger, by
    township, village and household, as XLSX and as streamed CSV; each chunk's heads logged as read."""
    from services.api import exports
    from tests.integration.api.test_personal_reads_audit import reads_of

    admin = await api.client("county_admin")
    whole = sheet_rows((await admin.get("/api/v1/exports/completeness")).content)
    header, *rows = whole
    assert len(rows) >= 3
    places = [(row[header.index("乡镇代码")], row[header.index("村(社区)代码")], row[0]) for row in rows]
    assert places == sorted(places)
    monkeypatch.setattr(exports, "LEDGER_CHUNK", 2)
    assert sheet_rows((await admin.get("/api/v1/exports/completeness")).content) == whole
    for index, row in enumerate(rows):  # the newest read of each names the two households of its chunk
        first = index - index % 2
        chunk = sorted(r[0] for r in rows[first:first + 2])
        assert sorted(reads_of(database_url, row[0])[-1]["household_ids"]) == chunk
    response = await admin.get("/api/v1/exports/completeness", params={"format": "csv"})
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == header and [line[:2] for line in lines[1:]] == [[row[0], row[1]] for row in rows]


async def test_the_pairing_and_interview_ledgers_name_the_cadres(api, seeded):
    admin = await api.client("county_admin")
    header, *rows = sheet_rows((await admin.get("/api/v1/exports/pairings")).content)
    pairing = next(dict(zip(header, row, strict=True)) for row in rows
                   if row[header.index("对象编号")] == str(seeded.households[0]))
    assert (pairing["干部"], pairing["户主姓名"], pairing["对象类型"], pairing["走访周期"]) == (
        "种子干部", "张大山", "农户", "每季度")
    header, *rows = sheet_rows((await admin.get("/api/v1/exports/interviews")).content)
    assert header[:3] == ["干部编号", "干部", "职级"]
    assert any(row[1] == "种子干部" and row[2] == "一般干部" for row in rows)


async def test_coverage_downloads_as_a_geojson_file(api, seeded):
    admin = await api.client("county_admin")
    response = await admin.get("/api/v1/exports/coverage.geojson", params={"level": "township"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/geo+json")
    assert filename(response).endswith(".geojson")
    assert response.json()["type"] == "FeatureCollection"


async def test_bad_export_parameters_are_422(api, seeded):
    admin = await api.client("county_admin")
    assert (await admin.get("/api/v1/exports/issues", params={"format": "pdf"})).status_code == 422
    assert (await admin.get("/api/v1/exports/coverage.geojson", params={"period": "soon"})).status_code == 422


async def test_a_ledger_whose_query_is_refused_answers_422_not_a_cut_off_file(api, seeded, monkeypatch):
    """A streamed ledger reads its first chunk before the first byte: a refusal is still an answer."""
    from projections import completeness

    async def refused(*args, **kwargs):
        raise ValueError("not a period: '2026-13'")
        yield  # an async generator, as the read model's is

    monkeypatch.setattr(completeness, "households_by_place", refused)
    admin = await api.client("county_admin")
    for format in ("xlsx", "csv"):
        response = await admin.get("/api/v1/exports/completeness", params={"format": format})
        assert response.status_code == 422 and "2026-13" in response.json()["detail"], response.text
