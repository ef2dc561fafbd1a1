"""Labels of the domain's code names (DESIGN's glossary), one JSON file per code group: `rank.json` is
`{"zh-CN": {"section_chief": "正科", ...}, "en": {...}}`.

These files are the only copy: the XLSX ledgers read them here, and the PWA imports them (the field app
only the groups a phone shows, since its code is inlined into index.html). Two groups have two
wordings that their readers have always shown: `issue_route_short` (the ledgers' 转办 / 上报) beside
`issue_route` (the admin pages' 转办职能部门 / 上报领导), and `issue_state_field` (what the phone
calls an issue's state: 已登记, 已交办) beside `issue_state` (the admin pages and ledgers: 已受理, 已分办).
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_HERE = Path(__file__).parent


@cache
def labels(group: str, language: str = "zh-CN") -> dict[str, str]:
    """Code → label of one group, e.g. labels("rank")["staff"] == "一般干部"."""
    group_labels: dict[str, str] = json.loads((_HERE / f"{group}.json").read_text(encoding="utf-8"))[language]
    return group_labels
