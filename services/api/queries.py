"""Queries: GET endpoints for every read model, scoped to the caller's county, with `as_of` and pages.

Every answer comes from the read models' own query functions (`projections/`), run in the caller's
county schema; the county comes from the session, never from the request, so another county's id is
simply not there (404). Lists are pages: `limit`/`offset` with `total`, or, where the read model pages
by key, `limit`/`after` with `next`. Every query takes `as_of` (a date): the answer a rebuild from the
events up to that day would give.

Household personal fields (head's name, phone) are opened only for cadres and county admins of the
household's county (DESIGN §8); departments and province viewers never get them.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from anyio import to_thread
from pydantic import BaseModel, Field, RootModel, field_validator
from starlette.responses import JSONResponse

from projections import completeness, coverage, interviews, issues, leaderboards, pairing, rollup, verdicts
from projections.base import SHANGHAI, Period
from projections.schema import county_schema
from services.domain.errors import NotFound
from services.domain.household import Household
from services.domain.values import Rank
from services.personal import ERASED, open_personal

from .errors import ApiError, not_found
from .routing import Call, endpoint

ADMIN = {"county_admin"}
PERSONAL_ROLES = frozenset({"cadre", "county_admin"})  # may see household heads' names and phones
ISSUE_READERS = {"county_admin", "department"}
RANK_READERS = {"county_admin", "cadre"}  # leaderboards carry no personal data
PROVINCE = {"province_viewer"}
GEOJSON_MEDIA_TYPE = "application/geo+json"
GEOJSON_CONTENT = {GEOJSON_MEDIA_TYPE: {"schema": {"type": "object", "description": "RFC 7946 FeatureCollection"}}}


# ---- shared by every read endpoint (phone.py and exports.py use these too) -------------------------------------


EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
# Free-text filters go into SQL parameters: PostgreSQL text cannot hold control characters like NUL.
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"


class AsOf(BaseModel):
    as_of: date | None = Field(None, ge=EARLIEST, le=LATEST,
                               description="answer as of the end of this day (China time); default: now")


class Paged(AsOf):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


class Keyset(AsOf):
    limit: int = Field(50, ge=1, le=500)
    after: str | None = Field(None, max_length=100, pattern=PLAIN_TEXT, description="the `next` of the previous page")


class InPeriod(AsOf):
    period: str | None = Field(None, max_length=30, description="2026, 2026-Q1, 2026-03 or 2026-01-05..2026-02-20;"
                                                                " default: this year")


class Page(BaseModel):
    """A page of a list: `total` and `offset` for offset pages, `next` (pass as `after`) for keyset pages."""

    items: list[dict[str, Any]]
    total: int | None = None
    limit: int
    offset: int | None = None
    next: str | None = None


class Document(RootModel[dict[str, Any]]):
    """A read model's figures (see the operation's description)."""


def invalid_query(message: str) -> ApiError:
    return ApiError(422, f"Invalid query: {message}", f"查询参数有误：{message}", kind="invalid")


@asynccontextmanager
async def reading(call: Call) -> AsyncIterator[Any]:
    """A pooled asyncpg connection; the read models' ValueErrors (bad period, status, …) become 422."""
    async with call.db.acquire() as conn:
        try:
            yield conn
        except ValueError as error:
            raise invalid_query(str(error)) from None


def schema_of(call: Call) -> str:
    return county_schema(call.county)


def period_of(query: InPeriod) -> Period:
    if query.period is None:
        return Period.year(datetime.now(SHANGHAI).year)
    try:
        return Period.parse(query.period)
    except ValueError as error:
        raise invalid_query(str(error)) from None


def uuid_param(value: str | None, name: str) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise invalid_query(f"{name} is not a UUID: {value!r}") from None


def offset_page(items: Sequence[dict[str, Any]], query: Paged) -> Page:
    return Page(items=list(items[query.offset:query.offset + query.limit]), total=len(items), limit=query.limit,
                offset=query.offset)


