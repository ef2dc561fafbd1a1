"""Our persistence for eventsourcing 9.5.6: every county's recorders share one connection pool.

The stock postgres module gives each `Application` its own pool (connections ran out at 99 counties,
DESIGN §9) and inserts through a composite type that lives in each schema, so its connections cannot
be shared between schemas. Here, instead:

- one psycopg pool per database URL serves every county, and recycles its connections (a connection
  that touched thousands of schemas keeps their catalog caches: 201 MiB after 3,000);
- events go in through four typed arrays with `unnest`, in one statement (its own transaction on
  the pool's autocommit connections: one round trip) that takes the county's write lock, notifies
  `grassroots_events` with the schema as payload, and inserts `RETURNING notification_id`;
- saves to one county made at the same moment share that statement (group commit, see
  group_commit.py), each caller answered after the commit that holds its events;
- no pipeline mode (psycopg 3.3.9's pipeline hung on large saves) and at most
  `MAX_EVENTS_PER_SAVE` events per save, and per statement.
"""
from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar, cast

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import (
    ConnectionPool,
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
    PostgresProcessRecorder,
)
from eventsourcing.utils import Environment, retry
from psycopg import Connection
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row
from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool.base import AttemptWithBackoff

from .database import eventsourcing_settings
from .group_commit import GroupCommit
from .names import COUNTY_LOCK_CLASS, COUNTY_SCHEMA, EVENTS_TABLE, NOTIFY_CHANNEL, county_schema
from .positions import advance_by, advance_past

APPLICATION_NAME = "County"  # eventsourcing names the tables after it: county_events, county_snapshots
SNAPSHOTS_TABLE = "county_snapshots"
# The cap bounds how long one save holds its county's write lock and how big one statement gets
# (psycopg 3.3.9's pipelined insert hung with ~1,000 events of ~420 B; we insert without a pipeline).
# A bigger save is refused, not split here: one save must stay one transaction.
MAX_EVENTS_PER_SAVE = 500

POOL_NAME = "grassroots-counties"
POOL_MIN_SIZE = 2
POOL_MAX_SIZE = 10
# Seconds before a pooled connection is replaced: backends grow with every schema they touch.
CONNECTION_MAX_AGE = 600
# The longest wait between the pool's attempts to reconnect a database that went away (issue 15: writes
# work again within 5 s of its return).
RECONNECT_AT_MOST = 1.0

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _retried(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Retried like the stock recorder's statements: after a database restart the pool still holds
    dead connections. (eventsourcing's `retry` is typed `Callable[[Any], Any]`; this keeps the signature.)"""
    return cast("Callable[_P, _R]", retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)(method))


class SaveTooLarge(ProgrammingError):
    """More events in one save than one insert may carry."""


def county_env(adcode: object, url: str) -> dict[str, str]:
    """The `env=` of the County application for one county: our factory, the county's schema."""
    return {
        "PERSISTENCE_MODULE": f"{__name__}:CountyFactory",
        "DATABASE_URL": url,
        **eventsourcing_settings(url),
        "POSTGRES_SCHEMA": county_schema(adcode),
        "POSTGRES_POOL_SIZE": str(POOL_MIN_SIZE),
        "POSTGRES_MAX_OVERFLOW": str(POOL_MAX_SIZE - POOL_MIN_SIZE),
        "POSTGRES_CONN_MAX_AGE": str(CONNECTION_MAX_AGE),
        # Tables are made by `grassroots county add` (schemas.provision_county), never by a request.
        "CREATE_TABLE": "no",
    }


class _Reconnection(AttemptWithBackoff):
    """psycopg_pool's backoff between reconnection attempts doubles without bound (1, 2, 4, 8 s, ...):
    a database back after 10 s would wait up to 5 s more for the pool's next attempt, every write
    waiting with it. Capped at RECONNECT_AT_MOST: an attempt a second costs a database nothing."""

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_AT_MOST)


class SharedPool(ConnectionPool[Connection[DictRow]]):
    """The stock datastore's pool type (its recorders read rows by column name), reconnecting at least
    every RECONNECT_AT_MOST seconds. (`_add_connection` is psycopg_pool's, pinned at 3.3.3: every
    reconnection attempt goes through it.)"""

    def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        super()._add_connection(attempt or _Reconnection(timeout=self.reconnect_timeout), growing)
