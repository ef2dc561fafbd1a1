"""Reading a county's spreadsheet (CSV or XLSX) into checked rows, all or nothing: what every import shares
(the household, cadre and pairing files: services/household_import.py, services/roster_import.py).

A file is read into rows of cell values (`read_table`), its header row found and mapped to fields by the
headers counties use (`find_header`, `map_header`), and each row checked by its own module. A problem is
a `RowError` naming the row as Excel numbers it, the column and the reason in Chinese and English; any
problem rejects the whole file (`ImportRejected`) and nothing is written.

Idempotency: each row's command id is derived from the county and the row's own content (plus how many
identical rows came before it in the file: `content_ids`), so uploading the same file again, or a longer
version of it, writes nothing twice.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

MAX_IMPORT_ROWS = 20_000
# Command ids of imported rows live in their own namespace (uuid5), so they never collide with phones'.
IMPORT_NAMESPACE = uuid.UUID("6f1f3c1e-3f0e-5b8e-9a51-0c2d6c1e4a01")


@dataclass(frozen=True)
class ImportField:
    key: str
    header: str  # the template's header
    aliases: tuple[str, ...] = ()  # other headers counties use for the same column
    required: bool = True
    example: str = ""
    width: int = 14


@dataclass(frozen=True)
class RowError:
    row: int  # as Excel numbers it: the header is row 1
    column: str | None
    zh: str
    en: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": {"zh": self.zh, "en": self.en}}


class ImportRejected(Exception):
    """The file cannot be imported; `errors` names every problem found."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} problem(s) in the file")
        self.errors = errors


# ---- reading a file into rows -------------------------------------------------------------------------------


def read_table(data: bytes, filename: str | None) -> list[list[Any]]:
    """The file's rows (header first) as lists of cell values. XLSX is recognised by content, not name."""
    if not data:
        raise ImportRejected([RowError(0, None, "文件为空", "the file is empty")])
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if filename and filename.lower().endswith((".xls", ".xlsx", ".xlsm")):
        raise ImportRejected([RowError(0, None, "无法读取该 Excel 文件，请另存为 .xlsx 或 CSV 后重新上传",
                                       "cannot read this Excel file: save it as .xlsx or CSV and upload again")])
    return _read_csv(data)


def _read_xlsx(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as error:
        raise ImportRejected([RowError(0, None, "无法读取该 Excel 文件，请确认是 .xlsx 格式",
                                       f"cannot read this XLSX file ({type(error).__name__})")]) from None
    try:
        sheet = workbook.worksheets[0]
        rows: list[list[Any]] = []
        for values in sheet.iter_rows(values_only=True):
            rows.append(list(values))
            if len(rows) > MAX_IMPORT_ROWS + 1:
                raise _too_many_rows()
        return rows
    finally:
        workbook.close()


def _read_csv(data: bytes) -> list[list[Any]]:
    # UTF-8 (with or without BOM) first; Excel on Chinese Windows saves "CSV" as GB18030/GBK.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportRejected([RowError(0, None, "文件编码无法识别，请保存为 UTF-8 编码的 CSV",
                                       "unknown text encoding: save the CSV as UTF-8")])
    if "\x00" in text:
        raise ImportRejected([RowError(0, None, "不是 CSV 或 XLSX 文件", "not a CSV or XLSX file")])
    rows = []
    try:
        for values in csv.reader(io.StringIO(text, newline="")):
            rows.append(values)
            if len(rows) > MAX_IMPORT_ROWS + 1:
                raise _too_many_rows()
    except csv.Error as error:
        raise ImportRejected([RowError(len(rows) + 1, None, "CSV 格式错误", f"malformed CSV: {error}")]) from None
    return rows


def _too_many_rows() -> ImportRejected:
    return ImportRejected([RowError(0, None, f"一次最多导入 {MAX_IMPORT_ROWS} 行，请拆分文件",
                                    f"at most {MAX_IMPORT_ROWS} rows per file: split the file")])


# ---- the header -----------------------------------------------------------------------------------------------


def normalise_header(text: str) -> str:
    # Spreadsheets mix full-width and half-width brackets and stray spaces; 村（社区）代码 is 村(社区)代码.
    return re.sub(r"\s+", "", str(text)).replace("（", "(").replace("）", ")").lower()


