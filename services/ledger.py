"""Ledgers (台账): tables with Chinese headers written as XLSX or CSV for county staff to open in Excel.

A `Ledger` is a title, its columns and its rows (dicts keyed by column key). The same ledger becomes an
XLSX workbook or a CSV file; exports and the household-import template both use it.

Text in ledgers comes from phones (issue summaries, addresses), so a cell that starts like a formula is
written as plain text in XLSX and prefixed with an apostrophe in CSV (OWASP "CSV injection"): opening a
ledger must never run anything.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Leading characters that make Excel (or LibreOffice) treat a cell as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # what the county staff read, in Chinese
    width: int = 14  # XLSX column width in characters
    # Turns the stored value into what the sheet shows (e.g. a route code into 转办); None keeps it.
    render: Callable[[Any], Any] | None = None


@dataclass
class Ledger:
    title: str  # sheet name and file name stem, e.g. 问题台账
    columns: Sequence[Column]
    rows: Iterable[Mapping[str, Any]] = field(default_factory=list)
    notes: Sequence[str] = ()  # extra lines on a second sheet (说明), e.g. the template's instructions

    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def values(self) -> Iterable[list[Any]]:
        for row in self.rows:
            yield [_cell_value(column, row.get(column.key)) for column in self.columns]


def _cell_value(column: Column, value: Any) -> Any:
    if column.render is not None and value is not None:
        value = column.render(value)
    if isinstance(value, (list, tuple, set)):
        return "、".join(str(item) for item in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Excel has no time zones: show Beijing time, which is what county staff expect to read.
        return value.astimezone(SHANGHAI).replace(tzinfo=None)
    if value is None or isinstance(value, (str, int, float, date)):
        return value
    return str(value)  # ids (UUID), decimals and the like: as their text


def _looks_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_FORMULA_STARTS)


def to_xlsx(ledger: Ledger) -> bytes:
    return to_xlsx_book([ledger])


def to_xlsx_book(ledgers: Sequence[Ledger]) -> bytes:
    """Several ledgers as the sheets of one workbook (e.g. one household's record, visits and issues)."""
    workbook = Workbook(write_only=True)  # streams rows: a 20k-row ledger stays small in memory
    for ledger in ledgers:
        _write_sheet(workbook, ledger)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_sheet(workbook: Workbook, ledger: Ledger) -> None:
    sheet = _start_sheet(workbook, ledger)
    _append(sheet, ledger.values())
    if ledger.notes:
        notes = workbook.create_sheet("说明")
        notes.column_dimensions["A"].width = 100
        for line in ledger.notes:
            notes.append([_xlsx_cell(notes, line)])


def _start_sheet(workbook: Workbook, ledger: Ledger) -> Any:
    """The ledger's sheet with its column widths and bold header row."""
    sheet = workbook.create_sheet(_sheet_name(ledger.title))
    for index, column in enumerate(ledger.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for header in ledger.headers():
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    return sheet


def _append(sheet: Any, values: Iterable[list[Any]]) -> None:
    for row in values:
        sheet.append([_xlsx_cell(sheet, value) for value in row])


class XlsxWriter:
    """One ledger's workbook written a chunk of rows at a time (a county's 290,000 households): the
    write-only workbook keeps written rows in a temporary file, so memory holds one chunk."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.workbook = Workbook(write_only=True)
        self.sheet = _start_sheet(self.workbook, ledger)

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        _append(self.sheet, Ledger(self.ledger.title, self.ledger.columns, rows).values())

    def finish(self) -> bytes:
        buffer = io.BytesIO()
        self.workbook.save(buffer)
        return buffer.getvalue()


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    if isinstance(value, str):
        # XML 1.0 cannot hold most control characters; a phone's text may: show where one was.
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if isinstance(value, date) and not isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)  # type: ignore[arg-type]  # openpyxl writes dates; its stubs say no
        cell.number_format = "yyyy-mm-dd"
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if _looks_like_formula(value):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # stored as text: openpyxl would otherwise write a formula
        return cell
    return value


def _sheet_name(title: str) -> str:
    # Excel limits sheet names to 31 characters and forbids a few.
    cleaned = "".join("_" if ch in '[]:*?/\\' else ch for ch in title)
    return cleaned[:31] or "Sheet1"


def to_csv(ledger: Ledger) -> bytes:
    """UTF-8 with a byte-order mark: without it Excel on Chinese Windows reads the file as GBK."""
    return csv_head(ledger) + csv_rows(ledger, ledger.rows)


def csv_head(ledger: Ledger) -> bytes:
    """A CSV ledger's byte-order mark and header line (`csv_rows` then writes its rows, a chunk at a time)."""
    return b"\xef\xbb\xbf" + _csv_lines([ledger.headers()])


def csv_rows(ledger: Ledger, rows: Iterable[Mapping[str, Any]]) -> bytes:
    return _csv_lines([_csv_text(value) for value in values]
                      for values in Ledger(ledger.title, ledger.columns, rows).values())


def _csv_lines(lines: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(lines)
    return buffer.getvalue().encode("utf-8")


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if _looks_like_formula(text) else text


def content_disposition(filename: str) -> str:
    """An attachment header that keeps a Chinese file name (RFC 6266 with RFC 5987 `filename*`).

    Old clients that ignore `filename*` get an ASCII fallback made from the name's ASCII characters.
    """
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("_") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
