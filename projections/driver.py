"""The projection driver: one asyncio task follows every county it owns and keeps its read models current.

- Wake-ups: LISTEN on `grassroots_events` (payload = the county schema). Notifications sent while
  the driver was disconnected are lost, so a sweep every `SWEEP_SECONDS` also compares each county's
  last notification id with its read models' position, both kept in `core` (`projections.positions`):
  a sweep costs the same few queries for 3 counties or 3,000.
- Catch-up: batches of up to `BATCH_SIZE` events. One transaction per batch locks the county's
  tracking rows (FOR UPDATE), reads the events after them, lets every projection apply the events
  it has not seen, and moves the tracking rows: an event is applied exactly once, even if two
  drivers ever raced for one county.
- Pace: a county's batches start at least `PACE` apart. At rest a new event is applied at once; a county
  written to without pause (phones syncing one check-in each) is applied in batches of what came in the
  meantime, not in a batch per notification, each of which costs its ~60 statements.
- Deferred projections (the province rollup, the leaderboards, the campaigns): a transaction of their
  own with their tracking rows, after the county's batch committed, so a new check-in shows in the
  county's read models without waiting for them. They read those read models, so their batch stops at
  their position: they never apply an event the county's have not. They run in a second lane, on a
  connection of its own, beside the county's next batch: a batch spends about as long waiting on
  PostgreSQL as in Python, and with two lanes one's Python runs while the other's statements do.
- Ownership: a county is followed by the driver holding session advisory lock (2, adcode). Drivers
  count each other (connections named `APPLICATION_NAME`) and take at most their fair share (in one
  query), so several processes split the counties; when one dies its locks go with its connection
  and the others pick its counties up at their next sweep. A county's tables are made sure of when
  the driver first has events for it, not at start (3,000 counties took 8.6 s that way).
- Memory: a backend keeps the catalog of every schema it touched, so the driver reconnects after
  `CONNECTION_MAX_AGE` seconds.
- Gaps: every insert takes the county's write lock (advisory lock class 1) before it takes an id and
  keeps it until it ends, so ids commit in order and a gap below a committed id is a rolled-back
  insert (a refused duplicate, a conflict). It is passed at once when nobody holds that lock; while
  somebody does, a gap younger than `GAP_PATIENCE` seconds stops the batch before it (belt and braces:
  an old gap is passed whatever happens).
- Failures: a lost connection (database restart) reconnects with backoff and resumes from tracking;
  an error inside one county (bad rules, a bug in a handler) is logged and that county is retried
  later while the others go on.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
import uvloop
from asyncpg import Record
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent

from projections import positions
from projections.base import Projection
from projections.rules import InvalidRules, Rules
from projections.schema import ensure_tables_async
from projections.verdicts import one_batch
from services.storage.connections import AsyncConnection
from services.storage.names import (
    COUNTY_LOCK_CLASS, DRIVER_LOCK_CLASS, NOTIFY_CHANNEL, county_schema, event_mapper,
)

log = logging.getLogger(__name__)

APPLICATION_NAME = "grassroots-projector"
# The deferred lane's connection: named apart, since drivers count each other by APPLICATION_NAME.
LANE_NAME = "grassroots-projector-lane"
# A live batch's statements cost about the same for 1,000 events as for 5,000 (a county's read models send
# ~60 statements a batch, each a few ms): at county40k a catch-up applied 1,246 events/s in batches
# of 1,000 and 2,931 in batches of 5,000 (docs/benchmarks.md). A projector at rest takes what
# arrived, far fewer: the size only matters when it is behind, where it must drain faster than ingest.
# GRASSROOTS_PROJECTOR_BATCH sets it (the fault tests take smaller ones, to be cut off mid catch-up).
BATCH_SIZE = int(os.environ.get("GRASSROOTS_PROJECTOR_BATCH", "5000"))
SWEEP_SECONDS = 2.0
GAP_PATIENCE = 5.0
# Seconds between the starts of one county's catch-ups (see Pace above). Single check-ins from 4 clients at ~250/s:
# without it the projector took 1.6 ms of Python and ~1.4 ms of PostgreSQL per check-in, with it 0.85 and ~1.0.
PACE = 0.05
RETRY_FAILED_SECONDS = 30.0
ANALYZE_AFTER = 5000  # events in one catch-up
CONNECTION_MAX_AGE = 600.0  # seconds
# The longest wait between reconnection attempts: read models follow again within that of the database
# coming back (issue 15 asks 5 s), and one connection attempt a second costs a database nothing.
RECONNECT_AT_MOST = 1.0
# TimeoutError is an OSError. A backend terminated or a server shutting down ends the connection too, and says so
# before asyncpg has marked it closed; a statement sent while asyncpg still takes in that news fails with its
# InternalClientError ("another operation is in progress").
CONNECTION_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError,
                     asyncpg.AdminShutdownError, asyncpg.CrashShutdownError, asyncpg.CannotConnectNowError)
DECODED_KEPT = 2 * BATCH_SIZE  # decoded events kept per county for the deferred projections
# Command receipts are the write side's idempotency records: no read model follows them.
SKIPPED_TOPICS = ("grassroots:CommandReceipt",)


@dataclass
class FollowedCounty:
    """A county this driver follows (the write side's application is `services.county.County`)."""

    adcode: str
    schema: str
    rules: Rules | None = None  # None while the stored rules are invalid
    rules_error: str | None = None
    rules_text: str | None = None  # as stored: validated again only when it changes
    gaps_seen: dict[int, float] = field(default_factory=dict)  # first missing id -> when first seen
    failed_until: float = 0.0
    paced_until: float = 0.0  # no batch starts before (see PACE)
    # By notification id: the events the county's batch decoded, for the deferred projections.
    decoded: dict[int, DomainEventProtocol[UUID]] = field(default_factory=dict)


def decoder() -> Mapper[UUID]:
    """The write side's mapper (same transcodings), so events decode exactly as they were encoded."""
    return event_mapper()


def decode(mapper: Mapper[UUID], row: Record) -> DomainEventProtocol[UUID]:
    """A domain event from a `county_events` row."""
    return mapper.to_domain_event(StoredEvent(
        originator_id=row["originator_id"], originator_version=row["originator_version"],
        topic=row["topic"], state=bytes(row["state"]),
    ))


async def run_driver(url: str, stop: asyncio.Event, *, projections: list[Projection] | None = None,
                     batch_size: int = BATCH_SIZE, sweep_seconds: float = SWEEP_SECONDS) -> None:
    """Follow every county until `stop` is set; reconnect with backoff whenever the database goes away."""
    if projections is None:
        from projections.registry import PROJECTIONS

        projections = PROJECTIONS
    driver = Driver(url, projections, decoder(), batch_size, sweep_seconds)
    backoff = 0.5
    while not stop.is_set():
        try:
            await driver.follow(stop)
            backoff = 0.5
            continue  # stopped, or a connection old enough to be replaced: reconnect at once
        except (*CONNECTION_ERRORS, asyncpg.PostgresError) as error:
            log.warning("projection driver stopped on a database error (%s: %s); reconnecting in %.1f s",
                        type(error).__name__, error, backoff)
        await _wait(stop, backoff)
        backoff = min(backoff * 2, RECONNECT_AT_MOST)


async def _wait(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)


class Driver:
    def __init__(self, url: str, projections: list[Projection], mapper: Mapper[UUID], batch_size: int,
                 sweep_seconds: float) -> None:
        self.url, self.projections, self.mapper = url, projections, mapper
        self.batch_size, self.sweep_seconds = batch_size, sweep_seconds
        self.names = [p.name for p in projections]
        # The county's read models in one transaction, the deferred projections in another.
        self.county_group = [p for p in projections if not p.deferred]
        self.county_names = [p.name for p in self.county_group]
        self.deferred_group = [p for p in projections if p.deferred]
        self.owned: dict[str, FollowedCounty] = {}
        self.ensured: set[str] = set()  # schemas whose tables this process made sure of
        self.dirty: set[str] = set()
        self.later: dict[str, float] = {}  # schema -> when to look again (a young gap, the pace)
        self.wake = asyncio.Event()
        # The deferred lane (`follow_deferred`), while it runs: the counties whose read models committed since.
        self.lane_task: asyncio.Task[None] | None = None
        self.handed_over: set[str] = set()
        self.lane_wake = asyncio.Event()

    async def follow(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self.url, server_settings={"application_name": APPLICATION_NAME}, timeout=10)
        lane = None
        retire_at = time.monotonic() + CONNECTION_MAX_AGE
        self.owned.clear()  # session locks died with any previous connection
        try:
            await conn.add_listener(NOTIFY_CHANNEL, self._notified)
            await self.position_every_county(conn)
            if self.deferred_group and self.county_group:
                lane = await asyncpg.connect(self.url, server_settings={"application_name": LANE_NAME}, timeout=10)
                self.lane_task = asyncio.create_task(self.follow_deferred(lane))
            next_sweep = 0.0
            while not stop.is_set() and time.monotonic() < retire_at:
                if self.lane_task is not None and self.lane_task.done():
                    self.lane_task.result()  # its connection failed: reconnect both
                if time.monotonic() >= next_sweep:
                    await self.claim(conn)
                    self.dirty |= await self.lagging(conn)
                    next_sweep = time.monotonic() + self.sweep_seconds
                now = time.monotonic()
                for schema in [s for s, at in self.later.items() if at <= now]:
                    del self.later[schema]
                    self.dirty.add(schema)
                for schema in sorted(self.dirty):
                    self.dirty.discard(schema)
                    county = self.owned.get(schema)
                    if county is None or stop.is_set():
                        continue
                    at = time.monotonic()
                    if county.paced_until > at:
                        self.later[schema] = min(self.later.get(schema, math.inf), county.paced_until)
                        continue
                    county.paced_until = at + PACE
                    await self.process(conn, county)
                if not self.dirty:
                    self.wake.clear()
                    until = min([next_sweep, *self.later.values()])
                    await _wait_any(stop, self.wake, max(0.0, until - time.monotonic()))
        finally:
            self.owned.clear()
            if self.lane_task is not None:
                self.lane_task.cancel()
                with contextlib.suppress(BaseException):
                    await self.lane_task
                self.lane_task = None
            if lane is not None:
                await asyncio.shield(_close(lane))
            await asyncio.shield(_close(conn))

    def _notified(self, _conn: AsyncConnection, _pid: int, _channel: str, payload: object) -> None:
        self.dirty.add(str(payload))  # a NOTIFY payload is text (asyncpg types it `object`)
        self.wake.set()

    async def position_every_county(self, conn: AsyncConnection) -> None:
        """Make the positions' tables, and keep the position of counties provisioned before they were
        kept (once: afterwards every county has one)."""
        if await conn.fetchval("SELECT to_regclass('core.counties')") is None:
            return
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1, 0)", DRIVER_LOCK_CLASS)  # the read side's DDL lock
            for statement in positions.SHARED:
                await conn.execute(statement)
        for adcode in await positions.unpositioned(conn):
            await self.ensure(conn, county_schema(adcode))

    async def ensure(self, conn: AsyncConnection, schema: str) -> None:
        if schema not in self.ensured:
            await ensure_tables_async(conn, schema, self.projections)
            self.ensured.add(schema)

    async def claim(self, conn: AsyncConnection) -> None:
        """Refresh the county list and rules; take unowned counties up to a fair share, give back extras."""
        if await conn.fetchval("SELECT to_regclass('core.counties')") is None:
            return
        rows = await conn.fetch("SELECT adcode, rules::text AS rules FROM core.counties")
        counties = {r["adcode"]: r["rules"] for r in rows}
        drivers = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
            APPLICATION_NAME,
        )
        share = math.ceil(len(counties) / max(1, drivers))
        released = [self.owned.pop(s).adcode for s in [s for s, c in self.owned.items() if c.adcode not in counties]]
        while len(self.owned) > share:
            released.append(self.owned.pop(random.choice(sorted(self.owned))).adcode)
        if released:
            await conn.execute("SELECT pg_advisory_unlock($1, a::int) FROM unnest($2::text[]) a",
                               DRIVER_LOCK_CLASS, released)
        candidates = [a for a in counties if county_schema(a) not in self.owned]
        random.shuffle(candidates)
        if candidates and len(self.owned) < share:
            # The function runs row by row as LIMIT pulls them: no lock is taken beyond the share.
            for row in await conn.fetch(
                "SELECT a FROM unnest($2::text[]) a WHERE pg_try_advisory_lock($1, a::int) LIMIT $3",
                DRIVER_LOCK_CLASS, candidates, share - len(self.owned),
            ):
                self.owned[county_schema(row["a"])] = FollowedCounty(row["a"], county_schema(row["a"]))
        for county in self.owned.values():
            self._take_rules(county, counties[county.adcode])

    def _take_rules(self, county: FollowedCounty, stored: str) -> None:
        """The county's rules as stored (`core.counties.rules`), validated again only when they changed."""
        if stored == county.rules_text:
            return
        county.rules_text = stored
        try:
            county.rules, county.rules_error = Rules.from_stored(stored, county.adcode), None
        except InvalidRules as error:
            if county.rules_error != str(error):
                log.error("%s; its read models wait until the rules are fixed", error)
            county.rules, county.rules_error = None, str(error)

    async def lagging(self, conn: AsyncConnection) -> set[str]:
        """Owned counties whose event log is ahead of their read models (one query for all)."""
        return {s for s in map(county_schema, await positions.lagging(conn)) if s in self.owned}

    async def process(self, conn: AsyncConnection, county: FollowedCounty) -> int:
        """Catch one county's read models up, and hand each committed batch to the deferred lane; with no
        lane running, catch the deferred projections up after them here. A failure inside it (not the
        connection's) is logged and the county retried later. Returns the events its read models took in."""
        if county.rules is None or time.monotonic() < county.failed_until:
            return 0
        total = 0
        try:
            await self.ensure(conn, county.schema)
            more = bool(self.county_group)
            while more:
                applied, more = await self.batch(conn, county, self.county_group)
                total += applied
                if self.lane_task is not None:
                    self.handed_over.add(county.schema)
                    self.lane_wake.set()
            if self.lane_task is None:
                await self.catch_up_deferred(conn, county)
            if total >= ANALYZE_AFTER:
                await self.analyze(conn, county)
            if total == 0:  # e.g. a position lost with a truncated log: store it again
                await positions.record_projected(conn, county.schema, self.names)
            return total
        except Exception as error:
            self._failed(conn, county, error)
            return total

    async def catch_up_deferred(self, conn: AsyncConnection, county: FollowedCounty) -> None:
        """The deferred projections' batches up to what the county's read models have committed."""
        more = bool(self.deferred_group)
        while more:
            more = (await self.batch(conn, county, self.deferred_group))[1]

    async def follow_deferred(self, lane: AsyncConnection) -> None:
        """The deferred lane (see the module doc): on a connection of its own, catch up the deferred projections
        of each county whose read models committed a batch, while those go on with the next."""
        try:
            while True:
                await self.lane_wake.wait()
                self.lane_wake.clear()
                for schema in sorted(self.handed_over):
                    self.handed_over.discard(schema)
                    county = self.owned.get(schema)
                    if county is None or county.rules is None or time.monotonic() < county.failed_until:
                        continue
                    try:
                        await self.catch_up_deferred(lane, county)
                    except Exception as error:
                        self._failed(lane, county, error)
        finally:
            self.wake.set()  # the main loop then sees the lane ended

    def _failed(self, conn: AsyncConnection, county: FollowedCounty, error: Exception) -> None:
        # The connection's failure, not the county's: the caller reconnects at once. (A reset can
        # surface before asyncpg marks the connection closed; retrying the county in
        # RETRY_FAILED_SECONDS would hold its read models back that long after the database is back.)
        if conn.is_closed() or isinstance(error, CONNECTION_ERRORS):
            raise error
        log.error("projections of %s failed; retrying in %.0f s", county.schema, RETRY_FAILED_SECONDS,
                  exc_info=error)
        county.failed_until = time.monotonic() + RETRY_FAILED_SECONDS

    async def analyze(self, conn: AsyncConnection, county: FollowedCounty) -> None:
        """Statistics for tables that have none after a big catch-up (a first start, a demo load):
        autovacuum would take a while, and until then the planner takes the tables for empty. Tables
        analysed before are left to autovacuum: under a steady load every catch-up passes
        ANALYZE_AFTER, and analysing a big county's tables each time stalls every county's batches behind it."""
        tables = await conn.fetch(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = $1 AND relname LIKE ANY($2)"
            " AND last_analyze IS NULL AND last_autoanalyze IS NULL",
            county.schema, [f"{name}\\_%" for name in self.names],
        )
        for row in tables:
            await conn.execute(f"ANALYZE {county.schema}.{row['relname']}")

    async def batch(self, conn: AsyncConnection, county: FollowedCounty,
                    projections: list[Projection]) -> tuple[int, bool]:
        """Apply one batch to `projections` in one transaction, with their tracking rows. Returns
        (events read, whether more may follow)."""
        schema = county.schema
        names = [p.name for p in projections]
        async with conn.transaction():
            tracked = {
                r["projection"]: r["notification_id"] for r in await conn.fetch(
                    f"SELECT projection, notification_id FROM {schema}.projection_tracking"
                    " WHERE projection = ANY($1) ORDER BY projection FOR UPDATE",
                    names,
                )
            }
            # The rules as they stand now, not at the last sweep: a re-judge swaps in tables judged by new rules
            # (its swap holds these tracking rows), and a batch after it judged by the old ones would stay so.
            # (Rules a caller gave, never read from storage, are its own: a test's, a tool's.)
            stored = await conn.fetchval("SELECT rules::text FROM core.counties WHERE adcode = $1",
                                         county.adcode) if county.rules_text is not None else None
            if stored is not None:
                self._take_rules(county, stored)
            if county.rules is None:
                return 0, False
            start = min(tracked.get(name, 0) for name in names)
            upto = None
            if projections[0].deferred and self.county_names:
                # The county's committed position: every later statement here sees at least that much of
                # their tables (read committed), and gaps below it were judged by their batch.
                upto = await conn.fetchval(
                    f"SELECT coalesce(min(notification_id), 0) FROM {schema}.projection_tracking"
                    " WHERE projection = ANY($1)", self.county_names,
                )
            rows = await conn.fetch(
                f"SELECT notification_id, originator_id, originator_version, topic, state"
                f" FROM {schema}.county_events WHERE notification_id > $1 AND ($3::bigint IS NULL OR"
                f" notification_id <= $3) ORDER BY notification_id LIMIT $2",
                start, self.batch_size, upto,
            )
            more = len(rows) == self.batch_size
            if upto is None:
                whole = len(rows)
                rows = await self._before_young_gap(conn, county, start, rows)
                more = more and len(rows) == whole
            if not rows:
                return 0, False
            events = [(r["notification_id"], self._decoded(county, r, projections[0].deferred))
                      for r in rows if not r["topic"].startswith(SKIPPED_TOPICS)]
            if not projections[0].deferred and self.deferred_group:
                if len(county.decoded) > DECODED_KEPT:
                    county.decoded.clear()  # the deferred projections are far behind: they decode their own
                county.decoded.update(events)
            assert county.rules is not None
            with one_batch():
                for projection in projections:
                    seen = tracked.get(projection.name, 0)
                    mine = [event for notification_id, event in events if notification_id > seen]
                    if mine:
                        await projection.apply(conn, schema, mine, county.rules)
            last = rows[-1]["notification_id"]
            await conn.execute(
                f"INSERT INTO {schema}.projection_tracking SELECT unnest($1::text[]), $2"
                " ON CONFLICT (projection) DO UPDATE SET notification_id = excluded.notification_id"
                " WHERE projection_tracking.notification_id < excluded.notification_id",
                names, last,
            )
            await positions.record_projected(conn, schema, self.names)
        county.gaps_seen = {k: v for k, v in county.gaps_seen.items() if k > last}
        return len(rows), more

    def _decoded(self, county: FollowedCounty, row: Record, deferred: bool) -> DomainEventProtocol[UUID]:
        """The row's event: for a deferred projection, as the county's batch already decoded it (decoding
        is a third of a live batch's time); checked against the row, since a log can be truncated."""
        event = county.decoded.pop(row["notification_id"], None) if deferred else None
        if event is None or (event.originator_id, event.originator_version) != (
                row["originator_id"], row["originator_version"]):
            event = decode(self.mapper, row)
        return event

    async def _before_young_gap(self, conn: AsyncConnection, county: FollowedCounty, start: int,
                                rows: list[Record]) -> list[Record]:
        expected = start + 1
        for index, row in enumerate(rows):
            if row["notification_id"] != expected:
                first_seen = county.gaps_seen.setdefault(expected, time.monotonic())
                if time.monotonic() - first_seen < GAP_PATIENCE and await conn.fetchval(
                    "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND classid = $1"
                    " AND objid = $2 AND objsubid = 2 AND granted)",
                    COUNTY_LOCK_CLASS, int(county.adcode),
                ):
                    self.later[county.schema] = time.monotonic() + 0.5  # look again soon
                    return rows[:index]
                log.info("%s: passing notification ids %d..%d, never committed", county.schema, expected,
                         row["notification_id"] - 1)
            expected = row["notification_id"] + 1
        return rows


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _close(conn: AsyncConnection) -> None:
    try:
        await asyncio.wait_for(conn.close(), 5)
    except (TimeoutError, OSError, asyncpg.InterfaceError, asyncpg.PostgresError):
        conn.terminate()


def command(args: argparse.Namespace) -> int:
    """`grassroots projector`: the driver alone, until SIGINT or SIGTERM (or, with --until-stdin-closes,
    until its standard input closes: how `grassroots serve` ties its projector to itself)."""
    import signal
    import sys
    import threading

    from services.storage.database import database_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if args.until_stdin_closes:
            def wait_for_eof() -> None:
                while sys.stdin.buffer.read(4096):
                    pass
                loop.call_soon_threadsafe(stop.set)
            threading.Thread(target=wait_for_eof, name="stdin", daemon=True).start()
        log.info("projection driver following every county (Ctrl-C to stop)")
        await run_driver(database_url(), stop)

    gc.freeze()  # the modules live as long as the process: full collections skip them (services/api/app.py)
    uvloop.run(main())  # the loop `grassroots serve` runs the API on (services/api/app.py)
    return 0
