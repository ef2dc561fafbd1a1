"""Ledgers as files: whatever text a phone sent, the XLSX opens and the CSV keeps it."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from services.ledger import Column, Ledger, XlsxWriter, to_csv, to_xlsx, to_xlsx_book


def test_control_characters_become_replacement_marks_in_xlsx_and_stay_in_csv():
    ledger = Ledger("台账", [Column("name", "姓名"), Column("note", "备注")],
                    [{"name": "王\x1f五", "note": "=1+1\x07"}])
    sheet = load_workbook(io.BytesIO(to_xlsx(ledger))).active
    assert [cell.value for cell in sheet[2]] == ["王\ufffd五", "=1+1\ufffd"]
    assert sheet["B2"].data_type == "s"  # still text, not a formula
    rows = list(csv.reader(io.StringIO(to_csv(ledger).decode("utf-8-sig"))))
    assert rows[1] == ["王\x1f五", "'=1+1\x07"]


def test_a_workbook_opens_with_its_dates_numbers_widths_frozen_bold_header_and_notes():
    ledger = Ledger("台账/一", [Column("day", "日期", 13), Column("at", "时间", 17), Column("n", "次数", 8),
                              Column("text", "说明", 30)],
                    [{"day": date(2026, 3, 1), "at": datetime(2026, 3, 1, 1, 30, tzinfo=UTC), "n": 3,
                      "text": " 前后有空格 & <标记> "},
                     {"n": 2.5}], notes=["填写说明", "=不是公式"])
    book = load_workbook(io.BytesIO(to_xlsx_book([ledger, Ledger("台账/一", [Column("x", "X")], [{"x": "y"}])])))
    assert book.sheetnames == ["台账_一", "说明", "台账_一2"]
    sheet = book.worksheets[0]
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["日期", "时间", "次数", "说明"],
        [datetime(2026, 3, 1), datetime(2026, 3, 1, 9, 30), 3, " 前后有空格 & <标记> "],  # Beijing time
        [None, None, 2.5, None]]
    assert (sheet["A2"].number_format, sheet["B2"].number_format) == ("yyyy-mm-dd", "yyyy-mm-dd hh:mm")
    assert all(cell.font.b for cell in sheet[1]) and not sheet["D2"].font.b
    assert sheet.freeze_panes == "A2" and sheet.column_dimensions["D"].width == 30
    notes = book["说明"]
    assert [row[0].value for row in notes.iter_rows()] == ["填写说明", "=不是公式"] and notes["A2"].data_type == "s"


def test_a_workbook_written_a_chunk_at_a_time_gives_out_its_bytes_as_it_goes():
    ledger = Ledger("台账", [Column("id", "编号"), Column("name", "姓名")])
    writer = XlsxWriter([ledger])
    writer.begin()
    parts = [writer.take()]
    names = [str(uuid.uuid4()) for _ in range(6000)]  # text that deflate cannot fold away
    for start in range(0, 6000, 2000):  # each chunk's rows leave (compressed) before the next is read
        writer.rows([{"id": i, "name": names[i]} for i in range(start, start + 2000)])
        parts.append(writer.take())
    writer.end()
    parts.append(writer.finish())
    assert parts[0].startswith(b"PK") and all(len(part) > 10_000 for part in parts[1:4])
    sheet = load_workbook(io.BytesIO(b"".join(parts))).worksheets[0]
    assert sheet.max_row == 6001 and [cell.value for cell in sheet[6001]] == [5999, names[5999]]


def test_a_workbook_cut_off_half_way_is_discarded_without_complaint():
    writer = XlsxWriter([Ledger("台账", [Column("id", "编号")])])
    writer.begin()
    writer.rows([{"id": 1}])
    writer.discard()  # a sheet still open: zipfile would refuse to close (and complain when collected)
    assert writer.take() == b""
