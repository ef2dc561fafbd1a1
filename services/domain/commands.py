"""Commands: what a user asks the County to do, as pydantic models with clear messages.

Every command has a client-made `command_id` (the idempotency key; for things made on a phone it is
also the new aggregate's id). Commands on existing aggregates carry the `expected_version` the client
last saw. `COMMANDS` maps the sync `type` to its model; `parse_command` turns a sync entry into a
command or an `InvalidCommand` whose message names every problem in Chinese and English.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from annotated_types import GroupedMetadata

from pydantic import (
    AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints,
    ValidationError, ValidationInfo, field_validator, model_validator,
)
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from services.domain import clock
from services.domain.errors import InvalidCommand, shown
from services.domain.reception import ReceptionCadence
from services.domain.values import (
    Cadence, Festival, HouseholdTag, InterviewDirection, InterviewForm, IssueRoute, IssueSource, MustTalkTopic, Rank,
    RegisterKind, Satisfaction, TargetKind, VisitKind,
)

DEVICE_CLOCK_TOLERANCE = timedelta(minutes=10)
EARLIEST_DEVICE_TIME = datetime.fromisoformat("2000-01-01T00:00:00+00:00")


def _problem(code: str, en: str, zh: str) -> PydanticCustomError:
    # The Chinese text rides in the error's context; `explain` below picks it up.
    return PydanticCustomError(code, en, {"zh": zh})


def _device_time(value: datetime) -> datetime:
    if value > clock.now() + DEVICE_CLOCK_TOLERANCE:
        raise _problem(
            "device_time_in_future", "is more than 10 minutes in the future: check the phone's clock",
            "比当前时间晚了 10 分钟以上，请检查手机时间",
        )
    if value < EARLIEST_DEVICE_TIME:
        raise _problem("device_time_too_early", "is before the year 2000: check the phone's clock",
                       "早于 2000 年，请检查手机时间")
    return value


class Stated:
    """JSON Schema keywords saying what a validator beside it checks: pydantic cannot see inside an
    AfterValidator, and the OpenAPI document must state every limit the server enforces."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __hash__(self) -> int:  # Annotated metadata must hash (typing deduplicates unions)
        return hash(tuple(sorted(self.keywords.items())))

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        return {**handler(schema), **self.keywords}


class _Checks(GroupedMetadata):
    """Several constraints as one `Annotated` item (pydantic unpacks it), so a text or code type is
    `Annotated[str, _text(…)]`, a form the type checker reads as well."""

    def __init__(self, *checks: Any) -> None:
        self.checks = checks

    def __iter__(self) -> Iterator[Any]:
        return iter(self.checks)

    def __hash__(self) -> int:  # Annotated metadata must hash (typing deduplicates unions)
        return hash(self.checks)


def _digits(count: int, en_name: str, zh_name: str) -> _Checks:
    pattern = re.compile(rf"\d{{{count}}}")

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise _problem("bad_code", f"must be a {count}-digit {en_name} code", f"必须是 {count} 位{zh_name}代码")
        return value
    return _Checks(AfterValidator(check), Stated(pattern=rf"^\d{{{count}}}$"))


WHITE_SPACE = r"\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"  # with \t-\r (controls)


def _text(max_length: int, *, lines: bool = False, blank: bool = False) -> _Checks:
    """Text from phones and spreadsheets, stripped: it ends up in ledgers (XLSX cannot hold control
    characters) and on screens, so one-line text takes none and free text (`lines`) may break lines and
    nothing else; unless `blank`, something must be left after stripping."""
    banned = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f" if lines else r"\x00-\x1f\x7f"
    en, zh = ("control characters", "控制字符") if lines else ("line breaks or control characters", "换行或控制字符")
    characters = re.compile(f"[{banned}]")

    def check(value: str) -> str:
        if characters.search(value):
            raise _problem("control_character", f"may not contain {en}", f"不能含有{zh}")
        return value
    allowed = f"[^{banned}]"
    # The schema's pattern sees the text before stripping: blank text is control characters and the
    # spaces stripping removes (Unicode White_Space, spelled out: regex dialects disagree on `\s`).
    pattern = f"^{allowed}*$" if blank else rf"^{allowed}*[^\x00-\x1f\x7f{WHITE_SPACE}]{allowed}*$"
    length = StringConstraints(strip_whitespace=True, min_length=None if blank else 1, max_length=max_length)
    return _Checks(length, AfterValidator(check), Stated(pattern=pattern))


