"""The plumbing every read endpoint shares: query models (`as_of`, pages, periods), a connection in the
caller's county schema, pages, and the few records that come from the events rather than a read model.

Every answer comes from the read models' own query functions (`projections/`), run in the caller's
county schema; the county comes from the session, never from the request, so another county's id is
simply not there (404). Lists are pages: `limit`/`offset` with `total`, or, where the read model pages
by key, `limit`/`after` with `next`. Every query takes `as_of` (a date): the answer a rebuild from the
events up to that day would give.

Household personal fields (head's name, phone) are opened only for cadres and county admins of the
household's county (DESIGN §8); departments and province viewers never get them. Every request by which
a county admin reads them (a household, a list with heads' names, a ledger, an export) writes one
audit-log entry naming the households (`audit_personal_read`).
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from anyio import to_thread
from pydantic import BaseModel, Field, RootModel
from starlette.responses import Response, StreamingResponse

from projections import coverage, interviews
from projections.base import SHANGHAI, Period
from services.domain import Cadre
from services.domain.errors import NotFound
from services.domain.household import Household
from services.domain.issue import Issue
from services.identity.sessions import audit
from services.ledger import (CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, Ledger, XlsxWriter, content_disposition, csv_head,
                             csv_rows, to_csv, to_xlsx)
from services.personal import ERASED, PersonalFields, keys_of, open_free_text, open_personal
from services.storage.connections import AsyncConnection
from services.storage.names import county_schema

from .auth import ADMIN, PERSONAL_ROLES
from .errors import ApiError, not_found
from .params import PeriodText
from .routing import Call

EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
# Free-text filters go into SQL parameters: PostgreSQL text cannot hold control characters like NUL.
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"
GEOJSON_MEDIA_TYPE = "application/geo+json"


class AsOf(BaseModel):
    as_of: date | None = Field(None, ge=EARLIEST, le=LATEST,
                               description="answer as of the end of this day (China time); default: now")


# The largest `offset` an offset page takes: more rows than any county holds, and within PostgreSQL's bigint
# (a bigger one reached the SQL and answered 500).
MAX_OFFSET = 10 ** 9


class Paged(AsOf):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class Keyset(AsOf):
    """A keyset page: each list declares its own `after` (the `next` of the previous page) in its own form."""

    limit: int = Field(50, ge=1, le=500)


# A newest-first keyset's cursor: the last row's time and id, `2026-06-30T10:00:00.123456+08:00|<uuid>`.
TIME_CURSOR = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?[+-][0-9]{2}:[0-9]{2}"
               r"\|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class NewestFirst(Keyset):
    """A keyset page of a list kept newest first (the issue ledger, the visit audit, the work logs)."""

    after: str | None = Field(None, max_length=100, pattern=TIME_CURSOR,
                              description="the `next` of the previous page (another value answers 422)")


class InPeriod(AsOf):
    period: PeriodText | None = Field(None, description="2026, 2026-Q1, 2026-03 or 2026-01-05..2026-02-20;"
                                                        " default: this year")


class Page(BaseModel):
    """A page of a list: `total` and `offset` for offset pages, `next` (pass as `after`) for keyset pages.
    An offset page whose count is capped (`GET /visits`) has `total` null past the cap and says in `more`
    whether a page follows."""

    items: list[dict[str, Any]]
    total: int | None = None
    limit: int
    offset: int | None = None
    next: str | None = None
    more: bool | None = None


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



def offset_page(items: Sequence[dict[str, Any]], query: Paged) -> Page:
    return Page(items=list(items[query.offset:query.offset + query.limit]), total=len(items), limit=query.limit,
                offset=query.offset)


def keyset_page(answer: dict[str, Any], limit: int) -> Page:
    following = answer.get("next")
    return Page(items=answer["items"], limit=limit, next=None if following is None else str(following))


def whole_page(items: list[dict[str, Any]]) -> Page:
    """Every item on one page (short lists: groups, a province's counties)."""
    return Page(items=items, total=len(items), limit=max(len(items), 1), offset=0)


async def every_row(call: Call, page_of: Callable[..., Awaitable[dict[str, Any]]],
                    **filters: Any) -> list[dict[str, Any]]:
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


# ---- records from the events (personal fields, names): the County application --------------------------------


def county_app(call: Call) -> Any:
    return call.app_state.counties.get(call.county)


async def lookup(call: Call, reader: str, object_id: UUID, what: tuple[str, str]) -> dict[str, Any]:
    """One aggregate through the County's read helpers; not in this county → 404."""
    try:
        return await to_thread.run_sync(getattr(county_app(call), reader), object_id)
    except NotFound:
        raise not_found(*what) from None


PERSONAL_READ = "household.read"
# A list page read again by the same admin within this window is not logged again: the admin map asks
# for the same pages at every step of its time slider and on every live update.
RELIST_WINDOW_S = 600.0
_listed: OrderedDict[tuple[Any, str, int], float] = OrderedDict()
_LISTED_MAX = 10_000


async def audit_personal_read(call: Call, household_ids: Iterable[UUID | None], action: str = PERSONAL_READ,
                              listing: bool = False, **detail: Any) -> None:
    """A county admin's read of households' personal data, to the audit log: who (the session), when
    (the entry's time), which households and through which request (method, path and query). Cadres'
    reads of their own households (the field app) are not logged. A `listing` (a page of a list) is
    logged once per admin, path and set of households in RELIST_WINDOW_S (per server process)."""
    if call.session is None or not call.session.roles & ADMIN:
        return
    ids = [str(i) for i in dict.fromkeys(household_ids) if i is not None]
    if not ids:
        return
    request = call.request
    if listing and _listed_recently((call.session.user_id, request.url.path, hash(tuple(sorted(ids))))):
        return
    route = f"{request.method} {request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
    async with call.db.acquire() as conn:
        await audit(conn, action, call.session.user_id, call.session.username, call.county,
                    detail={"household_ids": ids, "route": route, **detail})


def _listed_recently(key: tuple[Any, str, int]) -> bool:
    """Whether this page was logged within the window; remembers it from now if not."""
    now = time.monotonic()
    seen = _listed.get(key)
    if seen is not None and now - seen < RELIST_WINDOW_S:
        return True
    _listed[key] = now
    _listed.move_to_end(key)
    while len(_listed) > _LISTED_MAX:
        _listed.popitem(last=False)
    return False


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
            "village": household.village, "township": household.township,
            "address": open_free_text(household.address, key, household_id),
            "lat": household.lat, "lon": household.lon, "tags": list(household.tags), "size": household.size,
            "version": household.version, "archived": household.archived,
        }
    return opened


