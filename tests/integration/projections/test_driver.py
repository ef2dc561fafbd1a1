"""The projection driver: wake-ups, sweeps, reconnection, several drivers, and a kill in mid-batch."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from functools import partial

import asyncpg
import pytest

from projections.base import Projection
from projections.driver import APPLICATION_NAME, run_driver
from projections.registry import PROJECTIONS
from services.domain import Cadre, Household, Visit, clock
from tests.integration.projections.strategies import SHANGHAI, VILLAGES, reset_county, store_events


def household_visits(households: int, visits_each: int, start: datetime) -> list:
    """A county's worth of events: households, one cadre, and verified check-ins at each household."""
    events = []
    with clock.at(start):
        cadre = Cadre(id=uuid.uuid4(), name="c", rank="staff", unit="u", township="469029100", phone=None)
        events += cadre.collect_events()
        village, (township, lat, lon) = next(iter(VILLAGES.items()))
        homes = [Household(id=uuid.uuid4(), village=village, township=township, address="", lat=lat, lon=lon,
                           tags=[], size=2, personal="sealed") for _ in range(households)]
        for home in homes:
            events += home.collect_events()
    for n in range(visits_each):
        for i, home in enumerate(homes):
            moment = start + timedelta(days=n, minutes=i + 1)
            with clock.at(moment):
                visit = Visit(
                    id=uuid.uuid4(), cadre_id=cadre.id, target_kind="household", target_id=str(home.id),
                    household_id=home.id, village=village, kind="home", occurred_at=moment, received_at=moment,
                    position={"lat": lat, "lon": lon, "accuracy_m": 10.0, "provider": "gps", "is_mock": False},
                    topics=[], note="", companions=[], device_id=None,
                )
                events += visit.collect_events()
    return events


async def wait_for(condition, timeout: float = 15.0, every: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await condition()
        if value:
            return value
        await asyncio.sleep(every)
    raise AssertionError(f"not within {timeout} s")


async def checkin_count(conn, schema: str) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {schema}.verdicts_checkins")


@pytest.fixture
async def conn(database_url):
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.fixture
async def driver(database_url):
    """A running driver; stopped (and its task awaited) after the test."""
    stops, tasks = [], []

    def start(projections=None):
        stop = asyncio.Event()
        stops.append(stop)
        tasks.append(asyncio.create_task(run_driver(database_url, stop, projections=projections, sweep_seconds=0.5)))

    yield start
    for stop in stops:
        stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def test_an_appended_event_is_visible_within_a_fraction_of_a_second(conn, county, driver):
    schema = county("469029")
    await reset_county(conn, schema)
    driver()
    await wait_for(lambda: conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 2 AND objid = 469029"))
    lags = []
    for n in range(20):
        events = household_visits(1, 1, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI))
        started = time.perf_counter()
        await store_events(conn, schema, events)
        await wait_for(partial(conn.fetchval, f"SELECT count(*) = {n + 1} FROM {schema}.verdicts_checkins"),
                       every=0.001)
        lags.append(time.perf_counter() - started)
    lags.sort()
    print(f"append-to-visible lag: median {lags[10] * 1000:.1f} ms, max {lags[-1] * 1000:.1f} ms")
    assert lags[10] < 0.25  # a notification, not the 0.5 s sweep, woke the driver


async def test_events_appended_without_a_notification_are_found_by_the_sweep(conn, county, driver):
    schema = county("469029")
    await reset_county(conn, schema)
    driver()
    # Lost notifications: insert the way the recorder does, minus pg_notify.
    from services.storage.names import event_mapper
    from services.storage.positions import advance_past

    mapper = event_mapper()
    stored = [mapper.to_stored_event(e) for e in household_visits(3, 2, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI))]
    async with conn.transaction():
        await conn.executemany(
            f"INSERT INTO {schema}.county_events (originator_id, originator_version, topic, state)"
            " VALUES ($1, $2, $3, $4)",
            [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored],
        )
        await conn.execute(advance_past(schema))
    await wait_for(lambda: conn.fetchval(f"SELECT count(*) = 6 FROM {schema}.verdicts_checkins"))


