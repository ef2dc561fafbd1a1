"""Commands: every command's accepted path, and each validation rejection with a bilingual message."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.domain import InvalidCommand, clock
from services.domain.commands import COMMANDS, parse_command

NOW = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
ID = str(uuid4())
VALID: dict[str, dict] = {
    "register_household": {"village": "469029100001", "township": "469029100", "address": "保城镇新民村3组",
                           "lat": 18.64, "lon": 109.70, "tags": ["hardship_resident"], "size": 4,
                           "head_name": "黄阿妹", "phone": "13800000000", "notes": "独居老人"},
    "relocate_household": {"household_id": ID, "expected_version": 1, "village": "469029100002",
                           "township": "469029100", "address": "新址", "lat": 18.6, "lon": 109.7},
    "retag_household": {"household_id": ID, "expected_version": 2, "tags": ["disabled"]},
    "archive_household": {"household_id": ID, "expected_version": 3, "reason": "户已迁出"},
    "enrol_cadre": {"name": "王小明", "rank": "staff", "unit": "县委组织部", "township": "469029100"},
    "change_rank": {"cadre_id": ID, "expected_version": 1, "rank": "section_chief"},
    "transfer_cadre": {"cadre_id": ID, "expected_version": 1, "unit": "什玲镇党委", "township": "469029101"},
    "depart_cadre": {"cadre_id": ID, "expected_version": 1, "reason": "调离"},
    "form_pairing": {"cadre_id": ID, "target_kind": "household", "target_id": ID, "programme": "结穷亲",
                     "formed_on": "2026-01-10"},
    "end_pairing": {"pairing_id": ID, "expected_version": 1, "reason": "已脱贫", "ended_on": "2026-06-30"},
    "check_in": {"target_kind": "household", "target_id": ID, "kind": "home",
                 "occurred_at": "2026-03-05T09:30:00+08:00",
                 "position": {"lat": 18.64, "lon": 109.70, "accuracy_m": 12.5, "provider": "gps", "is_mock": False},
                 "topics": ["医保"], "note": "了解看病难问题", "companions": [ID]},
    "void_visit": {"visit_id": ID, "expected_version": 1, "reason": "误操作"},
    "hold_interview": {"interviewee_id": ID, "form": "one_on_one", "direction": "leader_to_cadre",
                       "topics": ["health", "family", "health"], "opinions_count": 2, "follow_up": True,
                       "occurred_at": "2026-03-03T10:00:00+08:00", "note": "谈心谈话"},
    "raise_issue": {"source_kind": "visit", "source_id": ID, "household_id": ID, "village": "469029100001",
                    "category": "医疗", "summary": "村卫生室缺药", "occurred_at": "2026-03-05T09:40:00+08:00"},
    "route_issue": {"issue_id": ID, "expected_version": 1, "route": "department", "department": "县卫健委",
                    "deadline": "2026-03-20"},
    "resolve_issue": {"issue_id": ID, "expected_version": 2, "resolution": "已补充药品"},
    "reply_issue": {"issue_id": ID, "expected_version": 3, "reply": "已电话答复"},
    "rate_issue": {"issue_id": ID, "expected_version": 4, "satisfaction": "satisfied"},
    "reopen_issue": {"issue_id": ID, "expected_version": 5, "reason": "群众反映仍缺药"},
    "propose_household": {"village": "469029100001", "township": "469029100", "address": "新民村5组",
                          "lat": 18.64, "lon": 109.70, "tags": ["empty_nest_elderly"], "size": 1,
                          "head_name": "符阿婆", "occurred_at": "2026-03-05T09:30:00+08:00"},
    "confirm_proposal": {"proposal_id": ID, "expected_version": 1},
    "merge_proposal": {"proposal_id": ID, "expected_version": 1, "household_id": ID},
    "refuse_proposal": {"proposal_id": ID, "expected_version": 1, "reason": "已在册"},
    "define_campaign": {"festival": "spring_festival", "starts_on": "2027-01-28", "ends_on": "2027-02-12",
                        "tags": ["left_behind_child", "empty_nest_elderly", "left_behind_child"]},
    "decide_issue": {"issue_id": ID, "expected_version": 2, "month": "2026-03", "department": "zhujian",
                     "decision": "两周内修缮", "deadline": "2026-03-31"},
    "record_minutes": {"month": "2026-03", "minutes": "会议研究了三个问题。\n住建局负责危房。",
                       "attendees": ["张部长"]},
    "register_target": {"kind": "party_branch", "name": "什聘村党支部", "township": "469029100",
                        "village": "469029100201", "lat": 18.64, "lon": 109.70, "weak": True},
    "revise_target": {"target_id": ID, "expected_version": 1, "name": "什聘村党支部", "township": "469029100"},
    "archive_target": {"target_id": ID, "expected_version": 2, "reason": "村改居后撤并"},
    "set_reception_schedule": {"rank": "village_cadre", "place": "村委会", "cadence": "weekly", "day": 1,
                               "starts_on": "2026-01-01"},
    "revise_reception_schedule": {"schedule_id": ID, "expected_version": 1, "cadre_id": ID, "place": "联系点",
                                  "cadence": "monthly", "day": 20, "from_on": "2026-06-01"},
    "end_reception_schedule": {"schedule_id": ID, "expected_version": 1, "ends_on": "2026-12-31"},
    "record_reception": {"occurred_at": "2026-03-05T10:00:00+08:00", "place": "县委组织部接访室", "residents": 4,
                         "issues": [{"category": "道路", "summary": "村道坑洼", "village": "469029100201"}]},
    "assign_topic": {"title": "农村电商发展调研", "assignee_ids": [ID], "due_on": "2026-06-30"},
    "enter_assessment_score": {"cadre_id": ID, "period": "2026-Q1", "part": "evaluation", "score": 92},
    "file_report": {"topic_id": ID, "title": "关于农村电商的调研报告", "summary": "走访了三个村。\n建议建设物流点。",
                    "visit_ids": [ID], "issue_ids": [ID], "occurred_at": "2026-03-05T10:00:00+08:00"},
}


def parse(type_name: str, **changes):
    payload = {**VALID[type_name], **changes}
    payload = {k: v for k, v in payload.items() if v is not ...}
    with clock.at(NOW):
        return parse_command(type_name, uuid4(), payload)


def rejection(type_name: str, **changes) -> InvalidCommand:
    with pytest.raises(InvalidCommand) as caught:
        parse(type_name, **changes)
    return caught.value


def test_the_registry_has_every_command_type_of_the_contract():
    assert set(COMMANDS) == set(VALID)


@pytest.mark.parametrize("type_name", sorted(VALID))
def test_each_command_accepts_a_valid_payload(type_name):
    command = parse(type_name)
    assert command.type == type_name


@pytest.mark.parametrize("type_name", sorted(t for t in VALID if "expected_version" in VALID[t]))
def test_commands_on_existing_aggregates_require_a_positive_expected_version(type_name):
    assert rejection(type_name, expected_version=...).context["errors"][0]["field"] == "expected_version"
    assert "expected_version" in rejection(type_name, expected_version=0).en


def test_registering_normalises_tags_to_a_sorted_set():
    command = parse("register_household", tags=["subsistence", "disabled", "subsistence"])
    assert command.tags == ["disabled", "subsistence"]


def test_interview_topics_are_deduplicated():
    assert parse("hold_interview").topics == ["family", "health"]


@pytest.mark.parametrize(("field", "value", "en", "zh"), [
    ("lat", 90.5, "less than or equal to 90", "不能大于 90"),
    ("lat", -91, "greater than or equal to -90", "不能小于 -90"),
    ("lon", 180.1, "less than or equal to 180", "不能大于 180"),
    ("lon", -181, "greater than or equal to -180", "不能小于 -180"),
    ("accuracy_m", -1, "greater than or equal to 0", "不能小于 0"),
    ("lat", float("nan"), "finite number", "有限的数字"),
])
def test_check_in_rejects_impossible_positions(field, value, en, zh):
    position = {**VALID["check_in"]["position"], field: value}
    error = rejection("check_in", position=position)
    assert f"position.{field}" in error.en and en in error.en
    assert zh in error.zh


def test_check_in_accepts_no_position_at_all():
    assert parse("check_in", position=None).position is None


def test_device_time_more_than_ten_minutes_ahead_of_the_clock_is_rejected():
    ahead = (NOW + timedelta(minutes=11)).isoformat()
    error = rejection("check_in", occurred_at=ahead)
    assert "10 minutes in the future" in error.en and "检查手机时间" in error.zh


def test_device_time_up_to_ten_minutes_ahead_is_accepted_as_clock_drift():
    ahead = NOW + timedelta(minutes=9)
    assert parse("check_in", occurred_at=ahead.isoformat()).occurred_at == ahead


@pytest.mark.parametrize("type_name", ["check_in", "hold_interview", "raise_issue"])
def test_device_times_must_carry_a_time_zone(type_name):
    assert "时区" in rejection(type_name, occurred_at="2026-03-05T09:30:00").zh


def test_device_time_before_2000_is_rejected():
    assert "2000" in rejection("check_in", occurred_at="1970-01-01T00:00:00Z").en


@pytest.mark.parametrize(("type_name", "field", "value"), [
    ("check_in", "kind", "karaoke"),
    ("check_in", "target_kind", "alien"),
    ("register_household", "tags", ["rich"]),
    ("enrol_cadre", "rank", "general"),
    ("form_pairing", "cadence", "weekly"),
    ("hold_interview", "form", "email"),
    ("hold_interview", "direction", "sideways"),
    ("hold_interview", "topics", ["gossip"]),
    ("raise_issue", "source_kind", "rumour"),
    ("route_issue", "route", "nowhere"),
    ("rate_issue", "satisfaction", "ecstatic"),
])
def test_unknown_enum_values_are_rejected_with_the_allowed_values(type_name, field, value):
    error = rejection(type_name, **{field: value})
    assert error.context["errors"][0]["field"].startswith(field)
    assert "取值无效" in error.zh


@pytest.mark.parametrize(("type_name", "field", "limit"), [
    ("check_in", "note", 500),
    ("raise_issue", "summary", 500),
    ("register_household", "head_name", 50),
    ("register_household", "notes", 500),
    ("register_household", "address", 100),
    ("enrol_cadre", "name", 50),
    ("hold_interview", "note", 200),
    ("resolve_issue", "resolution", 500),
    ("reply_issue", "reply", 500),
    ("archive_household", "reason", 200),
])
def test_texts_longer_than_their_limit_are_rejected(type_name, field, limit):
    assert getattr(parse(type_name, **{field: "字" * limit}), field) == "字" * limit
    error = rejection(type_name, **{field: "字" * (limit + 1)})
    assert f"不能超过 {limit} 个字" in error.zh and field in error.en


@pytest.mark.parametrize(("type_name", "field"), [
    ("register_household", "head_name"), ("register_household", "address"), ("enrol_cadre", "name"),
])
def test_one_line_texts_refuse_line_breaks_and_control_characters(type_name, field):
    for bad in ("王\n五", "王\t五", "王\x1f五", "王\x7f五"):
        error = rejection(type_name, **{field: bad})
        assert "不能含有换行或控制字符" in error.zh and field in error.en


@pytest.mark.parametrize(("type_name", "field"), [
    ("check_in", "note"), ("raise_issue", "summary"), ("resolve_issue", "resolution"), ("archive_household", "reason"),
])
def test_free_texts_may_break_lines_but_refuse_other_control_characters(type_name, field):
    assert getattr(parse(type_name, **{field: "第一行\n第二行\t完"}), field) == "第一行\n第二行\t完"
    error = rejection(type_name, **{field: "响铃\x07"})
    assert "不能含有控制字符" in error.zh and field in error.en


@pytest.mark.parametrize(("type_name", "field"), [
    ("register_household", "head_name"),
    ("raise_issue", "summary"),
    ("enrol_cadre", "name"),
    ("depart_cadre", "reason"),
])
def test_required_texts_cannot_be_blank(type_name, field):
    assert "不能为空" in rejection(type_name, **{field: "   "}).zh


@pytest.mark.parametrize(("type_name", "field"), [
    ("register_household", "village"), ("register_household", "size"), ("check_in", "kind"),
    ("check_in", "occurred_at"), ("raise_issue", "village"), ("enrol_cadre", "rank"), ("form_pairing", "formed_on"),
])
def test_missing_required_fields_are_named(type_name, field):
    error = rejection(type_name, **{field: ...})
    assert error.context["errors"] == [{"field": field, "zh": f"{field}：必须填写", "en": f"{field}: Field required"}]


def test_unknown_fields_are_rejected():
    assert "不是这个操作的字段" in rejection("enrol_cadre", salary=1).zh


@pytest.mark.parametrize(("field", "value", "message"), [
    ("village", "46902910001", "12-digit village code"),
    ("township", "4690291", "9-digit township code"),
    ("village", "469029200001", "does not belong to the township"),
    ("phone", "call me", "not a phone number"),
    ("size", 0, "greater than or equal to 1"),
    ("size", 31, "less than or equal to 30"),
])
def test_household_registration_checks_codes_phone_and_size(field, value, message):
    assert message in rejection("register_household", **{field: value}).en


@pytest.mark.parametrize("type_name", ["check_in", "form_pairing"])
def test_a_household_target_must_be_a_household_id(type_name):
    assert "household's id" in rejection(type_name, target_id="黄家").en


def test_other_targets_take_a_free_code():
    assert parse("check_in", target_kind="enterprise", target_id="EN-0042").target_id == "EN-0042"


@pytest.mark.parametrize("missing", ["department", "deadline"])
def test_a_department_route_needs_a_department_and_a_deadline(missing):
    error = rejection("route_issue", **{missing: None})
    assert error.en == "a department route needs a department and a deadline"
    assert error.zh == "转办到职能部门必须填写部门和办结期限"


def test_other_routes_need_no_department():
    assert parse("route_issue", route="monthly_review", department=None, deadline=None).route == "monthly_review"


def test_opinion_counts_cannot_be_negative():
    assert "不能小于 0" in rejection("hold_interview", opinions_count=-1).zh


def test_too_many_companions_are_rejected():
    assert "最多 10 项" in rejection("check_in", companions=[str(uuid4()) for _ in range(11)]).zh


def test_ids_must_be_uuids():
    assert "UUID" in rejection("void_visit", visit_id="visit-1").zh


def test_dates_must_be_iso_dates():
    assert "YYYY-MM-DD" in rejection("end_pairing", ended_on="30/06/2026").zh


def test_every_problem_is_reported_at_once():
    error = rejection("check_in", kind="karaoke", note="字" * 501, occurred_at=...)
    assert [e["field"] for e in error.context["errors"]] == ["kind", "occurred_at", "note"]


def test_an_unknown_command_type_is_rejected():
    with pytest.raises(InvalidCommand) as caught:
        parse_command("delete_everything", uuid4(), {})
    assert caught.value.reason == {"zh": "未知的操作类型：delete_everything",
                                   "en": "Unknown command type: delete_everything"}


def test_a_command_type_that_is_not_text_is_unknown():
    with pytest.raises(InvalidCommand, match="Unknown command type"):
        parse_command(["check_in"], uuid4(), {})


def test_a_payload_may_repeat_its_own_command_id_in_any_case():
    command_id = uuid4()
    payload = {**VALID["enrol_cadre"], "command_id": str(command_id).upper()}
    assert parse_command("enrol_cadre", command_id, payload).command_id == command_id


def test_a_payload_must_be_an_object():
    with pytest.raises(InvalidCommand, match="JSON object"):
        parse_command("enrol_cadre", uuid4(), ["王小明"])


def test_a_payload_cannot_name_another_command_id():
    with pytest.raises(InvalidCommand, match="differs"):
        parse_command("enrol_cadre", uuid4(), {**VALID["enrol_cadre"], "command_id": str(uuid4())})


def test_the_command_id_must_be_a_uuid():
    with pytest.raises(InvalidCommand) as caught:
        parse_command("enrol_cadre", "not-a-uuid", VALID["enrol_cadre"])
    assert caught.value.context["errors"][0]["field"] == "command_id"


def test_a_campaign_keeps_its_tags_as_a_sorted_set_and_may_last_one_day():
    assert parse("define_campaign").tags == ["empty_nest_elderly", "left_behind_child"]
    assert parse("define_campaign", ends_on="2027-01-28").ends_on.isoformat() == "2027-01-28"


def test_a_campaign_window_ending_before_it_starts_is_rejected_naming_ends_on():
    problem = rejection("define_campaign", ends_on="2027-01-27")
    assert [e["field"] for e in problem.context["errors"]] == ["ends_on"]
    assert "ends_on: ends before the window starts (2027-01-28)" in problem.en
    assert "不能早于开始日期 2027-01-28" in problem.zh


@pytest.mark.parametrize(("field", "value"), [("tags", []), ("tags", ["orphan"]), ("festival", "christmas"),
                                              ("starts_on", "2027-02-30")])
def test_a_campaign_needs_a_known_festival_real_dates_and_some_known_tags(field, value):
    problem = rejection("define_campaign", **{field: value})
    assert problem.context["errors"][0]["field"].split(".")[0] == field


def test_a_target_is_placed_in_a_village_of_its_township_with_both_coordinates_or_neither():
    for changes, problem in (({"village": "469029101201"}, "村代码不属于所选乡镇"), ({"lon": None}, "经纬度须同时填写"),
                             ({"kind": "enterprise"}, "只有党支部可以标记为软弱涣散")):
        with pytest.raises(InvalidCommand) as error:
            parse("register_target", **changes)
        assert problem in error.value.zh
    assert parse("register_target", village=None, lat=None, lon=None).village is None


@pytest.mark.parametrize(("type_name", "changes", "field"), [
    ("assign_topic", {"assignee_ids": []}, "assignee_ids"),
    ("assign_topic", {"assignee_ids": [str(uuid4()) for _ in range(21)]}, "assignee_ids"),
    ("assign_topic", {"title": "  "}, "title"),
    ("assign_topic", {"due_on": "2026-02-30"}, "due_on"),
    ("file_report", {"summary": "x" * 5001}, "summary"),
    ("file_report", {"visit_ids": ["V1"]}, "visit_ids.0"),
    ("file_report", {"title": ...}, "title"),
])
def test_research_commands_name_the_field_in_both_languages(type_name, changes, field):
    error = rejection(type_name, **changes)
    assert [e["field"] for e in error.context["errors"]] == [field]
    assert error.zh.startswith(f"{field}：") and error.en.startswith(f"{field}: ")


def test_a_team_is_a_set_of_cadres():
    other = str(uuid4())
    assert parse("assign_topic", assignee_ids=[other, ID, other]).assignee_ids == sorted({UUID(ID), UUID(other)})


@pytest.mark.parametrize(("changes", "field"), [
    ({"score": 101}, "score"), ({"score": True}, "score"), ({"period": "2026-03"}, "period"),
    ({"period": "1999"}, "period"), ({"part": "results"}, "part"),
])
def test_an_assessment_score_is_0_to_100_for_a_year_or_quarter(changes, field):
    error = rejection("enter_assessment_score", **changes)
    assert [e["field"] for e in error.context["errors"]] == [field]
    assert parse("enter_assessment_score", period="2026-q3").period == "2026-Q3"