# One pool per database, whichever county asks first creates it.
_pools: dict[tuple[tuple[str, Any], ...], SharedPool] = {}
_pools_lock = threading.Lock()


def _pool_key(url: str) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(conninfo_to_dict(url).items()))


def shared_pool(url: str, settings: PostgresDatastore) -> SharedPool:
    """The pool of the database at `url`, made with the sizes and timeouts of `settings`."""
    key = _pool_key(url)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None or pool.closed:
            stock = settings.pool
            pool = SharedPool(
                url,
                connection_class=Connection,
                # The stock recorders read rows by column name; the name tells our connections apart
                # in pg_stat_activity.
                kwargs={"row_factory": dict_row, "application_name": POOL_NAME},
                min_size=stock.min_size,
                max_size=stock.max_size,
                open=True,
                configure=settings.after_connect_func(),
                check=ConnectionPool.check_connection if settings.pre_ping else None,
                timeout=stock.timeout,
                max_waiting=stock.max_waiting,
                max_lifetime=stock.max_lifetime,
                name=POOL_NAME,
            )
            _pools[key] = pool
        return pool


@atexit.register
def close_pools(url: str | None = None) -> None:
    """Close the shared pool of the database at `url`, or every one (at exit: the counties share
    them until then). Applications still holding a closed pool fail; make new ones."""
    with _pools_lock:
        keys = [_pool_key(url)] if url else list(_pools)
        pools = [_pools.pop(key) for key in keys if key in _pools]
    for pool in pools:
        pool.close()


class CountyDatastore(PostgresDatastore):
    """A datastore whose connections come from the pool every county shares."""

    def __init__(self, settings: PostgresDatastore, pool: SharedPool):
        # The stock factory parses the environment into a datastore with a private pool, unopened.
        # Keep its settings, swap the pool.
        vars(self).update(vars(settings))
        self.pool = pool

    def register_type_adapters(self) -> None:
        """Nothing to register: our recorders use no composite types."""

    def close(self) -> None:
        """One county closing must not close the pool of all the others (see close_pools)."""

    def __enter__(self) -> CountyDatastore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _check_size(stored_events: Sequence[StoredEvent]) -> None:
    if len(stored_events) > MAX_EVENTS_PER_SAVE:
        raise SaveTooLarge(
            f"one save holds {len(stored_events)} events but at most {MAX_EVENTS_PER_SAVE} fit in one "
            "insert: split the work into several saves"
        )


def _columns(stored_events: Sequence[StoredEvent]) -> tuple[list[Any], ...]:
    _check_size(stored_events)
    return (
        [e.originator_id for e in stored_events],
        [e.originator_version for e in stored_events],
        [e.topic for e in stored_events],
        [e.state for e in stored_events],
    )


def _without_composite_types(statements: list[Composed]) -> list[Composed]:
    # The stock recorders add a per-schema composite type and an insert function built on it.
    return [
        s for s in statements
        if not s.as_string().lstrip().startswith(("CREATE TYPE", "CREATE OR REPLACE FUNCTION"))
    ]


def _insert_statement(recorder: PostgresAggregateRecorder, returning: str = "") -> Composed:
    return SQL(
        "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
        "SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]){returning}"
    ).format(
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name),
        id_type=Identifier(recorder.datastore.originator_id_type),
        returning=SQL(returning),
    )


