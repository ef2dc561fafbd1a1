"""Bulk appends: stored events and household keys copied into a county's tables with COPY.

For datasets made in memory (services/demo/bulk.py): the command path's save is a handful of round
trips per batch (~1,400–2,000 commands/s, DESIGN §9), COPY is two orders of magnitude faster. The
events keep the order they are given, which becomes their notification order (COPY takes ids from
the table's sequence row by row). Each chunk is one transaction that holds the county's write lock,
notifies and advances the county's position, as a save does, so a projector that is running meanwhile
sees no gap and wakes up.
"""
from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from uuid import UUID

from psycopg import sql

from .database import connect
from .positions import advance_past
from .names import COUNTY_LOCK_CLASS, EVENTS_TABLE, NOTIFY_CHANNEL, check_adcode, county_schema

# Rows per transaction: big enough that COPY's own speed shows, small enough that the lock is held
# for well under a second.
COPY_CHUNK = 10_000

EventRow = tuple[UUID, int, str, bytes]  # originator_id, originator_version, topic, state


def copy_events(url: str, adcode: str, rows: Iterable[EventRow], chunk: int = COPY_CHUNK) -> int:
    """Append the rows to the county's log in the order given; answers how many were copied."""
    adcode = check_adcode(adcode)
    schema = county_schema(adcode)
    copy = sql.SQL("COPY {} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(schema, EVENTS_TABLE))
    copied = 0
    rows = iter(rows)
    with connect(url) as conn:
        while part := list(islice(rows, chunk)):
            with conn.transaction(), conn.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s::int, %s::int), pg_notify(%s, %s)",
                               (COUNTY_LOCK_CLASS, int(adcode), NOTIFY_CHANNEL, schema))
                with cursor.copy(copy) as stream:
                    stream.set_types(["uuid", "int8", "text", "bytea"])
                    for row in part:
                        stream.write_row(row)
                cursor.execute(sql.SQL(advance_past(schema)))
            copied += len(part)
    return copied


def copy_keys(url: str, adcode: str, keys: Iterable[tuple[UUID, bytes]]) -> int:
    """Add household keys (households new to the county: a key already there is a duplicate-key error)."""
    table = sql.Identifier(county_schema(adcode), "household_keys")
    copied = 0
    with connect(url) as conn, conn.transaction(), conn.cursor() as cursor:
        with cursor.copy(sql.SQL("COPY {} (household_id, key) FROM STDIN (FORMAT BINARY)").format(table)) as stream:
            stream.set_types(["uuid", "bytea"])
            for row in keys:
                stream.write_row(row)
                copied += 1
    return copied
