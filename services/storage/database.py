"""Where the database is: `DATABASE_URL`, or an embedded PostgreSQL (pgserver) in `$GRASSROOTS_HOME`.

Both cases end in a libpq URL, and everything after that is the same code path.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from .connections import SyncConnection

DEFAULT_HOME = ".grassroots"


def grassroots_home() -> Path:
    return Path(os.environ.get("GRASSROOTS_HOME") or DEFAULT_HOME).expanduser().resolve()


def database_url() -> str:
    """The libpq URL of our database (psycopg and asyncpg both accept it).

    Without `DATABASE_URL`, starts the embedded server in `$GRASSROOTS_HOME/pgdata`, or attaches to it
    when an earlier process left it running: it is deliberately not stopped at exit
    (`cleanup_mode=None`), so that a second `make run` does not pay for a start-up.
    pgserver puts the unix socket in the data directory, or in a short runtime directory when that
    path would exceed the ~100-byte limit of socket paths, and the URL names whichever it chose.
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset and falls back to /tmp/runtime-<uid>, which
        # pgserver only uses for its lock file and for a socket when the data path is too long.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import pgserver  # only the embedded case needs it (and it is slow to import)

    home = grassroots_home()
    home.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(home / "pgdata", cleanup_mode=None).get_uri()


def connect(url: str | None = None, *, autocommit: bool = True) -> SyncConnection:
    """A plain psycopg connection (for administration: provisioning, the CLI, tests)."""
    return psycopg.connect(url or database_url(), autocommit=autocommit)


def eventsourcing_settings(url: str) -> dict[str, str]:
    """The `POSTGRES_*` settings of eventsourcing's postgres module for a libpq URL.

    libpq itself parses the URL, so every form it accepts works here too, including a unix socket
    directory as host (`?host=/dir`, pgserver's form, or percent-encoded: `postgresql://u@%2Fdir/db`).
    """
    try:
        params: dict[str, Any] = conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        raise ValueError(f"not a PostgreSQL URL: {error}") from None
    return {
        "POSTGRES_HOST": params.get("host") or "localhost",
        "POSTGRES_PORT": str(params.get("port") or 5432),
        "POSTGRES_DBNAME": params.get("dbname") or params.get("user") or "postgres",
        "POSTGRES_USER": params.get("user") or "postgres",
        "POSTGRES_PASSWORD": params.get("password") or "",
    }
