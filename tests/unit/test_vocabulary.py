"""The code labels in services/vocabulary/ (shared by the PWA and the XLSX ledgers) label exactly the
domain's codes, in both languages."""
from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from services.domain import values
from services.vocabulary import labels

FOLDER = Path(__file__).parents[2] / "services" / "vocabulary"
GROUPS = sorted(path.stem for path in FOLDER.glob("*.json"))

# Each group over a code set the domain defines, with that set.
DOMAIN_CODES = {
    "rank": values.RANKS,
    "visit_kind": values.VISIT_KINDS,
    "target_kind": values.TARGET_KINDS,
    "household_tag": values.HOUSEHOLD_TAGS,
    "cadence": values.CADENCES,
    "festival": values.FESTIVALS,
    "interview_topic": values.MUST_TALK_TOPICS,
    "interview_form": get_args(values.InterviewForm),
    "interview_direction": get_args(values.InterviewDirection),
    "issue_source": get_args(values.IssueSource),
    "issue_route": values.ISSUE_ROUTES,
    "issue_route_short": values.ISSUE_ROUTES,
    "satisfaction": values.SATISFACTIONS,
    "issue_state": get_args(values.IssueState),
    "issue_state_field": get_args(values.IssueState),
}


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_labels_the_same_codes_in_both_languages(group: str):
    chinese, english = labels(group, "zh-CN"), labels(group, "en")
    assert list(english) == list(chinese)
    assert all(text.strip() for text in [*chinese.values(), *english.values()])


@pytest.mark.parametrize("group", sorted(DOMAIN_CODES))
def test_a_group_over_a_domain_code_set_labels_exactly_its_codes(group: str):
    assert group in GROUPS
    assert tuple(labels(group)) == tuple(DOMAIN_CODES[group])

