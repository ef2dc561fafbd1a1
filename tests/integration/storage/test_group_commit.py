"""Group commit: saves that wait behind a running one for the same county go in together."""
from __future__ import annotations

import threading
import time
from uuid import uuid4

from eventsourcing.persistence import IntegrityError, StoredEvent

from services.storage.database import connect
from services.storage.recorder import COUNTY_LOCK_CLASS, MAX_EVENTS_PER_SAVE, NOTIFY_CHANNEL


def stored(originator_id=None, version: int = 1) -> StoredEvent:
    return StoredEvent(originator_id=originator_id or uuid4(), originator_version=version, topic="t", state=b"{}")


class Saver(threading.Thread):
    """One save in its own thread, keeping its answer."""

    def __init__(self, recorder, events: list[StoredEvent]) -> None:
        super().__init__()
        self.recorder, self.events = recorder, events
        self.ids: list[int] | None = None
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            self.ids = list(self.recorder.insert_events(self.events))
        except Exception as error:  # the test asserts which
            self.error = error


def saves_behind_a_held_lock(database_url: str, adcode: str, recorder, batches: list[list[StoredEvent]]
                             ) -> tuple[Saver, list[Saver]]:
    """A first save that blocks on the county lock held elsewhere, then `batches` queued behind it;
    the lock is released once they all wait. Gives the first saver and the queued ones, finished."""
    with connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", (COUNTY_LOCK_CLASS, int(adcode)))
        first = Saver(recorder, [stored()])
        first.start()
        time.sleep(0.2)  # its statement is now waiting for the lock
        queued = [Saver(recorder, events) for events in batches]
        for saver in queued:
            saver.start()
        deadline = time.monotonic() + 10
        while recorder.group_commit.waiting < len(queued):
            assert time.monotonic() < deadline, "the saves did not queue behind the running one"
            time.sleep(0.01)
        holder.rollback()
    for saver in (first, *queued):
        saver.join(timeout=30)
    return first, queued


def transactions_of(database_url: str, adcode: str, ids: list[int]) -> int:
    with connect(database_url) as conn:
        return conn.execute(f"SELECT count(DISTINCT xmin::text) FROM county_{adcode}.county_events"
                            " WHERE notification_id = ANY(%s)", (ids,)).fetchone()[0]


def test_saves_queued_behind_a_running_one_commit_in_one_transaction_with_one_notify(
    database_url, new_county, counties
):
    adcode = new_county()
    recorder = counties.get(adcode).recorder
    with connect(database_url) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        first, queued = saves_behind_a_held_lock(database_url, adcode, recorder,
                                                 [[stored(), stored()], [stored()], [stored(), stored(), stored()]])
        notifies = list(listener.notifies(timeout=2, stop_after=3))
    assert first.error is None and first.ids == [1]
    assert [s.error for s in queued] == [None, None, None]
    # Each caller gets its own ids, in queue order, consecutive: one statement, one commit.
    assert [s.ids for s in queued] == [[2, 3], [4], [5, 6, 7]]
    assert transactions_of(database_url, adcode, [2, 3, 4, 5, 6, 7]) == 1
    assert len(notifies) == 2  # one per commit: the first save's and the group's


def test_a_duplicate_in_a_group_fails_only_its_own_save(database_url, new_county, counties):
    adcode = new_county()
    recorder = counties.get(adcode).recorder
    taken = stored()
    recorder.insert_events([taken])
    _, queued = saves_behind_a_held_lock(database_url, adcode, recorder,
                                         [[stored()], [stored(), stored(taken.originator_id, 1)], [stored()]])
    assert [type(s.error) for s in queued] == [type(None), IntegrityError, type(None)]
    assert queued[1].ids is None
    assert all(s.ids for s in (queued[0], queued[2]))
    with connect(database_url) as conn:
        stored_rows = conn.execute(f"SELECT count(*) FROM county_{adcode}.county_events").fetchone()[0]
    assert stored_rows == 4  # the earlier one, the first saver's, and the two good saves; nothing of the clash


def test_a_group_holds_at_most_max_events_per_statement(database_url, new_county, counties):
    adcode = new_county()
    recorder = counties.get(adcode).recorder
    half = MAX_EVENTS_PER_SAVE // 2 + 1  # two of these do not fit in one statement
    _, queued = saves_behind_a_held_lock(database_url, adcode, recorder,
                                         [[stored() for _ in range(half)] for _ in range(2)])
    assert [s.error for s in queued] == [None, None]
    assert transactions_of(database_url, adcode, queued[0].ids + queued[1].ids) == 2


def test_many_concurrent_saves_each_get_their_own_consecutive_ids_once(new_county, counties):
    recorder = counties.get(new_county()).recorder
    savers = [Saver(recorder, [stored() for _ in range(1 + n % 3)]) for n in range(160)]
    for saver in savers:
        saver.start()
    for saver in savers:
        saver.join(timeout=60)
    assert all(s.error is None for s in savers)
    ids = [i for s in savers for i in s.ids]
    assert sorted(ids) == list(range(1, len(ids) + 1))
    assert all(len(s.ids) == len(s.events) and s.ids == list(range(s.ids[0], s.ids[0] + len(s.ids))) for s in savers)
