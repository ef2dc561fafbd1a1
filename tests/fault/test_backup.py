"""Backup and restore (issue 15, item 4): `grassroots backup` during a sync load, `grassroots restore`
into a fresh database of the same server, and each county is there as it was at the backup's position.

"As it was" is checked against the source: the log up to the backup's last notification id is equal
row for row (and nothing after it is there), as are the household keys and the county's rows in `core`;
the read models equal those of a reference database that got the source's events up to that position
and a full rebuild. The load goes on after the backup, so the source's logs end further on.
The quick version (in `make test`) backs up after LOAD check-ins; `make soak` sets
GRASSROOTS_FAULT_BACKUP_LOAD=3000. Run with `-s` to see the figures.
"""
from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from projections.rebuild import rebuild
from services.storage.backup import read_manifest
from services.storage.database import connect
from services.storage.names import county_schema
from services.storage.schemas import get_county, provision_county

from services.identity import ensure_tables, ensure_user
from services.storage.backup import BackupError, postgres_tool

from .harness import Phone, Server, check_in, fresh_adcode, login, read_models, seed

PHONES = 2  # per county, each with more check-ins than it gets to send: the load stops after the backups
LOAD_TIMEOUT = 120.0
# Check-ins answered before the backups start, and again after they are done (the long run: 3,000).
LOAD = int(os.environ.get("GRASSROOTS_FAULT_BACKUP_LOAD", "100"))
EVENT_COLUMNS = "notification_id, originator_id, originator_version, topic, state"


