"""Where the database is: `DATABASE_URL`, or an embedded PostgreSQL (pgserver) in `$GRASSROOTS_HOME`.

Both cases end in a libpq URL, and everything after that is the same code path.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
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
    home = grassroots_home()
    home.mkdir(parents=True, exist_ok=True)
    return str(embedded_server(home / "pgdata", cleanup_mode=None).get_uri())


def embedded_server(datadir: Path | str, *, cleanup_mode: str | None) -> Any:
    """The embedded PostgreSQL (a `pgserver.PostgresServer`) in `datadir`, started if need be, with
    `embedded_settings()`: set once in its postgresql.auto.conf, and restarted once when a setting that only
    a start reads (shared_buffers) differs from the running one."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset and falls back to /tmp/runtime-<uid>, which
        # pgserver only uses for its lock file and for a socket when the data path is too long.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import pgserver  # only the embedded case needs it (and it is slow to import)
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import, one per binary

    server = pgserver.get_server(Path(datadir), cleanup_mode=cleanup_mode)
    wanted = embedded_settings()
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        running: dict[str, str] = dict(
            conn.execute("SELECT n, current_setting(n) FROM unnest(%s::text[]) n", (list(wanted),)).fetchall())
        differing = [name for name, value in wanted.items() if running[name] != value]
        for name in differing:
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(wanted[name])))
        if differing:
            conn.execute("SELECT pg_reload_conf()")
    if "shared_buffers" in differing:
        # Only this first start of a data directory (or one on a machine of another size) pays for it.
        # To the log pgserver starts it with (`-l`): else the server's output goes where pg_ctl's does, a
        # temporary file pgserver has already deleted.
        pg_ctl(["-w", "-m", "fast", "-l", str(server.log), "restart"], pgdata=Path(datadir), user=server.system_user,
               timeout=60)
    return server


def embedded_settings() -> dict[str, str]:
    """The embedded server's settings where PostgreSQL's defaults (made for a small machine shared with other
    work) cost a real county time.

    - shared_buffers: a quarter of the memory (at most 2 GB; the default is 128 MB). The read models' keys
      are random uuids, so a projector batch touches index pages all over each table: with 128 MB they
      left the cache at county40k, and the backends wrote dirty pages out themselves.
    - max_wal_size 4 GB and checkpoint_timeout 15 min (1 GB and 5 min): fewer checkpoints, and so fewer
      full-page images, which had been over half of the WAL written under load.
    Together, on a county40k database: the projector's catch-up 4,911–5,147 → 5,816–5,847 events/s, and
    `/sync` in batches with no projector running 5,258–5,496 → 5,798–5,851 check-ins/s."""
    shared = max(128, min(_memory_bytes() // 4 // 2**20, 2048))
    # Written as PostgreSQL shows them (the largest unit that holds the value exactly), to compare.
    return {"shared_buffers": f"{shared // 1024}GB" if shared % 1024 == 0 else f"{shared}MB", "max_wal_size": "4GB",
            "checkpoint_timeout": "15min"}


def _memory_bytes() -> int:
    """The machine's memory, or the container's limit when that is smaller (cgroup v2)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = Path("/sys/fs/cgroup/memory.max")
    if limit.is_file() and limit.read_text().strip().isdigit():
        memory = min(memory, int(limit.read_text()))
    return memory


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
