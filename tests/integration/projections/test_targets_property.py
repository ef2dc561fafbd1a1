"""Property: the register of contact targets (projections/targets.py), page by page, now and as of any
day, equals a plain fold of the events up to that day, whatever the batch size the projector read them in."""
from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections import targets
from projections.base import SHANGHAI, event_name, local_date, recorded_before
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from services.domain import ContactTarget, clock
from tests.integration.projections.strategies import reset_county, store_events

ADCODE = "469041"
SCHEMA = f"county_{ADCODE}"
START = datetime(2026, 10, 1, 9, tzinfo=SHANGHAI)
KINDS = ["party_branch", "enterprise", "talent", "project", "contact_point"]
PLACES = [("469041100", None), ("469041100", "469041100201"), ("469041101", "469041101202")]


@st.composite
def histories(draw: Any) -> tuple[list[Any], int]:
    events: list[Any] = []
    active: list[ContactTarget] = []
    moment = START
    for step in range(draw(st.integers(1, 16))):
        # Some changes in the same second (an import), others days apart.
        moment += timedelta(seconds=draw(st.sampled_from([0, 1, 3600, 86400 * 3])))
        steps = ["register", "register", "revise", "revise", "archive"] if active else ["register"]
        action = draw(st.sampled_from(steps))
        township, village = draw(st.sampled_from(PLACES))
        position = draw(st.sampled_from([(None, None), (18.6, 109.7), (18.61, 109.71)]))
        with clock.at(moment):
            if action == "register":
                kind = draw(st.sampled_from(KINDS))
                target = ContactTarget(id=uuid.UUID(int=step + 1), kind=kind, name=f"对象{step}", township=township,
                                       village=village, lat=position[0], lon=position[1],
                                       weak=kind == "party_branch" and draw(st.booleans()))
                active.append(target)
            elif action == "revise":
                target = active[draw(st.integers(0, len(active) - 1))]
                target.revise(f"改名{step}", township, village, position[0], position[1],
                              target.kind == "party_branch" and draw(st.booleans()))
            else:
                target = active.pop(draw(st.integers(0, len(active) - 1)))
                target.archive("合并")
        events += target.collect_events()
    return events, draw(st.sampled_from([1, 3, 1000]))


def fold(events: list[Any], until: datetime | None) -> dict[uuid.UUID, dict[str, Any]]:
    """target -> its fields as the events recorded before `until` (None: all) leave them."""
    register: dict[uuid.UUID, dict[str, Any]] = {}
    for event in events:
        if until is not None and event.timestamp >= until:
            continue
        name = event_name(event)
        fields = {f: getattr(event, f) for f in targets.FIELDS} if name != "ContactTarget.Archived" else {}
        if name == "ContactTarget.Registered":
            register[event.originator_id] = {"kind": event.kind, "archived": False, **fields}
        elif name == "ContactTarget.Revised":
            register[event.originator_id].update(fields)
        else:
            register[event.originator_id]["archived"] = True
    return register


async def listed(conn: Any, as_of: date | None, **filters: Any) -> list[tuple]:
    rows, after = [], None
    while True:  # pages of two: the keyset must neither skip nor repeat
        page = await targets.page(conn, SCHEMA, limit=2, after=after, as_of=as_of, **filters)
        rows += [(r["target_id"], r["kind"], r["name"], r["township"], r["village"], r["lat"], r["lon"], r["weak"])
                 for r in page["items"]]
        if page["next"] is None:
            return rows
        after = page["next"]


def expected(register: dict[uuid.UUID, dict[str, Any]], archived: bool, **filters: Any) -> list[tuple]:
    return [(k, t["kind"], t["name"], t["township"], t["village"], t["lat"], t["lon"], t["weak"])
            for k, t in sorted(register.items()) if t["archived"] == archived
            and all(t[key] == value for key, value in filters.items())]


async def check(url: str, events: list[Any], batch: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await reset_county(conn, SCHEMA)
        await store_events(conn, SCHEMA, events)
        await Driver(url, [by_name("targets")], decoder(), batch, 2).process(
            conn, FollowedCounty(ADCODE, SCHEMA, Rules()))
        days = sorted({local_date(e.timestamp) for e in events})
        for as_of in [None, days[0] - timedelta(days=1), *days]:
            register = fold(events, recorded_before(as_of))
            assert await listed(conn, as_of) == expected(register, False), as_of
            assert await listed(conn, as_of, archived=True) == expected(register, True), as_of
            assert await listed(conn, as_of, kind="party_branch", weak=True) == expected(
                register, False, kind="party_branch", weak=True), as_of
            assert await listed(conn, as_of, village="469041100201") == expected(
                register, False, village="469041100201"), as_of
            for target_id, fields in register.items():
                found = await targets.one(conn, SCHEMA, target_id, as_of=as_of)
                assert found is not None and (found["name"], found["archived"]) == (fields["name"], fields["archived"])
    finally:
        await conn.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(history=histories())
def test_the_register_equals_a_fold_of_the_events_now_and_as_of_every_day(database_url, county, history):
    county(ADCODE)
    events, batch = history
    asyncio.run(check(database_url, events, batch))
