"""Shared fixtures: every test that touches storage gets a real PostgreSQL.

With TEST_DATABASE_URL set, tests use that server; otherwise one embedded PostgreSQL (pgserver) is
started per test session in a fresh temporary directory, so runs never see each other's data.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest


@pytest.fixture(scope="session")
def database_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    import pgserver

    # Short path: the unix socket lives in the data directory and socket paths are limited to ~100 bytes.
    datadir = tempfile.mkdtemp(prefix="gr-pg-", dir="/tmp")
    server = pgserver.get_server(datadir, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(datadir, ignore_errors=True)
