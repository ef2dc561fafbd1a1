"""Festival campaigns (节日慰问): per campaign, the households still to visit, coverage by township and
village, and the final percentage.

A campaign's households (its targets) are those not archived that carry one of its tags. Membership
follows the households' changes (registered, relocated, retagged, archived) recorded until the window
closes (the end of `ends_on`, China time); from then on the campaign's households and their places are
fixed, so its final percentage does not drift when, years later, a household is retagged. A campaign
defined after its window closed takes the households as they stand when it is defined.

A target is visited when it has at least one check-in of kind `festival` that occurred inside the
window, is not voided and is verified: judged by `projections.verdicts` (impossible travel too), the verdict
every visit figure uses, against the household's place as known when the check-in was recorded. A
check-in synced late (recorded after the window closed) still counts, on the day it was recorded.

Cost (DESIGN §6): a batch reads and writes only the households, festival check-ins and targets its
events touch (a campaign's definition: the households it targets); the running totals
(`campaigns_tallies`, per campaign, township and village and for the whole campaign, by recorded day)
answer progress as of any day in O(the campaign's villages); the list still to visit is a keyset page
of a partial index now, and as of a past day comes from the versions of the campaign's target rows
(`campaigns_target_versions`, O(the campaign's targets)).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from asyncpg import Record

from projections.base import Period, Projection, as_uuid, event_name, insert_rows, local_date, parse_date, parse_time
from projections.base import recorded_before, reference_date, upsert_rows
from projections.rules import Rules
from projections.running import RunningTotals
from projections.verdicts import judged
from services.storage.connections import AsyncConnection

# Figures per campaign and place: ('', '') is the whole campaign, (township, '') a township.
TALLIES = RunningTotals(
    "campaigns_tallies", [("campaign_id", "uuid"), ("township", "text"), ("village", "text")],
    [("households", "int"), ("visited", "int")],
)

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.campaigns_campaigns ("
    " campaign_id uuid PRIMARY KEY, festival text NOT NULL, starts_on date NOT NULL, ends_on date NOT NULL,"
    " tags text[] NOT NULL, defined_at timestamptz NOT NULL)",
    # Every household as it stands now: what a new campaign picks its targets from (by tag).
    "CREATE TABLE IF NOT EXISTS {schema}.campaigns_households ("
    " household_id uuid PRIMARY KEY, village text NOT NULL, township text NOT NULL, lat float8 NOT NULL,"
    " lon float8 NOT NULL, tags text[] NOT NULL, archived boolean NOT NULL)",
    "CREATE INDEX IF NOT EXISTS campaigns_households_tags ON {schema}.campaigns_households USING gin (tags)",
    # The festival check-ins at households, with their verdicts as they stand.
    "CREATE TABLE IF NOT EXISTS {schema}.campaigns_visits ("
    " visit_id uuid PRIMARY KEY, household_id uuid NOT NULL, occurred_at timestamptz NOT NULL,"
    " recorded_at timestamptz NOT NULL, verified boolean NOT NULL, voided_at timestamptz)",
    "CREATE INDEX IF NOT EXISTS campaigns_visits_household ON {schema}.campaigns_visits (household_id)",
    # Each household a campaign ever targeted: whether it still does, where it counts, its counted visits.
    "CREATE TABLE IF NOT EXISTS {schema}.campaigns_targets ("
    " campaign_id uuid NOT NULL, household_id uuid NOT NULL, member boolean NOT NULL, village text NOT NULL,"
    " township text NOT NULL, visits int NOT NULL, version int NOT NULL, PRIMARY KEY (campaign_id, household_id))",
    "CREATE INDEX IF NOT EXISTS campaigns_targets_household ON {schema}.campaigns_targets (household_id)",
    # Every version of a target row, from the moment it was recorded: the list still to visit as of a day.
    "CREATE TABLE IF NOT EXISTS {schema}.campaigns_target_versions ("
    " campaign_id uuid NOT NULL, household_id uuid NOT NULL, version int NOT NULL, valid_from timestamptz NOT NULL,"
    " member boolean NOT NULL, village text NOT NULL, township text NOT NULL, visited boolean NOT NULL,"
    " PRIMARY KEY (campaign_id, household_id, version))",
    # The list still to visit, a page at a time in household id order.
    "CREATE INDEX IF NOT EXISTS campaigns_targets_remaining ON {schema}.campaigns_targets"
    " (campaign_id, household_id) WHERE member AND visits = 0",
    "CREATE INDEX IF NOT EXISTS campaigns_targets_remaining_village ON {schema}.campaigns_targets"
    " (campaign_id, village, household_id) WHERE member AND visits = 0",
    # A cadre's township's households still to visit (the phone's Today).
    "CREATE INDEX IF NOT EXISTS campaigns_targets_remaining_township ON {schema}.campaigns_targets"
    " (campaign_id, township, household_id) WHERE member AND visits = 0",
    "CREATE TABLE IF NOT EXISTS {schema}.campaigns_places ("
    " campaign_id uuid NOT NULL, township text NOT NULL, village text NOT NULL,"
    " PRIMARY KEY (campaign_id, township, village))",
    TALLIES.ddl(),
]
# The columns of the tables written a row per key (`upsert_rows`), in table order.
HOUSEHOLD_COLUMNS = [("household_id", "uuid"), ("village", "text"), ("township", "text"), ("lat", "float8"),
                     ("lon", "float8"), ("tags", "text[]"), ("archived", "boolean")]
VISIT_COLUMNS = [("visit_id", "uuid"), ("household_id", "uuid"), ("occurred_at", "timestamptz"),
                 ("recorded_at", "timestamptz"), ("verified", "boolean"), ("voided_at", "timestamptz")]
TARGET_COLUMNS = [("campaign_id", "uuid"), ("household_id", "uuid"), ("member", "boolean"), ("village", "text"),
                  ("township", "text"), ("visits", "int"), ("version", "int")]


@dataclass
class _Campaign:
    campaign_id: UUID
    festival: str
    starts_on: date
    ends_on: date
    tags: frozenset[str]

    def __post_init__(self) -> None:
        self.opens, self.closes = Period(self.starts_on, self.ends_on).instants()


@dataclass
class _Home:
    village: str
    township: str
    lat: float
    lon: float
    tags: list[str]
    archived: bool


@dataclass
class _Visit:
    household_id: UUID
    occurred_at: datetime
    recorded_at: datetime
    verified: bool
    voided_at: datetime | None = None


@dataclass
class _Target:
    member: bool
    village: str
    township: str
    visits: int
    version: int = field(default=0, compare=False)

    def figures(self) -> tuple[str, str, list[int]] | None:
        return (self.township, self.village, [1, int(self.visits > 0)]) if self.member else None


class _Batch:
    """The state a batch touches, loaded once and changed event by event, with the totals' deltas."""

    def __init__(self, campaigns: dict[UUID, _Campaign]) -> None:
        self.campaigns = campaigns
        self.homes: dict[UUID, _Home] = {}
        self.visits: dict[UUID, _Visit] = {}
        self.visits_of: dict[UUID, list[UUID]] = defaultdict(list)
        self.targets: dict[tuple[UUID, UUID], _Target] = {}
        self.targets_of: dict[UUID, set[UUID]] = defaultdict(set)  # household -> campaigns with a target row
        self.changed_homes: set[UUID] = set()
        self.changed_visits: set[UUID] = set()
        self.changed_targets: set[tuple[UUID, UUID]] = set()
        self.target_versions: list[tuple[Any, ...]] = []
        self.new_campaigns: list[tuple[_Campaign, datetime]] = []
        self.deltas: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: TALLIES.zero())

    def add_visit(self, visit_id: UUID, visit: _Visit) -> None:
        self.visits[visit_id] = visit
        self.visits_of[visit.household_id].append(visit_id)

    def add_target(self, campaign_id: UUID, household_id: UUID, target: _Target) -> None:
        self.targets[(campaign_id, household_id)] = target
        self.targets_of[household_id].add(campaign_id)

    def counted(self, campaign: _Campaign, household_id: UUID) -> int:
        return sum(
            1 for v in (self.visits[i] for i in self.visits_of.get(household_id, ()))
            if v.verified and v.voided_at is None and campaign.opens <= v.occurred_at < campaign.closes
        )

    def refresh(self, campaign: _Campaign, household_id: UUID, moment: datetime, defining: bool = False) -> None:
        """Judge the household's target row of the campaign again after a change recorded at `moment`."""
        key = (campaign.campaign_id, household_id)
        old = self.targets.get(key)
        if moment >= campaign.closes and not defining:
            if old is None:
                return
            member, village, township = old.member, old.village, old.township  # fixed once the window closed
        else:
            home = self.homes[household_id]
            member = not home.archived and not campaign.tags.isdisjoint(home.tags)
            village, township = home.village, home.township
        if old is None and not member:
            return
        new = _Target(member, village, township, self.counted(campaign, household_id), old.version + 1 if old else 1)
        if new == old:
            return
        self.target_versions.append((campaign.campaign_id, household_id, new.version, moment, member, village,
                                     township, new.visits > 0))
        day = local_date(moment)
        for figures, sign in ((old.figures() if old else None, -1), (new.figures(), 1)):
            if figures is None:
                continue
            township, village, vector = figures
            for place in (("", ""), (township, ""), (township, village)):
                key_day = (campaign.campaign_id, *place, day)
                self.deltas[key_day] = [a + sign * b for a, b in zip(self.deltas[key_day], vector, strict=True)]
        self.add_target(campaign.campaign_id, household_id, new)
        self.changed_targets.add(key)


