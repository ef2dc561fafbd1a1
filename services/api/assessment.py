"""The composite assessment (三维考核): entering a cadre's democratic evaluation or opinion poll score for a
year or a quarter (county admins; also `enter_assessment_score` through /sync), the scores entered for a
period, and the weighted scores of cadres and townships (`projections.assessment`; the weights are the
county's rule `assessment_weights`, `GET|PUT /rules`). The leaderboards rank by it with `by=score`.
"""
from __future__ import annotations

from uuid import UUID

from pydantic import Field

from projections import assessment
from services.domain import commands as c

from .auth import ADMIN
from .reading import InPeriod, Page, period_of, reading, schema_of
from .routing import Call, endpoint
from .writing import command_endpoint

TAGS = ["assessment"]


class EnteredQuery(InPeriod):
    cadre_id: UUID | None = Field(None, description="one cadre's scores only")


@endpoint("GET", "/assessment/entered", query=EnteredQuery, response=Page, roles=ADMIN, tags=TAGS,
          summary="The democratic evaluation and opinion poll scores entered for exactly this period (a year or a"
                  " quarter), the newest per cadre: `{cadre_id, evaluation, poll}`")
async def entered_scores(call: Call) -> Page:
    query: EnteredQuery = call.query
    async with reading(call) as conn:
        scores = await assessment.entered(conn, schema_of(call), period_of(query),
                                          cadre_ids=None if query.cadre_id is None else [query.cadre_id],
                                          as_of=query.as_of)
    items = [{"cadre_id": cadre, "evaluation": parts.get("evaluation"), "poll": parts.get("poll")}
             for cadre, parts in sorted(scores.items(), key=lambda item: str(item[0]))]
    return Page(items=items, total=len(items), limit=max(len(items), 1), offset=0)


routes = [
    entered_scores,
    command_endpoint(c.EnterAssessmentScore, "/assessment-scores",
                     "Enter a cadre's democratic evaluation (民主测评) or opinion poll (民意调查) score, 0 to 100,"
                     " for a year or a quarter; entering it again replaces it from then on", "assessment"),
]
