"""What a cadre's phone caches for offline work: `/me/due`, `/me/households?since=`, `/me/households/{id}`,
`/me/cadres`, `/me/stats`.

Shapes are those of docs/contracts.md (the PWA builds against them). A cadre's households are the
households of their township plus the ones they are paired with wherever those live.

`since` / `cursor`: the cursor is opaque to the phone. It holds a moment a little before the answer
was made; `since=<cursor>` answers the households whose record, place, tags, visits or issues changed
in the read models from that moment on, archived ones included (`archived: true`: drop them). The
slack (CURSOR_SLACK) covers events committed or projected just after an answer was made, so nothing
falls between two cursors; a household may come twice, which a cache keyed by id absorbs.
"""
from __future__ import annotations

import base64
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from anyio import to_thread
from pydantic import BaseModel, Field

from projections import campaigns, completeness, coverage, issues, leaderboards, pairing, verdicts
from projections.base import SHANGHAI, Period
from services.county_map import county_places
from services.identity.sessions import erased_since
from services.storage.connections import AsyncConnection

from .errors import ApiError, not_found
from .params import DueCursor
from .reading import (
    audit_personal_read, county_app, lookup, open_heads, open_households, open_issue_summaries, reading,
    schema_of,
)
from .routing import Call, endpoint

CURSOR_SLACK = timedelta(minutes=10)
PHONE_ROLES = {"cadre"}


async def place_names(call: Call) -> dict[str, str]:
    """Township and village names by code, from the county's boundary FeatureCollection
    (docs/contracts.md: `core.counties.boundary`) and the villages its admins added; a county without
    either gets {} and the phone shows codes.
    Cached for NAMES_TTL: boundaries change with a re-provisioning, not with field work."""
    adcode = call.county
    cached = _names_cache.get(adcode)
    if cached is not None and time.monotonic() - cached[0] < NAMES_TTL:
        return cached[1]
    async with call.db.acquire() as conn:
        names = {place.code: place.name for place in await county_places(conn, adcode)}
    _names_cache[adcode] = (time.monotonic(), names)
    return names


NAMES_TTL = 300.0
_names_cache: dict[str, tuple[float, dict[str, str]]] = {}


def my_cadre(call: Call) -> UUID:
    assert call.session is not None
    if call.session.cadre_id is None:
        raise ApiError(403, "This account is not linked to a cadre.", "此账号未关联干部，无法使用走访功能。",
                       kind="no-cadre")
    return call.session.cadre_id


# ---- /me/due ----------------------------------------------------------------------------------------------------


class DueCampaign(BaseModel):
    """A festival campaign running today that still has to visit the household (check in as `festival`)."""

    campaign_id: UUID
    festival: Literal["spring_festival", "duanwu", "mid_autumn"]
    starts_on: date
    ends_on: date


class DueItem(BaseModel):
    household_id: UUID
    head_name: str | None = Field(description="None when the household's personal data was erased")
    village: str
    village_name: str | None
    lat: float
    lon: float
    reason: Literal["pairing", "annual_rule", "campaign"]
    status: Literal["due", "overdue"]
    due_date: date
    last_visit: date | None
    campaign: DueCampaign | None = None


class DueList(BaseModel):
    items: list[DueItem]
    next: str | None = Field(description="pass as `after` for the next page; None on the last page")


class DueQuery(BaseModel):
    """A page of the due list in its order: a township cadre's list can hold every household of the
    township, so the phone fetches it a page at a time."""

    limit: int = Field(500, ge=1, le=500)
    after: DueCursor | None = Field(None, description="the `next` of the previous page (another value answers 422)")


def _due_cursor(item: dict[str, Any]) -> str:
    """The item's place in the due list's order, as `after` takes it."""
    return f"{item['status']}|{item['due_date'].isoformat()}|{item['household_id']}"


def _due_after(text: str) -> completeness.DueKey:
    status, day, household_id = text.split("|")
    return status != "overdue", date.fromisoformat(day), household_id


async def _campaigns_due(conn: AsyncConnection, schema: str, cadre_id: UUID) -> dict[UUID, dict[str, Any]]:
    """The households a running campaign still has to visit among those the cadre answers for, as due
    items (`reason` campaign, due by the window's last day), by household."""
    answers_for = await completeness.responsibility(conn, schema, cadre_id, None)
    if answers_for is None:
        return {}
    township, pairings = answers_for
    running = await campaigns.still_to_visit(conn, schema, datetime.now(SHANGHAI).date(), township=township,
                                             household_ids=[p["household_id"] for p in pairings])
    return {i["household_id"]: {**i, "reason": "campaign", "status": "due", "due_date": i["campaign"]["ends_on"]}
            for i in running}


