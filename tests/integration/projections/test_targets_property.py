"""Property: the register of contact targets (projections/targets.py), page by page, now and as of any
day, equals a plain fold of the events up to that day, whatever the batch size the projector read them in;
and so do each cadre's 五个一 in a period (`five_ones`, over the check-ins and the register)."""
from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections import targets
from projections.base import SHANGHAI, Period, event_name, local_date, recorded_before
from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from services.domain import Cadre, ContactTarget, Visit, clock
from tests.examples import examples
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


@settings(max_examples=examples(25), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(history=histories())
def test_the_register_equals_a_fold_of_the_events_now_and_as_of_every_day(database_url, county, history):
    county(ADCODE)
    events, batch = history
    asyncio.run(check(database_url, events, batch))


PERIOD = Period(date(2026, 10, 1), date(2026, 10, 31))


@st.composite
def contact_histories(draw: Any) -> tuple[list[Any], int]:
    """Cadres checking in at the register's targets (weak or not, revised, archived), at households in a
    village, and by free text; some check-ins voided; moments on both sides of the period's end."""
    events: list[Any] = []
    moment = START
    with clock.at(moment):
        cadres = [Cadre(id=uuid.UUID(int=1000 + n), name=f"干部{n}", rank="staff", unit="u", township="469041100",
                        phone=None) for n in range(3)]
    for cadre in cadres:
        events += cadre.collect_events()
    register: list[ContactTarget] = []
    visits: list[Visit] = []
    for step in range(draw(st.integers(1, 30))):
        moment += timedelta(seconds=draw(st.sampled_from([0, 1, 3600, 86400 * 4])))
        steps = ["register", "visit", "visit", "visit", "revise", "void"] if register else ["register"]
        action = draw(st.sampled_from(steps))
        with clock.at(moment):
            if action == "register":
                kind = draw(st.sampled_from(KINDS))
                township, village = draw(st.sampled_from(PLACES))
                aggregate: Any = ContactTarget(id=uuid.UUID(int=step + 1), kind=kind, name=f"对象{step}",
                                               township=township, village=village, lat=None, lon=None,
                                               weak=kind == "party_branch" and draw(st.booleans()))
                register.append(aggregate)
            elif action == "revise":
                aggregate = register[draw(st.integers(0, len(register) - 1))]
                aggregate.revise(aggregate.name, aggregate.township, draw(st.sampled_from([None, "469041100201"])),
                                 None, None, aggregate.kind == "party_branch" and draw(st.booleans()))
            elif action == "void" and visits:
                aggregate = visits.pop(draw(st.integers(0, len(visits) - 1)))
                aggregate.void("admin", "错报")
            else:
                where = draw(st.sampled_from(["target", "target", "household", "free text"]))
                target = register[draw(st.integers(0, len(register) - 1))]
                kind, target_id, village = {
                    "target": (target.kind, str(target.id), target.village),
                    "household": ("household", str(uuid.uuid4()), draw(st.sampled_from(["469041100201",
                                                                                         "469041101202"]))),
                    "free text": ("enterprise", "某企业", None)}[where]
                occurred = moment - timedelta(days=draw(st.sampled_from([0, 1, 20])))
                aggregate = Visit(id=uuid.uuid4(), cadre_id=cadres[draw(st.integers(0, 2))].id, target_kind=kind,
                                  target_id=target_id, household_id=uuid.uuid4() if kind == "household" else None,
                                  village=village, kind="forum", occurred_at=occurred, received_at=moment,
                                  position=None, topics=[], note="", companions=[], device_id=None)
                visits.append(aggregate)
        events += aggregate.collect_events()
    return events, draw(st.sampled_from([1, 4, 1000]))


def fold_five_ones(events: list[Any], until: datetime | None) -> dict[uuid.UUID, dict[str, int]]:
    known = [e for e in events if until is None or e.timestamp < until]
    start, end = PERIOD.instants()
    voided = {e.originator_id for e in known if event_name(e) == "Visit.Voided"}
    contacted: dict[uuid.UUID, dict[str, set]] = {e.originator_id: {name: set() for name in targets.FIVE_ONES}
                                                   for e in known if event_name(e) == "Cadre.Enrolled"}
    for visit in known:
        if event_name(visit) != "Visit.CheckedIn" or visit.originator_id in voided:
            continue
        if not start <= visit.occurred_at < end:
            continue
        mine = contacted[visit.cadre_id]
        if visit.village is not None:
            mine["village"].add(visit.village)
        kind, weak = None, False
        for event in known:  # the target as recorded by the check-in's moment
            if str(event.originator_id) == visit.target_id and event.timestamp <= visit.timestamp:
                kind = getattr(event, "kind", kind)
                weak = getattr(event, "weak", weak)
        if kind == "party_branch" and weak:
            mine["weak_branch"].add(visit.target_id)
        elif kind in ("enterprise", "talent", "project"):
            mine[kind].add(visit.target_id)
    return {cadre: {name: len(found) for name, found in sets.items()} for cadre, sets in contacted.items()}


async def check_five_ones(url: str, events: list[Any], batch: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await reset_county(conn, SCHEMA)
        await store_events(conn, SCHEMA, events)
        await Driver(url, [by_name(n) for n in ("verdicts", "pairing", "targets")], decoder(), batch, 2).process(
            conn, FollowedCounty(ADCODE, SCHEMA, Rules()))
        days = sorted({local_date(e.timestamp) for e in events})
        for as_of in [None, *days]:
            got, after = {}, None
            while True:
                page = await targets.five_ones(conn, SCHEMA, PERIOD, limit=2, after=after, as_of=as_of)
                got.update({row["cadre_id"]: {name: row[name] for name in targets.FIVE_ONES} for row in page["items"]})
                if page["next"] is None:
                    break
                after = page["next"]
            assert got == fold_five_ones(events, recorded_before(as_of)), as_of
    finally:
        await conn.close()


@settings(max_examples=examples(25), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(history=contact_histories())
def test_five_ones_equal_a_fold_of_the_check_ins_and_the_register(database_url, county, history):
    county(ADCODE)
    events, batch = history
    asyncio.run(check_five_ones(database_url, events, batch))