async def test_the_driver_reconnects_after_losing_its_connection(conn, county, driver):
    schema = county("469029")
    await reset_county(conn, schema)
    driver()
    await wait_for(lambda: conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                                         APPLICATION_NAME))
    # What a database restart does to the driver: its backend goes away mid-session.
    await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                       APPLICATION_NAME)
    await store_events(conn, schema, household_visits(2, 1, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI)))
    await wait_for(lambda: conn.fetchval(f"SELECT count(*) = 2 FROM {schema}.verdicts_checkins"))


class Witness(Projection):
    """Records which driver applied which event (a test instrument, not a read model)."""

    name = "witness"
    tables: list[str] = []

    def __init__(self, label: str, seen: list, schemas: tuple[str, ...]) -> None:
        self.label, self.seen, self.schemas = label, seen, schemas

    async def apply(self, conn, schema, events, rules) -> None:
        if schema in self.schemas:  # other tests' counties share the database
            self.seen.extend((self.label, schema, e.originator_id, e.originator_version) for e in events)


async def test_two_drivers_split_the_counties_and_never_apply_an_event_twice(conn, county, driver):
    schemas = [county("469029"), county("469030")]
    for schema in schemas:
        await reset_county(conn, schema)
    # A driver of an earlier test may still be exiting with its locks: start from none held, so the
    # holders counted below are these two drivers.
    await wait_for(lambda: conn.fetchval(
        "SELECT NOT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND classid = 2 AND granted)"))
    seen: list = []
    driver([*PROJECTIONS, Witness("a", seen, tuple(schemas))])
    driver([*PROJECTIONS, Witness("b", seen, tuple(schemas))])
    # Other tests' counties share this database, so the two drivers split all of them. The first one up
    # takes everything until it sees the second; wait for the split to settle (each at most half, every
    # county held, these two among them), after which no county changes hands. One query sees one
    # snapshot of pg_locks, so a county passing between the drivers cannot satisfy it half-way.
    await wait_for(lambda: conn.fetchval(
        "SELECT count(*) = 2 AND bool_and(held <= ceil(c.total / 2.0)) AND sum(held) = min(c.total)"
        "       AND sum(ours) = 2"
        " FROM (SELECT count(*) AS held, count(*) FILTER (WHERE objid IN (469029, 469030)) AS ours"
        "       FROM pg_locks WHERE locktype = 'advisory' AND classid = 2 AND granted"
        "       GROUP BY pid) holders, (SELECT count(*) AS total FROM core.counties) c"), timeout=30)
    for round_ in range(5):
        for schema in schemas:
            await store_events(conn, schema, household_visits(4, 2, datetime(2026, 5, 1 + round_, tzinfo=SHANGHAI)))
    for schema in schemas:
        await wait_for(partial(conn.fetchval, f"SELECT count(*) = 40 FROM {schema}.verdicts_checkins"))
    await wait_for(lambda: asyncio.sleep(0, len(seen) == 2 * 5 * (1 + 4 + 8)))
    applied = [(schema, originator, version) for _, schema, originator, version in seen]
    assert len(applied) == len(set(applied))  # no event applied twice
    owners = {schema: {label for label, s, _, _ in seen if s == schema} for schema in schemas}
    assert all(len(labels) == 1 for labels in owners.values()), owners  # one driver per county