def grassroots(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("grassroots", path=str(Path(sys.executable).parent)) or "grassroots"
    return subprocess.run([command, *args], env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True,
                          timeout=300)


@dataclass
class Databases:
    """Databases of the test's own on the session's server, dropped at the end."""

    server_url: str
    names: list[str]

    def create(self) -> str:
        name = f"backup_{uuid.uuid4().hex[:10]}"
        with connect(self.server_url) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        self.names.append(name)
        return urlunsplit(urlsplit(self.server_url)._replace(path=f"/{name}"))

    def drop(self) -> None:
        with connect(self.server_url) as conn:
            for name in self.names:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Backups:
    source: str
    counties: list[str]
    everything: Path  # `grassroots backup PATH`
    one: Path  # `grassroots backup --county counties[0] PATH`
    databases: Databases


@pytest.fixture(scope="module")
def backups(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backups]:
    """Two counties under a sync load; both backups are taken while it runs, and it goes on for a while."""
    databases = Databases(database_url, [])
    work = tmp_path_factory.mktemp("backup")
    try:
        source = databases.create()
        seeded = [seed(source, fresh_adcode()) for _ in range(2)]
        with connect(source) as conn:
            for county in seeded:  # the village its households are in, as a county admin adds one
                township = county.adcode + "001"
                conn.execute("INSERT INTO core.places (county, code, level, name, township, added_by)"
                             " VALUES (%s, %s, 'village', '备份村', %s, 'fault-fixture')",
                             (county.adcode, township + "001", township))
        server = Server(source, work / "serve.log")
        stop = threading.Event()
        phones: list[Phone] = []
        try:
            server.start()
            for county in seeded:
                token = login(server.url, county.cadre).json()["token"]
                phones += [Phone(server.url, token, [check_in(random.choice(county.households))
                                                     for _ in range(LOAD + 5000)], stop) for _ in range(PHONES)]
            for phone in phones:
                phone.start()
            answered_before = wait_for_answers(phones, LOAD)
            everything, one = work / "everything.tar", work / "one.tar"
            for args in (["backup", str(everything)], ["backup", "--county", seeded[0].adcode, str(one)]):
                started = time.monotonic()
                done = grassroots(source, *args)
                assert done.returncode == 0, done.stderr
                print(f"\n`grassroots {' '.join(args[:-1])}`: {time.monotonic() - started:.1f} s,"
                      f" {Path(args[-1]).stat().st_size:,} bytes")
            assert all(phone.is_alive() for phone in phones), "the backups must be taken during the load"
            answered = wait_for_answers(phones, answered_before + LOAD)
            print(f"\nbackups started after {answered_before} answered check-ins; the load stopped after {answered}")
            stop.set()
            for phone in phones:
                phone.join(LOAD_TIMEOUT)
                assert phone.error is None, phone.error
        finally:
            stop.set()
            server.close()
        yield Backups(source, [county.adcode for county in seeded], everything, one, databases)
    finally:
        databases.drop()


def wait_for_answers(phones: list[Phone], count: int) -> int:
    deadline = time.monotonic() + LOAD_TIMEOUT
    while (answered := sum(len(phone.answers) for phone in phones)) < count:
        assert time.monotonic() < deadline, f"only {answered} of {count} check-ins answered"
        assert all(phone.error is None for phone in phones), [phone.error for phone in phones]
        time.sleep(0.05)
    return answered


def events(url: str, adcode: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(f"SELECT {EVENT_COLUMNS} FROM {county_schema(adcode)}.county_events"
                            " ORDER BY notification_id").fetchall()


def core_rows(url: str, adcode: str) -> dict[str, list[tuple]]:
    """The county's rows in `core` (the audit log without its ids, which a restore numbers anew)."""
    with connect(url) as conn:
        return {
            "counties": conn.execute("SELECT * FROM core.counties WHERE adcode = %s", (adcode,)).fetchall(),
            "places": conn.execute("SELECT * FROM core.places WHERE county = %s ORDER BY code", (adcode,)).fetchall(),
            "users": conn.execute("SELECT * FROM core.users WHERE county = %s ORDER BY id", (adcode,)).fetchall(),
            "audit_log": conn.execute("SELECT at, action, user_id, username, county, address, detail"
                                      " FROM core.audit_log WHERE county = %s ORDER BY id", (adcode,)).fetchall(),
            "household_keys": conn.execute(f"SELECT * FROM {county_schema(adcode)}.household_keys"
                                           " ORDER BY household_id").fetchall(),
        }


def relations(url: str, adcode: str) -> list[tuple[str, str]]:
    """The county schema's tables, indexes, sequences, … by name and kind, and its triggers."""
    with connect(url) as conn:
        return conn.execute(
            "SELECT relname, relkind::text FROM pg_class WHERE relnamespace = %s::regnamespace UNION ALL"
            " SELECT tgname, 'trigger' FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN"
            " (SELECT oid FROM pg_class WHERE relnamespace = %s::regnamespace) ORDER BY 1, 2",
            (county_schema(adcode), county_schema(adcode))).fetchall()


def reference(databases: Databases, source: str, adcode: str, position: int) -> str:
    """A database with the source's county as it was at `position`: the same registry row, the log up to
    there and the keys, and read models from a full rebuild."""
    url = databases.create()
    county = get_county(source, adcode)
    assert county is not None
    provision_county(url, adcode, county.name, county.province, prefecture=county.prefecture,
                     province_code=county.province_code, centroid=county.centroid, boundary=county.boundary,
                     rules=county.rules)
    schema = county_schema(adcode)
    with connect(source) as src, connect(url) as dst:
        for table, where in (("county_events", f"WHERE notification_id <= {position}"), ("household_keys", "")):
            with src.cursor().copy(f"COPY (SELECT * FROM {schema}.{table} {where}) TO STDOUT") as out, \
                    dst.cursor().copy(f"COPY {schema}.{table} FROM STDIN") as into:
                for data in out:
                    into.write(data)
    asyncio.run(rebuild(url, county=adcode))
    return url


def assert_restored_as_at_the_backup(backups: Backups, restored: str, adcode: str, position: int) -> None:
    source_events = events(backups.source, adcode)
    assert source_events[-1][0] > position, "the load went on after the backup: the source's log is longer"
    assert events(restored, adcode) == [event for event in source_events if event[0] <= position]
    assert core_rows(restored, adcode) == core_rows(backups.source, adcode)
    assert all(core_rows(restored, adcode).values()), "every kind of row is compared, none is empty"
    rebuilt = reference(backups.databases, backups.source, adcode, position)
    assert relations(restored, adcode) == relations(rebuilt, adcode) == relations(backups.source, adcode)
    expected = asyncio.run(read_models(rebuilt, adcode))
    assert expected[f"{county_schema(adcode)}.verdicts_checkins"], "the comparison must not be of empty tables"
    assert asyncio.run(read_models(restored, adcode)) == expected
    with connect(restored) as conn:
        assert conn.execute("SELECT last_notification_id FROM core.county_positions WHERE county = %s",
                            (adcode,)).fetchone() == (position,)
        assert conn.execute("SELECT notification_id FROM core.projection_positions WHERE county = %s",
                            (adcode,)).fetchone() == (position,)


def test_a_backup_taken_during_a_sync_load_restores_every_county_as_it_was_at_its_position(backups: Backups):
    manifest = read_manifest(backups.everything)
    assert sorted(manifest["counties"]) == sorted(backups.counties)
    restored = backups.databases.create()
    started = time.monotonic()
    done = grassroots(restored, "restore", str(backups.everything))
    assert done.returncode == 0, done.stderr
    print(f"\n`grassroots restore` of {sum(c['events'] for c in manifest['counties'].values()):,} events:"
          f" {time.monotonic() - started:.1f} s")
    for adcode in backups.counties:
        position = manifest["counties"][adcode]["last_notification_id"]
        assert_restored_as_at_the_backup(backups, restored, adcode, position)


def test_a_county_restores_beside_another_and_never_over_an_existing_one(backups: Backups):
    adcode = backups.counties[0]
    position = read_manifest(backups.one)["counties"][adcode]["last_notification_id"]
    target = backups.databases.create()
    other = seed(target, fresh_adcode(), households=3)
    before = (events(target, other.adcode), core_rows(target, other.adcode),
              asyncio.run(read_models(target, other.adcode)))

    done = grassroots(target, "restore", str(backups.one))
    assert done.returncode == 0, done.stderr
    assert_restored_as_at_the_backup(backups, target, adcode, position)
    assert (events(target, other.adcode), core_rows(target, other.adcode),
            asyncio.run(read_models(target, other.adcode))) == before

    again = grassroots(target, "restore", str(backups.one))
    assert again.returncode == 2
    assert f"county {adcode} already exists" in again.stderr
    # A backup of several counties, one of which exists, restores none of them.
    refused = grassroots(target, "restore", str(backups.everything))
    assert refused.returncode == 2 and "already exists" in refused.stderr
    with connect(target) as conn:
        assert conn.execute("SELECT adcode FROM core.counties ORDER BY adcode").fetchall() == sorted(
            [(adcode,), (other.adcode,)])
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s",
                            (county_schema(backups.counties[1]),)).fetchone() == (0,)
    assert_restored_as_at_the_backup(backups, target, adcode, position)


def test_a_restore_that_meets_an_existing_account_leaves_nothing_of_the_county(backups: Backups):
    adcode = backups.counties[0]
    target = backups.databases.create()
    with connect(target) as conn:
        ensure_tables(conn)
        ensure_user(conn, f"fault_cadre_{adcode}", roles=["operator"], password="another-password")
    refused = grassroots(target, "restore", str(backups.one))
    assert refused.returncode == 2
    assert f"fault_cadre_{adcode}" in refused.stderr and "already" in refused.stderr
    with connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM core.counties").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM core.users").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s",
                            (county_schema(adcode),)).fetchone() == (0,)


def test_a_pg_dump_older_than_the_server_is_refused_saying_which_to_install():
    with pytest.raises(BackupError, match=r"pg_dump must be of PostgreSQL 99 or newer .*postgresql-client-99"):
        postgres_tool("pg_dump", 99, embedded=False)
