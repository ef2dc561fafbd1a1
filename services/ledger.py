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
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

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
    writer = XlsxWriter(ledgers)
    for ledger in ledgers:
        writer.begin()
        writer.rows(ledger.rows)
        writer.end()
    return writer.finish()


class XlsxWriter:
    """A workbook of `ledgers`, one sheet each (and a 说明 sheet after a ledger with notes), written as it
    goes: `begin` opens the next ledger's sheet, `rows` adds rows to it, `end` closes it; `take` hands over
    the bytes of the file written so far, `finish` the rest. A county's 290,000 households then stream out
    a chunk at a time, and memory holds one chunk.

    SpreadsheetML written directly, not through openpyxl: its write-only workbook took about 100 µs a row
    (a cell object and a style per date), most of a 290,000-row ledger's minute. Text is an inline string
    (what Apache POI's streaming workbook writes), so a cell that starts like a formula stays text; dates
    are numbers with a date format, as Excel keeps them.
    """

    def __init__(self, ledgers: Sequence[Ledger]) -> None:
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, "w", zipfile.ZIP_DEFLATED)
        taken: set[str] = set()
        names = []  # every sheet's, in order: the ledgers', each followed by its notes' when it has some
        for ledger in ledgers:
            names += [_unique(_sheet_name(ledger.title), taken), *([_unique("说明", taken)] if ledger.notes else [])]
        self._zip.writestr("[Content_Types].xml", _content_types(len(names)))
        self._zip.writestr("_rels/.rels", _ROOT_RELS)
        self._zip.writestr("xl/workbook.xml", _workbook(names))
        self._zip.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(names)))
        self._zip.writestr("xl/styles.xml", _STYLES)
        self._pending = list(ledgers)  # the ledgers whose sheets are still to begin
        self._ledger: Ledger | None = None  # the open sheet's
        self._sheets = len(names)
        self._written = 0  # sheets begun (each sheet's part is named by its number)
        self._open: Any = None  # the open sheet's zip entry
        self._row = 0  # rows in the open sheet so far

    def begin(self) -> None:
        """Open the next ledger's sheet, with its column widths and a frozen bold header row."""
        assert self._open is None
        self._ledger = self._pending.pop(0)
        self._start_sheet([column.width for column in self._ledger.columns], frozen=True)
        self._write_row(self._ledger.headers(), _BOLD)

    def rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Rows of the open sheet's ledger (dicts keyed by column key)."""
        assert self._ledger is not None and self._open is not None
        for values in Ledger(self._ledger.title, self._ledger.columns, rows).values():
            self._write_row(values)

    def end(self) -> None:
        """Close the open sheet, and write its ledger's notes (one line a row) on the 说明 sheet after it."""
        assert self._ledger is not None
        self._end_sheet()
        if self._ledger.notes:
            self._start_sheet([100], frozen=False)
            for line in self._ledger.notes:
                self._write_row([line])
            self._end_sheet()
        self._ledger = None

    def take(self) -> bytes:
        """The bytes of the file written since the last `take`."""
        return self._sink.take()

    def finish(self) -> bytes:
        """Close the workbook; the bytes not taken yet."""
        assert self._open is None and self._written == self._sheets, "a sheet was left open or unwritten"
        self._zip.close()
        return self._sink.take()

    def discard(self) -> None:
        """Give up an unfinished workbook (its download was cut off), closing what is open."""
        if self._open is not None:
            self._open.close()
            self._open = None
        self._zip.close()
        self._sink.take()

    def _start_sheet(self, widths: Sequence[int], frozen: bool) -> None:
        self._written += 1
        self._open = self._zip.open(f"xl/worksheets/sheet{self._written}.xml", "w")
        self._row = 0
        pane = ('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>') if frozen else ""
        cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, 1))
        self._open.write((f'{_XML}<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">{pane}'
                          f'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
                          "<sheetData>").encode())

    def _end_sheet(self) -> None:
        self._open.write(b"</sheetData></worksheet>")
        self._open.close()
        self._open = None

    def _write_row(self, values: Sequence[Any], style: str = "") -> None:
        self._row += 1
        row = self._row
        cells = "".join(_cell(f"{letter}{row}", value, style) for letter, value in zip(_LETTERS, values, strict=False))
        self._open.write(f'<row r="{row}">{cells}</row>'.encode())


class _Sink(io.RawIOBase):
    """Where the zip is written: bytes kept until taken. Not seekable, so zipfile writes each entry's sizes
    after its data (a data descriptor) and never goes back."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


# Cell styles (the `s` attribute; indexes into _STYLES' cellXfs).
_BOLD, _DATE, _DATETIME = ' s="1"', ' s="2"', ' s="3"'
_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 in the 1900 date system (past its 1900 leap-year bug)
_LETTERS = [get_column_letter(i) for i in range(1, 703)]  # A … ZZ
# XML 1.0 cannot hold most control characters, lone surrogates or U+FFFE/U+FFFF; a phone's text may.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _cell(ref: str, value: Any, style: str) -> str:
    """A ledger value (`Ledger.values`) as the cell at `ref`: text inline, numbers and dates as numbers."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = _xml_text(value)
        space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
        return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'
    if isinstance(value, datetime):  # naive: Beijing time (`_cell_value`)
        number, style = repr(round((value - _EPOCH) / timedelta(days=1), 10)), _DATETIME
    elif isinstance(value, date):
        number, style = str((value - _EPOCH.date()).days), _DATE
    elif isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        number = repr(value)
    else:
        return _cell(ref, str(value), style)
    return f'<c r="{ref}"{style}><v>{number}</v></c>'


def _xml_text(text: str) -> str:
    text = _NOT_XML.sub("\ufffd", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or with a number after it when the workbook has a sheet of that name (Excel refuses two)."""
    candidate, number = name, 1
    while candidate.casefold() in taken:
        number += 1
        suffix = str(number)
        candidate = name[:31 - len(suffix)] + suffix
    taken.add(candidate.casefold())
    return candidate


def _content_types(sheets: int) -> str:
    main = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{main}.worksheet+xml"/>'
                        for i in range(1, sheets + 1))
    return (f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{main}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{main}.styles+xml"/>{overrides}</Types>')


_ROOT_RELS = (f'{_XML}<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="{_OFFICE}/officeDocument"'
              ' Target="xl/workbook.xml"/></Relationships>')


def _workbook(names: Sequence[str]) -> str:
    sheets = "".join(f'<sheet name="{_xml_text(name).replace(chr(34), "&quot;")}" sheetId="{i}" r:id="rId{i}"/>'
                     for i, name in enumerate(names, 1))
    return (f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_OFFICE}"><bookViews><workbookView/></bookViews>'
            f"<sheets>{sheets}</sheets></workbook>")


def _workbook_rels(sheets: int) -> str:
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_OFFICE}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, sheets + 1))
    return (f'{_XML}<Relationships xmlns="{_RELS}">{rels}'
            f'<Relationship Id="rId{sheets + 1}" Type="{_OFFICE}/styles" Target="styles.xml"/></Relationships>')


_STYLES = (
    f'{_XML}<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    "</fills><borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


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
