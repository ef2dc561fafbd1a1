"""Numbers are numbers: a JSON `true` or a string in a number field of any command (and a number or a
string in a true/false field) is refused naming the field, by sync and by the command's own endpoint,
and nothing is stored. Lax parsing once stored `"lat": true` as latitude 1.0.

The fields are found by looking at the command models, so a number added to a command is covered here
without a line of this file changing (its command needs a valid payload below, or the first test fails).
"""
from __future__ import annotations

import types
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from services.api.routing import ApiRoute
from services.domain import commands as c
from services.storage.database import connect

from .conftest import COUNTY_A, DEPARTMENT, Api

PLACE = {"village": "910001001001", "township": "910001001", "address": "二组 8 号", "lat": 18.6, "lon": 109.7}
POSITION = {"lat": 18.64, "lon": 109.70, "accuracy_m": 12.0, "provider": "gps", "is_mock": False}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _schedule(api: Api) -> str:
    return str(api._applied(api.execute(COUNTY_A, c.SetReceptionSchedule(
        command_id=uuid.uuid4(), rank="staff", place="联系点", cadence="weekly", day=3, starts_on="2026-01-01"))))

# A valid payload of every command that has a number or true/false field, on real objects of county A.
VALID: dict[str, Callable[[Api], dict[str, Any]]] = {
    "register_household": lambda api: {**PLACE, "size": 4, "head_name": "黄某"},
    "relocate_household": lambda api: {**PLACE, "household_id": str(api.household()), "expected_version": 1},
    "retag_household": lambda api: {"household_id": str(api.household()), "expected_version": 1, "tags": []},
    "archive_household": lambda api: {"household_id": str(api.household()), "expected_version": 1, "reason": "迁出"},
    "change_rank": lambda api: {"cadre_id": str(api.cadre()), "expected_version": 1, "rank": "section_chief"},
    "transfer_cadre": lambda api: {"cadre_id": str(api.cadre()), "expected_version": 1, "unit": "县民政局"},
    "depart_cadre": lambda api: {"cadre_id": str(api.cadre()), "expected_version": 1, "reason": "退休"},
    "end_pairing": lambda api: {"pairing_id": str(api.pairing()), "expected_version": 1, "reason": "脱贫",
                                "ended_on": "2026-06-01"},
    "check_in": lambda api: {"target_kind": "household", "target_id": str(api.household()), "kind": "home",
                             "occurred_at": _now(), "position": POSITION},
    "void_visit": lambda api: {"visit_id": str(api.visit()), "expected_version": 1, "reason": "误录"},
    # cadre to leader: a staff cadre "leading" an interview would count as a rank mismatch in county A
    "hold_interview": lambda api: {"interviewee_id": str(api.cadre()), "form": "one_on_one",
                                   "direction": "cadre_to_leader", "opinions_count": 2, "follow_up": True,
                                   "occurred_at": _now()},
    "route_issue": lambda api: {"issue_id": str(api.issue()), "expected_version": 1, "route": "monthly_review"},
    "resolve_issue": lambda api: {"issue_id": str(api.issue(department=DEPARTMENT)), "expected_version": 2,
                                  "resolution": "已修复"},
    "reply_issue": lambda api: {"issue_id": _resolved_issue(api), "expected_version": 3, "reply": "已答复"},
    "rate_issue": lambda api: {"issue_id": _resolved_issue(api), "expected_version": 3, "satisfaction": "satisfied"},
    "reopen_issue": lambda api: {"issue_id": _resolved_issue(api), "expected_version": 3, "reason": "又塌了"},
    "decide_issue": lambda api: {"issue_id": _issue_on_the_agenda(api), "expected_version": 2,
                                 "month": datetime.now(UTC).strftime("%Y-%m"), "department": DEPARTMENT,
                                 "decision": "限期办结", "deadline": "2099-12-31"},
    "propose_household": lambda api: {**PLACE, "size": 2, "head_name": "申报某", "occurred_at": _now()},
    "set_reception_schedule": lambda api: {"cadre_id": str(api.cadre()), "place": "接访室", "cadence": "monthly",
                                           "day": 10, "starts_on": "2026-01-01"},
    "revise_reception_schedule": lambda api: {"schedule_id": _schedule(api), "expected_version": 1,
                                              "rank": "staff", "place": "联系点", "cadence": "weekly", "day": 4,
                                              "from_on": "2099-01-01"},
    "end_reception_schedule": lambda api: {"schedule_id": _schedule(api), "expected_version": 1,
                                           "ends_on": "2026-12-31"},
    "record_reception": lambda api: {"receiver_id": str(api.cadre()), "occurred_at": _now(), "place": "接访室",
                                     "residents": 3},
    "register_target": lambda api: {"kind": "party_branch", "name": "某村党支部", "township": "910001001",
                                    "lat": 18.6, "lon": 109.7, "weak": True},
    "revise_target": lambda api: {"target_id": _target(api), "expected_version": 1, "name": "某企业",
                                  "township": "910001001", "lat": 18.6, "lon": 109.7},
    "archive_target": lambda api: {"target_id": _target(api), "expected_version": 1, "reason": "已注销"},
    "confirm_proposal": lambda api: {"proposal_id": _proposal(api), "expected_version": 1},
    "merge_proposal": lambda api: {"proposal_id": _proposal(api), "expected_version": 1,
                                   "household_id": str(api.household())},
    "refuse_proposal": lambda api: {"proposal_id": _proposal(api), "expected_version": 1, "reason": "重复申报"},
    "enter_assessment_score": lambda api: {"cadre_id": str(api.cadre()), "period": "2026", "part": "poll",
                                           "score": 90},
}


