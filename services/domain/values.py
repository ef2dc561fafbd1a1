"""Value vocabularies of the domain (code names from DESIGN's glossary) and small value types.

Events store plain strings, so the vocabularies are `Literal` types (checked by the commands) with
their allowed values as tuples (checked by the aggregates and shown in error messages).
"""
from __future__ import annotations

from typing import Literal, TypedDict, get_args

Rank = Literal["section_chief", "deputy_section_chief", "staff", "village_cadre"]
VisitKind = Literal["home", "chat", "forum", "phone", "reception", "stay", "festival", "petition"]
TargetKind = Literal[
    "household", "party_branch", "enterprise", "talent", "village_official", "community", "project", "contact_point",
]
# The kinds of the county's register of contact targets (services/domain/target.py): every kind but households.
RegisterKind = Literal["party_branch", "enterprise", "talent", "project", "contact_point", "village_official",
                       "community"]
HouseholdTag = Literal[
    "hardship_member", "hardship_resident", "empty_nest_elderly", "left_behind_child",
    "subsistence", "monitored", "disabled",
]
Cadence = Literal["monthly", "quarterly", "yearly"]
# The festivals of the campaigns (节日慰问): 春节, 端午, 中秋.
Festival = Literal["spring_festival", "duanwu", "mid_autumn"]
InterviewForm = Literal["one_on_one", "group", "home", "phone"]
InterviewDirection = Literal["leader_to_cadre", "cadre_to_leader"]
MustTalkTopic = Literal["family", "health", "performance", "team", "organisation", "difficulties"]
IssueSource = Literal["visit", "interview", "reception"]
IssueRoute = Literal["on_the_spot", "monthly_review", "department", "leadership"]
Satisfaction = Literal["satisfied", "basically_satisfied", "unsatisfied"]
IssueState = Literal["raised", "routed", "resolved", "replied", "rated", "reopened"]

RANKS: tuple[str, ...] = get_args(Rank)
VISIT_KINDS: tuple[str, ...] = get_args(VisitKind)
TARGET_KINDS: tuple[str, ...] = get_args(TargetKind)
REGISTER_KINDS: tuple[str, ...] = get_args(RegisterKind)
HOUSEHOLD_TAGS: tuple[str, ...] = get_args(HouseholdTag)
CADENCES: tuple[str, ...] = get_args(Cadence)
FESTIVALS: tuple[str, ...] = get_args(Festival)
MUST_TALK_TOPICS: tuple[str, ...] = get_args(MustTalkTopic)
ISSUE_ROUTES: tuple[str, ...] = get_args(IssueRoute)
SATISFACTIONS: tuple[str, ...] = get_args(Satisfaction)


class Position(TypedDict):
    """A GPS fix as the phone reported it; verdicts (distance, accuracy, mock) are the projections' job."""

    lat: float
    lon: float
    accuracy_m: float
    provider: str
    is_mock: bool
