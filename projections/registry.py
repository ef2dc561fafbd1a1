"""Every read model the driver and rebuild maintain, in the order they are applied within a batch.

To add a read model: write `projections/<name>.py` with a module-level `projection` (an instance of
`projections.base.Projection`) and add its module name to MODULES below: a one-line edit.
"""
from __future__ import annotations

import importlib

from projections.base import Projection

MODULES = [
    "verdicts",  # first: the other read models' queries read its check-in facts
    "coverage",
    "completeness",
    "interviews",
    "pairing",
    "issues",
    "reviews",
    "leaderboards",
    "campaigns",
    "proposals",
    "targets",
    "receptions",
    "stays",
    "research",
    "assessment",
    "rollup",  # last: it reads the county's other read models as they stand after the batch
]

PROJECTIONS: list[Projection] = [importlib.import_module(f"projections.{module}").projection for module in MODULES]


def by_name(name: str) -> Projection:
    for projection in PROJECTIONS:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in PROJECTIONS)
    raise KeyError(f"no projection named {name!r} (known: {known})")