def _target(api: Api) -> str:
    return str(api._applied(api.execute(COUNTY_A, c.RegisterTarget(
        command_id=uuid.uuid4(), kind="enterprise", name="某企业", township="910001001"))))


def _resolved_issue(api: Api) -> str:
    issue_id = api.issue(department=DEPARTMENT)
    api.execute(COUNTY_A, c.ResolveIssue(command_id=uuid.uuid4(), issue_id=issue_id, expected_version=2,
                                         resolution="已修复"))
    return str(issue_id)


def _issue_on_the_agenda(api: Api) -> str:
    issue_id = api.issue()
    api.execute(COUNTY_A, c.RouteIssue(command_id=uuid.uuid4(), issue_id=issue_id, expected_version=1,
                                       route="monthly_review"))
    return str(issue_id)


def _proposal(api: Api) -> str:
    outcome = api.county_apps.get(COUNTY_A).execute(c.ProposeHousehold(
        command_id=uuid.uuid4(), **PLACE, size=2, head_name="申报某", occurred_at=datetime.now(UTC)),
        api.cadre_actor())
    assert outcome.status == "applied", outcome
    return outcome.result["id"]


FIELD_WORK = {"check_in", "hold_interview", "propose_household"}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds (`Position | None` holds Position)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        return next((m for a in get_args(annotation) if (m := _model_in(a)) is not None), None)
    return None


def _typed_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, type]]:
    """Every (dotted path, type) of a number or true/false field, nested models included."""
    for name, info in model.model_fields.items():
        if info.annotation in (int, float, bool):
            yield prefix + name, info.annotation
        elif (inner := _model_in(info.annotation)) is not None:
            yield from _typed_fields(inner, f"{prefix}{name}.")


def _wrong_values(kind: type) -> list[Any]:
    # A number field refuses true/false and a string of a number; a true/false field a number and a string.
    return [1, "true"] if kind is bool else [True, False, "12"]


CASES = [(name, path, wrong) for name, model in c.COMMANDS.items()
         for path, kind in _typed_fields(model) for wrong in _wrong_values(kind)]


def _with(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {**payload, head: _with(payload[head], rest, value) if rest else value}


def _events(database_url: str) -> int:
    with connect(database_url) as conn:
        return conn.execute(f"SELECT count(*) FROM county_{COUNTY_A}.county_events").fetchone()[0]


async def _sender(api: Api, command: str) -> Any:
    # Field work is the cadre's own (an admin account has no cadre to check in as).
    return await api.client("cadre" if command in FIELD_WORK else "county_admin")


def _endpoint_of(app: Any, command: str) -> ApiRoute | None:
    return next((r for r in app.routes if isinstance(r, ApiRoute) and r.operation.method == "POST"
                 and r.operation.handler.__name__ == command), None)


def test_every_command_with_a_number_or_true_false_field_has_a_valid_payload_here():
    assert {name for name, _, _ in CASES} <= set(VALID)
    assert ("check_in", "position.lat", True) in CASES  # nested fields are found


@pytest.mark.parametrize("command", sorted(VALID))
async def test_the_valid_payloads_are_applied(api, command):
    """The refusals below are for the wrong value alone: the same payload with the right one applies."""
    entry = {"id": str(uuid.uuid4()), "type": command, "payload": VALID[command](api)}
    [result] = (await (await _sender(api, command)).post("/api/v1/sync", json={"commands": [entry]})).json()["results"]
    assert result["status"] == "applied", result


@pytest.mark.parametrize("command, path, wrong", CASES, ids=[f"{n}-{p}-{w!r}" for n, p, w in CASES])
async def test_a_wrong_type_in_a_number_or_true_false_field_is_refused_naming_it_and_nothing_is_stored(
        api, api_app, database_url, command, path, wrong):
    sender = await _sender(api, command)
    payload = VALID[command](api)
    bad = _with(payload, path, wrong)
    before = _events(database_url)

    entry = {"id": str(uuid.uuid4()), "type": command, "payload": bad}
    [result] = (await sender.post("/api/v1/sync", json={"commands": [entry]})).json()["results"]
    assert result["status"] == "rejected", result
    assert [e["field"] for e in result["errors"]] == [path]
    assert result["reason"]["zh"].startswith(f"{path}：")

    route = _endpoint_of(api_app, command)
    target = getattr(c.COMMANDS[command], "target", None)
    if route is not None:
        url = "/api/v1" + route.operation.path.replace(f"{{{target}:uuid}}", str(payload.get(target)))
        body = {key: value for key, value in bad.items() if key != target}
        response = await sender.post(url, json=body)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == [path]

    assert _events(database_url) == before


@pytest.mark.parametrize("column", [5, 6, 7])  # 纬度, 经度, 人口
async def test_an_import_with_true_false_in_a_number_column_is_refused_naming_the_row_and_column(
        api, database_url, column):
    from .test_imports import HEADER, household_rows, xlsx_file

    [row] = household_rows("真假", 1)
    row[column] = True  # an Excel TRUE cell
    before = _events(database_url)
    response = await (await api.client("county_admin")).post(
        "/api/v1/households/import", files={"file": ("民情档案.xlsx", xlsx_file([row]), "application/octet-stream")})
    assert response.status_code == 422, response.text
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(2, HEADER[column])]
    assert _events(database_url) == before