class Campaigns(Projection):
    name = "campaigns"
    version = 4  # a visit turned by a late check-in keeps its turned verdict (rebuilt once, on upgrade)
    reads = ("verdicts",)
    deferred = True  # nothing reads it within a batch: it runs beside the county's next (projections.driver)
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        names = [event_name(e) for e in events]
        if not any(n.startswith(("Campaign.", "Household.", "Visit.")) for n in names):
            return
        batch = _Batch({r["campaign_id"]: _campaign(r) for r in await conn.fetch(
            f"SELECT * FROM {schema}.campaigns_campaigns")})
        # Festival check-ins of this batch and the ones it voids: the households they are at.
        verdicts = await judged(conn, schema, events)
        # ... and the ones whose verdict it turns (impossible travel, by a late arrival or a void)
        voided = [e.originator_id for e, n in zip(events, names, strict=True) if n == "Visit.Voided"]
        voided += [row["visit_id"] for rows in verdicts.rejudged.values() for row in rows]
        if voided:
            for row in await conn.fetch(f"SELECT * FROM {schema}.campaigns_visits WHERE visit_id = ANY($1)", voided):
                batch.add_visit(row["visit_id"], _visit(row))
        touched = {v.household_id for v in batch.visits.values()}
        for event, name in zip(events, names, strict=True):
            if name.startswith("Household."):
                touched.add(event.originator_id)
            elif name == "Visit.CheckedIn" and _counts_for_campaigns(event):
                touched.add(as_uuid(event.household_id))
        await _load(conn, schema, batch, touched, known_visits=set(batch.visits))
        for event, name in zip(events, names, strict=True):
            moment = event.timestamp
            if name == "Campaign.Defined":
                await _define(conn, schema, batch, event)
            elif name.startswith("Household."):
                _change_home(batch, event, name)
                for campaign in batch.campaigns.values():
                    if moment < campaign.closes:
                        batch.refresh(campaign, event.originator_id, moment)
            elif name == "Visit.CheckedIn" and _counts_for_campaigns(event):
                household_id = as_uuid(event.household_id)
                visit = _Visit(household_id, parse_time(event.occurred_at), moment,
                               verdicts.arrived[event.originator_id])
                batch.add_visit(event.originator_id, visit)
                batch.changed_visits.add(event.originator_id)
                _revisit(batch, visit, moment)
            elif name == "Visit.Voided" and event.originator_id in batch.visits:
                visit = batch.visits[event.originator_id]
                if visit.voided_at is None:
                    visit.voided_at = moment
                    batch.changed_visits.add(event.originator_id)
                    _revisit(batch, visit, moment)
            for row in verdicts.turned_by(event):
                turned = batch.visits.get(row["visit_id"])
                if turned is not None and turned.voided_at is None and turned.verified != row["after"]:
                    turned.verified = row["after"]
                    batch.changed_visits.add(row["visit_id"])
                    _revisit(batch, turned, moment)
        await _save(conn, schema, batch)


