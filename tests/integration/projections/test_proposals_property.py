"""Property: the proposals read model's lists (each state, newest first, page by page) equal a plain fold
over the events (the last decision of each proposal wins its state), whatever the batch size the
projector read them in."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections import proposals
from projections.base import SHANGHAI, event_name
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from services.domain import HouseholdProposal, clock
from services.domain.proposal import PROPOSAL_STATES
from tests.examples import examples
from tests.integration.projections.strategies import reset_county, store_events

ADCODE = "469039"
SCHEMA = f"county_{ADCODE}"
START = datetime(2026, 10, 1, 9, tzinfo=SHANGHAI)


@st.composite
def histories(draw: Any) -> tuple[list[Any], int]:
    events: list[Any] = []
    pending: list[HouseholdProposal] = []
    moment = START
    for _ in range(draw(st.integers(1, 14))):
        # Some proposals arrive in the same second (a phone's outbox sends them together).
        moment += timedelta(seconds=draw(st.sampled_from([0, 1, 3600])))
        step = draw(st.sampled_from(["propose", "propose", "confirm", "merge", "refuse"]))
        with clock.at(moment):
            if step == "propose" or not pending:
                proposal = HouseholdProposal(
                    id=uuid.uuid4(), household_id=uuid.uuid4(), village="469039100201", township="469039100",
                    address="sealed", lat=18.6, lon=109.7, tags=draw(st.lists(st.sampled_from(
                        ["empty_nest_elderly", "disabled"]), max_size=2, unique=True)),
                    size=draw(st.integers(1, 30)), personal="sealed", proposed_by=uuid.uuid4(), occurred_at=moment)
                pending.append(proposal)
            else:
                proposal = pending.pop(draw(st.integers(0, len(pending) - 1)))
                if step == "confirm":
                    proposal.confirm("admin")
                elif step == "merge":
                    proposal.merge(uuid.uuid4(), "admin")
                else:
                    proposal.refuse("sealed reason", "admin")
        events += proposal.collect_events()
    return events, draw(st.sampled_from([1, 3, 1000]))


def fold(events: list[Any]) -> dict[str, list[tuple]]:
    """state -> [(proposal, household, state, merged_into, reason)] newest proposal first."""
    rows: dict[Any, dict] = {}
    for event in events:
        name = event_name(event)
        if name == "HouseholdProposal.Proposed":
            rows[event.originator_id] = {"id": event.originator_id, "household": event.household_id,
                                         "at": event.timestamp, "state": "pending", "into": None, "reason": None}
        elif name == "HouseholdProposal.Confirmed":
            rows[event.originator_id]["state"] = "confirmed"
        elif name == "HouseholdProposal.Merged":
            rows[event.originator_id].update(state="merged", into=event.into)
        elif name == "HouseholdProposal.Refused":
            rows[event.originator_id].update(state="refused", reason=event.reason)
    return {state: [(r["id"], r["household"], r["state"], r["into"], r["reason"])
                    for r in sorted(rows.values(), key=lambda r: (r["at"], r["id"]), reverse=True)
                    if r["state"] == state] for state in PROPOSAL_STATES}


async def check(url: str, events: list[Any], batch: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await reset_county(conn, SCHEMA)
        await store_events(conn, SCHEMA, events)
        await Driver(url, [by_name("proposals")], decoder(), batch, 2).process(
            conn, FollowedCounty(ADCODE, SCHEMA, Rules()))
        expected = fold(events)
        for state in PROPOSAL_STATES:
            listed, after = [], None
            while True:  # pages of two: the keyset must neither skip nor repeat rows of the same second
                page = await proposals.page(conn, SCHEMA, state=state, limit=2, after=after)
                listed += [(r["proposal_id"], r["household_id"], r["state"], r["merged_into"], r["reason"])
                           for r in page["items"]]
                if page["next"] is None:
                    break
                after = page["next"]
            assert listed == expected[state], state
    finally:
        await conn.close()


@settings(max_examples=examples(25), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(history=histories())
def test_the_proposal_lists_equal_a_fold_of_the_events(database_url, county, history):
    county(ADCODE)
    events, batch = history
    asyncio.run(check(database_url, events, batch))
