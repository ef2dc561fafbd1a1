"""Group commit: saves made at the same moment to one county share one statement and one commit.

While one save's statement runs, the saves of other threads for the same county queue up; the first
of them to go next writes every queued save (up to a cap of events) in one statement, so N concurrent
requests cost one lock wait, one insert, one commit and one NOTIFY instead of N. Each caller returns
only after the commit that holds its events, with its own notification ids; a save that meets no
other goes straight through (no timer, no waiting).

A group is atomic, so one save's unique violation would fail the others: a group that fails with
an integrity error is written again one save at a time, and only the save that clashes fails.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from eventsourcing.persistence import IntegrityError, PersistenceError, StoredEvent

Write = Callable[[Sequence[StoredEvent]], list[int]]


class _Save:
    __slots__ = ("events", "ids", "error", "done")

    def __init__(self, events: Sequence[StoredEvent]) -> None:
        self.events = events
        self.ids: list[int] = []
        self.error: Exception | None = None
        self.done = False


class GroupCommit:
    """Serialises one county's saves through `write` (one statement, one transaction), grouping the
    saves that wait behind a running one, at most `max_events` events per statement."""

    def __init__(self, write: Write, max_events: int) -> None:
        self._write = write
        self._max_events = max_events
        self._queue: list[_Save] = []
        self._writing = False
        self._changed = threading.Condition()

    @property
    def waiting(self) -> int:
        """Saves queued behind the running statement."""
        with self._changed:
            return len(self._queue)

    def append(self, events: Sequence[StoredEvent]) -> list[int]:
        """Write `events` in one transaction (with whatever else is waiting) and return their ids."""
        save = _Save(events)
        with self._changed:
            self._queue.append(save)
        while True:
            with self._changed:
                while self._writing and not save.done:
                    self._changed.wait()
                if save.done:
                    break
                self._writing = True
                group = self._take()
            try:
                self._commit(group)
            finally:
                with self._changed:
                    for member in group:
                        if not member.done:  # interrupted (a BaseException): nobody may wait for it forever
                            member.error = PersistenceError("the save was interrupted: stored or not is unknown")
                            member.done = True
                    self._writing = False
                    self._changed.notify_all()
        if save.error is not None:
            # Not the shared instance: each caller's traceback is its own.
            raise type(save.error)(str(save.error)) from save.error
        return save.ids

    def _take(self) -> list[_Save]:
        """The longest prefix of the queue within the cap (at least one save: each fits alone)."""
        taken, events = 0, 0
        for save in self._queue:
            if taken and events + len(save.events) > self._max_events:
                break
            taken, events = taken + 1, events + len(save.events)
        group, self._queue = self._queue[:taken], self._queue[taken:]
        return group

    def _commit(self, group: list[_Save]) -> None:
        try:
            ids = self._write([event for save in group for event in save.events])
        except IntegrityError as error:
            if len(group) == 1:
                group[0].error = error
            else:
                for save in group:
                    self._commit([save])
                return
        except Exception as error:
            for save in group:
                save.error = error
        else:
            start = 0
            for save in group:
                save.ids = ids[start:start + len(save.events)]
                start += len(save.events)
        for save in group:
            save.done = True