projection = Campaigns()


def _counts_for_campaigns(event: Any) -> bool:
    return event.kind == "festival" and event.target_kind == "household" and event.household_id is not None


def _campaign(row: Any) -> _Campaign:
    return _Campaign(row["campaign_id"], row["festival"], row["starts_on"], row["ends_on"], frozenset(row["tags"]))


def _visit(row: Any) -> _Visit:
    return _Visit(row["household_id"], row["occurred_at"], row["recorded_at"], row["verified"], row["voided_at"])


def _revisit(batch: _Batch, visit: _Visit, moment: datetime) -> None:
    """A festival check-in came or went: the campaigns whose window holds it count again."""
    for campaign_id in list(batch.targets_of.get(visit.household_id, ())):
        campaign = batch.campaigns[campaign_id]
        if campaign.opens <= visit.occurred_at < campaign.closes:
            batch.refresh(campaign, visit.household_id, moment)


def _change_home(batch: _Batch, event: Any, name: str) -> None:
    household_id = event.originator_id
    home = batch.homes.get(household_id)
    if name == "Household.Registered":
        batch.homes[household_id] = _Home(event.village, event.township, float(event.lat), float(event.lon),
                                          list(event.tags), False)
    elif home is None:
        return  # a change to a household this read model never saw registered (not in its log)
    elif name == "Household.Relocated":
        home.village, home.township, home.lat, home.lon = event.village, event.township, float(event.lat), float(
            event.lon)
    elif name == "Household.Retagged":
        home.tags = list(event.tags)
    elif name == "Household.Archived":
        home.archived = True
    batch.changed_homes.add(household_id)


