"""Reading a household file (民情档案): a CSV or XLSX file of households into checked rows and the commands
that register them, all or nothing (the endpoint is services/api/imports.py; nothing here speaks HTTP).

Counties keep their household records in spreadsheets with Chinese headers. An upload is read into rows,
every row is checked, and if any row is wrong the answer lists each bad row (row number as Excel shows
it, the column, the reason in Chinese and English) and nothing is written. Otherwise every household is
registered through the county's command path.

Idempotency: each row's command id is derived from the county and the row's own content (plus how many
identical rows came before it in the file), so uploading the same file again, or a longer version of
it, registers nothing twice.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any

from geopy.distance import geodesic
from pydantic import ValidationError

from services.domain.commands import RegisterHousehold
from services.ledger import Column, Ledger
from services.vocabulary import labels

MAX_IMPORT_ROWS = 20_000
# A household farther than this from the county's centroid is almost surely a typo or swapped lat/lon.
MAX_KM_FROM_CENTROID = 150.0
# Command ids of imported rows live in their own namespace (uuid5), so they never collide with phones'.
IMPORT_NAMESPACE = uuid.UUID("6f1f3c1e-3f0e-5b8e-9a51-0c2d6c1e4a01")

TAG_LABELS = labels("household_tag")  # a file may name tags by their labels or their codes
_TAG_CODES = {label: code for code, label in TAG_LABELS.items()} | {code: code for code in TAG_LABELS}


@dataclass(frozen=True)
class ImportField:
    key: str
    header: str  # the template's header
    aliases: tuple[str, ...] = ()  # other headers counties use for the same column
    required: bool = True
    example: str = ""
    width: int = 14


FIELDS = (
    ImportField("head_name", "户主姓名", ("户主", "姓名"), example="王阿公", width=12),
    ImportField("phone", "联系电话", ("电话", "手机", "手机号", "联系方式"), required=False, example="13876543210"),
    ImportField("village", "村(社区)代码", ("村代码", "社区代码", "村(居)代码"), example="469029100201", width=16),
    ImportField("township", "乡镇代码", ("乡镇(街道)代码", "街道代码"), required=False, example="469029100"),
    ImportField("address", "地址", ("住址", "家庭住址"), example="保城镇什聘村三组12号", width=28),
    ImportField("lat", "纬度", ("lat", "latitude"), example="18.6412"),
    ImportField("lon", "经度", ("lon", "lng", "longitude"), example="109.7013"),
    ImportField("size", "人口", ("家庭人口", "人数", "户籍人口"), example="4", width=8),
    ImportField("tags", "标签", ("户类型", "类别"), required=False, example="困难群众、空巢老人", width=22),
    ImportField("notes", "备注", (), required=False, example="", width=24),
)
_BY_HEADER = {_key: f for f in FIELDS for _key in (f.header, *f.aliases)}


def _normalise_header(text: str) -> str:
    # Spreadsheets mix full-width and half-width brackets and stray spaces; 村（社区）代码 is 村(社区)代码.
    return re.sub(r"\s+", "", str(text)).replace("（", "(").replace("）", ")").lower()


_FIELD_BY_HEADER = {_normalise_header(name): f for name, f in _BY_HEADER.items()}


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
        super().__init__(f"{len(errors)} problem(s) in the household file")
        self.errors = errors


@dataclass
class HouseholdRow:
    row: int
    head_name: str
    phone: str | None
    village: str
    township: str
    address: str
    lat: float
    lon: float
    size: int
    tags: list[str]
    notes: str
    command_id: uuid.UUID = field(default=uuid.UUID(int=0))

    def content_key(self) -> str:
        return "\x1f".join(
            str(value)
            for value in (self.head_name, self.phone or "", self.village, self.township, self.address,
                          f"{self.lat:.7f}", f"{self.lon:.7f}", self.size, ",".join(self.tags), self.notes)
        )


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
    return ImportRejected([RowError(0, None, f"一次最多导入 {MAX_IMPORT_ROWS} 户，请拆分文件",
                                    f"at most {MAX_IMPORT_ROWS} households per file: split the file")])


# ---- checking rows --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountyPlace:
    """What a row is checked against: the county's adcode and centroid."""

    adcode: str
    centroid: tuple[float, float] | None


@dataclass
class ImportPlan:
    rows: list[HouseholdRow]
    ignored_columns: list[str]


