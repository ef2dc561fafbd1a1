"""Reading a cadre roster (干部名册) and a pairing list (结对名单) from CSV or XLSX into checked rows and the
commands that enrol the cadres and form the pairings, all or nothing (the endpoints are
services/api/imports.py; nothing here speaks HTTP or SQL). File reading, headers and row errors are
services/table_import.py's, as for households.

A pairing row names its cadre by the cadre's phone number (what an office knows of a cadre, and unique
among a county's active cadres: a cadre file refuses a phone already enrolled) and its household by the
household's number (its id, as the household list, its export and the household import's answer show it).
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, cast

from services.domain.commands import EnrolCadre, FormPairing
from services.domain.values import Cadence, Rank
from services.ledger import Column, Ledger
from services.table_import import (
    ImportField, ImportRejected, RowError, cell_text, command_rule_errors, content_ids, data_rows, find_header,
    map_header, mobile_or_landline, read_table,
)
from services.vocabulary import labels

RANK_LABELS = labels("rank")
CADENCE_LABELS = labels("cadence")
_RANKS = {label: code for code, label in RANK_LABELS.items()} | {code: code for code in RANK_LABELS}
_CADENCES = {label: code for code, label in CADENCE_LABELS.items()} | {code: code for code in CADENCE_LABELS}

CADRE_FIELDS = (
    ImportField("name", "姓名", ("干部姓名",), example="李明", width=12),
    ImportField("rank", "职级", ("级别",), example="一般干部", width=12),
    ImportField("unit", "单位", ("工作单位", "派出单位"), example="县委组织部", width=22),
    ImportField("township", "乡镇代码", ("联系乡镇代码", "包联乡镇代码"), required=False, example="469029100"),
    ImportField("phone", "联系电话", ("电话", "手机", "手机号"), example="13976543210"),
)
PAIRING_FIELDS = (
    # A cadre is named by their phone, or by their number (干部编号, as the office's ledgers print it).
    ImportField("cadre_phone", "干部电话", ("干部手机", "干部联系电话", "干部手机号"), required=False,
                example="13976543210"),
    ImportField("cadre_number", "干部编号", ("cadre_id",), required=False, example="", width=38),
    ImportField("household_id", "农户编号", ("户编号", "household_id"),
                example="00000000-0000-0000-0000-000000000000", width=38),
    ImportField("programme", "结对项目", ("项目", "帮扶项目"), example="干部联系群众", width=16),
    ImportField("formed_on", "结对日期", ("结对时间",), example="2026-03-01", width=12),
    ImportField("cadence", "走访频次", ("频次",), required=False, example="每季度", width=10),
)


def _headers(fields: tuple[ImportField, ...]) -> dict[str, str]:
    return {spec.key: spec.header for spec in fields}


def _one_line(text: str) -> str:
    # A line break typed into a cell (Alt+Enter in Excel) is no reason to refuse a row: one line.
    return re.sub(r"\s*[\r\n\t]+\s*", " ", text)


@dataclass
class CadreRow:
    row: int
    name: str
    rank: str
    unit: str
    township: str | None
    phone: str
    command_id: uuid.UUID = field(default=uuid.UUID(int=0))

    def content_key(self) -> str:
        return "\x1f".join((self.name, self.rank, self.unit, self.township or "", self.phone))


@dataclass
class PairingRow:
    row: int
    cadre_phone: str | None
    cadre_number: uuid.UUID | None
    household_id: uuid.UUID
    programme: str
    formed_on: date
    cadence: str | None
    command_id: uuid.UUID = field(default=uuid.UUID(int=0))
    cadre_id: uuid.UUID = field(default=uuid.UUID(int=0))  # known once the phone is looked up (`resolve_pairings`)

    def content_key(self) -> str:
        return "\x1f".join((self.cadre_phone or str(self.cadre_number), str(self.household_id), self.programme,
                            self.formed_on.isoformat(), self.cadence or ""))

    def cadre_key(self) -> str:
        return self.cadre_phone or str(self.cadre_number)


@dataclass
class RosterPlan:
    rows: list[Any]  # CadreRow or PairingRow
    ignored_columns: list[str]


# ---- cadres -----------------------------------------------------------------------------------------------------


def parse_cadres(table: list[list[Any]], adcode: str, enrolled: Mapping[str, uuid.UUID]) -> RosterPlan:
    """Every row checked; `enrolled` maps the phone of each active cadre of the county to their id, so a
    cadre enrolled already (by hand, or by another file) is named rather than enrolled twice. Raises
    ImportRejected naming every bad row, or returns rows ready to enrol."""
    header_index = find_header(table, CADRE_FIELDS)
    columns, ignored = map_header(table[header_index], header_index + 1, CADRE_FIELDS)
    headers = _headers(CADRE_FIELDS)
    errors: list[RowError] = []
    rows: list[CadreRow] = []
    for number, cells in data_rows(table, header_index, columns):
        before = len(errors)
        text = {key: _one_line(cell_text(value)) for key, value in cells.items()}

        def bad(key: str, zh: str, en: str, number: int = number) -> None:
            errors.append(RowError(number, headers[key], zh, en))

        for spec in CADRE_FIELDS:
            if spec.required and not text.get(spec.key):
                bad(spec.key, "必填项为空", "required value is missing")
        rank = _RANKS.get(text.get("rank", ""))
        if text.get("rank") and rank is None:
            bad("rank", f"未知职级“{text['rank']}”（可用：{'、'.join(RANK_LABELS.values())}）",
                f"unknown rank '{text['rank']}' (known: {', '.join(RANK_LABELS)})")
        township = text.get("township") or None
        if township is not None and not re.fullmatch(r"\d{9}", township):
            bad("township", "乡镇代码应为 9 位数字", "township code must be 9 digits")
        elif township is not None and not township.startswith(adcode):
            bad("township", f"该乡镇不属于本县（代码应以 {adcode} 开头）",
                f"township is not in this county (code must start with {adcode})")
        phone = mobile_or_landline(text["phone"]) if text.get("phone") else None
        if text.get("phone") and phone is None:
            bad("phone", "电话号码格式不正确（手机 11 位或带区号的固定电话）",
                "not a phone number (11-digit mobile, or a landline with area code)")
        if len(errors) > before:
            continue
        assert rank is not None and phone is not None
        row = CadreRow(number, text["name"], rank, text["unit"], township, phone)
        if command_rule_errors(number, partial(enrol_command, row), headers, errors):
            rows.append(row)
    seen: dict[str, int] = {}
    for row, command_id in zip(rows, content_ids([row.content_key() for row in rows], f"{adcode}/cadres"),
                               strict=True):
        row.command_id = command_id
        if row.phone in seen:
            errors.append(RowError(row.row, headers["phone"], f"与第 {seen[row.phone]} 行的联系电话相同",
                                   f"same phone as row {seen[row.phone]}"))
        elif enrolled.get(row.phone, command_id) != command_id:
            errors.append(RowError(row.row, headers["phone"],
                                   "该电话已属于本县一名在岗干部；如需修改其职级或单位，请在干部名单中操作",
                                   "this phone belongs to a cadre already enrolled: change their rank or unit "
                                   "on the cadre list instead"))
        seen.setdefault(row.phone, row.row)
    _require_some(rows, errors, header_index, "干部", "cadres")
    return RosterPlan(rows, ignored)


def enrol_command(row: CadreRow) -> EnrolCadre:
    return EnrolCadre(command_id=row.command_id, name=row.name, rank=cast(Rank, row.rank), unit=row.unit,
                      township=row.township, phone=row.phone)


def read_cadres(data: bytes, filename: str | None, adcode: str, enrolled: Mapping[str, uuid.UUID]) -> RosterPlan:
    return parse_cadres(read_table(data, filename), adcode, enrolled)


# ---- pairings ----------------------------------------------------------------------------------------------------


def parse_pairings(table: list[list[Any]], adcode: str) -> RosterPlan:
    """Every row checked on its own (phone, household number, date, cadence); `resolve_pairings` then checks
    them against the county's cadres, households and pairings. Raises ImportRejected naming every bad row."""
    header_index = find_header(table, PAIRING_FIELDS)
    columns, ignored = map_header(table[header_index], header_index + 1, PAIRING_FIELDS)
    headers = _headers(PAIRING_FIELDS)
    errors: list[RowError] = []
    rows: list[PairingRow] = []
    for row_number, cells in data_rows(table, header_index, columns):
        before = len(errors)
        text = {key: _one_line(cell_text(value)) for key, value in cells.items()}

        def bad(key: str, zh: str, en: str, row_number: int = row_number) -> None:
            errors.append(RowError(row_number, headers[key], zh, en))

        for spec in PAIRING_FIELDS:
            if spec.required and not text.get(spec.key):
                bad(spec.key, "必填项为空", "required value is missing")
        phone = mobile_or_landline(text["cadre_phone"]) if text.get("cadre_phone") else None
        if text.get("cadre_phone") and phone is None:
            bad("cadre_phone", "电话号码格式不正确（手机 11 位或带区号的固定电话）",
                "not a phone number (11-digit mobile, or a landline with area code)")
        cadre_number = _uuid(text.get("cadre_number", ""))
        if text.get("cadre_number") and cadre_number is None:
            bad("cadre_number", "干部编号格式不正确（见干部台账中的“干部编号”）",
                "not a cadre number (see the cadre number on the office's ledgers)")
        if not text.get("cadre_phone") and not text.get("cadre_number"):
            bad("cadre_phone", "请填写干部电话或干部编号", "name the cadre by phone or by cadre number")
        household_id = _uuid(text.get("household_id", ""))
        if text.get("household_id") and household_id is None:
            bad("household_id", "农户编号格式不正确（见农户台账中的“户编号”）",
                "not a household number (see the household number on the household ledger)")
        formed_on = _day(cells.get("formed_on"))
        if text.get("formed_on") and formed_on is None:
            bad("formed_on", "日期格式不正确（例如 2026-03-01）", "not a date (e.g. 2026-03-01)")
        cadence = _CADENCES.get(text.get("cadence", "")) if text.get("cadence") else None
        if text.get("cadence") and cadence is None:
            bad("cadence", f"未知走访频次“{text['cadence']}”（可用：{'、'.join(CADENCE_LABELS.values())}）",
                f"unknown cadence '{text['cadence']}' (known: {', '.join(CADENCE_LABELS)})")
        if len(errors) > before:
            continue
        assert household_id is not None and formed_on is not None
        row = PairingRow(row_number, phone, cadre_number, household_id, text["programme"], formed_on, cadence)
        if command_rule_errors(row_number, partial(pairing_command, row), headers, errors):
            rows.append(row)
    seen: dict[tuple[str, uuid.UUID], int] = {}
    for row, command_id in zip(rows, content_ids([row.content_key() for row in rows], f"{adcode}/pairings"),
                               strict=True):
        row.command_id = command_id
        pair = (row.cadre_key(), row.household_id)
        if pair in seen:
            errors.append(RowError(row.row, headers["household_id"], f"与第 {seen[pair]} 行重复（同一干部、同一户）",
                                   f"duplicate of row {seen[pair]} (same cadre and household)"))
        seen.setdefault(pair, row.row)
    _require_some(rows, errors, header_index, "结对", "pairings")
    return RosterPlan(rows, ignored)


