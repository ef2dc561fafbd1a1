"""The filters a table and its ledger (台账) share, so that a download is what the admin was looking at:
the coverage map, household-visit completeness, pairings and interview coverage (their pages and
`exports.py` both build on these)."""
from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from services.domain.values import HouseholdTag, Rank

from .reading import AsOf, InPeriod

DueStatus = Literal["ok", "due", "overdue"]


class TagFilter(AsOf):
    tag: HouseholdTag | None = Field(None, description="only the households carrying this tag now, e.g."
                                                       " left_behind_child (counted one by one: O(those households))")


class CoverageQuery(InPeriod, TagFilter):
    level: Literal["village", "township", "county", "h3"] = "village"
    resolution: int = Field(8, ge=7, le=9, description="H3 resolution 7 to 9 (level=h3)")


class CompletenessFilters(TagFilter):
    township: str | None = Field(None, pattern=r"^\d{9}$", description="township code (9 digits)")
    village: str | None = Field(None, pattern=r"^\d{12}$", description="village code (12 digits)")
    cadre: UUID | None = Field(None, description="only the households this cadre answers for: paired with them,"
                                                 " or in their township (as on the cadre's due list)")
    status: DueStatus | None = None


class PairingFilters(AsOf):
    cadre_id: UUID | None = None
    township: str | None = Field(None, pattern=r"^\d{9}$", description="where the paired household lives"
                                                                     " (other targets have no place)")
    village: str | None = Field(None, pattern=r"^\d{12}$", description="where the paired household lives")
    rank: Rank | None = Field(None, description="the cadre's rank")
    status: DueStatus | None = None


def pairing_filters(query: PairingFilters) -> dict[str, Any]:
    return {"cadre_id": query.cadre_id, "township": query.township, "village": query.village, "rank": query.rank,
            "status": query.status, "as_of": query.as_of}


class ShortfallFilters(AsOf):
    """The quota shortfall table's filters."""

    township: str | None = Field(None, pattern=r"^\d{9}$", description="the cadre's township (9 digits)")
    rank: Rank | None = Field(None, description="the cadre's rank")


class InterviewFilters(AsOf):
    township: str | None = Field(None, pattern=r"^\d{9}$", description="the cadre's township")
    cadre_id: UUID | None = None
    rank: Rank | None = None
    status: DueStatus | None = None


def interview_filters(query: InterviewFilters) -> dict[str, Any]:
    return {"township": query.township, "cadre_id": query.cadre_id, "rank": query.rank, "status": query.status,
            "as_of": query.as_of}
