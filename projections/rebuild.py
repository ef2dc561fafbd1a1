"""Rebuild read models from the events, e.g. after a rule changed or a handler was fixed.

Each county is replayed into fresh tables in the scratch schema `county_<adcode>__rebuild` while the
live tables keep answering queries (and the driver keeps them current). Then one transaction takes
the county's tracking rows (so the driver waits), applies the few events that arrived meanwhile,
locks the live tables without ever waiting while holding one (a query reading several would deadlock
with it), drops them, moves the rebuilt ones in and sets tracking to the rebuilt position.

The log is read and decoded once per rebuild, in big batches, and every chosen read model applies
each batch in turn; secondary indexes are built after the replay. A projection with tables outside
the county schema (`shared_tables`, the province rollup) is replayed with the others when the read
models it reads are rebuilt too, keeping its shared rows in the scratch schema until the swap's
transaction adopts them; alone, it is forgotten and replayed in place, in one transaction.
"""
from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from eventsourcing.persistence import Mapper
from tqdm import tqdm

from projections import positions
from projections.base import Projection
from projections.driver import SKIPPED_TOPICS, decode, decoder
from projections.rules import Rules, load_rules
from projections.schema import ensure_tables_async
from projections.verdicts import one_batch
from services.storage.connections import AsyncConnection
from services.storage.names import REBUILD_LOCK_CLASS, adcode_of, county_schema, rebuild_schema

REPLAY_BATCH = 10000  # events per read and per transaction: fewer statements per event


@dataclass
class Rebuilt:
    county: str
    projections: list[str]
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def rebuild(url: str, *, county: str | None = None, projection: str | None = None,
                  progress: bool = False) -> list[Rebuilt]:
    """Rebuild one projection (or all) of one county (or every county)."""
    from projections.registry import PROJECTIONS, by_name

    chosen = [by_name(projection)] if projection else list(PROJECTIONS)
    conn = await asyncpg.connect(url)
    try:
        if county:
            county_schema(county)  # refuses anything but 6 digits, saying so
            counties = [county] if await conn.fetchval(
                "SELECT 1 FROM core.counties WHERE adcode = $1", county
            ) else []
            if not counties:
                raise LookupError(f"no county {county} (add it first: grassroots county add {county} …)")
        else:
            counties = [r["adcode"] for r in await conn.fetch("SELECT adcode FROM core.counties ORDER BY adcode")]
        return [await rebuild_county(conn, county_schema(adcode), chosen, progress=progress) for adcode in counties]
    finally:
        await conn.close()


async def rebuild_county(conn: AsyncConnection, schema: str, projections: list[Projection], *,
                         progress: bool = False) -> Rebuilt:
    key = int(adcode_of(schema))
    await conn.execute("SELECT pg_advisory_lock($1, $2::int)", REBUILD_LOCK_CLASS, key)
    try:
        return await _rebuild_county(conn, schema, projections, progress)
    finally:
        if not conn.is_closed():
            await conn.execute("SELECT pg_advisory_unlock($1, $2::int)", REBUILD_LOCK_CLASS, key)


async def _rebuild_county(conn: AsyncConnection, schema: str, projections: list[Projection],
                          progress: bool) -> Rebuilt:
    from projections.registry import PROJECTIONS

    started = time.perf_counter()
    # A read model replayed into the scratch schema reads the tables there of those it `reads` (coverage
    # counts by the verdicts' stored verdicts): they are rebuilt with it, in the registry's order.
    needed = {name for p in projections if not p.shared_tables for name in p.reads}
    projections = [p for p in PROJECTIONS if p in projections or (p.name in needed and not p.shared_tables)]
    mapper = decoder()
    # Read before the rules themselves: the rules used are of this revision or newer.
    revision = await conn.fetchval("SELECT rules_revision FROM core.counties WHERE adcode = $1", adcode_of(schema))
    rules = await load_rules(conn, adcode_of(schema))
    await ensure_tables_async(conn, schema)
    chosen = {p.name for p in projections}
    # A projection with shared tables is swapped too when what it reads is rebuilt with it (the rollup
    # then reads the rebuilt tables); otherwise it is replayed in place from the live ones.
    swapped = [p for p in projections if not p.shared_tables or set(p.reads) <= chosen]
    in_place = [p for p in projections if p not in swapped]
    events = 0
    if swapped:
        scratch = rebuild_schema(schema)
        await conn.execute(f"DROP SCHEMA IF EXISTS {scratch} CASCADE; CREATE SCHEMA {scratch}")
        indexes = []
        for projection in swapped:
            for statement in projection.ddl(scratch):
                # Secondary indexes are built once after the bulk of the replay, not row by row (but those
                # the replay probes).
                if deferred_index(projection, statement):
                    indexes.append(statement)
                else:
                    await conn.execute(statement)
        target = await conn.fetchval(f"SELECT coalesce(max(notification_id), 0) FROM {schema}.county_events")
        events = await _replay(conn, schema, scratch, swapped, rules, mapper, 0, target, progress)
        for statement in indexes:
            await conn.execute(statement)
        await conn.execute(f"ANALYZE {', '.join(f'{scratch}.{t}' for t in sorted(await _tables(conn, scratch)))}")
        async with conn.transaction():
            await _lock_tracking(conn, schema, swapped)
            final = await conn.fetchval(f"SELECT coalesce(max(notification_id), 0) FROM {schema}.county_events")
            events += await _replay(conn, schema, scratch, swapped, rules, mapper, target, final, False)
            for projection in swapped:
                if projection.shared_tables:
                    await projection.adopt(conn, scratch, schema)
            tables = sorted(await _tables(conn, scratch))
            await _take_live_tables(conn, schema, tables)
            for table in tables:
                await conn.execute(f"DROP TABLE IF EXISTS {schema}.{table} CASCADE")
                await conn.execute(f"ALTER TABLE {scratch}.{table} SET SCHEMA {schema}")
            await _track(conn, schema, swapped, final)
            await conn.execute(f"DROP SCHEMA {scratch} CASCADE")
    if in_place:
        async with conn.transaction():
            await _lock_tracking(conn, schema, in_place)
            # The rollup reads the county's own read models, so it may only go as far as they have:
            # the driver's deferred step takes it on from there.
            final = await conn.fetchval(
                f"SELECT coalesce(min(notification_id), 0) FROM {schema}.projection_tracking"
                " WHERE projection = ANY($1)",
                [p.name for p in county_models()],
            )
            for projection in in_place:
                await projection.forget(conn, schema)
            replayed = await _replay(conn, schema, schema, in_place, rules, mapper, 0, final, progress)
            events = max(events, replayed)
            await _track(conn, schema, in_place, final)
    if chosen == {p.name for p in PROJECTIONS}:
        # Every read model now judges the county's history under rules of this revision (or newer).
        await conn.execute("UPDATE core.counties SET judged_revision = greatest(judged_revision, $2) WHERE adcode = $1",
                           adcode_of(schema), revision)
    return Rebuilt(adcode_of(schema), [p.name for p in projections], events, time.perf_counter() - started)