def read_pairings(data: bytes, filename: str | None, adcode: str) -> RosterPlan:
    return parse_pairings(read_table(data, filename), adcode)


@dataclass(frozen=True)
class PairingContext:
    """What the county holds for a pairing file's rows: active cadres by phone (and so their ids), the named
    households that exist (id → archived), and the active pairings of those households (cadre id,
    household id) → pairing id."""

    cadres: Mapping[str, uuid.UUID]  # by phone
    households: Mapping[uuid.UUID, bool]
    paired: Mapping[tuple[uuid.UUID, uuid.UUID], uuid.UUID]


def resolve_pairings(plan: RosterPlan, context: PairingContext) -> list[FormPairing]:
    """The pairing commands, or ImportRejected naming every row whose cadre or household the county does
    not have, or that pairs a cadre with a household they are already paired with."""
    headers = _headers(PAIRING_FIELDS)
    errors: list[RowError] = []
    active = set(context.cadres.values())
    seen: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    for row in plan.rows:
        if row.cadre_phone is not None:
            cadre_id = context.cadres.get(row.cadre_phone)
            if cadre_id is None:
                errors.append(RowError(row.row, headers["cadre_phone"], "本县在岗干部中没有这个电话号码",
                                       "no active cadre of this county has this phone number"))
        else:
            cadre_id = row.cadre_number if row.cadre_number in active else None
            if cadre_id is None:
                errors.append(RowError(row.row, headers["cadre_number"], "本县在岗干部中没有这个干部编号",
                                       "no active cadre of this county has this number"))
        archived = context.households.get(row.household_id)
        if archived is None:
            errors.append(RowError(row.row, headers["household_id"], "本县没有这个编号的农户",
                                   "this county has no household with this number"))
        elif archived:
            errors.append(RowError(row.row, headers["household_id"], "该户已归档，不能再结对",
                                   "this household is archived: no more pairings"))
        if cadre_id is not None:
            row.cadre_id = cadre_id
            existing = context.paired.get((cadre_id, row.household_id))
            earlier = seen.setdefault((cadre_id, row.household_id), row.row)
            if existing is not None and existing != row.command_id:
                errors.append(RowError(row.row, headers["household_id"], "该干部已与该户结对",
                                       "this cadre is already paired with this household"))
            elif earlier != row.row:  # one by phone, one by number
                errors.append(RowError(row.row, headers["household_id"], f"与第 {earlier} 行重复（同一干部、同一户）",
                                       f"duplicate of row {earlier} (same cadre and household)"))
    if errors:
        raise ImportRejected(errors)
    return [pairing_command(row) for row in plan.rows]


