"""Reading a register of contact targets (联系对象名录: Party branches, enterprises, talents, projects, contact
points) from CSV or XLSX into checked rows and the commands that register them, all or nothing (the endpoint
is services/api/targets.py; nothing here speaks HTTP or SQL). File reading, headers and row errors are
services/table_import.py's, as for households, cadres and pairings; whether each place is the county's is
checked by the endpoint against the county's places before anything is written.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from services.domain.commands import RegisterTarget
from services.domain.values import REGISTER_KINDS, RegisterKind
from services.ledger import Column, Ledger
from services.table_import import (
    ImportField, ImportRejected, RowError, cell_text, command_rule_errors, content_ids, data_rows, find_header,
    map_header, read_table,
)
from services.table_import import number as as_number
from services.vocabulary import labels

KIND_LABELS = {code: label for code, label in labels("target_kind").items() if code in REGISTER_KINDS}
_KINDS = {label: code for code, label in KIND_LABELS.items()} | {code: code for code in KIND_LABELS}
_YES = {"是", "y", "yes", "true", "1", "软弱涣散"}
_NO = {"", "否", "n", "no", "false", "0"}

FIELDS = (
    ImportField("kind", "类别", ("对象类别", "类型"), example="党支部", width=10),
    ImportField("name", "名称", ("对象名称", "姓名"), example="什聘村党支部", width=22),
    ImportField("township", "乡镇代码", ("乡镇(街道)代码",), example="469029100"),
    ImportField("village", "村(社区)代码", ("村代码", "社区代码"), required=False, example="469029100201", width=16),
    ImportField("lat", "纬度", ("lat", "latitude"), required=False, example="18.6412"),
    ImportField("lon", "经度", ("lon", "lng", "longitude"), required=False, example="109.7013"),
    ImportField("weak", "软弱涣散", ("软弱涣散党组织",), required=False, example="是", width=10),
)
HEADERS = {spec.key: spec.header for spec in FIELDS}


@dataclass
class TargetRow:
    row: int
    kind: str
    name: str
    township: str
    village: str | None
    lat: float | None
    lon: float | None
    weak: bool
    command_id: uuid.UUID = field(default=uuid.UUID(int=0))

    def content_key(self) -> str:
        return "\x1f".join((self.kind, self.name, self.township, self.village or "", str(self.lat), str(self.lon),
                            str(self.weak)))


@dataclass
class TargetPlan:
    rows: list[TargetRow]
    ignored_columns: list[str]


def parse_targets(table: list[list[Any]], adcode: str) -> TargetPlan:
    """Every row checked on its own (kind, codes, coordinates, the weak flag, the command's own rules);
    raises ImportRejected naming every bad row, or returns rows ready to register."""
    header_index = find_header(table, FIELDS)
    columns, ignored = map_header(table[header_index], header_index + 1, FIELDS)
    errors: list[RowError] = []
    rows: list[TargetRow] = []
    for number, cells in data_rows(table, header_index, columns):
        before = len(errors)
        text = {key: re.sub(r"\s*[\r\n\t]+\s*", " ", cell_text(value)) for key, value in cells.items()}

        def bad(key: str, zh: str, en: str, number: int = number) -> None:
            errors.append(RowError(number, HEADERS[key], zh, en))

        for spec in FIELDS:
            if spec.required and not text.get(spec.key):
                bad(spec.key, "必填项为空", "required value is missing")
        kind = _KINDS.get(text.get("kind", ""))
        if text.get("kind") and kind is None:
            bad("kind", f"未知类别“{text['kind']}”（可用：{'、'.join(KIND_LABELS.values())}）",
                f"unknown kind '{text['kind']}' (known: {', '.join(KIND_LABELS)})")
        for key, digits in (("township", 9), ("village", 12)):
            code = text.get(key)
            if code and not re.fullmatch(rf"\d{{{digits}}}", code):
                bad(key, f"应为 {digits} 位数字", f"must be {digits} digits")
            elif code and not code.startswith(adcode):
                bad(key, f"不属于本县（代码应以 {adcode} 开头）", f"not in this county (codes begin with {adcode})")
        position = [as_number(text[key]) if text.get(key) else None for key in ("lat", "lon")]
        for key, value in zip(("lat", "lon"), position, strict=True):
            if text.get(key) and value is None:
                bad(key, "不是数字", "not a number")
        weak_text = text.get("weak", "").lower()
        if weak_text not in _YES | _NO:
            bad("weak", "请填“是”或“否”", "write 是 (yes) or 否 (no)")
        elif weak_text in _YES and kind not in (None, "party_branch"):
            bad("weak", "只有党支部可以标记为软弱涣散", "only a Party branch can be flagged weak and scattered")
        if len(errors) > before:
            continue
        assert kind is not None
        row = TargetRow(number, kind, text["name"], text["township"], text.get("village") or None, position[0],
                        position[1], weak_text in _YES)
        if command_rule_errors(number, partial(register_command, row), HEADERS, errors):
            rows.append(row)
    for row, command_id in zip(rows, content_ids([row.content_key() for row in rows], f"{adcode}/targets"),
                               strict=True):
        row.command_id = command_id
    if not rows and not errors:
        errors.append(RowError(header_index + 2, None, "没有数据行", "the file has a header but no targets"))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: e.row))
    return TargetPlan(rows, ignored)


def register_command(row: TargetRow) -> RegisterTarget:
    return RegisterTarget(command_id=row.command_id, kind=cast(RegisterKind, row.kind), name=row.name,
                          township=row.township, village=row.village, lat=row.lat, lon=row.lon, weak=row.weak)


def read_targets(data: bytes, filename: str | None, adcode: str) -> TargetPlan:
    return parse_targets(read_table(data, filename), adcode)


def template() -> Ledger:
    """The register counties fill in: headers, one example row, and the rules on a second sheet."""
    notes = [
        "联系对象名录导入说明",
        "每行一个联系对象。必填列：" + "、".join(f.header for f in FIELDS if f.required) + "。",
        "类别填：" + "、".join(KIND_LABELS.values()) + "。乡镇代码 9 位；在村（社区）的填 12 位村代码。",
        "纬度、经度须同时填写或都不填；填写后，干部在该对象处签到按距离核验。",
        "“软弱涣散”只对党支部填“是”，其余留空或填“否”。",
        "只要有一行有误，整个文件都不会导入；请按错误报告逐行修改后重新上传。重复上传同一文件不会重复登记。",
    ]
    columns = [Column(spec.key, spec.header, spec.width) for spec in FIELDS]
    return Ledger("联系对象名录导入模板", columns, [{spec.key: spec.example for spec in FIELDS}], notes)


__all__ = ["FIELDS", "ImportRejected", "RowError", "TargetPlan", "TargetRow", "parse_targets", "read_targets",
           "register_command", "template"]