class CountyAggregateRecorder(PostgresAggregateRecorder):
    """Snapshots: an aggregate's latest state, not part of the county's log (no lock, no notify)."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = SNAPSHOTS_TABLE):
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements = _without_composite_types(self.sql_create_statements)
        # RETURNING: on Citus an INSERT..SELECT without it is evaluated on the coordinator, and a
        # duplicate then fails as XX000, not as a unique violation (DESIGN §13).
        self.insert_events_statement = _insert_statement(self, " RETURNING originator_version")

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **_: Any) -> None:
        curs.execute(self.insert_events_statement, _columns(stored_events), prepare=True)


class CountyApplicationRecorder(PostgresApplicationRecorder):
    """A county's event log: `county_<adcode>.county_events`."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = EVENTS_TABLE, **kwargs: Any
    ):
        super().__init__(datastore, events_table_name=events_table_name, **kwargs)
        match = COUNTY_SCHEMA.fullmatch(datastore.schema)
        if match is None:
            raise ProgrammingError(
                f"county recorders work in a county schema (county_<6-digit adcode>), not {datastore.schema!r}"
            )
        self.county_key = int(match.group(1))
        self.channel_name = NOTIFY_CHANNEL
        self.sql_create_statements = _without_composite_types(self.sql_create_statements)
        self.insert_events_statement = _insert_statement(self, " RETURNING notification_id")
        # The per-county advisory lock serialises the county's inserts, so notification ids are
        # committed in the order they were issued and a tailing reader never passes a gap that is
        # filled later. It replaces the stock LOCK TABLE, which Citus sends to every worker (DESIGN §13).
        # The statement is the same for every county (its parameters differ), so each pooled
        # connection prepares it once.
        self.lock_and_notify_statement = SQL(
            "SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(%s::int, %s::int), pg_notify(%s, %s)"
        )
        # Lock, notify and insert as one statement: on an autocommit connection that is one round trip
        # where BEGIN, lock + notify, INSERT and COMMIT took four (the write path was round-trip bound:
        # DESIGN §9). `locked` is joined into the insert's rows, so the lock is held before the first
        # row takes its notification id; RETURNING makes a duplicate a unique violation on Citus too.
        # `positioned` adds the rows to the county's position in core (services/storage/positions.py).
        # On Citus the lock and NOTIFY run on the coordinator (`locked` has no table), the insert on the
        # county's worker and the position on the coordinator, in one transaction.
        self.append_statement = SQL(
            "WITH locked AS MATERIALIZED ({lock_and_notify}),"
            " inserted AS (INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state)"
            " SELECT e.* FROM locked, unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[])"
            " AS e(originator_id, originator_version, topic, state) RETURNING notification_id, topic),"
            " positioned AS ({positioned})"
            " SELECT notification_id FROM inserted"
        ).format(
            lock_and_notify=self.lock_and_notify_statement, schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name), id_type=Identifier(self.datastore.originator_id_type),
            positioned=SQL(advance_by(self.datastore.schema, "inserted")),
        )
        self.group_commit = GroupCommit(self._append, MAX_EVENTS_PER_SAVE)

    def _lock_and_notify_parameters(self) -> tuple[Any, ...]:
        return (f"{self.datastore.lock_timeout}s", COUNTY_LOCK_CLASS, self.county_key, NOTIFY_CHANNEL,
                self.datastore.schema)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        _check_size(stored_events)
        if kwargs.get("tracking") is not None:
            return self._insert_with_tracking(stored_events, **kwargs)
        if not stored_events:
            return None
        return self.group_commit.append(stored_events)

    @_retried
    def _append(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        """One statement: lock, notify, insert (see `append_statement`)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.append_statement, (*self._lock_and_notify_parameters(), *_columns(stored_events)),
                         prepare=True)
            return self._notification_ids(stored_events, curs.fetchall())

    @_retried
    def _insert_with_tracking(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """The process recorder's path: its tracking row and the events in one transaction, under the
        same lock (the stock `_insert_events` hook writes the tracking row)."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            if stored_events:
                curs.execute(self.lock_and_notify_statement, self._lock_and_notify_parameters(), prepare=True)
            self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return None
            curs.execute(self.insert_events_statement, _columns(stored_events), prepare=True)
            rows = curs.fetchall()
            curs.execute(SQL(advance_past(self.datastore.schema)))
        return self._notification_ids(stored_events, rows)

    @staticmethod
    def _notification_ids(stored_events: Sequence[StoredEvent], rows: list[Any]) -> list[int]:
        if len(rows) != len(stored_events):
            raise IntegrityError(f"inserted {len(stored_events)} events but got {len(rows)} notification ids")
        return [row["notification_id"] for row in rows]


class CountyProcessRecorder(CountyApplicationRecorder, PostgresProcessRecorder):
    """A county's event log plus tracking of what it processed, written in one transaction."""


class CountyFactory(PostgresFactory):
    """eventsourcing's `PERSISTENCE_MODULE` for a County: see `county_env`."""

    aggregate_recorder_class = CountyAggregateRecorder
    application_recorder_class = CountyApplicationRecorder
    process_recorder_class = CountyProcessRecorder

    def __init__(self, env: Environment):
        super().__init__(env)
        url = self.env.get("DATABASE_URL")
        if not url:
            raise OSError("CountyFactory needs DATABASE_URL in the application's env (use county_env)")
        self.datastore = CountyDatastore(self.datastore, shared_pool(url, self.datastore))