async def test_a_driver_killed_in_mid_batch_resumes_with_no_event_missing_or_applied_twice(
        conn, county, database_url):
    schema = county("469029")
    await reset_county(conn, schema)
    events = household_visits(300, 20, datetime(2026, 3, 1, 9, tzinfo=SHANGHAI))
    for start in range(0, len(events), 2000):
        await store_events(conn, schema, events[start:start + 2000])
    last = await conn.fetchval(f"SELECT max(notification_id) FROM {schema}.county_events")
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "services.cli", "projector"]

    def tracking():
        return conn.fetchval(f"SELECT min(notification_id) FROM {schema}.projection_tracking")

    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await wait_for(tracking, timeout=30, every=0.005)
        position = await tracking()
        first.send_signal(signal.SIGKILL)  # no goodbye: whatever batch it was in is cut off
        first.wait(10)
        assert 0 < position < last
    finally:
        if first.poll() is None:
            first.kill()
    second = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await wait_for(lambda: conn.fetchval(f"SELECT min(notification_id) = {last} FROM {schema}.projection_tracking"),
                       timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(10)
    assert await checkin_count(conn, schema) == 300 * 20
    visits = await conn.fetchval(f"SELECT count(DISTINCT visit_id) FROM {schema}.verdicts_checkins WHERE verified")
    assert visits == 300 * 20


async def test_a_gap_is_passed_at_once_when_no_writer_holds_the_county_lock_and_held_back_while_one_does(
        conn, county, database_url, monkeypatch):
    import asyncpg

    from projections import driver as module
    from projections.driver import Driver, FollowedCounty, decoder
    from projections.rules import Rules
    from services.storage.names import event_mapper
    from services.storage import recorder

    assert module.COUNTY_LOCK_CLASS == recorder.COUNTY_LOCK_CLASS
    monkeypatch.setattr(module, "GAP_PATIENCE", 1.0)
    schema = county("469029")
    await reset_county(conn, schema)
    first, second, third, *_ = household_visits(2, 1, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI))
    await store_events(conn, schema, [first])

    async def insert(event, notification_id: int) -> None:  # as if the ids between never committed
        stored = event_mapper().to_stored_event(event)
        await conn.execute(f"INSERT INTO {schema}.county_events VALUES ($1, $2, $3, $4, $5)",
                           stored.originator_id, stored.originator_version, stored.topic, stored.state,
                           notification_id)

    follower = Driver(database_url, PROJECTIONS, decoder(), 100, 2.0)
    county_state = FollowedCounty("469029", schema, Rules())

    async def position():
        await follower.process(conn, county_state)
        return await conn.fetchval(f"SELECT min(notification_id) FROM {schema}.projection_tracking")

    await insert(second, 3)  # id 2 was a rolled-back insert; nobody writes now: passed at once
    assert await position() == 3
    await insert(third, 5)  # id 4 missing while a writer holds the county's lock: maybe its commit
    writer = await asyncpg.connect(database_url)
    try:
        async with writer.transaction():
            await writer.execute("SELECT pg_advisory_xact_lock(1, 469029)")
            assert await position() == 3
            assert await position() == 3
            await asyncio.sleep(1.1)
            assert await position() == 5  # old: passed whatever happens
    finally:
        await writer.close()


async def test_a_county_with_invalid_rules_waits_until_they_are_fixed(conn, county, driver):
    schema = county("469029")
    await reset_county(conn, schema)
    await conn.execute("UPDATE core.counties SET rules = '{\"household_visits_per_year\": 0}' WHERE adcode = '469029'")
    try:
        driver()
        await store_events(conn, schema, household_visits(1, 1, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI)))
        await asyncio.sleep(1.5)  # three sweeps
        assert await checkin_count(conn, schema) == 0
    finally:
        await conn.execute("UPDATE core.counties SET rules = '{}' WHERE adcode = '469029'")
    await wait_for(lambda: conn.fetchval(f"SELECT count(*) = 1 FROM {schema}.verdicts_checkins"))


async def test_a_check_in_is_judged_by_the_rules_stored_when_its_batch_runs_not_at_the_last_sweep(
        conn, county, database_url):
    """A re-judge swaps in read models judged by the new rules; a check-in the driver applied after the swap
    under the rules of its last sweep would stay judged by the old ones until the next rebuild."""
    schema = county("469029")
    await reset_county(conn, schema)
    stop = asyncio.Event()
    follower = asyncio.create_task(run_driver(database_url, stop, sweep_seconds=60.0))  # one sweep, at its start
    try:
        await store_events(conn, schema, household_visits(1, 1, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI)))
        await wait_for(lambda: conn.fetchval(f"SELECT count(*) = 1 FROM {schema}.verdicts_checkins"))
        # The check-ins' fixes are 10 m: good enough before, too coarse now.
        await conn.execute("UPDATE core.counties SET rules = '{\"verified_max_accuracy_m\": 5}',"
                           " rules_revision = rules_revision + 1 WHERE adcode = '469029'")
        await store_events(conn, schema, household_visits(1, 1, datetime(2026, 5, 2, 9, tzinfo=SHANGHAI)))
        await wait_for(lambda: conn.fetchval(f"SELECT count(*) = 2 FROM {schema}.verdicts_checkins"))
        verdicts = await conn.fetch(f"SELECT verified, reasons FROM {schema}.verdicts_checkins ORDER BY occurred_at")
        assert [(r["verified"], r["reasons"]) for r in verdicts] == [(True, []), (False, ["poor_accuracy"])]
    finally:
        await conn.execute("UPDATE core.counties SET rules = '{}' WHERE adcode = '469029'")
        stop.set()
        await asyncio.wait_for(follower, 10)


