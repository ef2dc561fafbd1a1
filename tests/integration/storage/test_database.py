"""Finding the database: DATABASE_URL, or the embedded server left running between processes."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import psycopg
import pytest

from services.storage.database import database_url, embedded_settings, eventsourcing_settings


def test_the_eventsourcing_settings_of_pgservers_socket_url_name_the_socket_directory():
    assert eventsourcing_settings("postgresql://postgres:@/postgres?host=/tmp/runtime-0/abc") == {
        "POSTGRES_HOST": "/tmp/runtime-0/abc", "POSTGRES_PORT": "5432", "POSTGRES_DBNAME": "postgres",
        "POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": "",
    }


def test_the_eventsourcing_settings_of_a_tcp_url_keep_port_user_and_decoded_password():
    assert eventsourcing_settings("postgresql://grassroots:p%40ss@db.example:6432/grassroots?sslmode=require") == {
        "POSTGRES_HOST": "db.example", "POSTGRES_PORT": "6432", "POSTGRES_DBNAME": "grassroots",
        "POSTGRES_USER": "grassroots", "POSTGRES_PASSWORD": "p@ss",
    }


def test_a_url_that_is_not_postgresql_is_refused_clearly():
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        eventsourcing_settings("mysql//nope")


def test_database_url_is_the_environment_variable_when_set(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.example/grassroots")
    assert database_url() == "postgresql://someone@db.example/grassroots"


def embedded_url(home: Path) -> str:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-c", "from services.storage.database import database_url; print(database_url())"],
        env={**env, "GRASSROOTS_HOME": str(home)}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.embedded_only
def test_the_embedded_server_outlives_its_process_and_works_under_a_path_too_long_for_a_socket():
    """…and it runs with Grassroots' settings, set on its first start (a restart), kept by later ones."""
    # Not pytest's tmp_path: as root, pgserver runs PostgreSQL as user `pgserver` and opens up the
    # directories above the data dir, and any pytest session starting meanwhile resets
    # /tmp/pytest-of-root to 0700 ("pg_ctl: could not access directory … Permission denied").
    top = Path(tempfile.mkdtemp(prefix="gr-pg-long-", dir="/tmp"))
    home = top / ("a-very-long-directory-name-" * 4)  # the data dir path is far over ~100 bytes
    pgdata = home / "pgdata"
    try:
        first = embedded_url(home)
        postmaster = (pgdata / "postmaster.pid").read_text().split()[0]
        second = embedded_url(home)  # a second `make run`: attaches to the running server
        assert second == first
        assert (pgdata / "postmaster.pid").read_text().split()[0] == postmaster  # not restarted again
        # The restarted server still writes its log where pgserver's start put it, not to a deleted file.
        assert Path(os.readlink(f"/proc/{postmaster}/fd/2")).resolve() == (pgdata / "log").resolve()
        with psycopg.connect(first) as conn:
            data_directory = conn.execute("SHOW data_directory").fetchone()[0]
            assert conn.execute("SELECT 1").fetchone() == (1,)
            settings = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in embedded_settings()}
        assert settings == embedded_settings()
        assert Path(data_directory) == pgdata.resolve()
        # pgserver put the socket somewhere short instead of in the data directory
        assert not eventsourcing_settings(first)["POSTGRES_HOST"].startswith(str(pgdata))
    finally:
        pid_file = pgdata / "postmaster.pid"
        if pid_file.exists():  # stop the server this test started (fast shutdown)
            postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
            postmaster.send_signal(signal.SIGINT)
            postmaster.wait(timeout=30)
        shutil.rmtree(top, ignore_errors=True)
