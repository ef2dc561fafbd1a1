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

import re
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from geopy.distance import geodesic

from services.domain.commands import RegisterHousehold
from services.ledger import Column, Ledger
from services.table_import import (
    ImportField, ImportRejected, RowError, cell_text, command_rule_errors, content_ids, data_rows, find_header,
    map_header, mobile_or_landline, read_table,
)
from services.table_import import number as as_number
from services.vocabulary import labels

__all__ = ["FIELDS", "CountyPlace", "HouseholdRow", "ImportPlan", "ImportRejected", "RowError", "command_for",
           "parse_households", "read_households", "read_table", "template"]

# A household farther than this from the county's centroid is almost surely a typo or swapped lat/lon.
MAX_KM_FROM_CENTROID = 150.0

TAG_LABELS = labels("household_tag")  # a file may name tags by their labels or their codes
_TAG_CODES = {label: code for code, label in TAG_LABELS.items()} | {code: code for code in TAG_LABELS}


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
    header_index = find_header(table, FIELDS)
    columns, ignored = map_header(table[header_index], header_index + 1, FIELDS)
    errors: list[RowError] = []
    rows: list[HouseholdRow] = []
    seen: dict[str, int] = {}
    headers = {spec.key: spec.header for spec in FIELDS}
    for number, cells in data_rows(table, header_index, columns):
        parsed = _parse_row(number, cells, county, errors)
        if parsed is None or not command_rule_errors(number, partial(command_for, parsed), headers, errors):
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
    for row, command_id in zip(rows, content_ids([row.content_key() for row in rows], county.adcode), strict=True):
        row.command_id = command_id
    return ImportPlan(rows, ignored)


def read_households(data: bytes, filename: str | None, county: CountyPlace) -> ImportPlan:
    """A file's households, checked (`read_table`, then `parse_households`)."""
    return parse_households(read_table(data, filename), county)


def _parse_row(number: int, cells: dict[str, Any], county: CountyPlace,
               errors: list[RowError]) -> HouseholdRow | None:
    before = len(errors)

    def bad(key: str, zh: str, en: str) -> None:
        header = next(f.header for f in FIELDS if f.key == key)
        errors.append(RowError(number, header, zh, en))

    text = {key: cell_text(value) for key, value in cells.items()}
    for key in ("head_name", "address", "tags"):
        # A line break typed into a cell (Alt+Enter in Excel) is no reason to refuse a row: one line.
        text[key] = re.sub(r"\s*[\r\n\t]+\s*", " ", text.get(key, ""))
    for spec in FIELDS:
        if spec.required and not text.get(spec.key):
            bad(spec.key, "必填项为空", "required value is missing")

    head_name = text.get("head_name", "")
    if head_name and len(head_name) > 50:
        bad("head_name", "户主姓名过长（最多 50 字）", "head's name is too long (at most 50 characters)")

    phone = mobile_or_landline(text["phone"]) if text.get("phone") else None
    if text.get("phone") and phone is None:
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

    lat = as_number(text.get("lat", ""))
    lon = as_number(text.get("lon", ""))
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
        size_number = as_number(text["size"])
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