@endpoint("GET", "/me/due", query=DueQuery, response=DueList, roles=PHONE_ROLES, tags=["phone"],
          summary="My households to visit, a page at a time: paired ones, those the annual rule marks due and"
                  " those a running festival campaign still has to visit; overdue first, then by due date")
async def my_due(call: Call) -> DueList:
    """A campaign's household already on the list keeps its item, marked with the campaign; one not on it
    comes as a `campaign` item in its place (due by the window's last day)."""
    cadre_id = my_cadre(call)
    query: DueQuery = call.query
    try:
        after = _due_after(query.after) if query.after else None
    except ValueError:  # the pattern lets a day like 2026-02-31 through
        raise ApiError(422, "`after` is not a `next` this server gave: omit it to start from the first page.",
                       "after 参数无效：请省略它，从第一页开始。", kind="invalid") from None
    async with reading(call) as conn:
        running = await _campaigns_due(conn, schema_of(call), cadre_id)
        items = await completeness.due_after(conn, schema_of(call), cadre_id, limit=query.limit + 1, after=after,
                                             extra=list(running.values()))
        items, more = items[:query.limit], len(items) > query.limit
        opened = await open_heads(conn, schema_of(call), [i["household_id"] for i in items])
    await audit_personal_read(call, opened)
    names = await place_names(call)
    # Validated as one list, not item by item: for a township cadre's 11,308 households, DueItem(...) one by
    # one took 116 ms, the list at once about 30 ms.
    return DueList.model_validate({"items": [
        {"household_id": i["household_id"],
         "head_name": opened[i["household_id"]].head_name if i["household_id"] in opened else None,
         "village": i["village"], "village_name": names.get(i["village"]), "lat": i["lat"], "lon": i["lon"],
         "reason": i["reason"], "status": i["status"], "due_date": i["due_date"], "last_visit": i["last_visit"],
         "campaign": running[i["household_id"]]["campaign"] if i["household_id"] in running else None}
        for i in items
    ], "next": _due_cursor(items[-1]) if more else None})


# ---- /me/households ---------------------------------------------------------------------------------------------


class MyHousehold(BaseModel):
    id: UUID
    head_name: str | None
    phone: str | None
    village: str
    village_name: str | None
    township: str
    township_name: str | None
    address: str | None = Field(description="None when the household's personal data was erased")
    lat: float
    lon: float
    tags: list[str]
    archived: bool
    erased: bool = Field(description="its personal data was erased: drop what the phone keeps of it")
    version: int
    last_visit: date | None
    visits_this_year: int
    open_issues: int


class MyHouseholds(BaseModel):
    households: list[MyHousehold]
    cursor: str = Field(description="pass as `since` next time to get only what changed (after a walk of pages, "
                                    "the first page's)")
    next: UUID | None = Field(None, description="with `limit`: pass as `after` for the next page; None on the last")


class SinceQuery(BaseModel):
    """A township can hold 30,000 households: with `limit` they come a page at a time, by household id."""

    since: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]*$",
                              description="the `cursor` of an earlier answer (another value answers 422)")
    limit: int | None = Field(None, ge=1, le=2000, description="households per page; without it, all at once")
    after: UUID | None = Field(None, description="the `next` of the previous page")


def _cursor(moment: datetime) -> str:
    return base64.urlsafe_b64encode(f"t1:{moment.isoformat()}".encode()).decode().rstrip("=")


def _since(text: str) -> datetime:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        if not raw.startswith("t1:"):
            raise ValueError(raw)
        moment = datetime.fromisoformat(raw[3:])
        if moment.tzinfo is None:
            raise ValueError(raw)
        return moment
    except ValueError:
        raise ApiError(422, "`since` is not a cursor this server gave: omit it to get every household.",
                       "since 参数无效：请省略它以获取全部农户。", kind="invalid") from None


# The read models a household's record on the phone comes from (record and place, pairings, visits, issues).
CHANGES = (coverage, pairing, verdicts, issues)


async def _changed_since(conn: AsyncConnection, schema: str, moment: datetime) -> set[UUID]:
    """Households whose record, place, tags, visits or issues changed in the read models from `moment`."""
    changed: set[UUID] = set()
    for read_model in CHANGES:
        changed |= await read_model.households_changed_since(conn, schema, moment)
    return changed


