"""Property: a campaign's figures by village as of any day, and its list still to visit, equal a plain
fold over the events (households' tags, places and archives as the window closed, verified festival
check-ins in the window not voided), whatever the batch size the projector read them in."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections import campaigns
from projections.base import Period, event_name, recorded_before
from tests.examples import examples
from tests.integration.projections.test_campaigns_cases import SCHEMA, VILLAGE_A, VILLAGE_B, CampaignStory, at
from tests.integration.projections.test_campaigns_cases import project as project_story

TAGS = ["empty_nest_elderly", "left_behind_child", "disabled"]
START = at(9, 1)


@st.composite
def histories(draw: Any) -> tuple[CampaignStory, list[date], int]:
    story = CampaignStory()
    cadre = story.cadre(START, None)
    homes = [story.tagged(START, draw(st.sampled_from([VILLAGE_A, VILLAGE_B])),
                          draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))) for _ in range(5)]
    visits: list[Any] = []
    moment = START
    for number in range(draw(st.integers(1, 30))):
        moment += timedelta(hours=draw(st.integers(1, 60)))
        step = "campaign" if number == 0 else draw(st.sampled_from(
            ["campaign", "visit", "visit", "visit", "retag", "move", "archive", "void", "register"]))
        home = homes[draw(st.integers(0, len(homes) - 1))]
        if step == "campaign":
            opens = START.date() + timedelta(days=draw(st.integers(0, 25)))
            story.campaign(moment, opens.isoformat(), (opens + timedelta(days=draw(st.integers(0, 20)))).isoformat(),
                           draw(st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True)))
        elif step == "visit" and not home.archived:
            occurred = moment - timedelta(hours=draw(st.sampled_from([0, 0, 30, 200])))  # some synced late
            visits.append(story.festival_visit(moment, cadre, home, occurred_at=occurred,
                                               north_m=draw(st.sampled_from([0.0, 0.0, 400.0])),
                                               kind=draw(st.sampled_from(["festival", "festival", "home"]))))
        elif step == "retag" and not home.archived:
            story.then(moment, home, "retag", draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True)))
        elif step == "move" and not home.archived:
            village = VILLAGE_B if home.village == VILLAGE_A else VILLAGE_A
            story.then(moment, home, "relocate", village, village[:9], "", home.lat, home.lon)
        elif step == "archive" and not home.archived:
            story.then(moment, home, "archive", "迁出")
        elif step == "void" and (live := [v for v in visits if not v.voided]):
            story.then(moment, live[draw(st.integers(0, len(live) - 1))], "void", "admin", "虚报")
        elif step == "register":
            homes.append(story.tagged(moment, VILLAGE_A, draw(st.lists(st.sampled_from(TAGS), max_size=2,
                                                                       unique=True))))
    days = draw(st.lists(st.dates(date(2026, 8, 31), date(2026, 12, 31)), min_size=1, max_size=3))
    return story, days, draw(st.sampled_from([1, 4, 1000]))


def fold(events: list[Any], cutoff: datetime) -> dict[Any, dict[str, tuple[int, int]]]:
    """campaign -> village -> (households, visited), straight from the rules in the module's doc."""
    defined = [e for e in events if event_name(e) == "Campaign.Defined" and e.timestamp < cutoff]
    answer = {}
    for campaign in defined:
        opens, closes = Period(date.fromisoformat(campaign.starts_on), date.fromisoformat(campaign.ends_on)).instants()
        fixed_at = min(cutoff, closes) if campaign.timestamp < closes else campaign.timestamp
        homes: dict[Any, dict] = {}
        for event in events:
            name = event_name(event)
            if not name.startswith("Household.") or event.timestamp >= fixed_at:
                continue
            if name == "Household.Registered":
                homes[event.originator_id] = {"village": event.village, "tags": event.tags, "archived": False}
            elif name == "Household.Relocated":
                homes[event.originator_id]["village"] = event.village
            elif name == "Household.Retagged":
                homes[event.originator_id]["tags"] = event.tags
            elif name == "Household.Archived":
                homes[event.originator_id]["archived"] = True
        voided = {e.originator_id for e in events if event_name(e) == "Visit.Voided" and e.timestamp < cutoff}
        visited = {e.household_id for e in events if event_name(e) == "Visit.CheckedIn" and e.kind == "festival"
                   and e.timestamp < cutoff and e.originator_id not in voided and opens <= e.occurred_at < closes
                   and abs(e.position["lat"] - 18.6) < 1e-6}
        villages: dict[str, tuple[int, int]] = {}
        for household_id, home in homes.items():
            if home["archived"] or not set(home["tags"]) & set(campaign.tags):
                continue
            households, seen = villages.get(home["village"], (0, 0))
            villages[home["village"]] = (households + 1, seen + int(household_id in visited))
        answer[campaign.originator_id] = villages
    return answer


async def all_remaining(conn: Any, campaign_id: Any, day: date | None) -> list[dict]:
    pages, after = [], None
    while page := await campaigns.remaining(conn, SCHEMA, campaign_id, after=after, limit=2, as_of=day):
        pages += page
        after = page[-1]["household_id"]
    return pages


async def check(url: str, story: CampaignStory, days: list[date], batch: int) -> None:
    conn = await project_story(url, story.events, batch)
    try:
        for day in [*days, None]:
            expected = fold(story.events, recorded_before(day) or datetime.max.replace(tzinfo=START.tzinfo))
            listed = await campaigns.campaigns(conn, SCHEMA, as_of=day)
            assert {c["campaign_id"] for c in listed} == set(expected), day
            for campaign_id, villages in expected.items():
                progress = await campaigns.progress(conn, SCHEMA, campaign_id, as_of=day)
                assert progress is not None
                assert {v["village"]: (v["households"], v["visited"]) for v in progress["villages"]} == villages, day
                assert (progress["households"], progress["visited"]) == (
                    sum(h for h, _ in villages.values()), sum(v for _, v in villages.values())), day
                left = await all_remaining(conn, campaign_id, day)
                assert len(left) == sum(h - v for h, v in villages.values()), day
        # Now: from the current rows; as of a day long after: from the versions, the same list.
        for campaign_id in fold(story.events, datetime.max.replace(tzinfo=START.tzinfo)):
            assert await all_remaining(conn, campaign_id, None) == await all_remaining(conn, campaign_id,
                                                                                       date(2030, 1, 1))
    finally:
        await conn.close()


@settings(max_examples=examples(25), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(history=histories())
def test_campaign_figures_equal_a_fold_of_the_events(database_url, county, history):
    county("469038")
    story, days, batch = history
    asyncio.run(check(database_url, story, days, batch))
