"""Shared fixtures: every test that touches storage gets a real PostgreSQL.

With TEST_DATABASE_URL set, tests use that server; otherwise one embedded PostgreSQL (pgserver) is
started per test session in a fresh temporary directory, so runs never see each other's data. A test
that restarts its database gets one of its own (`restartable_database`).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


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
        yield EmbeddedPostgres(server, datadir)
    finally:
        server.cleanup()
        shutil.rmtree(datadir, ignore_errors=True)


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
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    with embedded_postgres() as database:
        yield database.url


@pytest.fixture
def restartable_database() -> Iterator[EmbeddedPostgres]:
    """An embedded PostgreSQL of the test's own: the session's is shared with every other test."""
    with embedded_postgres() as database:
        yield database