class Slow(Projection):
    """A deferred projection that holds each batch until `release` is set, like a slow rollup (a test
    instrument): says which events it got and how many check-ins the county showed when it got them."""

    name = "slow"
    tables: list[str] = []
    deferred = True

    def __init__(self, schema: str) -> None:
        self.schema, self.release, self.entered = schema, asyncio.Event(), asyncio.Event()
        self.seen: list = []
        self.checkins_shown: list[int] = []

    async def apply(self, conn, schema, events, rules) -> None:
        if schema != self.schema:  # other tests' counties share the database
            return
        self.seen.extend((e.originator_id, e.originator_version) for e in events)
        self.checkins_shown.append(await checkin_count(conn, schema))
        self.entered.set()
        await self.release.wait()


def tracked(conn, schema: str, projection: str):
    return conn.fetchval(f"SELECT notification_id FROM {schema}.projection_tracking WHERE projection = $1",
                         projection)


async def test_a_new_check_in_shows_in_the_county_read_models_while_a_slow_deferred_projection_still_works(
        conn, county, driver):
    schema = county("469029")
    await reset_county(conn, schema)
    slow = Slow(schema)
    driver([*(p for p in PROJECTIONS if not p.deferred), slow])
    events = household_visits(2, 1, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI))
    try:
        await store_events(conn, schema, events)
        await asyncio.wait_for(slow.entered.wait(), 15)
        last = await conn.fetchval(f"SELECT max(notification_id) FROM {schema}.county_events")
        # The county's batch committed before the slow one began, which still holds its own row.
        assert await checkin_count(conn, schema) == 2
        assert await tracked(conn, schema, "verdicts") == last
        assert slow.checkins_shown == [2]
        assert (await tracked(conn, schema, "slow") or 0) < last
    finally:
        slow.release.set()
    await wait_for(lambda: conn.fetchval(
        f"SELECT notification_id = {last} FROM {schema}.projection_tracking WHERE projection = 'slow'"))
    assert sorted(slow.seen) == sorted((e.originator_id, e.originator_version) for e in events)


async def test_the_county_read_models_take_new_check_ins_while_a_deferred_projection_still_holds_its_batch(
        conn, county, driver):
    """The deferred projections follow on a connection of their own: while one works, the county's read
    models go on with the check-ins that arrive meanwhile (they waited for it when one connection did both)."""
    schema = county("469029")
    await reset_county(conn, schema)
    slow = Slow(schema)
    driver([*(p for p in PROJECTIONS if not p.deferred), slow])
    first = household_visits(2, 1, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI))
    later = household_visits(1, 1, datetime(2026, 5, 2, 9, tzinfo=SHANGHAI))
    try:
        await store_events(conn, schema, first)
        await asyncio.wait_for(slow.entered.wait(), 15)
        await store_events(conn, schema, later)
        await wait_for(lambda: conn.fetchval(f"SELECT count(*) = 3 FROM {schema}.verdicts_checkins"))
        assert slow.checkins_shown == [2]  # still in its first batch
    finally:
        slow.release.set()
    last = await conn.fetchval(f"SELECT max(notification_id) FROM {schema}.county_events")
    await wait_for(lambda: conn.fetchval(
        f"SELECT notification_id = {last} FROM {schema}.projection_tracking WHERE projection = 'slow'"))
    assert slow.seen == [(e.originator_id, e.originator_version) for e in first + later]  # each once, in order
    await wait_for(lambda: conn.fetchval(
        "SELECT notification_id = $1 FROM core.projection_positions WHERE county = '469029'", last))


async def test_a_deferred_projection_applies_only_what_the_county_read_models_have_each_event_once(
        conn, county, database_url):
    from projections.driver import Driver, FollowedCounty, decoder
    from projections.rules import Rules

    schema = county("469029")
    await reset_county(conn, schema)
    slow = Slow(schema)
    slow.release.set()
    follower = Driver(database_url, [*(p for p in PROJECTIONS if not p.deferred), slow], decoder(), 100, 2.0)
    county_state = FollowedCounty("469029", schema, Rules())
    first = household_visits(2, 1, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI))
    await store_events(conn, schema, first)
    assert await follower.batch(conn, county_state, [slow]) == (0, False)  # the county has nothing yet
    await follower.batch(conn, county_state, follower.county_group)
    position = await tracked(conn, schema, "verdicts")
    later = household_visits(1, 1, datetime(2026, 5, 2, 9, tzinfo=SHANGHAI))
    await store_events(conn, schema, later)  # arrives between the county's batch and the slow one
    assert await follower.batch(conn, county_state, [slow]) == (len(first), False)
    assert await tracked(conn, schema, "slow") == position
    assert slow.seen == [(e.originator_id, e.originator_version) for e in first]
    assert await follower.process(conn, county_state) == len(later)
    assert await follower.process(conn, county_state) == 0
    assert slow.seen == [(e.originator_id, e.originator_version) for e in first + later]  # each once, in order
    assert slow.checkins_shown == [2, 3]