async def _load(conn: AsyncConnection, schema: str, batch: _Batch, households: set[UUID],
                known_visits: set[UUID]) -> None:
    """The households' current state, their festival check-ins and their target rows."""
    ids = [h for h in households if h not in batch.homes]
    if not ids:
        return
    for row in await conn.fetch(f"SELECT * FROM {schema}.campaigns_households WHERE household_id = ANY($1)", ids):
        batch.homes[row["household_id"]] = _Home(row["village"], row["township"], row["lat"], row["lon"],
                                                 list(row["tags"]), row["archived"])
    for row in await conn.fetch(f"SELECT * FROM {schema}.campaigns_visits WHERE household_id = ANY($1)", ids):
        if row["visit_id"] not in known_visits:
            batch.add_visit(row["visit_id"], _visit(row))
    for row in await conn.fetch(f"SELECT * FROM {schema}.campaigns_targets WHERE household_id = ANY($1)", ids):
        batch.add_target(row["campaign_id"], row["household_id"],
                         _Target(row["member"], row["village"], row["township"], row["visits"], row["version"]))


async def _define(conn: AsyncConnection, schema: str, batch: _Batch, event: Any) -> None:
    campaign = _Campaign(event.originator_id, event.festival, parse_date(event.starts_on),
                         parse_date(event.ends_on), frozenset(event.tags))
    batch.campaigns[campaign.campaign_id] = campaign
    batch.new_campaigns.append((campaign, event.timestamp))
    # The households it targets: those this batch holds, and the others as stored (by the tags' index).
    stored = await conn.fetch(
        f"SELECT household_id FROM {schema}.campaigns_households WHERE tags && $1::text[] AND NOT archived"
        " AND NOT household_id = ANY($2::uuid[])", sorted(campaign.tags), list(batch.homes))
    await _load(conn, schema, batch, {r["household_id"] for r in stored}, known_visits=set(batch.visits))
    for household_id, home in list(batch.homes.items()):
        if not home.archived and not campaign.tags.isdisjoint(home.tags):
            batch.refresh(campaign, household_id, event.timestamp, defining=True)


