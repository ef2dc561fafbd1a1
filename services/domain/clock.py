"""The clock seam: "now" for event timestamps and `received_at`.

Production reads the wall clock. The demo loader replays a year of field work, so it runs commands
`at(moment)` a simulated time; a context variable (not a global) keeps that local to the loader's
thread or task, so a server handling real requests at the same time still sees real time.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_simulated: ContextVar[datetime | None] = ContextVar("grassroots_clock", default=None)


def now() -> datetime:
    """The current time, timezone-aware (UTC unless a simulated moment is set)."""
    moment = _simulated.get()
    return moment if moment is not None else datetime.now(UTC)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Run the enclosed commands as if it were `moment`."""
    if moment.tzinfo is None:
        raise ValueError("the simulated moment must be timezone-aware")
    token = _simulated.set(moment)
    try:
        yield
    finally:
        _simulated.reset(token)
