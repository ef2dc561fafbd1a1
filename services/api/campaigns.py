"""Festival campaigns (节日慰问): defining one, the county's campaigns with their figures, one campaign's
progress by township and village, its households still to visit, and that list as a ledger (XLSX or
CSV), from the campaigns read model (projections/campaigns.py)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from uuid import UUID

from anyio import to_thread
from pydantic import Field
from starlette.responses import Response

from projections import campaigns
from services.domain import commands as c
from services.ledger import Column, Ledger
from services.storage.connections import AsyncConnection
from services.vocabulary import labels

from .auth import ADMIN
from .errors import not_found
from .reading import (
    EXPORT_CONTENT, LEDGER_CHUNK, AsOf, Document, ExportQuery, Page, audit_personal_read, county_app, download_chunks,
    open_households, reading, schema_of, whole_page, with_heads,
)
from .routing import Call, endpoint
from .writing import command_endpoint

CAMPAIGN = "/campaigns/{campaign_id:uuid}"
NOT_FOUND = ("campaign", "慰问活动")


@endpoint("GET", "/campaigns", query=AsOf, response=Page, roles=ADMIN, tags=["campaigns"],
          summary="Festival campaigns, latest window first, with households, visited and coverage %")
async def campaigns_list(call: Call) -> Page:
    async with reading(call) as conn:
        return whole_page(await campaigns.campaigns(conn, schema_of(call), as_of=call.query.as_of))


@endpoint("GET", CAMPAIGN, query=AsOf, response=Document, roles=ADMIN, errors={404}, tags=["campaigns"],
          summary="One campaign's progress: households, visited and coverage % overall, by township and by village")
async def campaign_progress(call: Call) -> Document:
    async with reading(call) as conn:
        progress = await campaigns.progress(conn, schema_of(call), call.path["campaign_id"], as_of=call.query.as_of)
    if progress is None:
        raise not_found(*NOT_FOUND)
    return Document(progress)


class RemainingFilters(AsOf):
    township: str | None = Field(None, pattern=r"^\d{9}$", description="township code (9 digits)")
    village: str | None = Field(None, pattern=r"^\d{12}$", description="village code (12 digits)")


class RemainingQuery(RemainingFilters):
    limit: int = Field(50, ge=1, le=500)
    after: UUID | None = Field(None, description="the `next` of the previous page")


async def _require_campaign(conn: AsyncConnection, call: Call, as_of: date | None) -> None:
    """404 unless the path's campaign was defined (as of `as_of`)."""
    if await campaigns.progress(conn, schema_of(call), call.path["campaign_id"], as_of=as_of) is None:
        raise not_found(*NOT_FOUND)


async def _remaining(call: Call, query: RemainingFilters, limit: int, after: UUID | None) -> list[dict[str, Any]]:
    async with reading(call) as conn:
        await _require_campaign(conn, call, query.as_of)
        return await campaigns.remaining(conn, schema_of(call), call.path["campaign_id"], township=query.township,
                                         village=query.village, after=after, limit=limit, as_of=query.as_of)


@endpoint("GET", CAMPAIGN + "/households", query=RemainingQuery, response=Page, roles=ADMIN, errors={404},
          tags=["campaigns"], summary="The campaign's households still to visit, by household id")
async def campaign_households(call: Call) -> Page:
    query: RemainingQuery = call.query
    # One more than the page shows: whether there is a next page.
    items = await _remaining(call, query, query.limit + 1, query.after)
    following = str(items[query.limit - 1]["household_id"]) if len(items) > query.limit else None
    return Page(items=await with_heads(call, items[:query.limit]), limit=query.limit, next=following)


def _tags(codes: list[str]) -> list[str]:
    names = labels("household_tag")
    return [names.get(code, code) for code in codes]


REMAINING_COLUMNS = [
    Column("household_id", "户编号", 38), Column("head_name", "户主姓名", 10), Column("phone", "联系电话", 14),
    Column("township", "乡镇代码", 12), Column("village", "村(社区)代码", 15), Column("address", "住址", 24),
    Column("tags", "户类别", 24, _tags),
]


class CampaignExport(RemainingFilters, ExportQuery):
    pass


PERSONAL = ("head_name", "phone", "address")  # the ledger's columns opened from each household


@endpoint("GET", "/exports/campaigns/{campaign_id:uuid}", query=CampaignExport, roles=ADMIN, errors={404},
          tags=["exports", "campaigns"], content=EXPORT_CONTENT,
          summary="A campaign's households still to visit (节日慰问未走访名单) as XLSX or CSV")
async def export_campaign(call: Call) -> Response:
    query: CampaignExport = call.query
    campaign_id = call.path["campaign_id"]
    async with reading(call) as conn:
        await _require_campaign(conn, call, query.as_of)

    async def chunks() -> AsyncIterator[list[dict[str, Any]]]:
        async with reading(call) as conn, conn.transaction():
            async for chunk in campaigns.remaining_by_place(conn, schema_of(call), campaign_id, chunk=LEDGER_CHUNK,
                                                            township=query.township, village=query.village,
                                                            as_of=query.as_of):
                # From the households' events: the address is sealed there, not in a read model.
                opened = await to_thread.run_sync(open_households, county_app(call),
                                                  [row["household_id"] for row in chunk])
                await audit_personal_read(call, opened)
                yield [{**row, **{k: opened.get(row["household_id"], {}).get(k) for k in PERSONAL}} for row in chunk]

    return await download_chunks(call, Ledger("节日慰问未走访名单", REMAINING_COLUMNS), chunks())


routes = [
    campaigns_list, campaign_progress, campaign_households, export_campaign,
    command_endpoint(c.DefineCampaign, "/campaigns", "Define a festival campaign (节日慰问)", "campaigns"),
]