async def _save(conn: AsyncConnection, schema: str, batch: _Batch) -> None:
    if batch.new_campaigns:
        await conn.executemany(
            f"INSERT INTO {schema}.campaigns_campaigns VALUES ($1, $2, $3, $4, $5, $6)",
            [(c.campaign_id, c.festival, c.starts_on, c.ends_on, sorted(c.tags), at) for c, at in batch.new_campaigns],
        )
    if batch.changed_homes:
        await upsert_rows(conn, f"{schema}.campaigns_households", HOUSEHOLD_COLUMNS, 1,
                          [(h, (m := batch.homes[h]).village, m.township, m.lat, m.lon, m.tags, m.archived)
                           for h in batch.changed_homes])
    if batch.changed_visits:
        # Each as the batch leaves it: voided, or its verdict turned by a late check-in (written back, or the
        # household's next visit would count it by its first verdict again).
        await upsert_rows(conn, f"{schema}.campaigns_visits", VISIT_COLUMNS, 1,
                          [(v, (x := batch.visits[v]).household_id, x.occurred_at, x.recorded_at, x.verified,
                            x.voided_at) for v in batch.changed_visits])
    if batch.changed_targets:
        await upsert_rows(conn, f"{schema}.campaigns_targets", TARGET_COLUMNS, 2,
                          [(c, h, (t := batch.targets[(c, h)]).member, t.village, t.township, t.visits, t.version)
                           for c, h in batch.changed_targets])
        await insert_rows(conn, f"{schema}.campaigns_target_versions",
                          ("uuid", "uuid", "int", "timestamptz", "boolean", "text", "text", "boolean"),
                          batch.target_versions)
    places = sorted({key[:3] for key, delta in batch.deltas.items() if any(delta)})
    if places:
        await insert_rows(conn, f"{schema}.campaigns_places", ("uuid", "text", "text"), places,
                          conflict=" ON CONFLICT DO NOTHING")
    await TALLIES.add(conn, schema, batch.deltas)


# ---- queries ----------------------------------------------------------------------------------------------------


def tagged(schema: str, tag: str) -> str:
    """SQL: the ids of the households carrying the tag `tag` (a text parameter, e.g. `$4`) as they stand
    now, by the tags' index. Other read models' queries filter by household tag with it ("every
    left-behind child visited this year"): O(the households carrying the tag)."""
    return f"(SELECT household_id FROM {schema}.campaigns_households WHERE tags @> ARRAY[{tag}::text])"


def _share(households: int, visited: int) -> dict[str, Any]:
    return {"households": households, "visited": visited, "remaining": households - visited,
            "coverage_pct": round(100.0 * visited / households, 1) if households else None}


def _described(row: Any, today: date) -> dict[str, Any]:
    state = "upcoming" if today < row["starts_on"] else "ended" if today > row["ends_on"] else "running"
    return {"campaign_id": row["campaign_id"], "festival": row["festival"], "starts_on": row["starts_on"],
            "ends_on": row["ends_on"], "tags": list(row["tags"]), "state": state}


def _whole(alias: str) -> str:
    return f"t.campaign_id = {alias}.campaign_id AND t.township = '' AND t.village = ''"