def pairing_command(row: PairingRow) -> FormPairing:
    return FormPairing(command_id=row.command_id, cadre_id=row.cadre_id, target_kind="household",
                       target_id=str(row.household_id), programme=row.programme,
                       cadence=cast(Cadence | None, row.cadence), formed_on=row.formed_on)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):  # an Excel date cell
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
    if match is None:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _require_some(rows: list[Any], errors: list[RowError], header_index: int, zh: str, en: str) -> None:
    if not rows and not errors:
        errors.append(RowError(header_index + 2, None, "没有数据行", f"the file has a header but no {en}"))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: e.row))


# ---- templates ---------------------------------------------------------------------------------------------------


def cadre_template() -> Ledger:
    """The roster counties fill in: headers, one example row, and the rules on a second sheet."""
    notes = [
        "干部名册导入说明",
        "每行一名干部。必填列：" + "、".join(f.header for f in CADRE_FIELDS if f.required) + "。",
        "职级填：" + "、".join(RANK_LABELS.values()) + "。乡镇代码为 9 位统计用区划代码，可不填。",
        "联系电话用于结对名单中指认干部，本县在岗干部之间不能重复。",
        "只要有一行有误，整个文件都不会导入；请按错误报告逐行修改后重新上传。重复上传同一文件不会重复登记。",
    ]
    return _template("干部名册导入模板", CADRE_FIELDS, notes)


def pairing_template() -> Ledger:
    notes = [
        "结对名单导入说明",
        "每行一对：一名干部与一户。必填列：" + "、".join(f.header for f in PAIRING_FIELDS if f.required) + "。",
        "干部电话为干部名册中的联系电话（也可改填干部台账中的“干部编号”）；农户编号见农户台账中的“户编号”。",
        "结对日期如 2026-03-01；走访频次可填：" + "、".join(CADENCE_LABELS.values()) + "，不填按本县规则。",
        "只要有一行有误，整个文件都不会导入；请按错误报告逐行修改后重新上传。重复上传同一文件不会重复结对。",
    ]
    return _template("结对名单导入模板", PAIRING_FIELDS, notes)


def _template(title: str, fields: tuple[ImportField, ...], notes: list[str]) -> Ledger:
    columns = [Column(spec.key, spec.header, spec.width) for spec in fields]
    return Ledger(title, columns, [{spec.key: spec.example for spec in fields}], notes)


__all__ = ["ImportRejected", "RowError", "cadre_template", "pairing_template", "parse_cadres", "parse_pairings",
           "read_cadres", "read_pairings", "resolve_pairings"]
