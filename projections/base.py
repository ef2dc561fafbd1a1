"""What every read model is: a name, its tables and one `apply` for a batch of decoded events.

Timing (Marten's words): every read model here is *async*: the driver (`projections.driver`) applies
committed events in batches, each batch in ONE transaction together with the tracking row, so an
event is applied exactly once. Rules for a projection:

- `tables` are DDL strings with a `{schema}` placeholder (the county schema, or the rebuild schema
  `county_<adcode>__rebuild`). Every table and index name starts with the projection's `name` and
  `_`, e.g. `coverage_households`, so rebuild knows which tables to swap. Use `IF NOT EXISTS`:
  `ensure_tables` runs them on every driver start.
- `apply` writes only its own tables, and only in `schema` (a rebuild passes its scratch schema).
  It may read other tables of its own; queries may read other projections' tables.
- Tables holding facts carry the event `timestamp` that made them, so a query `as_of` a date keeps
  what `recorded_before(as_of)` allows and answers what a rebuild cut at that moment would.
- A projection whose tables live outside the county schema (the province rollup) lists them in
  `shared_tables` (no placeholder) and implements `forget`, which rebuild calls before replaying.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from projections.rules import Rules

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Projection:
    name: ClassVar[str]
    tables: ClassVar[list[str]]
    shared_tables: ClassVar[list[str]] = []

    async def apply(self, conn: Any, schema: str, events: Sequence[Any], rules: Rules) -> None:
        """Update this projection's tables in `schema` for a batch of decoded events (asyncpg conn,
        inside the driver's transaction). Events this projection does not follow are ignored."""
        raise NotImplementedError

    async def forget(self, conn: Any, schema: str) -> None:
        """Delete this county's rows from `shared_tables` (only projections that have any)."""
        raise NotImplementedError(f"{self.name} keeps no shared tables")

    def ddl(self, schema: str) -> list[str]:
        return [statement.format(schema=schema) for statement in self.tables]


def event_name(event: Any) -> str:
    """`Aggregate.Event` of a decoded event, e.g. `Visit.CheckedIn` (the stored topic without its
    `grassroots:` prefix)."""
    return type(event).__qualname__


def recorded_before(as_of: date | None) -> datetime | None:
    """The first instant NOT included by `as_of`: (as_of + 1 day) 00:00 Asia/Shanghai; None = now."""
    if as_of is None:
        return None
    if not isinstance(as_of, date) or isinstance(as_of, datetime):
        raise TypeError(f"as_of must be a date, not {type(as_of).__name__}")
    return datetime.combine(as_of + timedelta(days=1), time(), SHANGHAI)


def local_date(moment: datetime) -> date:
    """The calendar date of an instant in China (every period in Grassroots is a Chinese calendar one)."""
    return moment.astimezone(SHANGHAI).date()


def reference_date(as_of: date | None) -> date:
    """The day a status is judged on: `as_of`, or today in China."""
    return as_of if as_of is not None else datetime.now(SHANGHAI).date()


def parse_time(value: Any) -> datetime:
    """Event fields carry times as aware datetimes or ISO strings; both become aware datetimes."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"time without a timezone: {value!r}")
    return moment


def parse_date(value: Any) -> date:
    return value if isinstance(value, date) and not isinstance(value, datetime) else date.fromisoformat(str(value))