async def campaigns(conn: AsyncConnection, schema: str, *, as_of: date | None = None) -> list[dict[str, Any]]:
    """Every campaign defined as of the day, latest window first, with its figures then (O(campaigns))."""
    today = reference_date(as_of)
    rows = await conn.fetch(
        f"""SELECT c.*, f.households, f.visited FROM {schema}.campaigns_campaigns c
            LEFT JOIN LATERAL {TALLIES.latest_sql(schema, _whole('c'), '$1::date')} f ON true
            WHERE c.defined_at < coalesce($2::timestamptz, 'infinity')
            ORDER BY c.starts_on DESC, c.campaign_id""",
        as_of, recorded_before(as_of),
    )
    return [{**_described(r, today), **_share(r["households"] or 0, r["visited"] or 0)} for r in rows]


async def progress(conn: AsyncConnection, schema: str, campaign_id: UUID, *,
                   as_of: date | None = None) -> dict[str, Any] | None:
    """One campaign with its figures by township and by village as of the day; None when no such
    campaign was defined by then. O(the campaign's villages)."""
    row = await conn.fetchrow(
        f"SELECT * FROM {schema}.campaigns_campaigns WHERE campaign_id = $1"
        " AND defined_at < coalesce($2::timestamptz, 'infinity')", campaign_id, recorded_before(as_of))
    if row is None:
        return None
    match = "t.campaign_id = p.campaign_id AND t.township = p.township AND t.village = p.village"
    places = await conn.fetch(
        f"""SELECT p.township, p.village, f.households, f.visited FROM {schema}.campaigns_places p
            CROSS JOIN LATERAL {TALLIES.latest_sql(schema, match, '$2::date')} f
            WHERE p.campaign_id = $1 AND f.households > 0 ORDER BY p.township, p.village""",
        campaign_id, as_of,
    )
    whole = next((p for p in places if p["township"] == ""), None)
    return {
        **_described(row, reference_date(as_of)),
        **_share(whole["households"] if whole else 0, whole["visited"] if whole else 0),
        "townships": [{"township": p["township"], **_share(p["households"], p["visited"])}
                      for p in places if p["township"] and not p["village"]],
        "villages": [{"village": p["village"], "township": p["township"], **_share(p["households"], p["visited"])}
                     for p in places if p["village"]],
    }


async def remaining(conn: AsyncConnection, schema: str, campaign_id: UUID, *, township: str | None = None,
                    village: str | None = None, after: UUID | None = None, limit: int = 100,
                    as_of: date | None = None) -> list[dict[str, Any]]:
    """The campaign's households not yet visited, in household id order after `after`: now, a keyset
    page of a partial index; as of a day, from the versions of its targets then (O(the campaign's
    targets from `after` on)). Places are the campaign's; tags and coordinates are as they stand now."""
    sql, args = _remaining_sql(schema, campaign_id, township, village, after, limit, as_of, "t.household_id")
    return [_remaining_row(r) for r in await conn.fetch(sql, *args)]


async def remaining_by_place(conn: AsyncConnection, schema: str, campaign_id: UUID, *, chunk: int,
                             township: str | None = None, village: str | None = None,
                             as_of: date | None = None) -> AsyncIterator[list[dict[str, Any]]]:
    """`remaining`, every household, by township, village and household id, `chunk` at a time from one
    statement (a cursor: call it in a transaction), as `completeness.households_by_place` reads a ledger."""
    sql, args = _remaining_sql(schema, campaign_id, township, village, None, None, as_of,
                               "t.township, t.village, t.household_id")
    cursor = await conn.cursor(sql, *args)
    while rows := await cursor.fetch(chunk):
        yield [_remaining_row(r) for r in rows]


