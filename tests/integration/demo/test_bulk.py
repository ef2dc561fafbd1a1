"""The bulk path (services/demo/bulk.py) stores exactly what the command path stores: the same commands
loaded once through `County.execute_many` and once in memory + COPY, each into a database of its own,
give the same events (topic, originator id and version, decoded state, timestamps) and the same read
models."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from eventsourcing.persistence import StoredEvent
from psycopg import sql

from projections.rebuild import rebuild
from services.county import County
from services.storage.names import event_mapper
from services.demo.bulk import actor_of, decide, store
from services.demo.generator import DEMO_SHAPE, county_steps
from services.demo.geography import PREFECTURE, PROVINCE, PROVINCE_CODE, county
from services.demo.loader import batches, send
from services.personal import TOKEN_PREFIX, open_text
from services.storage.database import connect
from services.storage.names import EVENTS_TABLE
from services.storage.schemas import provision_county
from services.tenancy import Counties

ADCODE, SEED, SCALE = "469030", 7, 0.03
# A bigger village team than the demo's, so that the bench's own shape (several cadres per village)
# is what is compared.
SHAPE = replace(DEMO_SHAPE, village_team=2)
# Not compared: the keys are random per load (each path makes its own); tracking rows and the log
# itself are compared through the events.
UNCOMPARED = {EVENTS_TABLE, "county_snapshots", "household_keys"}


def county_database(new_database) -> str:
    target = new_database("bulk")  # a URL: asyncpg reads it too
    place = county(ADCODE)
    provision_county(target, ADCODE, place.name, PROVINCE, prefecture=PREFECTURE, province_code=PROVINCE_CODE,
                     centroid=(place.lat, place.lon))
    return target


@pytest.fixture(scope="module")
def steps():
    return county_steps(county(ADCODE), SEED, SCALE, shape=SHAPE)


@pytest.fixture(scope="module")
def loaded(new_database, steps) -> tuple[str, str]:
    """(command path database, bulk path database), each with the county loaded and its read models built."""
    by_commands, by_copy = county_database(new_database), county_database(new_database)
    counties = Counties(by_commands, County)
    try:
        app = counties.get(ADCODE)
        for batch in batches(steps):
            send(app, batch, actor_of(batch[0]))
    finally:
        counties.close()
    store(by_copy, decide(ADCODE, steps))
    for url in (by_commands, by_copy):
        asyncio.run(rebuild(url, county=ADCODE))
    return by_commands, by_copy


def opened(url: str) -> list[tuple[Any, ...]]:
    """The county's log in notification order: (notification id, originator id, version, topic, state),
    the state decoded, sealed personal fields opened with the household's key."""
    table = sql.Identifier(f"county_{ADCODE}", EVENTS_TABLE)
    with connect(url) as conn:
        keys = {row[0]: bytes(row[1]) for row in conn.execute(
            sql.SQL("SELECT household_id, key FROM {}").format(sql.Identifier(f"county_{ADCODE}", "household_keys")))}
        rows = conn.execute(sql.SQL("SELECT notification_id, originator_id, originator_version, topic, state"
                                    " FROM {} ORDER BY notification_id").format(table)).fetchall()
    mapper, log = event_mapper(), []
    household_of: dict[Any, Any] = {}  # an issue's later events seal with the household its Raised named
    for notification_id, originator_id, version, topic, state in rows:
        event = mapper.to_domain_event(StoredEvent(originator_id, version, topic, bytes(state)))
        fields = dict(vars(event))
        if fields.get("household_id"):
            household_of[originator_id] = fields["household_id"]
        household = household_of.get(originator_id, originator_id)
        for name, value in fields.items():
            if isinstance(value, str) and value.startswith(TOKEN_PREFIX):
                fields[name] = ("opened", open_text(value, keys[UUID(str(household))], UUID(str(household))))
        log.append((notification_id, originator_id, version, topic, fields))
    return log


def _unsealed(value: Any) -> Any:
    # A sealed text a read model keeps (a void reason) has a random nonce: equal if both are sealed.
    return "sealed" if isinstance(value, str) and value.startswith(TOKEN_PREFIX) else value


async def read_models(url: str) -> dict[str, list[tuple]]:
    """Every read-model table of the county and of the rollup, whatever they are called, sorted."""
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema IN ($1, 'rollup') AND table_type = 'BASE TABLE'", f"county_{ADCODE}")
        return {f"{t['table_schema']}.{t['table_name']}": sorted(
                    (tuple(_unsealed(v) for v in r)
                     for r in await conn.fetch(f'SELECT * FROM "{t["table_schema"]}"."{t["table_name"]}"')),
                    key=repr)
                for t in tables if t["table_name"] not in UNCOMPARED}
    finally:
        await conn.close()


def test_both_paths_store_the_same_events_in_the_same_order(loaded, steps):
    by_commands, by_copy = (opened(url) for url in loaded)
    # each command's event and its receipt, a reception's issues, the register the first target opens
    assert len(by_commands) == sum(2 + len(s.payload.get("issues", ())) for s in steps) + 1
    assert {row[3].rsplit(".", 1)[-1] for row in by_commands} >= {"Registered", "CheckedIn", "Recorded", "Rated"}
    assert by_copy == by_commands
    # The simulated clock makes timestamps part of the comparison: they are the steps' own times.
    assert {row[4]["timestamp"] for row in by_commands} == {s.at for s in steps}


def test_both_paths_build_the_same_read_models(loaded):
    by_commands, by_copy = (asyncio.run(read_models(url)) for url in loaded)
    assert len(by_commands) >= 7 and sum(len(rows) for rows in by_commands.values()) > 1_000  # they hold the county
    assert by_copy == by_commands
