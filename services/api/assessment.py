"""The composite assessment (三维考核): entering a cadre's democratic evaluation or opinion poll score for a
year or a quarter (county admins; also `enter_assessment_score` through /sync), the scores entered for a
period, and the weighted scores of cadres and townships (`projections.assessment`; the weights are the
county's rule `assessment_weights`, `GET|PUT /rules`). The leaderboards rank by it with `by=score`.
"""
from __future__ import annotations

from uuid import UUID

from pydantic import Field
from starlette.responses import Response

from projections import assessment
from services.county_map import county_places
from services.domain import commands as c
from services.ledger import Column, Ledger

from .auth import ADMIN
from .reading import EXPORT_CONTENT, ExportQuery, InPeriod, Page, download, period_of, reading, schema_of
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


LEDGER_COLUMNS = [
    Column("rank", "名次", 6), Column("name", "姓名", 12), Column("township", "乡镇代码", 12),
    Column("township_name", "乡镇（街道）", 16),
    Column("score", "综合得分", 10),
    *(Column(part, header, 12) for part, header in (
        ("completeness", "走访完成率（核验）"), ("pairing", "结对达标率"), ("interviews", "谈心谈话覆盖"),
        ("resolution", "问题办结率"), ("satisfaction", "满意率"), ("receptions", "接访完成率"),
        ("reports", "调研报告完成率"), ("evaluation", "民主测评"), ("poll", "民意调查"))),
]


class LedgerQuery(InPeriod, ExportQuery):
    pass


@endpoint("GET", "/exports/assessment", query=LedgerQuery, roles=ADMIN, tags=["exports", *TAGS],
          content=EXPORT_CONTENT,
          summary="The assessment ledger (考核台账) of a period: every cadre in post ranked by the composite score,"
                  " with each part")
async def export_assessment(call: Call) -> Response:
    query: LedgerQuery = call.query
    async with reading(call) as conn:
        board = await assessment.cadres(conn, schema_of(call), period_of(query), limit=100_000, as_of=query.as_of)
        names = {place.code: place.name for place in await county_places(conn, call.county)}
    rows = [{**row, "township_name": names.get(row["township"])} for row in board["items"]]
    return download(call, Ledger("考核台账", LEDGER_COLUMNS, rows))


routes = [
    entered_scores, export_assessment,
    command_endpoint(c.EnterAssessmentScore, "/assessment-scores",
                     "Enter a cadre's democratic evaluation (民主测评) or opinion poll (民意调查) score, 0 to 100,"
                     " for a year or a quarter; entering it again replaces it from then on", "assessment"),
]