def keyset_page(answer: dict[str, Any], limit: int) -> Page:
    following = answer.get("next")
    return Page(items=answer["items"], limit=limit, next=None if following is None else str(following))


def county_app(call: Call) -> Any:
    return call.app_state.counties.get(call.county)


def may_see_personal(call: Call) -> bool:
    return call.session is not None and bool(call.session.roles & PERSONAL_ROLES)


def open_households(county: Any, household_ids: Iterable[UUID]) -> dict[UUID, dict[str, Any]]:
    """Households as they stand, personal fields opened: head's name, phone, place, tags, version and
    archived flag (sync: run in a thread).

    Read from the households' own events with their keys, so an erased household (key gone) reads as
    erased here too."""
    ids = list(dict.fromkeys(household_ids))
    if not ids:
        return {}
    aggregates = county.load_many(ids)
    keys = county.keys.get_many(ids)
    opened = {}
    for household_id, household in aggregates.items():
        if not isinstance(household, Household):  # an id of another kind of record: no household
            continue
        key = keys.get(household_id)
        personal = open_personal(household.personal, key, household_id) if key is not None else ERASED
        opened[household_id] = {
            "head_name": personal.head_name, "phone": personal.phone, "erased": personal.erased,
            "village": household.village, "township": household.township, "address": household.address,
            "lat": household.lat, "lon": household.lon, "tags": list(household.tags), "size": household.size,
            "version": household.version, "archived": household.archived,
        }
    return opened


async def every_row(call: Call, page_of: Callable[..., Awaitable[dict[str, Any]]], **filters: Any) -> list[dict[str, Any]]:
    """Every row of a keyset-paged read-model query (`page_of(conn, schema, …, limit, after)` answering
    `{items, next}`) in the caller's county."""
    rows: list[dict[str, Any]] = []
    after = None
    async with reading(call) as conn:
        while True:
            page = await page_of(conn, schema_of(call), **filters, limit=500, after=after)
            rows.extend(page["items"])
            after = page["next"]
            if after is None:
                return rows


async def with_heads(call: Call, items: list[dict[str, Any]], key: str = "household_id") -> list[dict[str, Any]]:
    """Items with `head_name` added, opened only for roles that may see it (else left out)."""
    if not may_see_personal(call):
        return items
    ids = [item[key] for item in items if item.get(key) is not None]
    opened = await to_thread.run_sync(open_households, county_app(call), ids)
    return [{**item, "head_name": opened.get(item[key], {}).get("head_name")} if item.get(key) else item
            for item in items]


async def lookup(call: Call, reader: str, object_id: UUID, what: tuple[str, str]) -> dict[str, Any]:
    """One aggregate through the County's read helpers; not in this county → 404."""
    try:
        return await to_thread.run_sync(getattr(county_app(call), reader), object_id)
    except NotFound:
        raise not_found(*what) from None


# ---- coverage ----------------------------------------------------------------------------------------------------


class CoverageQuery(InPeriod):
    level: Literal["village", "township", "county", "h3"] = "village"
    resolution: int = Field(8, ge=7, le=9, description="H3 resolution 7 to 9 (level=h3)")


@endpoint("GET", "/coverage", query=CoverageQuery, roles=ADMIN, tags=["coverage"], content=GEOJSON_CONTENT,
          summary="Coverage as GeoJSON by village, township, county or H3 cell")
async def coverage_map(call: Call) -> JSONResponse:
    """Per feature: households, visited once / twice, visits, verified visits, coverage %."""
    query: CoverageQuery = call.query
    async with reading(call) as conn:
        collection = await coverage.geojson(conn, schema_of(call), period_of(query), query.level,
                                            resolution=query.resolution, as_of=query.as_of)
    return JSONResponse(collection, media_type=GEOJSON_MEDIA_TYPE)


# ---- completeness -----------------------------------------------------------------------------------------------