def _remaining_sql(schema: str, campaign_id: UUID, township: str | None, village: str | None, after: UUID | None,
                   limit: int | None, as_of: date | None, order: str) -> tuple[str, list[Any]]:
    args: list[Any] = [campaign_id, after, limit]
    where = ""
    if village is not None:
        args.append(village)
        where += f" AND t.village = ${len(args)}"
    if township is not None:
        args.append(township)
        where += f" AND t.township = ${len(args)}"
    start = "coalesce($2::uuid, '00000000-0000-0000-0000-000000000000')"
    if as_of is None:
        page = f"""SELECT household_id, village, township FROM {schema}.campaigns_targets t
                   WHERE t.campaign_id = $1 AND t.member AND t.visits = 0 AND t.household_id > {start}{where}
                   ORDER BY t.household_id LIMIT $3"""
    else:
        args.append(recorded_before(as_of))
        page = f"""SELECT household_id, village, township FROM (
                       SELECT DISTINCT ON (household_id) * FROM {schema}.campaigns_target_versions t
                       WHERE t.campaign_id = $1 AND t.household_id > {start} AND t.valid_from < ${len(args)}
                       ORDER BY t.household_id, t.version DESC) t
                   WHERE t.member AND NOT t.visited{where} ORDER BY t.household_id LIMIT $3"""
    # The page first, then its households by their key: a join would walk the households from the first id on.
    return f"""SELECT t.household_id, t.village, t.township, h.tags, h.lat, h.lon FROM ({page}) t
               CROSS JOIN LATERAL (SELECT tags, lat, lon FROM {schema}.campaigns_households h
                                   WHERE h.household_id = t.household_id) h
               ORDER BY {order}""", args


def _remaining_row(r: Record) -> dict[str, Any]:
    return {"household_id": r["household_id"], "village": r["village"], "township": r["township"],
            "tags": list(r["tags"]), "lat": r["lat"], "lon": r["lon"]}


async def still_to_visit(conn: AsyncConnection, schema: str, day: date, *, township: str | None = None,
                         household_ids: Sequence[UUID] = ()) -> list[dict[str, Any]]:
    """The households of a township, and those named, that a campaign running on `day` still has to
    visit, each once with the campaign closing first, with its place and last visit (any kind), by
    household id: what a cadre answers for (O(those households), by the remaining indexes)."""
    # Each running campaign's targets of the township and those named, by the remaining and household
    # indexes; then their places and last visits by key.
    rows = await conn.fetch(
        f"""WITH running AS (SELECT * FROM {schema}.campaigns_campaigns WHERE starts_on <= $1 AND ends_on >= $1),
            wanted AS (
                SELECT t.campaign_id, t.household_id, t.village, t.township FROM running c
                JOIN {schema}.campaigns_targets t ON t.campaign_id = c.campaign_id
                WHERE t.member AND t.visits = 0 AND t.township = $2
                UNION
                SELECT t.campaign_id, t.household_id, t.village, t.township
                FROM {schema}.campaigns_targets t JOIN running c ON c.campaign_id = t.campaign_id
                WHERE t.household_id = ANY($3::uuid[]) AND t.member AND t.visits = 0)
            SELECT DISTINCT ON (t.household_id) t.household_id, t.village, t.township, h.lat, h.lon,
                   c.campaign_id, c.festival, c.starts_on, c.ends_on, cur.last_visit
            FROM wanted t JOIN running c USING (campaign_id)
            CROSS JOIN LATERAL (SELECT lat, lon FROM {schema}.campaigns_households h
                                WHERE h.household_id = t.household_id) h
            LEFT JOIN LATERAL (SELECT last_visit FROM {schema}.coverage_current cur
                               WHERE cur.household_id = t.household_id) cur ON true
            ORDER BY t.household_id, c.ends_on, c.campaign_id""",
        day, township, list(household_ids),
    )
    return [{"household_id": r["household_id"], "village": r["village"], "township": r["township"],
             "lat": r["lat"], "lon": r["lon"],
             "last_visit": local_date(r["last_visit"]) if r["last_visit"] else None,
             "campaign": {"campaign_id": r["campaign_id"], "festival": r["festival"], "starts_on": r["starts_on"],
                          "ends_on": r["ends_on"]}} for r in rows]