def parse_households(table: list[list[Any]], county: CountyPlace) -> ImportPlan:
    """Every row checked; raises ImportRejected naming every bad row, or returns rows ready to register.

    Row numbers are the spreadsheet's own (1-based, blank rows counted), so a clerk can find them in
    Excel. Title lines above the header (e.g. 某某村民情档案) are skipped.
    """
    header_index = _find_header(table)
    columns, ignored = _map_header(table[header_index], header_index + 1)
    errors: list[RowError] = []
    rows: list[HouseholdRow] = []
    seen: dict[str, int] = {}
    for index in range(header_index + 1, len(table)):
        values, number = table[index], index + 1
        if not any(_text(value) for value in values):
            continue
        cells = {key: (values[position] if position < len(values) else None) for key, position in columns.items()}
        parsed = _parse_row(number, cells, county, errors)
        if parsed is None or not _passes_command_rules(parsed, errors):
            continue
        identity = "\x1f".join((parsed.head_name, parsed.village, parsed.address))
        if identity in seen:
            errors.append(RowError(number, "户主姓名", f"与第 {seen[identity]} 行重复（户主、村、地址相同）",
                                   f"duplicate of row {seen[identity]} (same head, village and address)"))
            continue
        seen[identity] = number
        rows.append(parsed)
    if not rows and not errors:
        errors.append(RowError(header_index + 2, None, "没有数据行", "the file has a header but no households"))
    if errors:
        raise ImportRejected(errors)
    _assign_command_ids(rows, county.adcode)
    return ImportPlan(rows, ignored)


def read_households(data: bytes, filename: str | None, county: CountyPlace) -> ImportPlan:
    """A file's households, checked (`read_table`, then `parse_households`)."""
    return parse_households(read_table(data, filename), county)


def _find_header(table: list[list[Any]]) -> int:
    first_filled = None
    for index, values in enumerate(table[:10]):
        names = [_normalise_header(_text(value)) for value in values if _text(value)]
        if not names:
            continue
        if first_filled is None:
            first_filled = index
        if sum(name in _FIELD_BY_HEADER for name in names) >= 3:
            return index
    if first_filled is None:
        raise ImportRejected([RowError(0, None, "文件为空", "the file is empty")])
    return first_filled  # no recognisable header: _map_header reports what is missing


def _map_header(header_row: list[Any], number: int) -> tuple[dict[str, int], list[str]]:
    """Which column holds which field, and the columns we do not keep (e.g. 身份证号: we collect the minimum)."""
    columns: dict[str, int] = {}
    ignored: list[str] = []
    errors: list[RowError] = []
    for index, value in enumerate(header_row):
        name = _text(value)
        if not name:
            continue
        spec = _FIELD_BY_HEADER.get(_normalise_header(name))
        if spec is None:
            ignored.append(name)
        elif spec.key in columns:
            errors.append(RowError(number, name, f"列“{spec.header}”重复", f"column '{spec.header}' appears twice"))
        else:
            columns[spec.key] = index
    for spec in FIELDS:
        if spec.required and spec.key not in columns:
            errors.append(RowError(number, spec.header, f"缺少必填列“{spec.header}”",
                                   f"missing required column '{spec.header}'"))
    if errors:
        raise ImportRejected(errors)
    return columns, ignored


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # Excel stores long digit strings (codes, phone numbers) as numbers: 469029100201.0 is a code.
        return str(int(value))
    return str(value).strip()