@endpoint("GET", "/completeness", query=AsOf, response=Document, roles=ADMIN, tags=["completeness"],
          summary="Household-visit completeness: county and per-township percentages")
async def completeness_summary(call: Call) -> Document:
    async with reading(call) as conn:
        return Document(await completeness.percentages(conn, schema_of(call), as_of=call.query.as_of))


# The compliance tables' filters, shared with their exports (exports.py) so a download is what the table shows.
DueStatus = Literal["ok", "due", "overdue"]


class CompletenessFilters(AsOf):
    township: str | None = Field(None, pattern=r"^\d{9}$", description="township code (9 digits)")
    village: str | None = Field(None, pattern=r"^\d{12}$", description="village code (12 digits)")
    cadre: UUID | None = Field(None, description="only the households this cadre answers for: paired with them,"
                                                 " or in their township (as on the cadre's due list)")
    status: DueStatus | None = None


class HouseholdsQuery(CompletenessFilters, Paged):
    bbox: str | None = Field(None, max_length=100, description="west,south,east,north in degrees (WGS 84): only the"
                                                               " households inside (the map asks for what it shows)")

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            west, south, east, north = (float(part) for part in value.split(","))
        except ValueError:
            raise ValueError("bbox is four numbers west,south,east,north, e.g. 109.5,18.6,109.9,18.9") from None
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise ValueError("bbox needs -180 ≤ west < east ≤ 180 and -90 ≤ south < north ≤ 90")
        return value

    def box(self) -> tuple[float, float, float, float] | None:
        return None if self.bbox is None else tuple(float(part) for part in self.bbox.split(","))  # type: ignore[return-value]


async def completeness_rows(call: Call, query: CompletenessFilters,
                            bbox: tuple[float, float, float, float] | None = None) -> list[dict[str, Any]]:
    """Every household of the completeness table that passes the filters (by household id)."""
    if query.cadre is not None:
        await lookup(call, "cadre", query.cadre, ("cadre", "干部"))  # another county's cadre: 404, not an empty page
    async with reading(call) as conn:
        return await completeness.households(conn, schema_of(call), township=query.township, village=query.village,
                                             cadre_id=query.cadre, bbox=bbox, as_of=query.as_of, status=query.status)


@endpoint("GET", "/completeness/households", query=HouseholdsQuery, response=Page, roles=ADMIN, errors={404},
          tags=["completeness"], summary="Households with visits this year, last visit, status and next due date")
async def completeness_households(call: Call) -> Page:
    query: HouseholdsQuery = call.query
    if query.cadre is not None:
        await lookup(call, "cadre", query.cadre, ("cadre", "干部"))  # another county's cadre: 404, not an empty page
    filters = {"township": query.township, "village": query.village, "cadre_id": query.cadre, "bbox": query.box(),
               "as_of": query.as_of, "status": query.status}
    async with reading(call) as conn:  # the page and its total, not every household
        items = await completeness.households(conn, schema_of(call), **filters, limit=query.limit, offset=query.offset)
        total = await completeness.count_households(conn, schema_of(call), **filters)
    return Page(items=await with_heads(call, items), total=total, limit=query.limit, offset=query.offset)


@endpoint("GET", "/cadres/{cadre_id:uuid}/due", query=Paged, response=Page, roles=ADMIN, tags=["completeness"],
          summary="A cadre's due list: paired and annual-rule households to visit, overdue first")
async def cadre_due(call: Call) -> Page:
    cadre_id = call.path["cadre_id"]
    await lookup(call, "cadre", cadre_id, ("cadre", "干部"))
    async with reading(call) as conn:
        items = await completeness.due_list(conn, schema_of(call), cadre_id, as_of=call.query.as_of)
    page = offset_page(items, call.query)
    page.items = await with_heads(call, page.items)
    return page


# ---- pairings -------------------------------------------------------------------------------------------------


