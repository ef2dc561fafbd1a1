"""The county write path through the County application: lock, notify, cap, order, shared pool."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.utils import Environment

from services.storage.database import connect
from services.storage.names import COUNTY_LOCK_CLASS, NOTIFY_CHANNEL
from services.storage.recorder import (
    APPLICATION_NAME,
    CONNECTION_MAX_AGE,
    MAX_EVENTS_PER_SAVE,
    POOL_MAX_SIZE,
    POOL_NAME,
    CountyFactory,
    SaveTooLarge,
    county_env,
)

from .conftest import Tally


def tally_with_events(label: str, events: int) -> Tally:
    tally = Tally(label)
    for _ in range(events - 1):
        tally.count_one()
    return tally


def test_a_save_notifies_grassroots_events_with_the_county_schema_as_payload(database_url, new_county, counties):
    adcode = new_county()
    app = counties.get(adcode)
    with connect(database_url) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        app.save(tally_with_events("notify", 3))
        notifies = list(listener.notifies(timeout=5, stop_after=1))
    assert [(n.channel, n.payload) for n in notifies] == [(NOTIFY_CHANNEL, f"county_{adcode}")]


def test_a_save_of_more_than_500_events_is_refused_and_writes_nothing(new_county, counties):
    app = counties.get(new_county())
    with pytest.raises(SaveTooLarge, match=r"501 events but at most 500 .* split the work"):
        app.save(tally_with_events("too big", MAX_EVENTS_PER_SAVE + 1))
    assert app.recorder.max_notification_id() is None


def test_a_save_of_exactly_500_events_is_one_transaction_with_consecutive_ids(new_county, counties):
    app = counties.get(new_county())
    recordings = app.save(tally_with_events("full", MAX_EVENTS_PER_SAVE))
    assert [r.notification.id for r in recordings] == list(range(1, MAX_EVENTS_PER_SAVE + 1))


def wait_for_lock_waiter(database_url: str, adcode: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    with connect(database_url) as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s"
                " AND NOT granted",
                (COUNTY_LOCK_CLASS, int(adcode)),
            ).fetchone()[0]
            if waiting:
                return True
            time.sleep(0.02)
    return False


def test_every_insert_path_waits_for_the_county_write_lock_and_other_counties_do_not(
    database_url, new_county, counties
):
    adcode, other = new_county(), new_county()
    app = counties.get(adcode)
    # The process path (events + tracking in one transaction) needs the tracking table, which
    # provisioning does not make: the County application does not process other logs.
    process = CountyFactory(
        Environment(APPLICATION_NAME, {**county_env(adcode, database_url), "CREATE_TABLE": "yes"})
    ).process_recorder()
    stored = StoredEvent(originator_id=uuid4(), originator_version=1, topic="t", state=b"{}")
    paths = {
        "application save": lambda: app.save(Tally("save")),
        "process recorder with tracking": lambda: process.insert_events([stored], tracking=Tracking("up", 1)),
    }
    for name, insert in paths.items():
        with connect(database_url, autocommit=False) as holder:
            holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", (COUNTY_LOCK_CLASS, int(adcode)))
            writer = threading.Thread(target=insert)
            writer.start()
            assert wait_for_lock_waiter(database_url, adcode), f"{name} did not take the county lock"
            counties.get(other).save(Tally("another county is not blocked"))
            assert writer.is_alive(), f"{name} wrote while the county lock was held"
            holder.rollback()  # releases the transaction's advisory lock
        writer.join(timeout=10)
        assert not writer.is_alive()
    assert app.recorder.max_notification_id() == 2  # both paths wrote once the lock was free


def test_a_save_draws_its_notification_ids_only_once_it_holds_the_county_lock(database_url, new_county, counties):
    # Lock, notify and insert are one statement: were the ids drawn before the lock, a save waiting
    # for it could commit ids below those of a save that committed already (a tailing reader skips them).
    adcode = new_county()
    app = counties.get(adcode)
    sequence = f"county_{adcode}.county_events_notification_id_seq"
    with connect(database_url) as conn:
        before = conn.execute(f"SELECT last_value, is_called FROM {sequence}").fetchone()
    with connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", (COUNTY_LOCK_CLASS, int(adcode)))
        writer = threading.Thread(target=lambda: app.save(tally_with_events("waits", 3)))
        writer.start()
        assert wait_for_lock_waiter(database_url, adcode)
        with connect(database_url) as conn:
            assert conn.execute(f"SELECT last_value, is_called FROM {sequence}").fetchone() == before
        holder.rollback()
    writer.join(timeout=10)
    assert app.recorder.max_notification_id() == 3


def test_a_reader_tailing_the_log_sees_every_event_of_four_concurrent_writers_in_order_without_gaps(
    new_county, counties
):
    app = counties.get(new_county())
    writers, saves_per_writer = 4, 120
    written: list[tuple] = []
    written_lock = threading.Lock()
    total = sum(1 + i % 4 for i in range(saves_per_writer)) * writers
    writing_done = threading.Event()

    def write(writer: int) -> None:
        for i in range(saves_per_writer):
            tally = tally_with_events(f"w{writer}-{i}", 1 + i % 4)
            recordings = app.save(tally)
            with written_lock:
                written.extend((r.notification.originator_id, r.notification.originator_version) for r in recordings)

    seen: list[tuple] = []
    gaps: list[tuple[int, int]] = []

    def tail() -> None:
        last = 0
        while True:
            finished = writing_done.is_set()  # read before the select: nothing is written after it
            batch = app.recorder.select_notifications(start=last, limit=100, inclusive_of_start=False)
            for notification in batch:
                if notification.id != last + 1:
                    gaps.append((last, notification.id))
                seen.append((notification.originator_id, notification.originator_version))
                last = notification.id
            if not batch:
                if finished:
                    return
                time.sleep(0.002)

    reader = threading.Thread(target=tail)
    reader.start()
    with ThreadPoolExecutor(writers) as pool:
        for future in [pool.submit(write, n) for n in range(writers)]:
            future.result()
    writing_done.set()
    reader.join(timeout=60)

    assert gaps == []
    assert len(seen) == len(written) == total
    assert set(seen) == set(written)
    versions: dict = {}
    for originator_id, version in seen:  # each aggregate's events in version order
        assert version == versions.get(originator_id, 0) + 1
        versions[originator_id] = version


def test_two_hundred_counties_in_one_process_share_one_pool_of_at_most_its_max_connections(
    database_url, new_county, counties
):
    with ThreadPoolExecutor(4) as pool:
        adcodes = list(pool.map(lambda _: new_county(), range(200)))

    def save_twice(adcode: str) -> None:
        app = counties.get(adcode)
        app.save(Tally(adcode))
        app.save(tally_with_events(adcode, 2))

    with ThreadPoolExecutor(16) as pool:  # more threads than connections: the pool must make them wait
        list(pool.map(save_twice, adcodes))
    with connect(database_url) as conn:
        connections = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
            (POOL_NAME,),
        ).fetchone()[0]

    apps = [counties.get(adcode) for adcode in adcodes]
    pools = {id(app.recorder.datastore.pool) for app in apps}
    assert len(pools) == 1
    pool = apps[0].recorder.datastore.pool
    assert pool.max_size == POOL_MAX_SIZE and pool.max_lifetime == CONNECTION_MAX_AGE
    assert 0 < connections <= POOL_MAX_SIZE
    assert all(app.recorder.max_notification_id() == 3 for app in apps)


def test_every_insert_path_advances_the_county_position_and_a_refused_duplicate_does_not(
    database_url, new_county, counties
):
    from eventsourcing.persistence import IntegrityError

    from services.storage.bulk import copy_events

    adcode = new_county()
    app = counties.get(adcode)
    process = CountyFactory(
        Environment(APPLICATION_NAME, {**county_env(adcode, database_url), "CREATE_TABLE": "yes"})
    ).process_recorder()

    def position() -> tuple[int, int] | None:
        with connect(database_url) as conn:
            return conn.execute("SELECT last_notification_id, events FROM core.county_positions WHERE county = %s",
                                (adcode,)).fetchone()

    app.save(tally_with_events("saved", 3))
    assert position() == (3, 3)
    first = StoredEvent(originator_id=uuid4(), originator_version=1, topic="t", state=b"{}")
    process.insert_events([first], tracking=Tracking("up", 1))
    assert position() == (4, 4)
    with pytest.raises(IntegrityError):  # a unique violation on Citus too, not an internal error
        app.recorder.insert_events([first])
    assert position() == (4, 4)
    copy_events(database_url, adcode, [(uuid4(), 1, "t", b"{}"), (uuid4(), 1, "t", b"{}")])
    assert position() == (7, 6)  # the refused insert drew id 5
