"""Assessment scores (三维考核): the democratic evaluation (民主测评) and opinion poll (民意调查) scores a
county admin enters for a cadre and a period (a year or a quarter), 0 to 100.

Each entry is a fact of its own (`AssessmentScore.Entered`, id = the command's): entering a cadre's
score for a period again replaces it from then on, and the read model (`projections.assessment`) answers
with the newest entry known on a day, so an `as_of` before the correction still shows the first one.
The composite score weighs these with the projected figures by the county's `assessment_weights` rule.
"""
from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate


class AssessmentScore(Aggregate):
    @event("Entered")
    def __init__(self, id: UUID, cadre_id: UUID, period: str, part: str, score: int, entered_by: str) -> None:
        self.cadre_id = cadre_id
        self.period = period  # `2026` or `2026-Q1` (projections.base.Period.parse reads both)
        self.part = part  # evaluation | poll
        self.score = score
        self.entered_by = entered_by