class PairingFilters(AsOf):
    cadre_id: UUID | None = None
    township: str | None = Field(None, pattern=r"^\d{9}$", description="where the paired household lives"
                                                                     " (other targets have no place)")
    village: str | None = Field(None, pattern=r"^\d{12}$", description="where the paired household lives")
    rank: Rank | None = Field(None, description="the cadre's rank")
    status: DueStatus | None = None


class PairingsQuery(PairingFilters, Keyset):
    pass


def pairing_filters(query: PairingFilters) -> dict[str, Any]:
    return {"cadre_id": query.cadre_id, "township": query.township, "village": query.village, "rank": query.rank,
            "status": query.status, "as_of": query.as_of}


@endpoint("GET", "/pairings", query=PairingsQuery, response=Page, roles=ADMIN, tags=["pairings"],
          summary="Active pairings with last visit, due date and status against their cadence")
async def pairings_list(call: Call) -> Page:
    query: PairingsQuery = call.query
    async with reading(call) as conn:
        answer = await pairing.pairings(conn, schema_of(call), **pairing_filters(query), limit=query.limit,
                                        after=uuid_param(query.after, "after"))
    page = keyset_page(answer, query.limit)
    page.items = await with_heads(call, page.items)  # a paired household's head (household_id is None otherwise)
    return page


@endpoint("GET", "/pairings/summary", query=AsOf, response=Document, roles=ADMIN, tags=["pairings"],
          summary="Pairings by status, % not overdue, cadres meeting every quota")
async def pairings_summary(call: Call) -> Document:
    async with reading(call) as conn:
        return Document(await pairing.summary(conn, schema_of(call), as_of=call.query.as_of))


class QuotasQuery(Paged):
    cadre_id: UUID | None = None
    compliant: bool | None = None


@endpoint("GET", "/pairings/quotas", query=QuotasQuery, response=Page, roles=ADMIN, tags=["pairings"],
          summary="Per cadre: the county's pairing quotas (hardship households, 3/2/1 by rank, 五个一)")
async def pairing_quotas(call: Call) -> Page:
    query: QuotasQuery = call.query
    async with reading(call) as conn:
        items = await pairing.quotas(conn, schema_of(call), cadre_id=query.cadre_id, as_of=query.as_of)
    if query.compliant is not None:
        items = [item for item in items if item["compliant"] == query.compliant]
    return offset_page(items, query)


# ---- interviews -----------------------------------------------------------------------------------------------


class InterviewFilters(AsOf):
    township: str | None = Field(None, pattern=r"^\d{9}$", description="the cadre's township")
    cadre_id: UUID | None = None
    rank: Rank | None = None
    status: DueStatus | None = None


class InterviewCadresQuery(InterviewFilters, Keyset):
    pass


def interview_filters(query: InterviewFilters) -> dict[str, Any]:
    return {"township": query.township, "cadre_id": query.cadre_id, "rank": query.rank, "status": query.status,
            "as_of": query.as_of}


@endpoint("GET", "/interviews/cadres", query=InterviewCadresQuery, response=Page, roles=ADMIN, tags=["interviews"],
          summary="Per cadre: this year's interviews, last interview and status")
async def interview_cadres(call: Call) -> Page:
    query: InterviewCadresQuery = call.query
    async with reading(call) as conn:
        answer = await interviews.cadres(conn, schema_of(call), **interview_filters(query), limit=query.limit,
                                         after=uuid_param(query.after, "after"))
    return keyset_page(answer, query.limit)


@endpoint("GET", "/interviews/coverage", query=AsOf, response=Document, roles=ADMIN, tags=["interviews"],
          summary="Interview coverage for the county and by rank")
async def interview_coverage(call: Call) -> Document:
    async with reading(call) as conn:
        return Document(await interviews.coverage_by_rank(conn, schema_of(call), as_of=call.query.as_of))


