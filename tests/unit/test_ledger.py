"""Ledgers as files: whatever text a phone sent, the XLSX opens and the CSV keeps it."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from services.ledger import Column, Ledger, to_csv, to_xlsx


def test_control_characters_become_replacement_marks_in_xlsx_and_stay_in_csv():
    ledger = Ledger("台账", [Column("name", "姓名"), Column("note", "备注")],
                    [{"name": "王\x1f五", "note": "=1+1\x07"}])
    sheet = load_workbook(io.BytesIO(to_xlsx(ledger))).active
    assert [cell.value for cell in sheet[2]] == ["王\ufffd五", "=1+1\ufffd"]
    assert sheet["B2"].data_type == "s"  # still text, not a formula
    rows = list(csv.reader(io.StringIO(to_csv(ledger).decode("utf-8-sig"))))
    assert rows[1] == ["王\x1f五", "'=1+1\x07"]