def open_issue_summaries(county: Any, issue_ids: Iterable[UUID]) -> dict[UUID, str | None]:
    """Issues' summaries, opened with their households' keys: None for an erased household's issue
    (sync: run in a thread)."""
    ids = list(dict.fromkeys(issue_ids))
    found = {i: issue for i, issue in (county.load_many(ids) if ids else {}).items() if isinstance(issue, Issue)}
    keys = county.keys.get_many({issue.household_id for issue in found.values() if issue.household_id is not None})
    return {i: open_free_text(issue.summary, keys.get(issue.household_id), issue.household_id)
            for i, issue in found.items()}


async def open_heads(conn: AsyncConnection, schema: str,
                     household_ids: Iterable[UUID]) -> dict[UUID, PersonalFields]:
    """The households' personal fields (head's name, phone, notes) from the register's sealed copy and the
    keys: two queries for any number of households, where `open_households` loads each one's events.
    An erased household (key gone) opens as ERASED; one the read model has not seen yet is left out."""
    ids = list(dict.fromkeys(household_ids))
    if not ids:
        return {}
    sealed = await coverage.sealed_personal(conn, schema, ids)
    keys = await keys_of(conn, schema, list(sealed))
    return {household_id: open_personal(token, keys.get(household_id), household_id)
            for household_id, token in sealed.items()}


