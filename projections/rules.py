"""The rules a county's read models judge by (DESIGN §5), stored in `core.counties.rules` (jsonb).

Only what a county changes needs to be stored: every field has the seeds' default. The projections
apply these rules to the raw evidence, so changing a rule and rebuilding re-judges history.
"""
from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from services.domain.values import VisitKind
from services.storage.connections import AsyncConnection

Cadence = Literal["monthly", "quarterly", "yearly"]
# The visit kinds done in person (services/vocabulary/visit_kind.json): all but a phone call (电话).
IN_PERSON: tuple[VisitKind, ...] = ("home", "chat", "forum", "reception", "stay", "festival", "petition")
# The parts of the composite assessment (三维考核, projections/assessment.py): the projected figures, then
# the scores admins enter per period (democratic evaluation 民主测评, opinion poll 民意调查).
ASSESSMENT_PARTS = ("completeness", "pairing", "interviews", "resolution", "satisfaction", "receptions", "reports",
                    "evaluation", "poll")
AssessmentPart = Literal["completeness", "pairing", "interviews", "resolution", "satisfaction", "receptions",
                         "reports", "evaluation", "poll"]


class InvalidRules(ValueError):
    """A county's stored rules do not validate; says which county and which field."""


class Rules(BaseModel):
    # No Infinity or NaN (pydantic reads those tokens): stored as JSON, they came back null and unreadable.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # Household-visit completeness (Chongqing: every household ≥2 visits per calendar year).
    household_visits_per_year: int = Field(2, ge=1, le=12)
    # A household's next visit counts as "due" this many days before its due date (else "ok").
    due_soon_days: int = Field(30, ge=0, le=366)

    # Pairing compliance: every paired target ≥1 visit per cadence period (quarterly unless the pairing says).
    default_pairing_cadence: Cadence = "quarterly"
    # Quotas per cadre; None switches a quota off for the county.
    hardship_households_per_cadre: int | None = Field(5, ge=0)  # Baoting: 5 hardship households each
    paired_households_by_rank: dict[str, int] | None = Field(  # Chongqing: 3/2/1 by level
        default_factory=lambda: {"section_chief": 3, "deputy_section_chief": 2, "staff": 1}
    )
    # Household tags that make a household a hardship household for the quotas above and below.
    hardship_tags: list[str] = Field(
        default_factory=lambda: ["hardship_member", "hardship_resident", "subsistence", "monitored"]
    )
    # Lucheng's 五个一, one pairing of each kind: off unless a county sets e.g. ["community", "enterprise",
    # "talent", "village_official", "household"] (it needs non-household pairings most counties do not keep).
    five_contacts: list[str] | None = None
    # Lucheng's 五个一 as contact (projections/targets.py `five_ones`): in each such period every cadre
    # checks in at a weak Party branch, an enterprise, a talent and a project of the county's register, and
    # in a village. None (the default): off, and compliance shows no such coverage.
    five_ones_period: Cadence | None = None

    # Interview coverage: every cadre interviewed ≥ n per year, by an interviewer of an expected rank.
    interviews_per_year: int = Field(1, ge=1, le=52)
    interviewer_ranks: dict[str, list[str]] = Field(  # interviewee rank -> ranks that may interview them
        default_factory=lambda: {
            "section_chief": ["section_chief"],
            "deputy_section_chief": ["section_chief", "deputy_section_chief"],
            "staff": ["section_chief", "deputy_section_chief"],
            "village_cadre": ["section_chief", "deputy_section_chief", "staff"],
        }
    )

    # Issue ledger: days allowed per route when the route carries no deadline of its own.
    issue_days_by_route: dict[str, int] = Field(
        default_factory=lambda: {"on_the_spot": 1, "monthly_review": 31, "leadership": 30, "department": 30}
    )
    # The monthly review meeting (一月一议) is held on the last such weekday of a month (Mon=0 … Sun=6).
    monthly_review_weekday: int = Field(4, ge=0, le=6)

    # Visit verdicts: a check-in is verified when all of these hold.
    verified_max_distance_m: float = Field(150.0, gt=0)
    verified_max_accuracy_m: float = Field(100.0, gt=0)
    mock_fixes_rejected: bool = True
    # Consecutive check-ins of one cadre faster than this are flagged as impossible travel.
    impossible_travel_kmh: float = Field(120.0, gt=0)
    # A check-in received more than this many days after it happened is `backdated` (a phone clock set
    # back, or a visit written up long after): offline weeks in the mountains are real, so a month by
    # default. One dated more than FUTURE_MINUTES after it was received is `future`.
    backdated_after_days: int = Field(30, ge=1, le=366)
    # The kinds of visit that count toward "visited" (coverage, completeness, leaderboards, rollup,
    # pairing compliance): the in-person ones. A phone call (电话) is a contact, not a visit.
    visit_kinds_counted: list[VisitKind] = Field(default_factory=lambda: list(IN_PERSON), min_length=1)

    # The composite assessment (三维考核): each part's weight in whole percent, summing to 100 (Chongqing:
    # results 60, democratic evaluation and opinion polls 30 ...). None (the default): no score.
    assessment_weights: dict[AssessmentPart, Annotated[int, Field(ge=0, le=100)]] | None = Field(
        None, description="the composite assessment's weight of each part, whole percent 0 to 100; the weights sum to"
                    " 100 (a part left out weighs 0). Parts: " + ", ".join(ASSESSMENT_PARTS) + ". null: no score")

    @field_validator("assessment_weights")
    @classmethod
    def _weights_sum_to_100(cls, weights: dict[str, int] | None) -> dict[str, int] | None:
        if weights is None:
            return None
        total = sum(weights.values())
        if total != 100:
            raise PydanticCustomError("weights_sum", "the weights sum to {total}, not 100",
                                      {"total": total, "zh": f"各项权重之和为 {total}，须为 100"})
        return {part: weights[part] for part in ASSESSMENT_PARTS if part in weights}

    @classmethod
    def from_stored(cls, value: Any, county: str = "?") -> Rules:
        """Rules from the jsonb column (asyncpg gives text, psycopg a dict); a clear error names the field."""
        if value is None:
            return cls()
        if isinstance(value, (str, bytes)):
            value = json.loads(value)
        try:
            return cls.model_validate(value)
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            raise InvalidRules(f"county {county}: invalid rules in core.counties.rules ({problems})") from None


async def load_rules(conn: AsyncConnection, adcode: str) -> Rules:
    """The county's rules (asyncpg connection)."""
    value = await conn.fetchval("SELECT rules FROM core.counties WHERE adcode = $1", adcode)
    return Rules.from_stored(value, adcode)
