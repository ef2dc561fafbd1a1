"""Where our tables live when the database is a Citus coordinator (DESIGN §3, §13); nothing on plain PostgreSQL.

Placement is decided here, never left to a database setting:
- `core.counties`, `core.users` and `core.sessions` are reference tables: small, read with every request
  and joined with each other, so every node holds a copy. So is `core.departments`: the issue ledger
  joins a county's issues (on its worker) with its departments' names.
- The rest of `core` (login attempts, the audit log, the counties' positions) and `rollup` stay plain
  tables on the coordinator: written often and only ever read there (the province queries join them
  with the reference tables, which the coordinator holds too), so a write is not replicated to every node.
- A county's schema is a distributed schema (`grassroots county add`): all its tables on one worker.
  Schema-based sharding is switched on only in the transaction that makes it, so no other schema
  (`core`, `rollup`, a rebuild's scratch schema) is distributed by accident.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .connections import SyncConnection
from .database import connect

# Parents before the tables that refer to them (sessions -> users).
REFERENCE_TABLES = ("core.counties", "core.users", "core.sessions", "core.departments")

# The coordinator hides shards from `pg_class` scans of every other application, so each new asyncpg
# connection (whose type introspection scans it per type) took ~8.5 s with ~40 county schemas. Our
# connections never look at shards by name, so hiding them buys us nothing.
DATABASE_SETTINGS = {"citus.show_shards_for_app_name_prefixes": "*"}


def value(conn: SyncConnection, query: str, params: tuple[Any, ...] = ()) -> Any:
    """The first column of the query's one row."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row[0]


def is_citus(conn: SyncConnection) -> bool:
    """True on a database with the citus extension (we then talk to its coordinator)."""
    return bool(value(conn, "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')"))


def place_core(conn: SyncConnection) -> None:
    """Make the shared tables reference tables (those that are not yet) and set the database's settings."""
    for table in REFERENCE_TABLES:
        kind = conn.execute("SELECT citus_table_type FROM citus_tables WHERE table_name = %s::regclass",
                            (table,)).fetchone()
        if kind is None:
            conn.execute("SELECT create_reference_table(%s)", (table,))
        elif kind[0] != "reference":
            raise RuntimeError(f"{table} is a {kind[0]} table on this Citus cluster, not a reference table:"
                               " undistribute it (undistribute_table) and run `grassroots db init` again")
    database = value(conn, "SELECT current_database()")
    for name, setting in DATABASE_SETTINGS.items():
        conn.execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(
            sql.Identifier(database), sql.Identifier(*name.split(".")), sql.Literal(setting)))


def distribute_next_schema(conn: SyncConnection) -> None:
    """In the caller's transaction: the next `CREATE SCHEMA` makes a distributed schema, so the tables
    created in it are born on its worker (no copy later)."""
    conn.execute("SET LOCAL citus.enable_schema_based_sharding = on")


def distribute_schema(conn: SyncConnection, schema: str) -> None:
    """Make an existing schema distributed (a county made before Citus, or on a plain schema)."""
    if value(conn, "SELECT NOT EXISTS (SELECT FROM citus_schemas WHERE schema_name = %s::regnamespace)",
              (schema,)):
        conn.execute("SELECT citus_schema_distribute(%s)", (schema,))


def worker_urls(conn: SyncConnection, url: str) -> list[str]:
    """The libpq URL of each worker (and none for the coordinator), with `url`'s user and options."""
    rows = conn.execute("SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND isactive"
                        " ORDER BY nodeid").fetchall()
    return [make_conninfo(url, host=host, port=port) for host, port in rows]


def create_database(url: str, name: str) -> str:
    """A new empty database `name` on the server of `url`, answered as a URL. On Citus it is made on
    every node with the extension and the workers registered, like the database of `url`."""
    target = _with_database(url, name)
    with connect(url) as conn:
        citus = is_citus(conn)
        workers = worker_urls(conn, url) if citus else []
        coordinator = conn.execute("SELECT nodename, nodeport FROM pg_dist_node WHERE groupid = 0").fetchone() \
            if citus else None
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    if not citus:
        return target
    for worker in workers:
        with connect(worker) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        with connect(_with_database(worker, name)) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
    with connect(target) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
        if coordinator is not None:
            conn.execute("SELECT citus_set_coordinator_host(%s, %s)", coordinator)
        for worker in workers:
            params = conninfo_to_dict(worker)
            conn.execute("SELECT citus_add_node(%s, %s)", (params["host"], int(str(params["port"]))))
    return target


def drop_database(url: str, name: str) -> None:
    """Drop `name` from the server of `url`, on every node of a Citus cluster."""
    with connect(url) as conn:
        workers = worker_urls(conn, url) if is_citus(conn) else []
    for server in [url, *workers]:
        with connect(server) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _with_database(url: str, name: str) -> str:
    """`url` with another database, as a URL when it was one (asyncpg reads only URLs)."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        return urlunsplit(parts._replace(path=f"/{name}"))
    return make_conninfo(url, dbname=name)

