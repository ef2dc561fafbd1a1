"""Festival campaigns on hand-written histories: which households a campaign targets, which festival
check-ins count, and how the figures stand as of each day."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from projections import campaigns
from projections.base import SHANGHAI
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from services.domain import Campaign, Household, Visit, clock
from tests.integration.projections.cases import Story
from tests.integration.projections.strategies import METRE, reset_county, store_events

ADCODE = "469038"
SCHEMA = f"county_{ADCODE}"
VILLAGE_A, VILLAGE_B = "469038100001", "469038101002"


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


class CampaignStory(Story):
    def tagged(self, moment: datetime, village: str, tags: list[str]) -> Household:
        with clock.at(moment):
            home = Household(id=uuid.uuid4(), village=village, township=village[:9], address="", lat=18.6,
                             lon=109.7, tags=tags, size=2, personal="sealed")
        self.events += home.collect_events()
        return home

    def campaign(self, moment: datetime, starts_on: str, ends_on: str, tags: list[str],
                 festival: str = "mid_autumn") -> Campaign:
        with clock.at(moment):
            campaign = Campaign(id=uuid.uuid4(), festival=festival, starts_on=starts_on, ends_on=ends_on,
                                tags=sorted(tags), defined_by="admin")
        self.events += campaign.collect_events()
        return campaign

    def festival_visit(self, moment: datetime, cadre: Any, home: Household, *, occurred_at: datetime | None = None,
                       north_m: float = 0.0, kind: str = "festival") -> Visit:
        position = {"lat": home.lat + north_m * METRE, "lon": home.lon, "accuracy_m": 10.0, "provider": "gps",
                    "is_mock": False}
        with clock.at(moment):
            visit = Visit(id=uuid.uuid4(), cadre_id=cadre.id, target_kind="household", target_id=str(home.id),
                          household_id=home.id, village=home.village, kind=kind, occurred_at=occurred_at or moment,
                          received_at=moment, position=position, topics=[], note="", companions=[], device_id=None)
        self.events += visit.collect_events()
        return visit


async def project(url: str, events: list[Any], batch: int = 1000) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await reset_county(conn, SCHEMA)
    await store_events(conn, SCHEMA, events)
    await Driver(url, [by_name("verdicts"), by_name("campaigns")], decoder(), batch, 2).process(
        conn, FollowedCounty(ADCODE, SCHEMA, Rules()))
    return conn


def figures(item: dict) -> tuple[int, int, float | None]:
    return item["households"], item["visited"], item["coverage_pct"]


def _story() -> tuple[CampaignStory, dict[str, Any]]:
    story = CampaignStory()
    cadre = story.cadre(at(8, 1), VILLAGE_A[:9])
    homes = {
        "elder_a": story.tagged(at(8, 1), VILLAGE_A, ["empty_nest_elderly"]),
        "child_a": story.tagged(at(8, 1), VILLAGE_A, ["left_behind_child", "subsistence"]),
        "child_b": story.tagged(at(8, 1), VILLAGE_B, ["left_behind_child"]),
        "other_b": story.tagged(at(8, 1), VILLAGE_B, ["disabled"]),
    }
    return story, {"cadre": cadre, **homes}


async def test_a_campaign_targets_the_tagged_households_and_counts_verified_festival_visits_in_its_window(
        database_url, county):
    county(ADCODE)
    story, x = _story()
    festival = story.campaign(at(9, 1), "2026-09-20", "2026-10-08", ["empty_nest_elderly", "left_behind_child"])
    story.festival_visit(at(9, 19, 23), x["cadre"], x["elder_a"])  # the day before the window
    story.festival_visit(at(9, 21), x["cadre"], x["child_a"], kind="home")  # not a festival visit
    story.festival_visit(at(9, 22), x["cadre"], x["child_b"], north_m=400)  # too far: not verified
    story.festival_visit(at(9, 23), x["cadre"], x["other_b"])  # not a target
    story.festival_visit(at(9, 25), x["cadre"], x["elder_a"])
    conn = await project(database_url, story.events)
    try:
        [listed] = await campaigns.campaigns(conn, SCHEMA, as_of=date(2026, 9, 30))
        assert (listed["festival"], listed["state"], figures(listed)) == ("mid_autumn", "running", (3, 1, 33.3))
        progress = await campaigns.progress(conn, SCHEMA, festival.id, as_of=date(2026, 9, 30))
        assert [(t["township"], *figures(t)) for t in progress["townships"]] == [
            (VILLAGE_A[:9], 2, 1, 50.0), (VILLAGE_B[:9], 1, 0, 0.0)]
        assert [(v["village"], *figures(v)) for v in progress["villages"]] == [
            (VILLAGE_A, 2, 1, 50.0), (VILLAGE_B, 1, 0, 0.0)]
        # As of the day before the visit inside the window, nobody was visited.
        assert figures(await campaigns.progress(conn, SCHEMA, festival.id, as_of=date(2026, 9, 24))) == (3, 0, 0.0)
        # Before it was defined there was no campaign.
        assert await campaigns.progress(conn, SCHEMA, festival.id, as_of=date(2026, 8, 31)) is None
        assert await campaigns.campaigns(conn, SCHEMA, as_of=date(2026, 8, 31)) == []
        left = await campaigns.remaining(conn, SCHEMA, festival.id)
        assert {i["household_id"] for i in left} == {x["child_a"].id, x["child_b"].id}
        assert await campaigns.remaining(conn, SCHEMA, festival.id, village=VILLAGE_B) == [
            item for item in left if item["household_id"] == x["child_b"].id]
        first, *_ = sorted(i["household_id"] for i in left)
        assert [i["household_id"] for i in await campaigns.remaining(conn, SCHEMA, festival.id, after=first)] == [
            max(i["household_id"] for i in left)]
        running = await campaigns.still_to_visit(conn, SCHEMA, date(2026, 9, 30), township=VILLAGE_B[:9],
                                                 household_ids=[x["child_a"].id, x["elder_a"].id])
        assert [i["household_id"] for i in running] == sorted([x["child_a"].id, x["child_b"].id])
        assert {i["campaign"]["festival"] for i in running} == {"mid_autumn"}
        assert await campaigns.still_to_visit(conn, SCHEMA, date(2026, 10, 9), household_ids=[x["child_a"].id]) == []
    finally:
        await conn.close()


async def test_households_join_and_leave_while_the_window_is_open_and_are_fixed_once_it_closes(database_url, county):
    county(ADCODE)
    story, x = _story()
    festival = story.campaign(at(9, 1), "2026-09-20", "2026-10-08", ["left_behind_child"])
    story.then(at(9, 21), x["other_b"], "retag", ["left_behind_child"])  # joins
    story.then(at(9, 22), x["child_b"], "archive", "迁出")  # leaves
    story.then(at(9, 23), x["child_a"], "relocate", VILLAGE_B, VILLAGE_B[:9], "", 18.6, 109.7)  # moves its figures
    late = story.tagged(at(9, 24), VILLAGE_A, ["left_behind_child"])  # registered during the window: joins
    story.festival_visit(at(9, 25), x["cadre"], late)
    after = story.tagged(at(10, 9), VILLAGE_A, ["left_behind_child"])  # after the window: not a target
    story.then(at(10, 10), x["other_b"], "retag", ["disabled"])  # after the window: stays a target
    story.festival_visit(at(10, 12), x["cadre"], x["child_a"], occurred_at=at(10, 7))  # synced late: counts
    conn = await project(database_url, story.events, batch=3)
    try:
        now = await campaigns.progress(conn, SCHEMA, festival.id)
        assert now["state"] == "ended" and figures(now) == (3, 2, 66.7)
        assert [(v["village"], *figures(v)) for v in now["villages"]] == [
            (VILLAGE_A, 1, 1, 100.0), (VILLAGE_B, 2, 1, 50.0)]
        # As of the day the window closed, the late sync was not known yet.
        assert figures(await campaigns.progress(conn, SCHEMA, festival.id, as_of=date(2026, 10, 8))) == (3, 1, 33.3)
        assert [i["household_id"] for i in await campaigns.remaining(conn, SCHEMA, festival.id)] == [x["other_b"].id]
        as_closed = await campaigns.remaining(conn, SCHEMA, festival.id, as_of=date(2026, 10, 8))
        assert {i["household_id"] for i in as_closed} == {x["other_b"].id, x["child_a"].id}
        assert {i["household_id"] for i in await campaigns.remaining(conn, SCHEMA, festival.id,
                                                                      as_of=date(2026, 9, 20))} == {
            x["child_a"].id, x["child_b"].id}
        assert after.id not in {i["household_id"] for i in await campaigns.remaining(conn, SCHEMA, festival.id)}
    finally:
        await conn.close()


async def test_a_voided_festival_visit_stops_counting_and_a_campaign_defined_late_takes_earlier_visits(
        database_url, county):
    county(ADCODE)
    story, x = _story()
    visit = story.festival_visit(at(9, 21), x["cadre"], x["child_a"])
    story.festival_visit(at(9, 22), x["cadre"], x["child_b"])
    # Defined once the window has begun (and, for the second, after it closed): earlier visits count.
    festival = story.campaign(at(9, 23), "2026-09-20", "2026-10-08", ["left_behind_child"])
    story.then(at(9, 24), visit, "void", "admin", "虚报")
    afterwards = story.campaign(at(10, 20), "2026-09-20", "2026-10-08", ["left_behind_child"], festival="duanwu")
    conn = await project(database_url, story.events, batch=1)
    try:
        assert figures(await campaigns.progress(conn, SCHEMA, festival.id, as_of=date(2026, 9, 23))) == (2, 2, 100.0)
        assert figures(await campaigns.progress(conn, SCHEMA, festival.id)) == (2, 1, 50.0)
        assert figures(await campaigns.progress(conn, SCHEMA, afterwards.id)) == (2, 1, 50.0)
        assert [c["campaign_id"] for c in await campaigns.campaigns(conn, SCHEMA)] == sorted(
            [festival.id, afterwards.id])
    finally:
        await conn.close()


async def test_a_festival_visit_turned_by_a_late_check_in_stays_turned_when_its_household_is_visited_again(
        database_url, county):
    county(ADCODE)
    story, x = _story()
    festival = story.campaign(at(9, 19), "2026-09-20", "2026-10-08", ["left_behind_child"])
    story.festival_visit(at(9, 21), x["cadre"], x["child_a"])
    story.festival_visit(at(9, 22), x["cadre"], x["child_b"])
    # Synced two days late: a minute before the first visit the cadre was 50 km away, so that visit was
    # impossible travel from then on. The household's next visit, too far to verify, is counted with the
    # turned one in a batch of its own.
    story.festival_visit(at(9, 23), x["cadre"], x["child_a"], occurred_at=at(9, 21) - timedelta(minutes=1),
                         north_m=50_000)
    story.festival_visit(at(9, 24), x["cadre"], x["child_a"], north_m=5_000)
    conn = await project(database_url, story.events, batch=1)
    try:
        assert figures(await campaigns.progress(conn, SCHEMA, festival.id, as_of=date(2026, 9, 22))) == (2, 2, 100.0)
        assert figures(await campaigns.progress(conn, SCHEMA, festival.id, as_of=date(2026, 9, 23))) == (2, 1, 50.0)
        assert figures(await campaigns.progress(conn, SCHEMA, festival.id)) == (2, 1, 50.0)
    finally:
        await conn.close()