def _unique_sorted(values: list[Any]) -> list[Any]:
    return sorted(set(values))


UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# The model validators' rules, stated in JSON Schema for the OpenAPI document (`json_schema_extra`).
HOUSEHOLD_TARGET_IS_AN_ID: JsonDict = {
    "if": {"properties": {"target_kind": {"const": "household"}}, "required": ["target_kind"]},
    "then": {"properties": {"target_id": {"pattern": UUID_PATTERN}}},
}
# A stay (蹲点) counts its days; other kinds take none.
STAY_HAS_DAYS: JsonDict = {
    "if": {"properties": {"kind": {"const": "stay"}}, "required": ["kind"]},
    "then": {"properties": {"days": {"type": "integer"}}, "required": ["days"]},
    "else": {"properties": {"days": {"type": "null"}}},
}
DEPARTMENT_ROUTE_IS_COMPLETE: JsonDict = {
    "if": {"properties": {"route": {"const": "department"}}, "required": ["route"]},
    "then": {"properties": {"department": {"type": "string"}, "deadline": {"type": "string"}},
             "required": ["department", "deadline"]},
}


def _numeric(value: Any) -> Any:
    # pydantic's lax mode reads `true` as 1 and "12" as 12: a phone or script sending either has a bug the
    # county should hear about, not a household placed at latitude 1. (Strict mode would also refuse
    # 512.0 for an integer, which JSON Schema, and so the OpenAPI document, counts as one.)
    if isinstance(value, (bool, str)):
        raise _problem("number_type", "must be a number, not true/false or text", "必须是数字（不能是真假值或文字）")
    return value


Numeric = BeforeValidator(_numeric)


def _phone(value: str) -> str:
    if not re.fullmatch(r"\+?[0-9][0-9 \-]{4,19}", value):
        raise _problem("bad_phone", "is not a phone number", "不是有效的电话号码")
    return value


Name = Annotated[str, _text(50)]
Label = Annotated[str, _text(30)]
Reason = Annotated[str, _text(200, lines=True)]
Summary = Annotated[str, _text(500, lines=True)]
Note = Annotated[str, _text(500, lines=True, blank=True)]
ShortNote = Annotated[str, _text(200, lines=True, blank=True)]
Address = Annotated[str, _text(100)]
Reference = Annotated[str, _text(64)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_phone),
                  Stated(pattern=r"^\+?[0-9][0-9 \-]{4,19}$")]