def _parse_row(number: int, cells: dict[str, Any], county: CountyPlace,
               errors: list[RowError]) -> HouseholdRow | None:
    before = len(errors)

    def bad(key: str, zh: str, en: str) -> None:
        header = next(f.header for f in FIELDS if f.key == key)
        errors.append(RowError(number, header, zh, en))

    text = {key: _text(value) for key, value in cells.items()}
    for key in ("head_name", "address", "tags"):
        # A line break typed into a cell (Alt+Enter in Excel) is no reason to refuse a row: one line.
        text[key] = re.sub(r"\s*[\r\n\t]+\s*", " ", text.get(key, ""))
    for spec in FIELDS:
        if spec.required and not text.get(spec.key):
            bad(spec.key, "必填项为空", "required value is missing")

    head_name = text.get("head_name", "")
    if head_name and len(head_name) > 50:
        bad("head_name", "户主姓名过长（最多 50 字）", "head's name is too long (at most 50 characters)")

    phone = re.sub(r"[\s\-()（）]", "", text.get("phone", "")) or None
    if phone is not None:
        phone = phone.removeprefix("+86")
        if not (re.fullmatch(r"1[3-9]\d{9}", phone) or re.fullmatch(r"0\d{9,11}", phone)):
            bad("phone", "电话号码格式不正确（手机 11 位或带区号的固定电话）",
                "not a phone number (11-digit mobile, or a landline with area code)")

    village = text.get("village", "")
    if village:
        if not re.fullmatch(r"\d{12}", village):
            bad("village", "村(社区)代码应为 12 位数字", "village code must be 12 digits")
        elif not village.startswith(county.adcode):
            bad("village", f"该村不属于本县（代码应以 {county.adcode} 开头）",
                f"village is not in this county (code must start with {county.adcode})")

    township = text.get("township", "")
    if township:
        if not re.fullmatch(r"\d{9}", township):
            bad("township", "乡镇代码应为 9 位数字", "township code must be 9 digits")
        elif re.fullmatch(r"\d{12}", village) and village.startswith(county.adcode) \
                and not village.startswith(township):  # a village of another county is reported once, above
            bad("township", "乡镇代码与村(社区)代码不一致（村代码前 9 位即乡镇代码）",
                "township code does not match the village code (its first 9 digits)")
    elif re.fullmatch(r"\d{12}", village):
        township = village[:9]  # a village code embeds its township's code

    address = text.get("address", "")
    if len(address) > 100:
        bad("address", "地址过长（最多 100 字）", "address is too long (at most 100 characters)")

    lat = _number(text.get("lat", ""))
    lon = _number(text.get("lon", ""))
    if lat is not None and lon is not None and abs(lat) > 90 and abs(lon) <= 90:
        bad("lat", "纬度超出范围，经纬度是否填反？", "latitude out of range: latitude and longitude swapped?")
        lat = lon = None
    else:
        if text.get("lat") and (lat is None or not -90 <= lat <= 90):
            bad("lat", "纬度应为 -90 到 90 之间的数字", "latitude must be a number between -90 and 90")
            lat = None
        if text.get("lon") and (lon is None or not -180 <= lon <= 180):
            bad("lon", "经度应为 -180 到 180 之间的数字", "longitude must be a number between -180 and 180")
            lon = None
    if lat is not None and lon is not None and county.centroid is not None:
        distance = geodesic(county.centroid, (lat, lon)).km
        if distance > MAX_KM_FROM_CENTROID:
            swapped = abs(lon) <= 90 and geodesic(county.centroid, (lon, lat)).km <= MAX_KM_FROM_CENTROID
            hint_zh = "，经纬度是否填反？" if swapped else ""
            hint_en = " (latitude and longitude swapped?)" if swapped else ""
            bad("lat", f"位置距本县 {distance:.0f} 公里，不在本县范围内{hint_zh}",
                f"position is {distance:.0f} km from the county{hint_en}")

    size: int | None = None
    if text.get("size"):
        size_number = _number(text["size"])
        if size_number is None or not size_number.is_integer() or not 1 <= size_number <= 30:
            bad("size", "人口应为 1 到 30 之间的整数", "household size must be a whole number from 1 to 30")
        else:
            size = int(size_number)

    tags: list[str] = []
    for label in (part for part in re.split(r"[、,，;；/\s]+", text.get("tags", "")) if part):
        code = _TAG_CODES.get(label)
        if code is None:
            bad("tags", f"未知标签“{label}”（可用：{'、'.join(TAG_LABELS.values())}）",
                f"unknown tag '{label}' (known: {', '.join(TAG_LABELS)})")
        elif code not in tags:
            tags.append(code)

    notes = text.get("notes", "")
    if len(notes) > 500:
        bad("notes", "备注过长（最多 500 字）", "notes are too long (at most 500 characters)")

    if len(errors) > before:
        return None
    assert lat is not None and lon is not None and size is not None
    return HouseholdRow(number, head_name, phone, village, township, address, lat, lon, size, tags, notes)


def command_for(row: HouseholdRow) -> RegisterHousehold:
    return RegisterHousehold(
        command_id=row.command_id, village=row.village, township=row.township, address=row.address,
        lat=row.lat, lon=row.lon, tags=row.tags, size=row.size, head_name=row.head_name, phone=row.phone,
        notes=row.notes,
    )


def _passes_command_rules(row: HouseholdRow, errors: list[RowError]) -> bool:
    """The command's own validation, so a file that passes here is never rejected half-way through writing."""
    try:
        command_for(row)
    except ValidationError as error:
        headers = {spec.key: spec.header for spec in FIELDS}
        for item in error.errors(include_url=False):
            key = str(item["loc"][0]) if item["loc"] else ""
            zh = str((item.get("ctx") or {}).get("zh") or "取值无效")
            errors.append(RowError(row.row, headers.get(key), zh, item["msg"]))
        return False
    return True


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _assign_command_ids(rows: list[HouseholdRow], adcode: str) -> None:
    occurrences: dict[str, int] = {}
    for row in rows:
        key = row.content_key()
        occurrences[key] = occurrences.get(key, 0) + 1
        digest = hashlib.sha256(f"{adcode}\x1e{key}\x1e{occurrences[key]}".encode()).hexdigest()
        row.command_id = uuid.uuid5(IMPORT_NAMESPACE, digest)


def template() -> Ledger:
    """The file counties fill in: headers, one example row, and the rules on a second sheet."""
    columns = [Column(spec.key, spec.header, spec.width) for spec in FIELDS]
    example = {spec.key: spec.example for spec in FIELDS}
    notes = [
        "民情档案导入说明",
        "每行一户。必填列：" + "、".join(f.header for f in FIELDS if f.required) + "。",
        "村(社区)代码为 12 位统计用区划代码，乡镇代码为 9 位（可省略，取村代码前 9 位）。",
        "纬度、经度为 WGS-84 坐标（天地图），小数形式，例如 18.6412、109.7013。",
        "标签可填多个，用顿号或逗号分隔：" + "、".join(TAG_LABELS.values()) + "。",
        "只要有一行有误，整个文件都不会导入；请按错误报告逐行修改后重新上传。重复上传同一文件不会重复登记。",
    ]
    return Ledger("民情档案导入模板", columns, [example], notes)