@endpoint("GET", "/me/households", query=SinceQuery, response=MyHouseholds, roles=PHONE_ROLES, tags=["phone"],
          summary="My township's and my paired households, for the phone's offline cache")
async def my_households(call: Call) -> MyHouseholds:
    """Without `since`: every active household. With `since`: only those changed since that cursor,
    archived ones included so the phone can drop them."""
    query: SinceQuery = call.query
    cadre_id = my_cadre(call)
    since = _since(query.since) if query.since else None
    made_at = datetime.now(UTC)
    cadre = await lookup(call, "cadre", cadre_id, ("cadre", "干部"))
    home = cadre["township"]
    schema = schema_of(call)
    following = None
    async with reading(call) as conn:
        # The cadre's paired households by index (`pairing.pairings` judged every pairing of the county first).
        answers_for = await completeness.responsibility(conn, schema, cadre_id, None)
        paired_ids = {p["household_id"] for p in answers_for[1]} if answers_for else set()
        if since:  # O(the county's changes since the cursor), not O(the township)
            # An erasure changes no read model: its audit entry says which households it touched.
            changed = await _changed_since(conn, schema, since) | await erased_since(conn, call.county, since)
            # Archived ones too (they are in no completeness list): the phone drops them.
            townships = await coverage.townships_of(conn, schema, list(changed - paired_ids))
            chosen = sorted(i for i in changed if (i in paired_ids or townships.get(i) == home)
                            and (query.after is None or i > query.after))
            if query.limit is not None and len(chosen) > query.limit:
                chosen = chosen[:query.limit]
                following = chosen[-1]
            listed = await completeness.households(conn, schema, household_ids=chosen) if chosen else []
        else:  # the township a page at a time by its index; the cadre's pairings elsewhere with the first
            home_ones = await completeness.households(conn, schema, township=home, after=query.after,
                                                      limit=query.limit) if home else []
            if query.limit is not None and len(home_ones) == query.limit:
                following = home_ones[-1]["household_id"]
            away = await coverage.townships_of(conn, schema, list(paired_ids)) if query.after is None else {}
            elsewhere = sorted(i for i in paired_ids if query.after is None and away.get(i) != home)
            listed = home_ones + (await completeness.households(conn, schema, household_ids=elsewhere)
                                  if elsewhere else [])
            chosen = sorted({h["household_id"] for h in home_ones} | set(elsewhere))
        figures = {h["household_id"]: h for h in listed}
        counts = await issues.open_for_households(conn, schema, chosen)
    records = await to_thread.run_sync(open_households, county_app(call), chosen)
    names = await place_names(call)
    await audit_personal_read(call, [i for i in chosen if i in records])
    households = [  # a paired target id that is no household of this county has no record: left out
        my_household(household_id, records[household_id], figures.get(household_id), counts.get(household_id, 0),
                     names)
        for household_id in chosen if household_id in records
    ]
    return MyHouseholds(households=households, cursor=_cursor(made_at - CURSOR_SLACK), next=following)


def my_household(household_id: UUID, record: dict[str, Any], figure: dict[str, Any] | None, open_issues: int,
                 names: dict[str, str]) -> MyHousehold:
    """The phone's record of a household: `record` from `open_households`, `figure` from completeness."""
    return MyHousehold(
        id=household_id, head_name=record["head_name"], phone=record["phone"], village=record["village"],
        village_name=names.get(record["village"]), township=record["township"],
        township_name=names.get(record["township"]), address=record["address"], lat=record["lat"],
        lon=record["lon"], tags=record["tags"], archived=record["archived"], erased=record["erased"],
        version=record["version"],
        last_visit=figure["last_visit"] if figure else None,
        visits_this_year=figure["visits_this_year"] if figure else 0, open_issues=open_issues,
    )


# ---- /me/households/{id} ----------------------------------------------------------------------------------------


class HouseholdVisit(BaseModel):
    id: UUID
    occurred_at: datetime
    kind: str
    cadre_name: str | None
    topics: list[str]
    verified: bool


class HouseholdIssue(BaseModel):
    id: UUID
    category: str
    summary: str | None
    state: str
    raised_at: datetime


class MyHouseholdDetail(BaseModel):
    household: MyHousehold
    visits: list[HouseholdVisit] = Field(description="newest first")
    issues: list[HouseholdIssue] = Field(description="newest first, open and closed")


def _visit_details(county: Any, visit_ids: list[UUID]) -> tuple[dict[UUID, Any], dict[UUID, Any]]:
    """(visits by id, their cadres by id) from their events: topics and names live only there."""
    visits = county.load_many(visit_ids) if visit_ids else {}
    cadre_ids = {visit.cadre_id for visit in visits.values()}
    return visits, county.load_many(cadre_ids) if cadre_ids else {}