def _by_header(fields: Sequence[ImportField]) -> dict[str, ImportField]:
    return {normalise_header(name): spec for spec in fields for name in (spec.header, *spec.aliases)}


def find_header(table: list[list[Any]], fields: Sequence[ImportField]) -> int:
    """The header row's index: the first of the first ten rows naming at least three (or, for files of
    fewer columns, all but one) known columns. Title lines above it (e.g. 某某村民情档案) are skipped."""
    known = _by_header(fields)
    enough = min(3, max(1, len([f for f in fields if f.required])))
    first_filled = None
    for index, values in enumerate(table[:10]):
        names = [normalise_header(cell_text(value)) for value in values if cell_text(value)]
        if not names:
            continue
        if first_filled is None:
            first_filled = index
        if sum(name in known for name in names) >= enough:
            return index
    if first_filled is None:
        raise ImportRejected([RowError(0, None, "文件为空", "the file is empty")])
    return first_filled  # no recognisable header: map_header reports what is missing


def map_header(header_row: list[Any], number: int,
               fields: Sequence[ImportField]) -> tuple[dict[str, int], list[str]]:
    """Which column holds which field, and the columns we do not keep (e.g. 身份证号: we collect the minimum)."""
    known = _by_header(fields)
    columns: dict[str, int] = {}
    ignored: list[str] = []
    errors: list[RowError] = []
    for index, value in enumerate(header_row):
        name = cell_text(value)
        if not name:
            continue
        spec = known.get(normalise_header(name))
        if spec is None:
            ignored.append(name)
        elif spec.key in columns:
            errors.append(RowError(number, name, f"列“{spec.header}”重复", f"column '{spec.header}' appears twice"))
        else:
            columns[spec.key] = index
    for spec in fields:
        if spec.required and spec.key not in columns:
            errors.append(RowError(number, spec.header, f"缺少必填列“{spec.header}”",
                                   f"missing required column '{spec.header}'"))
    if errors:
        raise ImportRejected(errors)
    return columns, ignored


def data_rows(table: list[list[Any]], header_index: int,
              columns: dict[str, int]) -> list[tuple[int, dict[str, Any]]]:
    """The rows below the header that hold anything, as (Excel row number, field → cell value)."""
    rows = []
    for index in range(header_index + 1, len(table)):
        values = table[index]
        if not any(cell_text(value) for value in values):
            continue
        rows.append((index + 1, {key: (values[position] if position < len(values) else None)
                                 for key, position in columns.items()}))
    return rows


# ---- cells ----------------------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # Excel stores long digit strings (codes, phone numbers) as numbers: 469029100201.0 is a code.
        return str(int(value))
    return str(value).strip()


def number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def mobile_or_landline(text: str) -> str | None:
    """A Chinese phone number as a county writes it (spaces, dashes, +86), normalised; None if it is not one."""
    phone = re.sub(r"[\s\-()（）]", "", text).removeprefix("+86")
    return phone if re.fullmatch(r"1[3-9]\d{9}", phone) or re.fullmatch(r"0\d{9,11}", phone) else None


def command_rule_errors(row: int, build: Callable[[], Any], headers: dict[str, str],
                        errors: list[RowError]) -> bool:
    """The command's own validation, so a file that passes here is never rejected half-way through writing.
    False (and the problems added to `errors`, on the columns named by `headers`) when it refuses."""
    try:
        build()
    except ValidationError as error:
        for item in error.errors(include_url=False):
            key = str(item["loc"][0]) if item["loc"] else ""
            zh = str((item.get("ctx") or {}).get("zh") or "取值无效")
            errors.append(RowError(row, headers.get(key), zh, item["msg"]))
        return False
    return True


def content_ids(keys: Sequence[str], scope: str) -> list[uuid.UUID]:
    """One command id per row from its content key: the n-th identical row of a file always gets the same id."""
    occurrences: dict[str, int] = {}
    ids = []
    for key in keys:
        occurrences[key] = occurrences.get(key, 0) + 1
        digest = hashlib.sha256(f"{scope}\x1e{key}\x1e{occurrences[key]}".encode()).hexdigest()
        ids.append(uuid.uuid5(IMPORT_NAMESPACE, digest))
    return ids