VillageCode = Annotated[str, _digits(12, "village", "村（社区）")]
TownshipCode = Annotated[str, _digits(9, "township", "乡镇（街道）")]
Lat = Annotated[float, Field(ge=-90, le=90), Numeric]
Lon = Annotated[float, Field(ge=-180, le=180), Numeric]
DeviceTime = Annotated[AwareDatetime, AfterValidator(_device_time)]
Tags = Annotated[list[HouseholdTag], AfterValidator(_unique_sorted)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    type: ClassVar[str]
    command_id: UUID


class ChangeCommand(Command):
    """A command on an existing aggregate: `target` names the field holding its id."""

    target: ClassVar[str]
    expected_version: Annotated[int, Numeric] = Field(ge=1)

    @property
    def aggregate_id(self) -> UUID:
        target: UUID = getattr(self, self.target)
        return target


class _Place(BaseModel):
    village: VillageCode = Field(description="12 digits, beginning with its township's 9")
    township: TownshipCode
    address: Address
    lat: Lat
    lon: Lon

    @model_validator(mode="after")
    def _village_in_township(self) -> _Place:
        # Administrative codes nest: a village's 12 digits begin with its township's 9.
        if not self.village.startswith(self.township):
            raise _problem("village_outside_township", "village: the village code does not belong to the township",
                           "村代码不属于所选乡镇")
        return self


class RegisterHousehold(Command, _Place):
    """The village code begins with the township code (a village's 12 digits start with its township's 9)."""

    type = "register_household"
    tags: Tags = []
    size: Annotated[int, Numeric] = Field(ge=1, le=30)
    head_name: Name
    phone: Phone | None = None
    notes: Note = ""


class ProposeHousehold(Command, _Place):
    """A household missing from the records, as a cadre found it (from the phone, offline too): the county
    office confirms, merges or refuses it. The village code begins with the township code."""

    type = "propose_household"
    tags: Tags = []
    size: Annotated[int, Numeric] = Field(ge=1, le=30)
    head_name: Name
    phone: Phone | None = None
    notes: Note = ""
    occurred_at: DeviceTime


class ConfirmProposal(ChangeCommand):
    """Register the proposed household (its id is the proposal's `household_id`)."""

    type, target = "confirm_proposal", "proposal_id"
    proposal_id: UUID


class MergeProposal(ChangeCommand):
    """The proposed household is one already on record (`household_id`): the proposal closes pointing to it."""

    type, target = "merge_proposal", "proposal_id"
    proposal_id: UUID
    household_id: UUID


class RefuseProposal(ChangeCommand):
    type, target = "refuse_proposal", "proposal_id"
    proposal_id: UUID
    reason: Reason


class RelocateHousehold(ChangeCommand, _Place):
    """The village code begins with the township code (a village's 12 digits start with its township's 9)."""

    type, target = "relocate_household", "household_id"
    household_id: UUID


class RetagHousehold(ChangeCommand):
    type, target = "retag_household", "household_id"
    household_id: UUID
    tags: Tags


class ArchiveHousehold(ChangeCommand):
    type, target = "archive_household", "household_id"
    household_id: UUID
    reason: Reason


class EnrolCadre(Command):
    type = "enrol_cadre"
    name: Name
    rank: Rank
    unit: Name
    township: TownshipCode | None = None
    phone: Phone | None = None


class ChangeRank(ChangeCommand):
    type, target = "change_rank", "cadre_id"
    cadre_id: UUID
    rank: Rank


class TransferCadre(ChangeCommand):
    type, target = "transfer_cadre", "cadre_id"
    cadre_id: UUID
    unit: Name
    township: TownshipCode | None = None


class DepartCadre(ChangeCommand):
    type, target = "depart_cadre", "cadre_id"
    cadre_id: UUID
    reason: Reason


TARGET_NAMED = ("A household target (`target_kind` household) is named by the household's id (a UUID); a target of "
                "another kind by its id in the county's register of contact targets (GET /targets) once the county "
                "keeps one (before, by free text).")


class FormPairing(Command):
    __doc__ = TARGET_NAMED

    model_config = ConfigDict(json_schema_extra=HOUSEHOLD_TARGET_IS_AN_ID)
    type = "form_pairing"
    cadre_id: UUID
    target_kind: TargetKind
    target_id: Reference
    programme: Label
    # Left out: the county's default cadence (rules.default_pairing_cadence), so changing that rule
    # re-judges these pairings; quarterly unless the county says otherwise.
    cadence: Cadence | None = None
    formed_on: date

    @model_validator(mode="after")
    def _household_target_is_an_id(self) -> FormPairing:
        if self.target_kind == "household":
            _require_uuid(self.target_id)
        return self


class EndPairing(ChangeCommand):
    type, target = "end_pairing", "pairing_id"
    pairing_id: UUID
    reason: Reason
    ended_on: date


class _TargetFields(BaseModel):
    """A contact target's description: its name, its place (a township of the county, and the village
    when it is in one: the village's 12 digits begin with the township's 9), optional coordinates (both or
    neither) and, for a Party branch only, the "weak and scattered" flag (软弱涣散)."""

    name: Name
    township: TownshipCode
    village: VillageCode | None = Field(None, description="12 digits, beginning with its township's 9")
    lat: Lat | None = Field(None, description="with `lon`: where a check-in at the target is judged from")
    lon: Lon | None = None
    weak: bool = Field(False, strict=True, description="a Party branch flagged weak and scattered (软弱涣散)")

    @model_validator(mode="after")
    def _a_place_and_a_position(self) -> _TargetFields:
        if self.village is not None and not self.village.startswith(self.township):
            raise _problem("village_outside_township", "village: the village code does not belong to the township",
                           "村代码不属于所选乡镇")
        if (self.lat is None) != (self.lon is None):
            raise _problem("half_a_position", "lat and lon: give both coordinates or neither",
                           "经纬度须同时填写或都不填")
        return self


def _only_branches_are_weak(kind: str, weak: bool) -> None:
    if weak and kind != "party_branch":
        raise _problem("weak_not_a_branch", "weak: only a Party branch can be flagged weak and scattered",
                       "只有党支部可以标记为软弱涣散")


class RegisterTarget(Command, _TargetFields):
    """A contact target of the county's register: a Party branch, enterprise, talent, project or contact
    point (联系点). `weak` is for Party branches only."""

    type = "register_target"
    kind: RegisterKind

    @model_validator(mode="after")
    def _weak_branch(self) -> RegisterTarget:
        _only_branches_are_weak(self.kind, self.weak)
        return self


class ReviseTarget(ChangeCommand, _TargetFields):
    """A target's name, place, coordinates and weak flag as they are now (each given again in full); its
    kind stays. Only a Party branch can be weak (the aggregate's kind decides: a 422 otherwise)."""

    type, target = "revise_target", "target_id"
    target_id: UUID


class ArchiveTarget(ChangeCommand):
    type, target = "archive_target", "target_id"
    target_id: UUID
    reason: Reason


class Position(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    lat: Lat
    lon: Lon
    accuracy_m: Annotated[float, Numeric] = Field(ge=0)
    provider: Label
    is_mock: bool = Field(default=False, strict=True)


MAX_STAY_DAYS = 92  # a quarter: a longer stay is a posting (驻村), recorded as one, not as a visit


class CheckIn(Command):
    __doc__ = TARGET_NAMED + (" A stay (`kind` stay, 蹲点 / 三进三同) records its whole `days` (1 to 92); no other kind"
                              " takes days.")

    model_config = ConfigDict(json_schema_extra={"allOf": [HOUSEHOLD_TARGET_IS_AN_ID, STAY_HAS_DAYS]})
    type = "check_in"
    target_kind: TargetKind
    target_id: Reference
    kind: VisitKind
    days: Annotated[int, Numeric] | None = Field(
        None, ge=1, le=MAX_STAY_DAYS, validate_default=True,
        description="whole days stayed, counted from `occurred_at`'s day: required for a stay, refused otherwise")
    occurred_at: DeviceTime
    position: Position | None = None
    topics: list[Label] = Field(default=[], max_length=12)
    note: Note = ""
    companions: list[UUID] = Field(default=[], max_length=10)
    device_id: Reference | None = None

    @field_validator("days")
    @classmethod
    def _stay_has_days(cls, days: int | None, info: ValidationInfo) -> int | None:
        # A field validator (run on the default too), so that the problem names `days`.
        kind = info.data.get("kind")
        if kind == "stay" and days is None:
            raise _problem("stay_without_days", f"a stay needs its number of days (1 to {MAX_STAY_DAYS})",
                           f"蹲点必须填写天数（1 到 {MAX_STAY_DAYS} 天）")
        if kind is not None and kind != "stay" and days is not None:
            raise _problem("days_not_a_stay", "only a stay records days: leave days out for this kind of visit",
                           "只有蹲点需要填写天数，其他走访方式请不要填写")
        return days

    @model_validator(mode="after")
    def _household_target_is_an_id(self) -> CheckIn:
        if self.target_kind == "household":
            _require_uuid(self.target_id)
        return self


class VoidVisit(ChangeCommand):
    type, target = "void_visit", "visit_id"
    visit_id: UUID
    reason: Reason


class HoldInterview(Command):
    type = "hold_interview"
    interviewee_id: UUID
    form: InterviewForm
    direction: InterviewDirection
    topics: Annotated[list[MustTalkTopic], AfterValidator(_unique_sorted)] = []
    opinions_count: Annotated[int, Numeric] = Field(default=0, ge=0, le=1000)
    follow_up: bool = Field(default=False, strict=True)
    occurred_at: DeviceTime
    note: ShortNote = ""


class RaiseIssue(Command):
    type = "raise_issue"
    source_kind: IssueSource
    source_id: Reference | None = None
    household_id: UUID | None = None
    village: VillageCode
    category: Label
    summary: Summary
    occurred_at: DeviceTime


DEPARTMENT_NAMED = ("once the county lists its departments (GET /departments), one of them by code or current name "
                    "(recorded by code; another answers 422 naming `department`); before, the department's name")


class RouteIssue(ChangeCommand):
    """A department route (`route` department) needs a department and a deadline."""

    model_config = ConfigDict(json_schema_extra=DEPARTMENT_ROUTE_IS_COMPLETE)
    type, target = "route_issue", "issue_id"
    issue_id: UUID
    route: IssueRoute
    department: Name | None = Field(None, description=DEPARTMENT_NAMED)
    deadline: date | None = None

    @model_validator(mode="after")
    def _department_route_is_complete(self) -> RouteIssue:
        if self.route == "department" and (self.department is None or self.deadline is None):
            raise _problem("department_route_incomplete", "a department route needs a department and a deadline",
                           "转办到职能部门必须填写部门和办结期限")
        return self


class ResolveIssue(ChangeCommand):
    type, target = "resolve_issue", "issue_id"
    issue_id: UUID
    resolution: Summary


class ReplyIssue(ChangeCommand):
    type, target = "reply_issue", "issue_id"
    issue_id: UUID
    reply: Summary


class RateIssue(ChangeCommand):
    type, target = "rate_issue", "issue_id"
    issue_id: UUID
    satisfaction: Satisfaction


class ReopenIssue(ChangeCommand):
    type, target = "reopen_issue", "issue_id"
    issue_id: UUID
    reason: Reason


class DefineCampaign(Command):
    """A festival campaign (节日慰问): every household carrying one of `tags` is to be visited with a
    `festival` check-in between `starts_on` and `ends_on`, both days included; `ends_on` may not be
    before `starts_on`."""

    type = "define_campaign"
    festival: Festival
    starts_on: date = Field(description="the window's first day (China time)")
    ends_on: date = Field(description="the window's last day, on or after `starts_on`")
    tags: Annotated[list[HouseholdTag], Field(min_length=1, max_length=7), AfterValidator(_unique_sorted)]

    @field_validator("ends_on")
    @classmethod
    def _window_ends_after_it_starts(cls, ends_on: date, info: ValidationInfo) -> date:
        # A field validator, not a model one, so that the problem names `ends_on` (a missing or
        # malformed `starts_on` is reported on its own).
        starts_on = info.data.get("starts_on")
        if starts_on is not None and ends_on < starts_on:
            raise _problem("window_ends_before_start", f"ends before the window starts ({starts_on})",
                           f"不能早于开始日期 {starts_on}")
        return ends_on


Month = Annotated[str, Field(pattern=r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$",
                             description="a month, YYYY-MM, in 2000 to 2100")]
Minutes = Annotated[str, _text(5000, lines=True)]


class DecideIssue(ChangeCommand):
    """A monthly review's decision on an item of its agenda (一月一议): who (`department`, one of the
    county's), what (`decision`) and by when (`deadline`). The issue is routed to the department with
    the deadline (转办·限时办结), the decision and the meeting's `month` recorded on the route."""

    type, target = "decide_issue", "issue_id"
    issue_id: UUID
    month: Month = Field(description="the meeting's month, YYYY-MM")
    department: Name = Field(description=DEPARTMENT_NAMED)
    decision: Summary
    deadline: date


class RecordMinutes(Command):
    """The minutes of a month's review meeting; saving them again records a new version (the latest
    is the month's minutes)."""

    type = "record_minutes"
    month: Month = Field(description="the meeting's month, YYYY-MM")
    minutes: Minutes
    attendees: Annotated[list[Name], Field(max_length=50)] = []


RECEPTION_SCHEDULE_RULES: JsonDict = {
    # a weekly day is a weekday
    "if": {"properties": {"cadence": {"const": "weekly"}}, "required": ["cadence"]},
    "then": {"properties": {"day": {"maximum": 7}}},
    # exactly one receiver: a cadre or a rank
    "anyOf": [{"required": ["cadre_id"], "properties": {"cadre_id": {"type": "string"}}},
              {"required": ["rank"], "properties": {"rank": {"type": "string"}}}],
    "not": {"required": ["cadre_id", "rank"],
            "properties": {"cadre_id": {"type": "string"}, "rank": {"type": "string"}}},
}


class _ScheduleTerms(BaseModel):
    """A reception schedule's terms. Who receives: one cadre (`cadre_id`) or every cadre of a `rank`,
    exactly one of the two. When: `monthly` on `day` 1 to 31 (a day the month lacks falls on its last day:
    31 is 30 April, 28 or 29 February) or `weekly` on `day` 1 to 7 (ISO weekday, 1 Monday to 7 Sunday)."""

    cadre_id: UUID | None = Field(None, description="the cadre who receives (or give `rank`)")
    rank: Rank | None = Field(None, description="every cadre of this rank receives (or give `cadre_id`)")
    place: Address = Field(description="where residents are received, e.g. 县委组织部接访室 or a contact point")
    village: VillageCode | None = Field(None, description="the place's village, if it is in one")
    cadence: ReceptionCadence
    day: Annotated[int, Numeric] = Field(ge=1, le=31, description="monthly: day of the month 1-31 (past the"
                                         " month's end: its last day); weekly: ISO weekday 1 (Monday) to 7 (Sunday)")

    @field_validator("day")
    @classmethod
    def _weekly_day_is_a_weekday(cls, day: int, info: ValidationInfo) -> int:
        if info.data.get("cadence") == "weekly" and day > 7:
            raise _problem("bad_weekday", "a weekly reception's day is a weekday, 1 (Monday) to 7 (Sunday)",
                           "每周接访日必须是 1（周一）到 7（周日）")
        return day

    @model_validator(mode="after")
    def _one_receiver(self) -> _ScheduleTerms:
        if (self.cadre_id is None) == (self.rank is None):
            raise _problem("receiver_not_one", "cadre_id, rank: name exactly one, a cadre or a rank",
                           "cadre_id、rank：须指定一名干部或一个职级（二选一）")
        return self


class SetReceptionSchedule(Command, _ScheduleTerms):
    """A recurring reception day (接访日) from `starts_on`: who, where and when (see its terms)."""

    model_config = ConfigDict(json_schema_extra=RECEPTION_SCHEDULE_RULES)
    type = "set_reception_schedule"
    starts_on: date


class ReviseReceptionSchedule(ChangeCommand, _ScheduleTerms):
    """A schedule's terms (who, where, when; each given again in full) from `from_on` on: today or later,
    so the days already past keep the terms they were judged by. An ended schedule is not revised."""

    model_config = ConfigDict(json_schema_extra=RECEPTION_SCHEDULE_RULES)
    type, target = "revise_reception_schedule", "schedule_id"
    schedule_id: UUID
    from_on: date = Field(description="the first day of the new terms: today (China's calendar) or later")


class EndReceptionSchedule(ChangeCommand):
    """The schedule's last reception day is `ends_on` (on or after its start)."""

    type, target = "end_reception_schedule", "schedule_id"
    schedule_id: UUID
    ends_on: date


class ReceptionIssue(BaseModel):
    """An issue a resident raised at a reception: raised as an issue of source `reception`, in the
    reception's village unless it names its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    category: Label
    summary: Summary
    village: VillageCode | None = None
    household_id: UUID | None = None


class RecordReception(Command):
    """A reception held: who received (`receiver_id`; a cadre sending it from the phone leaves it out and
    is the receiver), when, where, how many residents came and the issues they raised. Each issue needs
    a village: its own or the reception's."""

    type = "record_reception"
    receiver_id: UUID | None = Field(None, description="the cadre who received; default: the sender")
    occurred_at: DeviceTime = Field(description="when it was held: from 2000 on, at most 10 minutes ahead of the"
                                                " server's clock")
    place: Address
    village: VillageCode | None = None
    residents: Annotated[int, Numeric] = Field(ge=0, le=1000, description="how many residents came")
    issues: list[ReceptionIssue] = Field(default=[], max_length=20)

    @model_validator(mode="after")
    def _issues_have_villages(self) -> RecordReception:
        if self.village is None and any(issue.village is None for issue in self.issues):
            raise _problem("issue_without_village", "issues: an issue needs a village, its own or the reception's",
                           "issues：问题须有所在村（社区），请填写接访地点所在村或问题所在村")
        return self


Title = Annotated[str, _text(100)]
Report = Annotated[str, _text(5000, lines=True)]
MAX_TEAM = 20
MAX_LINKS = 50


class AssignTopic(Command):
    """A research topic (调研课题) assigned to one cadre or a team (`assignee_ids`, 1 to 20 cadres in post),
    due by `due_on` (its reports are on time until the end of that day)."""

    type = "assign_topic"
    title: Title
    description: Note = ""
    assignee_ids: Annotated[list[UUID], AfterValidator(_unique_sorted)] = Field(
        min_length=1, max_length=MAX_TEAM, description="the cadre, or the team of cadres, who research the topic")
    due_on: date = Field(description="the last day a report is on time (China time)")


class FileReport(Command):
    """A research report (调研报告) on a topic: its title, a summary and the visits and issues it draws on.
    A cadre files on a topic assigned to them (`author_id` left out: the sender); a county admin names
    the assignee it files for."""

    type = "file_report"
    topic_id: UUID
    author_id: UUID | None = Field(None, description="the assignee who wrote it; default: the sender")
    title: Title
    summary: Report
    visit_ids: Annotated[list[UUID], Field(max_length=MAX_LINKS), AfterValidator(_unique_sorted)] = []
    issue_ids: Annotated[list[UUID], Field(max_length=MAX_LINKS), AfterValidator(_unique_sorted)] = []
    occurred_at: DeviceTime = Field(description="when it was filed: from 2000 on, at most 10 minutes ahead of the"
                                                " server's clock")


AssessedPart = Literal["evaluation", "poll"]
# A year or a quarter in 2000 to 2100: the periods a county assesses its cadres for.
AssessmentPeriod = Annotated[str, StringConstraints(to_upper=True), Field(
    pattern=r"^(20[0-9]{2}|2100)(-[Qq][1-4])?$", description="a year (2026) or a quarter (2026-Q1)")]


class EnterAssessmentScore(Command):
    """A cadre's democratic evaluation (民主测评, `evaluation`) or opinion poll (民意调查, `poll`) score for a
    year or a quarter, 0 to 100 (county admins). Entering it again replaces it from then on."""

    type = "enter_assessment_score"
    cadre_id: UUID
    period: AssessmentPeriod
    part: AssessedPart = Field(description="evaluation: democratic evaluation (民主测评); poll: opinion poll"
                                           " (民意调查)")
    score: Annotated[int, Numeric] = Field(ge=0, le=100)


def _require_uuid(value: str) -> None:
    try:
        UUID(value)
    except ValueError:
        raise _problem("target_not_an_id", "target_id: a household target must be the household's id",
                       "走访对象为农户时必须填写农户编号") from None


COMMANDS: dict[str, type[Command]] = {
    cls.type: cls for cls in (
        RegisterHousehold, RelocateHousehold, RetagHousehold, ArchiveHousehold,
        ProposeHousehold, ConfirmProposal, MergeProposal, RefuseProposal,
        EnrolCadre, ChangeRank, TransferCadre, DepartCadre, FormPairing, EndPairing,
        CheckIn, VoidVisit, HoldInterview,
        RaiseIssue, RouteIssue, ResolveIssue, ReplyIssue, RateIssue, ReopenIssue,
        DefineCampaign, DecideIssue, RecordMinutes, RegisterTarget, ReviseTarget, ArchiveTarget,
        SetReceptionSchedule, ReviseReceptionSchedule, EndReceptionSchedule, RecordReception, AssignTopic, FileReport,
        EnterAssessmentScore,
    )
}


def parse_command(type_name: str, command_id: Any, payload: Any) -> Command:
    """A sync entry `{id, type, payload}` as a command, or `InvalidCommand` saying what is wrong."""
    model = COMMANDS.get(type_name) if isinstance(type_name, str) else None
    if model is None:
        shown_type = shown(str(type_name))
        raise InvalidCommand("unknown_command", f"未知的操作类型：{shown_type}", f"Unknown command type: {shown_type}")
    if not isinstance(payload, dict):
        raise InvalidCommand("payload_not_object", "数据格式不正确（应为对象）。", "The payload must be a JSON object.")
    if "command_id" in payload and str(payload["command_id"]).lower() != str(command_id).lower():
        raise InvalidCommand("command_id_mismatch", "数据中的操作编号与外层编号不一致。",
                             "The payload's command_id differs from the entry's id.")
    try:
        return model.model_validate({**payload, "command_id": command_id})
    except ValidationError as error:
        raise explain(error) from None


_ZH: dict[str, str] = {
    "missing": "必须填写",
    "extra_forbidden": "不是这个操作的字段",
    "string_too_long": "不能超过 {max_length} 个字",
    "string_too_short": "不能为空",
    "string_type": "必须是文字",
    "too_long": "最多 {max_length} 项",
    "list_type": "必须是列表",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "literal_error": "取值无效，可选：{expected}",
    "uuid_parsing": "不是有效的编号（UUID）",
    "uuid_type": "不是有效的编号（UUID）",
    "datetime_parsing": "不是有效的时间",
    "datetime_type": "不是有效的时间",
    "datetime_from_date_parsing": "不是有效的时间",
    "timezone_aware": "时间必须带时区",
    "date_parsing": "不是有效的日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "不是有效的日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "只能填日期（YYYY-MM-DD）",
    "date_type": "不是有效的日期（YYYY-MM-DD）",
    "int_parsing": "必须是整数",
    "int_type": "必须是整数",
    "int_from_float": "必须是整数",
    "float_parsing": "必须是数字",
    "float_type": "必须是数字",
    "finite_number": "必须是有限的数字",
    "bool_parsing": "必须是 true 或 false",
    "bool_type": "必须是 true 或 false",
    "model_type": "格式不正确（应为对象）",
    "model_attributes_type": "格式不正确（应为对象）",
}


def _readable(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.replace(" or ", ", ")
    return value


def explain(error: ValidationError) -> InvalidCommand:
    """Every problem of a failed validation, as one bilingual `InvalidCommand`."""
    problems = []
    for item in error.errors(include_url=False):
        # Union members add their own name to the location (e.g. `position.Position.lat`): drop it.
        # Field names (an unknown key) and pydantic's messages (a character it found) may echo the input.
        field = shown(".".join(str(part) for part in item["loc"] if not (isinstance(part, str) and part[:1].isupper())))
        ctx = {key: _readable(value) for key, value in (item.get("ctx") or {}).items()}
        zh = ctx.get("zh") or _ZH.get(item["type"], "不正确").format(**ctx)
        message = shown(item["msg"])
        problems.append({"field": field, "zh": f"{field}：{zh}" if field else zh,
                         "en": f"{field}: {message}" if field else message})
    return InvalidCommand(
        "invalid_command", "；".join(p["zh"] for p in problems), "; ".join(p["en"] for p in problems),
        errors=problems,
    )