@endpoint("GET", "/interviews/mismatches", query=Paged, response=Page, roles=ADMIN, tags=["interviews"],
          summary="This year's interviews whose interviewer lacked the rank the county's rule expects")
async def interview_mismatches(call: Call) -> Page:
    async with reading(call) as conn:
        items = await interviews.rank_mismatches(conn, schema_of(call), as_of=call.query.as_of)
    return offset_page(items, call.query)


# ---- issues ---------------------------------------------------------------------------------------------------


def department_scope(call: Call, asked: str | None = None) -> str | None:
    """The department whose issues the caller may see: a department user only its own, whatever it asks."""
    assert call.session is not None
    if "county_admin" in call.session.roles:
        return asked
    return call.session.department or ""  # no department is named "": an account without one sees nothing


class IssuesQuery(Keyset):
    status: Literal["open", "overdue", "resolved"] | None = None
    route: Literal["on_the_spot", "monthly_review", "department", "leadership"] | None = None
    department: str | None = Field(None, max_length=50, pattern=PLAIN_TEXT)
    category: str | None = Field(None, max_length=50, pattern=PLAIN_TEXT)


@endpoint("GET", "/issues", query=IssuesQuery, response=Page, roles=ISSUE_READERS, tags=["issues"],
          summary="The issue ledger, newest first (a department sees only issues routed to it)")
async def issues_list(call: Call) -> Page:
    query: IssuesQuery = call.query
    async with reading(call) as conn:
        answer = await issues.issues(conn, schema_of(call), status=query.status, route=query.route,
                                     department=department_scope(call, query.department), category=query.category,
                                     limit=query.limit, after=query.after, as_of=query.as_of)
    return keyset_page(answer, query.limit)


class LedgerQuery(AsOf):
    by: Literal["route", "department", "category", "township"] = "route"


@endpoint("GET", "/issues/ledger", query=LedgerQuery, response=Page, roles=ISSUE_READERS, tags=["issues"],
          summary="Issue figures grouped by route, department, category or township")
async def issues_ledger(call: Call) -> Page:
    """Per group: total, open, overdue, resolved, resolution hours (mean, median), rated, satisfied, %."""
    async with reading(call) as conn:
        items = await issues.ledger(conn, schema_of(call), call.query.by, department=department_scope(call),
                                    as_of=call.query.as_of)
    return Page(items=items, total=len(items), limit=max(len(items), 1), offset=0)


@endpoint("GET", "/issues/summary", query=InPeriod, response=Document, roles=ISSUE_READERS, tags=["issues"],
          summary="Issue totals (optionally of the issues raised in a period)")
async def issues_summary(call: Call) -> Document:
    query: InPeriod = call.query
    async with reading(call) as conn:
        return Document(await issues.summary(conn, schema_of(call), department=department_scope(call),
                                             period=period_of(query) if query.period else None, as_of=query.as_of))


@endpoint("GET", "/issues/agenda", query=AsOf, response=Document, roles=ADMIN, tags=["issues"],
          summary="The next monthly review meeting (一月一议): its day and agenda")
async def review_agenda(call: Call) -> Document:
    async with reading(call) as conn:
        return Document(await issues.review_agenda(conn, schema_of(call), as_of=call.query.as_of))


@endpoint("GET", "/issues/{issue_id:uuid}", response=Document, roles=ISSUE_READERS, tags=["issues"],
          summary="One issue with its route, deadline, resolution, reply and rating")
async def issue_detail(call: Call) -> Document:
    issue = await lookup(call, "issue", call.path["issue_id"], ("issue", "问题"))
    scope = department_scope(call)
    if scope is not None and not (issue["route"] == "department" and issue["department"] == scope):
        raise not_found("issue", "问题")  # not routed to this department: as if it did not exist
    return Document(issue)


# ---- leaderboards ---------------------------------------------------------------------------------------------


