"""Leaderboards: cadres and townships ranked for a period (only verified visits count), from the
leaderboards read model (projections/leaderboards.py); `by=score` ranks by the composite assessment
(三维考核, projections/assessment.py) and shows each of its parts."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from projections import assessment, leaderboards

from .auth import RANK_READERS
from .errors import ApiError
from .reading import MAX_OFFSET, InPeriod, Page, period_of, reading, schema_of
from .routing import Call, endpoint


class LeaderboardQuery(InPeriod):
    by: Literal["verified_visits", "distinct_households", "issues_resolved", "satisfaction_pct", "score"] = Field(
        "verified_visits", description="verified_visits: visits the verdicts accepted, of the kinds the county counts"
        " as visits (not phone calls by default); distinct_households: households among them; score: the composite"
        " assessment (三维考核) by the county's `assessment_weights` rule, each row with its parts (completeness,"
        " pairing, interviews, resolution, satisfaction, receptions, reports, evaluation, poll: 0 to 100 or null)"
        " and `score` (null when the county set no weights); a township's score is the mean of its cadres'; county"
        " admins only (a cadre is answered 403)")
    limit: int = Field(20, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def _score_for_admins(call: Call, query: LeaderboardQuery) -> None:
    """The score shows each cadre's democratic evaluation and opinion poll: the county office's to read, not
    their colleagues' (a cadre still sees the boards by the other figures)."""
    assert call.session is not None
    if query.by == "score" and "county_admin" not in call.session.roles:
        raise ApiError(403, "Only the county office reads the boards by assessment score.",
                       "只有县委组织部可以查看综合考核得分排行。", kind="forbidden")


async def _board(call: Call, by_score: Any, by_figure: Any) -> Page:
    """One board, cadres or townships: by the composite score (projections/assessment.py) or a figure."""
    query: LeaderboardQuery = call.query
    _score_for_admins(call, query)
    async with reading(call) as conn:
        if query.by == "score":
            answer = await by_score(conn, schema_of(call), period_of(query), limit=query.limit,
                                    offset=query.offset, as_of=query.as_of)
        else:
            answer = await by_figure(conn, schema_of(call), period_of(query), by=query.by,
                                     limit=query.limit, offset=query.offset, as_of=query.as_of)
    return Page(items=answer["items"], total=answer["total"], limit=query.limit, offset=query.offset)


@endpoint("GET", "/leaderboards/cadres", query=LeaderboardQuery, response=Page, roles=RANK_READERS,
          tags=["leaderboards"], summary="Cadres ranked for a period (only verified visits count)")
async def leaderboard_cadres(call: Call) -> Page:
    return await _board(call, assessment.cadres, leaderboards.cadres)


@endpoint("GET", "/leaderboards/townships", query=LeaderboardQuery, response=Page, roles=RANK_READERS,
          tags=["leaderboards"], summary="Townships ranked for a period")
async def leaderboard_townships(call: Call) -> Page:
    return await _board(call, assessment.townships, leaderboards.townships)


routes = [leaderboard_cadres, leaderboard_townships]