async def test_a_projector_survives_a_real_database_restart_with_nothing_missed_or_applied_twice(restartable_database):
    """A database restarted while a `grassroots projector` follows a county: events written before, and
    after it is back, are each applied once."""
    from services.storage.schemas import provision_county

    url = restartable_database.url
    projector = None
    try:
        provision_county(url, "469029", name="保亭", province="海南省", province_code="460000")
        schema = "county_469029"
        conn = await asyncpg.connect(url)
        await store_events(conn, schema, household_visits(5, 2, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI)))
        projector = subprocess.Popen([sys.executable, "-m", "services.cli", "projector"],
                                     env={**os.environ, "DATABASE_URL": url},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await wait_for(lambda: conn.fetchval(f"SELECT count(*) = 10 FROM {schema}.verdicts_checkins"), timeout=30)
        await conn.close()

        restartable_database.restart()

        conn = await asyncpg.connect(url)
        try:
            await store_events(conn, schema, household_visits(5, 2, datetime(2026, 6, 1, 9, tzinfo=SHANGHAI)))
            await wait_for(lambda: conn.fetchval(f"SELECT count(*) = 20 FROM {schema}.verdicts_checkins"),
                           timeout=60)
            assert projector.poll() is None  # it reconnected rather than exiting
            last = await conn.fetchval(f"SELECT max(notification_id) FROM {schema}.county_events")
            await wait_for(lambda: conn.fetchval(
                f"SELECT min(notification_id) = {last} FROM {schema}.projection_tracking"), timeout=30)
            assert await conn.fetchval(f"SELECT count(*) FROM {schema}.verdicts_checkins") == 20
            assert await conn.fetchval(f"SELECT count(DISTINCT visit_id) FROM {schema}.verdicts_checkins") == 20
        finally:
            await conn.close()
    finally:
        if projector is not None:
            projector.terminate()
            projector.wait(10)


class Timed(Projection):
    """A county read model that notes when each batch of one county began and how many events it held."""

    name = "timed"
    tables: list[str] = []

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.batches: list[tuple[float, int]] = []

    async def apply(self, conn, schema, events, rules) -> None:
        if schema == self.schema:
            self.batches.append((time.monotonic(), len(events)))


async def test_a_county_written_to_without_pause_is_applied_in_batches_at_least_a_pace_apart(conn, county, driver):
    from projections.driver import PACE

    schema = county("469029")
    await reset_county(conn, schema)
    timed = Timed(schema)
    driver([timed])
    await wait_for(lambda: conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 2 AND objid = 469029"))
    # At rest, one event is applied at once: the pace holds back only a county that was just applied.
    started = time.monotonic()
    await store_events(conn, schema, household_visits(1, 1, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI)))
    await wait_for(lambda: asyncio.sleep(0, len(timed.batches) == 1), every=0.001)
    assert timed.batches[0][0] - started < PACE
    # Forty appends 5 ms apart, each its own notification: a handful of batches, not forty.
    for _ in range(40):
        await store_events(conn, schema, household_visits(1, 1, datetime(2026, 5, 1, 9, tzinfo=SHANGHAI)))
        await asyncio.sleep(0.005)
    # Each append holds a cadre, a household and a check-in.
    await wait_for(lambda: asyncio.sleep(0, sum(n for _, n in timed.batches) == 41 * 3))
    starts = [at for at, _ in timed.batches]
    # The pace is between catch-ups; each batch reaches `apply` after its first queries, whose time varies (on
    # Citus by 15 ms). Without the pace the gaps are about 3 ms.
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= PACE / 2
    assert len(timed.batches) <= 2 + (starts[-1] - starts[0]) / PACE
    assert len(timed.batches) < 20, timed.batches
