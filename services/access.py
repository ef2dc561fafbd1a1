"""Access to one household's data (PIPL art. 45): everything the county keeps about it, decoded, for
`GET /api/v1/households/{id}/export` as JSON or as an XLSX workbook.

- `household`: its record as it stands, personal fields opened (`County.household`);
- `history`: every event of the household itself (registered, relocated, retagged, archived), its
  sealed fields opened;
- `visits`: its check-ins (not voided) with their verdicts, the cadre's name, topics and note;
- `issues`: the issues raised about it with their handling, summaries, resolutions and replies opened.

The check-ins and issues are found through the read models (`projections.verdicts.checkins`,
`projections.issues.of_household`): O(the household's records). Once the household is erased every
sealed text reads as None (已删除 in the workbook); what remains is what erasure leaves.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from services.domain.cadre import Cadre
from services.domain.issue import Issue
from services.domain.visit import Visit
from services.ledger import Column, Ledger, to_xlsx_book
from services.personal import ERASED_LABEL, TOKEN_PREFIX, open_free_text, open_personal
from services.vocabulary import labels


def household_data(county: Any, household_id: UUID, checkins: list[dict[str, Any]],
                   issue_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The household's data decoded (sync: run in a thread); NotFound for an unknown household.
    `checkins` and `issue_rows` are its rows of the read models."""
    record = county.household(household_id)
    key = county.keys.get(household_id)
    loaded = county.load_many([row["visit_id"] for row in checkins] + [row["issue_id"] for row in issue_rows])
    cadres = county.load_many({visit.cadre_id for visit in loaded.values() if isinstance(visit, Visit)})
    return {
        "household": record,
        "history": [_change(event, key, household_id) for event in _events(county, household_id)],
        "visits": [_visit(row, loaded.get(row["visit_id"]), cadres, key, household_id) for row in checkins],
        "issues": [_issue(row, loaded.get(row["issue_id"]), key, household_id) for row in issue_rows],
    }


def _events(county: Any, household_id: UUID) -> list[Any]:
    return [county.mapper.to_domain_event(stored) for stored in county.recorder.select_events(household_id)]


def _change(event: Any, key: bytes | None, household_id: UUID) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in vars(event).items():
        if name in ("originator_id", "originator_version", "timestamp"):
            continue
        if name == "personal":
            opened = open_personal(value, key, household_id) if key is not None else None
            fields.update({"head_name": opened and opened.head_name, "phone": opened and opened.phone,
                           "notes": opened and opened.notes})
        elif isinstance(value, str) and (value.startswith(TOKEN_PREFIX) or name in ("address", "reason")):
            fields[name] = open_free_text(value, key, household_id)
        else:
            fields[name] = value
    return {"event": type(event).__name__, "version": event.originator_version, "at": event.timestamp,
            "fields": fields}


def _visit(row: dict[str, Any], visit: Any, cadres: dict[UUID, Any], key: bytes | None,
           household_id: UUID) -> dict[str, Any]:
    cadre = cadres.get(row["cadre_id"])
    return {
        **row,
        "cadre_name": cadre.name if isinstance(cadre, Cadre) else None,
        "topics": list(visit.topics) if isinstance(visit, Visit) else [],
        "note": open_free_text(visit.note, key, household_id) if isinstance(visit, Visit) else None,
    }


def _issue(row: dict[str, Any], issue: Any, key: bytes | None, household_id: UUID) -> dict[str, Any]:
    texts: dict[str, str | None] = {"summary": None, "resolution": None, "reply": None, "satisfaction": None}
    if isinstance(issue, Issue):
        texts = {"summary": open_free_text(issue.summary, key, household_id),
                 "resolution": open_free_text(issue.resolution, key, household_id),
                 "reply": open_free_text(issue.last_reply, key, household_id),
                 "satisfaction": issue.satisfaction}
    return {**row, **texts}


# ---- the workbook -------------------------------------------------------------------------------------------


def _label(group: str) -> Any:
    names = labels(group)
    return lambda code: names.get(code, code)


def _shown(value: Any) -> Any:
    return ERASED_LABEL if value is None else value


RECORD_FIELDS = [
    ("id", "户编号"), ("head_name", "户主姓名"), ("phone", "联系电话"), ("notes", "备注"), ("address", "地址"),
    ("village", "村(社区)代码"), ("township", "乡镇代码"), ("lat", "纬度"), ("lon", "经度"), ("tags", "户类别"),
    ("size", "家庭人口"), ("archived", "已归档"), ("erased", "个人信息已删除"),
]
PERSONAL = {"head_name", "phone", "notes", "address"}
VISIT_COLUMNS = [
    Column("visit_id", "走访编号", 38), Column("occurred_at", "走访时间", 17), Column("kind", "走访方式", 10,
                                                                                   _label("visit_kind")),
    Column("cadre_name", "干部", 10), Column("topics", "话题", 20), Column("note", "走访备注", 40),
    Column("verified", "已核验", 8), Column("distance_m", "距离(米)", 10),
]
ISSUE_COLUMNS = [
    Column("issue_id", "问题编号", 38), Column("occurred_at", "提出时间", 17), Column("category", "类别", 10),
    Column("summary", "问题描述", 40), Column("state", "办理环节", 10, _label("issue_state")),
    Column("route", "办理方式", 10, _label("issue_route_short")), Column("department", "责任部门", 14),
    Column("deadline", "办结期限", 12), Column("resolution", "办理结果", 40), Column("reply", "答复", 40),
    Column("satisfaction", "满意度", 10, _label("satisfaction")),
]
HISTORY_COLUMNS = [
    Column("version", "版本", 6), Column("at", "时间", 17), Column("event", "变更", 12), Column("fields", "内容", 80),
]


def workbook(data: dict[str, Any]) -> bytes:
    """The household's data as an XLSX workbook: its record, visits, issues and history, one sheet each."""
    record = data["household"]
    erased = record["erased"]
    rows = [{"field": header, "value": _shown(record[key]) if erased and key in PERSONAL else record[key]}
            for key, header in RECORD_FIELDS]

    def texts(item: dict[str, Any], *keys: str) -> dict[str, Any]:
        return {**item, **{k: _shown(item[k]) for k in keys}} if erased else item

    return to_xlsx_book([
        Ledger("户基本信息", [Column("field", "项目", 16), Column("value", "内容", 50)], rows),
        Ledger("走访记录", VISIT_COLUMNS, [texts(v, "note") for v in data["visits"]]),
        Ledger("问题诉求", ISSUE_COLUMNS, [texts(i, "summary", "resolution", "reply") for i in data["issues"]]),
        Ledger("变更记录", HISTORY_COLUMNS, [
            {**change, "fields": json.dumps(change["fields"], ensure_ascii=False, default=_text)}
            for change in data["history"]]),
    ])


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