@endpoint("GET", "/me/households/{household_id:uuid}", response=MyHouseholdDetail, roles=PHONE_ROLES,
          tags=["phone"], summary="One household for the phone: its record, visit history and issues")
async def my_household_detail(call: Call) -> MyHouseholdDetail:
    my_cadre(call)
    household_id = call.path["household_id"]
    records = await to_thread.run_sync(open_households, county_app(call), [household_id])
    if household_id not in records:
        raise not_found("household", "农户")
    record = records[household_id]
    await audit_personal_read(call, [household_id])
    schema = schema_of(call)
    async with reading(call) as conn:
        figure = next(iter(await completeness.households(conn, schema, household_ids=[household_id])), None)
        checkins = await verdicts.checkins(conn, schema, household_id=household_id)
        raised = await issues.of_household(conn, schema, household_id)
    visits, cadres = await to_thread.run_sync(_visit_details, county_app(call), [v["visit_id"] for v in checkins])
    summaries = await to_thread.run_sync(open_issue_summaries, county_app(call), [row["issue_id"] for row in raised])
    open_count = sum(1 for row in raised if issues.is_open(row["state"]))
    return MyHouseholdDetail(
        household=my_household(household_id, record, figure, open_count, await place_names(call)),
        visits=[HouseholdVisit(
            id=v["visit_id"], occurred_at=v["occurred_at"], kind=v["kind"], verified=v["verified"],
            cadre_name=getattr(cadres.get(v["cadre_id"]), "name", None),
            topics=list(getattr(visits.get(v["visit_id"]), "topics", []) or []),
        ) for v in checkins],
        issues=[HouseholdIssue(id=row["issue_id"], category=row["category"], summary=summaries.get(row["issue_id"]),
                               state=row["state"], raised_at=row["occurred_at"]) for row in raised],
    )


# ---- /me/cadres ----------------------------------------------------------------------------------------------


class Interviewee(BaseModel):
    id: UUID
    name: str
    rank: str
    unit: str
    township_name: str | None


class Interviewees(BaseModel):
    cadres: list[Interviewee]


@endpoint("GET", "/me/cadres", response=Interviewees, roles=PHONE_ROLES, tags=["phone"],
          summary="The county's active cadres (the Interview screen's interviewee list)")
async def my_cadres(call: Call) -> Interviewees:
    """From the cadres' versions the leaderboards keep, not each cadre's events: a phone asks at every refresh,
    and a county has thousands of cadres (3,000 of them took 127 ms to load from their events)."""
    my_cadre(call)
    names = await place_names(call)
    async with reading(call) as conn:
        known = await leaderboards.known_cadres(conn, schema_of(call), None)
    entries = [{"id": cadre_id, "name": cadre["name"], "rank": cadre["rank"], "unit": cadre["unit"],
                "township_name": names.get(cadre["township"] or "")}
               for cadre_id, cadre in known.items() if not cadre["departed"]]
    entries.sort(key=lambda entry: (entry["name"], str(entry["id"])))
    return Interviewees.model_validate({"cadres": entries})


# ---- /me/stats --------------------------------------------------------------------------------------------------


class MyStats(BaseModel):
    month_visits: int = Field(description="my check-ins this month (voided ones left out)")
    verified_visits: int = Field(description="of those, the verified ones")
    verified_ratio: float | None = Field(description="verified / month visits; None without visits")
    township_rank: int | None = Field(description="my place among my township's cadres by verified visits")
    township_size: int = Field(description="cadres ranked in my township")


@endpoint("GET", "/me/stats", response=MyStats, roles=PHONE_ROLES, tags=["phone"],
          summary="This month: my visits, verified ratio and my place on the township leaderboard")
async def my_stats(call: Call) -> MyStats:
    cadre_id = my_cadre(call)
    today = datetime.now(SHANGHAI).date()
    month = Period.month(today.year, today.month)
    schema = schema_of(call)
    async with reading(call) as conn:
        visits, verified = await verdicts.tally(conn, schema, cadre_id, month)
        rank, size = await leaderboards.township_place(conn, schema, month, cadre_id)
    return MyStats(
        month_visits=visits, verified_visits=verified,
        verified_ratio=round(verified / visits, 3) if visits else None,
        township_rank=rank, township_size=size,
    )


routes = [my_due, my_households, my_household_detail, my_cadres, my_stats]
