"""Shared fixtures: every test that touches storage gets a real PostgreSQL.

With TEST_DATABASE_URL set, tests use that server (a PostgreSQL or the coordinator of a Citus cluster:
`make test-citus`); otherwise one embedded PostgreSQL (pgserver) is started per test session in a fresh
temporary directory, so runs never see each other's data. Either way the database is prepared as
`grassroots db init` prepares one, and a test that needs a database of its own makes it on the same
server, prepared the same way (`new_database`). A test that restarts its database gets an embedded
one of its own (`restartable_database`); such tests, and those marked `embedded_only`, are skipped
when TEST_DATABASE_URL names another server. So are the tests that take no database at all (pure unit
tests): what they prove does not depend on the server.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import pytest

EMBEDDED_ONLY = ("needs an embedded PostgreSQL of its own (it starts or restarts the server), and"
                 " TEST_DATABASE_URL points at another server")
NO_DATABASE = ("touches no database (no `database_url` among its fixtures), so it proves the same on every"
               " server: `make test` runs it, TEST_DATABASE_URL's run need not")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("TEST_DATABASE_URL"):
        return
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "embedded_only" in item.keywords or "restartable_database" in fixtures:
            item.add_marker(pytest.mark.skip(reason=EMBEDDED_ONLY))
        elif "database_url" not in fixtures:
            # No test reads TEST_DATABASE_URL itself: only through `database_url` (directly or by a
            # fixture that takes it) can it reach the server under test.
            item.add_marker(pytest.mark.skip(reason=NO_DATABASE))


class EmbeddedPostgres:
    def __init__(self, server, datadir: str) -> None:
        self.server, self.datadir, self.url = server, datadir, server.get_uri()

    def restart(self) -> None:
        """Stop and start it: every open connection dies, as in a real database restart."""
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=Path(self.datadir), user=self.server.system_user, timeout=60)


@contextmanager
def embedded_postgres() -> Iterator[EmbeddedPostgres]:
    import pgserver

    # Short path: the unix socket lives in the data directory and socket paths are limited to ~100 bytes.
    datadir = tempfile.mkdtemp(prefix="gr-pg-", dir="/tmp")
    server = pgserver.get_server(datadir, cleanup_mode="stop")
    try:
        throwaway(server.get_uri())
        yield EmbeddedPostgres(server, datadir)
    finally:
        server.cleanup()
        shutil.rmtree(datadir, ignore_errors=True)


def throwaway(url: str) -> None:
    """No fsync on a test server whose data is deleted when the session ends: what fsync buys is
    surviving a crash of the machine, which no test makes (a killed PostgreSQL, or one restarted, still
    finds every commit, which the OS keeps). Without it each new table, index, TRUNCATE and CREATE/DROP
    DATABASE (a checkpoint) waits for the disk no more: on 2 cores, provisioning a county takes half
    the time and the session's DROP DATABASEs a tenth."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET fsync = off")  # in postgresql.auto.conf: a restart keeps it
        conn.execute("SELECT pg_reload_conf()")


def create_database(server_url: str, prefix: str) -> str:
    """A new, empty database on the server of `server_url`; its URL (a URL, not key=value: asyncpg
    takes only URLs)."""
    from urllib.parse import urlsplit, urlunsplit
    from uuid import uuid4

    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    from services.storage.schemas import init_database

    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        init_database(url)
        yield url
        return
    with embedded_postgres() as database:
        init_database(database.url)
        yield database.url


@pytest.fixture(scope="session")
def new_database(database_url: str) -> Iterator[Callable[..., str]]:
    """`new_database(prefix, prepared=True)`: the URL of a new database on the test server (on Citus,
    on every node), prepared by `grassroots db init` unless `prepared=False`. Dropped at the end of
    the session, so a second run on the same server starts from what the first found."""
    from services.storage.citus import create_database, drop_database
    from services.storage.recorder import close_pools
    from services.storage.schemas import init_database

    made: list[tuple[str, str]] = []

    def make(prefix: str, prepared: bool = True) -> str:
        name = f"{prefix}_{uuid4().hex[:8]}"
        url = create_database(database_url, name)
        made.append((name, url))
        if prepared:
            init_database(url)
        return url

    yield make
    for name, url in made:
        close_pools(url)  # the shared pool of that database holds connections to it
        drop_database(database_url, name)


@pytest.fixture
def restartable_database() -> Iterator[EmbeddedPostgres]:
    """An embedded PostgreSQL of the test's own: the session's is shared with every other test."""
    with embedded_postgres() as database:
        yield database