def open_void_reasons(county: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check-in rows with their void reasons opened: a household visit's reason is sealed with the
    household's key (None once it is erased), another visit's is plain (sync: run in a thread)."""
    sealed = {item["household_id"] for item in items if item.get("void_reason") and item.get("household_id")}
    keys = county.keys.get_many(list(sealed)) if sealed else {}
    return [{**item, "void_reason": open_free_text(item["void_reason"], keys.get(item["household_id"]),
                                                   item["household_id"])} if item.get("void_reason") else item
            for item in items]


async def with_void_reasons(call: Call, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check-in rows with their void reasons opened (`open_void_reasons`)."""
    if not any(item.get("void_reason") for item in items):
        return items
    return await to_thread.run_sync(open_void_reasons, county_app(call), items)


async def with_heads(call: Call, items: list[dict[str, Any]], key: str = "household_id") -> list[dict[str, Any]]:
    """Items with `head_name` added, opened only for roles that may see it (else left out)."""
    if not may_see_personal(call):
        return items
    async with reading(call) as conn:
        opened = await open_heads(conn, schema_of(call), [item[key] for item in items if item.get(key) is not None])
    await audit_personal_read(call, opened, listing=True)
    return [{**item, "head_name": opened[item[key]].head_name if item[key] in opened else None}
            if item.get(key) else item for item in items]


async def active_cadres(call: Call) -> list[Cadre]:
    """The county's active cadres: the interview read model's list, their records from their events (so a
    departure the read model has not applied yet already counts)."""
    async with reading(call) as conn:
        ids = await interviews.active_cadres(conn, schema_of(call))
    loaded = await to_thread.run_sync(county_app(call).load_many, ids) if ids else {}
    return [cadre for cadre in loaded.values() if isinstance(cadre, Cadre) and not cadre.departed]


# ---- downloads: a ledger (services/ledger.py) as the XLSX or CSV file the query asked for ----------------

EXPORT_CONTENT = {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                  "text/csv": {"schema": {"type": "string"}}}


class ExportQuery(AsOf):
    format: Literal["xlsx", "csv"] = "xlsx"


def download(call: Call, ledger: Ledger) -> Response:
    if call.query.format == "csv":
        body, media_type = to_csv(ledger), CSV_MEDIA_TYPE
    else:
        body, media_type = to_xlsx(ledger), XLSX_MEDIA_TYPE
    return Response(body, media_type=media_type, headers=_attachment(call, ledger))


# Households per chunk of a ledger written as it is read (`download_chunks`): each chunk's households are opened
# and logged as read together, and only one chunk is held at a time.
LEDGER_CHUNK = 2000


async def download_chunks(call: Call, ledger: Ledger, chunks: AsyncIterator[list[dict[str, Any]]]) -> Response:
    """`download` of a ledger whose rows come a chunk at a time, streamed as they come, holding one chunk: the
    first bytes leave at once, so no proxy times out on a county-sized file."""
    first = await anext(chunks, None)  # before any byte: a refused query still answers 422, not a cut-off file

    async def every_chunk() -> AsyncIterator[list[dict[str, Any]]]:
        if first is not None:
            yield first
        async for chunk in chunks:
            yield chunk

    if call.query.format == "csv":
        async def csv_body() -> AsyncIterator[bytes]:
            yield csv_head(ledger)
            async for chunk in every_chunk():
                yield csv_rows(ledger, chunk)

        return StreamingResponse(csv_body(), media_type=CSV_MEDIA_TYPE, headers=_attachment(call, ledger))

    async def xlsx_body() -> AsyncIterator[bytes]:
        writer = XlsxWriter([ledger])
        try:
            writer.begin()
            yield writer.take()
            async for chunk in every_chunk():
                await to_thread.run_sync(writer.rows, chunk)
                yield writer.take()
            writer.end()
        except BaseException:  # the client went away, or the database did: the file stays unfinished
            writer.discard()
            raise
        yield writer.finish()

    return StreamingResponse(xlsx_body(), media_type=XLSX_MEDIA_TYPE, headers=_attachment(call, ledger))


def _attachment(call: Call, ledger: Ledger) -> dict[str, str]:
    query: ExportQuery = call.query
    day = (query.as_of or datetime.now(SHANGHAI).date()).isoformat()
    county_name = (call.session.county_name if call.session else None) or call.county
    return {"Content-Disposition": content_disposition(f"{ledger.title}-{county_name}-{day}.{query.format}")}
