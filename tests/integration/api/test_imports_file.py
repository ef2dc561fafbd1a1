"""Reading and checking a 民情档案 file, before anything touches the database."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from services.household_import import CountyPlace, ImportRejected, parse_households, read_table, template
from services.ledger import to_csv, to_xlsx

BAOTING = CountyPlace("469029", (18.64, 109.70))
HEADER = ["户主姓名", "联系电话", "村(社区)代码", "乡镇代码", "地址", "纬度", "经度", "人口", "标签", "备注"]
GOOD = ["王阿公", "13876543210", "469029100201", "469029100", "什聘村三组12号", "18.6412", "109.7013", "4",
        "困难群众、空巢老人", ""]


def rejected(table) -> list[tuple[int, str | None, str]]:
    with pytest.raises(ImportRejected) as caught:
        parse_households(table, BAOTING)
    return [(error.row, error.column, error.en) for error in caught.value.errors]


def test_a_good_row_becomes_a_household_with_tag_codes_and_its_township():
    plan = parse_households([HEADER, GOOD], BAOTING)
    (row,) = plan.rows
    assert (row.row, row.head_name, row.phone, row.village, row.township) == (
        2, "王阿公", "13876543210", "469029100201", "469029100")
    assert (row.lat, row.lon, row.size, row.tags) == (18.6412, 109.7013, 4, ["hardship_resident", "empty_nest_elderly"])


def test_every_bad_row_is_named_with_its_excel_row_number_and_column():
    table = [["某村民情档案"], HEADER, GOOD,
             ["李四", "123", "46902910020", "", "地址", "18.6", "109.7", "0", "坏", ""],
             [],
             ["张三", "", "469030100201", "", "地址", "18.64", "109.7", "3.5", "", ""],
             ["赵五", "", "469029100201", "469029200", "地址", "109.7", "18.64", "2", "", ""]]
    errors = rejected(table)
    assert {(row, column) for row, column, _ in errors} == {
        (4, "联系电话"), (4, "村(社区)代码"), (4, "人口"), (4, "标签"),
        (6, "村(社区)代码"), (6, "人口"),
        (7, "乡镇代码"), (7, "纬度"),
    }
    assert any("swapped" in en for row, _, en in errors if row == 7)


def test_line_breaks_typed_into_one_line_cells_become_spaces_and_notes_keep_theirs():
    broken = ["王\n阿公", "13876543210", "469029100201", "469029100", "什聘村三组\r\n12号", "18.6412", "109.7013", "4",
              "困难群众、\n空巢老人", "第一行\n第二行"]
    (row,) = parse_households([HEADER, broken], BAOTING).rows
    assert (row.head_name, row.address, row.notes) == ("王 阿公", "什聘村三组 12号", "第一行\n第二行")
    assert row.tags == ["hardship_resident", "empty_nest_elderly"]


def test_a_control_character_in_a_cell_names_its_row_and_column():
    bell = [*GOOD[:4], "什聘村\x07三组", *GOOD[5:]]
    assert [(row, column) for row, column, _ in rejected([HEADER, bell])] == [(2, "地址")]


def test_a_missing_required_column_is_reported_on_the_header_row():
    header = [name for name in HEADER if name != "纬度"]
    row = [value for name, value in zip(HEADER, GOOD, strict=True) if name != "纬度"]
    assert rejected([header, row]) == [(1, "纬度", "missing required column '纬度'")]


def test_a_position_far_from_the_county_is_rejected():
    far = GOOD[:5] + ["39.9", "116.4"] + GOOD[7:]
    ((row, column, en),) = rejected([HEADER, far])
    assert (row, column) == (2, "纬度") and "km from the county" in en


def test_the_same_household_twice_in_one_file_is_rejected():
    assert rejected([HEADER, GOOD, GOOD]) == [(3, "户主姓名", "duplicate of row 2 (same head, village and address)")]


def test_command_ids_depend_on_row_content_not_position():
    other = ["李四"] + GOOD[1:]
    first = parse_households([HEADER, GOOD, other], BAOTING).rows
    second = parse_households([HEADER, other, [], GOOD], BAOTING).rows
    assert {row.command_id for row in first} == {row.command_id for row in second}
    assert len({row.command_id for row in first}) == 2


def test_unknown_columns_are_ignored_and_listed():
    plan = parse_households([HEADER + ["身份证号"], GOOD + ["460000199001010000"]], BAOTING)
    assert plan.ignored_columns == ["身份证号"] and len(plan.rows) == 1


def test_an_xlsx_with_numeric_codes_reads_like_the_csv():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(["王阿公", 13876543210, 469029100201, 469029100, "什聘村三组12号", 18.6412, 109.7013, 4,
                  "困难群众、空巢老人", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    from_xlsx = parse_households(read_table(buffer.getvalue(), "档案.xlsx"), BAOTING).rows
    from_csv = parse_households(read_table(("\ufeff" + ",".join(HEADER) + "\n" + ",".join(GOOD)).encode(), "a.csv"),
                                BAOTING).rows
    assert from_xlsx == from_csv


def test_a_gbk_csv_from_chinese_excel_is_read():
    data = (",".join(HEADER) + "\r\n" + ",".join(GOOD) + "\r\n").encode("gb18030")
    assert parse_households(read_table(data, "档案.csv"), BAOTING).rows[0].head_name == "王阿公"


@pytest.mark.parametrize("data, filename", [(b"", "a.csv"), (b"PK\x03\x04garbage", "a.xlsx"),
                                            (b"\xd0\xcf\x11\xe0 old excel", "a.xls")])
def test_unreadable_files_are_rejected_with_a_reason(data, filename):
    with pytest.raises(ImportRejected) as caught:
        parse_households(read_table(data, filename), BAOTING)
    assert caught.value.errors[0].zh


def test_the_template_parses_as_a_valid_file_in_both_formats():
    for data in (to_xlsx(template()), to_csv(template())):
        assert parse_households(read_table(data, None), BAOTING).rows[0].head_name == "王阿公"
