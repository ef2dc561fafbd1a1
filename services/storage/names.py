"""What the write side and the read side must agree on, in one place: where a county's events live,
how a new one is announced, which advisory locks exist, and how a stored event is decoded.

Both sides import this module and nothing heavier of each other: the projections never load the
County application, and the recorder never loads a read model. docs/contracts.md ("Database layout")
states the same names for anyone reading the database directly.
"""
from __future__ import annotations

import re
from uuid import UUID

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, UUIDAsHex

# ---- schemas ------------------------------------------------------------------------------------------------

COUNTY_SCHEMA = re.compile(r"^county_([0-9]{6})$")
EVENTS_TABLE = "county_events"  # in each county schema (the County application's name + `_events`)
# A rebuild replays a county into `county_<adcode>__rebuild`, then swaps the tables into the county's schema.
REBUILD_SUFFIX = "__rebuild"
_ADCODE = re.compile(r"[0-9]{6}")


class InvalidAdcode(ValueError):
    """A county id that is not a 6-digit administrative division code."""


def check_adcode(adcode: object) -> str:
    text = str(adcode).strip()
    if not _ADCODE.fullmatch(text):
        raise InvalidAdcode(f"county adcode must be 6 digits (e.g. 469029 for 保亭), got {adcode!r}")
    return text


def county_schema(adcode: object) -> str:
    """The schema of one county's events, keys and read models: `county_469029`."""
    return f"county_{check_adcode(adcode)}"


def adcode_of(schema: str) -> str:
    """The adcode of a county schema (not of its rebuild schema)."""
    match = COUNTY_SCHEMA.match(schema)
    if not match:
        raise ValueError(f"not a county schema: {schema!r}")
    return match.group(1)


def rebuild_schema(schema: str) -> str:
    return f"{county_schema(adcode_of(schema))}{REBUILD_SUFFIX}"


# ---- notification -------------------------------------------------------------------------------------------

# Every insert of events notifies this channel with the county's schema as payload (the stock channel is
# the table name without schema: every county on one channel, DESIGN §9); the projection driver listens.
NOTIFY_CHANNEL = "grassroots_events"

# ---- advisory lock classes (the first key of pg_advisory_*lock(class, key)) -------------------------------------

# A county's write lock, key = adcode, held by every insert until it commits: notification ids commit in
# order, so a tailing reader never passes an event still being written (and the driver can tell a gap
# from a rolled-back insert by whether anyone holds it).
COUNTY_LOCK_CLASS = 1
# Session lock, key = adcode: the projection driver that holds it follows the county. Key 0 (no adcode):
# the read side's DDL (projections.schema), so concurrent `CREATE TABLE IF NOT EXISTS` never collide.
DRIVER_LOCK_CLASS = 2
# Key 0: setting up the identity tables in `core` (services.identity.tables).
IDENTITY_LOCK_CLASS = 3
# Provisioning DDL (services.storage.schemas): key 0 for `core`, a county's adcode for its schema.
PROVISIONING_LOCK_CLASS = 4
# Session lock, key = adcode: one rebuild of a county at a time, whoever starts it (the CLI, a rules
# change on any server), since they share the county's rebuild schema.
REBUILD_LOCK_CLASS = 5
# Transaction lock, key = adcode: storing a county's projected position (projections.positions), which the
# projection driver's two lanes both do.
POSITION_LOCK_CLASS = 6

# ---- decoding stored events ---------------------------------------------------------------------------------


def register_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(UUIDAsHex())
    transcoder.register(DecimalAsStr())
    transcoder.register(DatetimeAsISO())


def event_mapper() -> Mapper[UUID]:
    """The mapper County uses (same transcodings, no cipher), so the read side decodes stored events
    exactly as the write side encoded them."""
    # Importing the domain registers the fixed stored topics the mapper resolves (services/domain/topics.py).
    import services.domain  # noqa: F401

    transcoder = JSONTranscoder()
    register_transcodings(transcoder)
    return Mapper(transcoder=transcoder)