def deferred_index(projection: Projection, statement: str) -> bool:
    """True for a secondary index a rebuild makes after the replay: not one the projection's replay probes."""
    index = re.match(r"CREATE INDEX (?:IF NOT EXISTS )?(\w+)", statement)
    return index is not None and index[1] not in projection.replay_indexes


def county_models() -> list[Projection]:
    from projections.registry import PROJECTIONS

    return [p for p in PROJECTIONS if not p.deferred]


async def _tables(conn: AsyncConnection, schema: str) -> set[str]:
    return {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)}


async def _lock_tracking(conn: AsyncConnection, schema: str, projections: list[Projection]) -> None:
    await conn.execute(
        f"SELECT 1 FROM {schema}.projection_tracking WHERE projection = ANY($1) ORDER BY projection FOR UPDATE",
        [p.name for p in projections],
    )


async def _take_live_tables(conn: AsyncConnection, schema: str, tables: list[str]) -> None:
    """Lock the live tables for the swap without ever waiting while holding some of them.

    A query reads several read-model tables in one statement; a swap that held one table and waited
    for another would deadlock with it and one of the two would fail. So the swap asks for all of them
    at once with NOWAIT and, while any is in use, lets go and asks again: queries are short, and none
    waits behind the swap until it has every lock. The tracking rows stay locked meanwhile, so the
    driver cannot slip an event in between.
    """
    names = ", ".join(f"{schema}.{table}" for table in tables)
    pause = 0.005
    while True:
        try:
            async with conn.transaction():  # a savepoint: a refused try leaves the tracking locks held
                await conn.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE NOWAIT")
            return
        except asyncpg.LockNotAvailableError:
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.2)


async def _track(conn: AsyncConnection, schema: str, projections: list[Projection], position: int) -> None:
    from projections.registry import PROJECTIONS

    await conn.execute(
        f"UPDATE {schema}.projection_tracking SET notification_id = $2 WHERE projection = ANY($1)",
        [p.name for p in projections], position,
    )
    await positions.record_projected(conn, schema, [p.name for p in PROJECTIONS])


async def _replay(conn: AsyncConnection, schema: str, target: str, projections: list[Projection], rules: Rules,
                  mapper: Mapper[UUID], after: int, upto: int, progress: bool) -> int:
    """Apply events (after, upto] of `schema`'s log to the projections' tables in `target`."""
    bar = tqdm(total=upto - after, unit="ev", desc=f"{schema}", disable=not progress, leave=True)
    count, position = 0, after
    try:
        while position < upto:
            rows = await conn.fetch(
                f"SELECT notification_id, originator_id, originator_version, topic, state FROM {schema}.county_events"
                " WHERE notification_id > $1 AND notification_id <= $2 ORDER BY notification_id LIMIT $3",
                position, upto, REPLAY_BATCH,
            )
            if not rows:
                break
            events = [decode(mapper, r) for r in rows if not r["topic"].startswith(SKIPPED_TOPICS)]
            async with conn.transaction():
                with one_batch():
                    for projection in projections:
                        await projection.apply(conn, target, events, rules)
            count += len(rows)
            bar.update(rows[-1]["notification_id"] - position)
            position = rows[-1]["notification_id"]
    finally:
        bar.close()
    return count


def command(args: argparse.Namespace) -> int:
    """`grassroots projections rebuild [--county ADCODE] [--projection NAME]`."""
    from services.storage.database import database_url

    try:
        results = asyncio.run(rebuild(database_url(), county=args.county, projection=args.projection, progress=True))
    except (LookupError, KeyError, ValueError) as error:
        print(f"error: {error.args[0] if error.args else error}", file=sys.stderr)
        return 2
    for result in results:
        print(f"county {result.county}: rebuilt {', '.join(result.projections)} from {result.events:,} events"
              f" in {result.seconds:.1f} s ({result.events_per_second:,.0f} events/s)")
    return 0