class LeaderboardQuery(InPeriod):
    by: Literal["verified_visits", "distinct_households", "issues_resolved", "satisfaction_pct"] = "verified_visits"
    limit: int = Field(20, ge=1, le=500)
    offset: int = Field(0, ge=0)


@endpoint("GET", "/leaderboards/cadres", query=LeaderboardQuery, response=Page, roles=RANK_READERS,
          tags=["leaderboards"], summary="Cadres ranked for a period (only verified visits count)")
async def leaderboard_cadres(call: Call) -> Page:
    query: LeaderboardQuery = call.query
    async with reading(call) as conn:
        answer = await leaderboards.cadres(conn, schema_of(call), period_of(query), by=query.by, limit=query.limit,
                                           offset=query.offset, as_of=query.as_of)
    return Page(items=answer["items"], total=answer["total"], limit=query.limit, offset=query.offset)


@endpoint("GET", "/leaderboards/townships", query=LeaderboardQuery, response=Page, roles=RANK_READERS,
          tags=["leaderboards"], summary="Townships ranked for a period")
async def leaderboard_townships(call: Call) -> Page:
    query: LeaderboardQuery = call.query
    async with reading(call) as conn:
        answer = await leaderboards.townships(conn, schema_of(call), period_of(query), by=query.by,
                                              limit=query.limit, offset=query.offset, as_of=query.as_of)
    return Page(items=answer["items"], total=answer["total"], limit=query.limit, offset=query.offset)


# ---- visits and their verdicts --------------------------------------------------------------------------------


class VisitsQuery(Paged):
    period: str | None = Field(None, max_length=30, description="default: every period")
    cadre_id: UUID | None = None
    household_id: UUID | None = None
    verified: bool | None = None


@endpoint("GET", "/visits", query=VisitsQuery, response=Page, roles=ADMIN, tags=["visits"],
          summary="Check-ins with their verdicts: distance, accuracy, mock flag, impossible travel")
async def visits_list(call: Call) -> Page:
    query: VisitsQuery = call.query
    period = period_of(InPeriod(period=query.period)) if query.period else None
    async with reading(call) as conn:
        items = await verdicts.checkins(conn, schema_of(call), period=period, cadre_id=query.cadre_id,
                                        household_id=query.household_id, as_of=query.as_of)
    if query.verified is not None:
        items = [item for item in items if item["verified"] == query.verified]
    return offset_page(items, query)


@endpoint("GET", "/visits/summary", query=InPeriod, response=Document, roles=ADMIN, tags=["visits"],
          summary="Check-ins verified, and why the others were not")
async def visits_summary(call: Call) -> Document:
    query: InPeriod = call.query
    async with reading(call) as conn:
        return Document(await verdicts.summary(conn, schema_of(call), period=period_of(query), as_of=query.as_of))


@endpoint("GET", "/visits/{visit_id:uuid}", response=Document, roles=ADMIN, tags=["visits"],
          summary="One check-in with its note and its verdict")
async def visit_detail(call: Call) -> Document:
    visit = await lookup(call, "visit", call.path["visit_id"], ("visit", "走访记录"))
    async with reading(call) as conn:
        judged = await verdicts.checkins(conn, schema_of(call), cadre_id=UUID(visit["cadre_id"]))
    verdict = next((v for v in judged if v["visit_id"] == call.path["visit_id"]), None)
    return Document({**visit, "verdict": verdict})


# ---- households -----------------------------------------------------------------------------------------------


async def open_issues_of(conn: Any, schema: str, household_id: UUID) -> list[dict[str, Any]]:
    """The household's issues that stand open now (the issue ledger's current versions)."""
    rows = await conn.fetch(
        f"SELECT issue_id, category, state, route, department, deadline, occurred_at FROM {issues.snapshot(schema)} s"
        " WHERE household_id = $2 AND state NOT IN ('resolved', 'replied', 'rated') ORDER BY occurred_at DESC",
        None, household_id,
    )
    return [dict(row) for row in rows]


@endpoint("GET", "/households/{household_id:uuid}", response=Document, roles=PERSONAL_ROLES, tags=["households"],
          summary="One household: its record, visit history and open issues")
async def household_detail(call: Call) -> Document:
    household_id = call.path["household_id"]
    household = await lookup(call, "household", household_id, ("household", "户"))
    async with reading(call) as conn:
        visits = await verdicts.checkins(conn, schema_of(call), household_id=household_id)
        open_issues = await open_issues_of(conn, schema_of(call), household_id)
    return Document({**household, "visits": visits, "open_issues": open_issues})


# ---- province (province viewers: rollups of their own province, never household data) ---------------------------


def province_of(call: Call) -> str:
    assert call.session is not None
    if call.session.province is None:
        raise ApiError(403, "This account belongs to no province.", "此账号不属于任何省。", kind="no-province")
    return call.session.province


async def counties_of(conn: Any, province: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT adcode, name FROM core.counties WHERE province_code = $1 ORDER BY adcode", province)
    return [dict(row) for row in rows]


class ProvinceQuery(AsOf):
    year: int | None = Field(None, ge=2000, le=2100, description="default: every year")


@endpoint("GET", "/province/counties", query=ProvinceQuery, response=Page, roles=PROVINCE, tags=["province"],
          summary="The province's counties with their monthly figures")
async def province_counties(call: Call) -> Page:
    query: ProvinceQuery = call.query
    async with reading(call) as conn:
        counties = await counties_of(conn, province_of(call))
        items = [{**county, "months": await rollup.county_months(conn, county["adcode"], year=query.year,
                                                                  as_of=query.as_of)}
                 for county in counties]
    return Page(items=items, total=len(items), limit=max(len(items), 1), offset=0)


@endpoint("GET", "/province/counties/{adcode}/months", query=ProvinceQuery, response=Page, roles=PROVINCE,
          tags=["province"], summary="One county of the province: its figures per month")
async def province_county_months(call: Call) -> Page:
    query: ProvinceQuery = call.query
    async with reading(call) as conn:
        counties = {county["adcode"] for county in await counties_of(conn, province_of(call))}
        if call.path["adcode"] not in counties:
            raise not_found("county", "县（区）")
        items = await rollup.county_months(conn, call.path["adcode"], year=query.year, as_of=query.as_of)
    return Page(items=items, total=len(items), limit=max(len(items), 1), offset=0)


class RankingQuery(AsOf):
    month: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; default: this month")
    by: Literal["coverage_pct", "verified_visits", "issues_resolved", "satisfaction_pct", "pairings_compliant_pct",
                "interview_coverage_pct"] = "coverage_pct"


@endpoint("GET", "/province/rankings", query=RankingQuery, response=Page, roles=PROVINCE, tags=["province"],
          summary="The province's counties ranked for a month")
async def province_rankings(call: Call) -> Page:
    query: RankingQuery = call.query
    today = datetime.now(SHANGHAI).date()
    async with reading(call) as conn:
        month = Period.parse(query.month) if query.month else Period.month(today.year, today.month)
        names = {county["adcode"]: county["name"] for county in await counties_of(conn, province_of(call))}
        items = await rollup.rankings(conn, province_of(call), month, by=query.by, as_of=query.as_of)
    items = [{**item, "name": names.get(item["county"])} for item in items]
    return Page(items=items, total=len(items), limit=max(len(items), 1), offset=0)


routes = [
    coverage_map, completeness_summary, completeness_households, cadre_due,
    pairings_list, pairings_summary, pairing_quotas,
    interview_cadres, interview_coverage, interview_mismatches,
    issues_list, issues_ledger, issues_summary, review_agenda, issue_detail,
    leaderboard_cadres, leaderboard_townships,
    visits_list, visits_summary, visit_detail,
    household_detail,
    province_counties, province_county_months, province_rankings,
]
