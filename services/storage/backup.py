"""Backups of counties, and their restore: `grassroots backup [--county ADCODE] PATH`, `grassroots restore PATH`.

A backup is one tar file:
- `manifest.json`: what it holds, and each county's position (the last notification id of its log in
  the backup);
- `county_<adcode>.dump`: a `pg_dump` archive (custom format) of the county's schema, the write side
  only: its log, its snapshots and its household keys;
- `core.<table>.copy`: the county's rows of the shared tables in `core` (COPY text format): its registry
  row, its places, its accounts and its audit log. A backup of everything takes every row of these tables.

Everything is read in one snapshot: a repeatable-read transaction exports it, reads the positions and
the `core` rows, and each `pg_dump --snapshot` dumps the county schemas as of that same moment. The
recorder commits a county's events in notification-id order (names.COUNTY_LOCK_CLASS), so the
snapshot holds a prefix of each log.

Not in a backup: read models (a restore rebuilds them from the log, the same code as `grassroots
projections rebuild`), the positions in `core` (recounted from the log), sessions and login attempts
(after a restore everyone logs in again). Audit-log rows get new ids on restore, in their old order,
so a county can join a database whose log already has rows.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .connections import SyncConnection
from .database import connect, database_url
from .names import EVENTS_TABLE, check_adcode, county_schema
from .recorder import SNAPSHOTS_TABLE

FORMAT = "grassroots-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# The county schema's tables that hold what happened; every other table in it is a read model.
WRITE_TABLES = (EVENTS_TABLE, SNAPSHOTS_TABLE, "household_keys")


@dataclass(frozen=True)
class CoreTable:
    """A table of `core` with rows of counties: `county_column` says whose a row is; `renumbered` is a
    serial id left out of the backup (the restoring database numbers the rows anew, in order)."""

    name: str
    county_column: str
    renumbered: str | None = None


CORE_TABLES = (
    CoreTable("counties", "adcode"),
    CoreTable("places", "county"),
    CoreTable("users", "county"),
    CoreTable("audit_log", "county", renumbered="id"),
)


class BackupError(Exception):
    """A backup or restore that cannot be done, saying why and what to do."""


# ---- PostgreSQL's tools --------------------------------------------------------------------------------------


def _major(version_text: str) -> int | None:
    match = re.search(r"\(PostgreSQL\) (\d+)", version_text)
    return int(match.group(1)) if match else None


def postgres_tool(name: str, server_major: int, *, embedded: bool) -> str:
    """The path of `pg_dump` or `pg_restore` for a server of `server_major`.

    The embedded server's own binaries come first for it (pgserver ships them); for an external server,
    the one on PATH, then pgserver's. A tool older than the server cannot read it (pg_dump refuses), so
    the first one at least as new is taken, and none is an error naming what was found.
    """
    bundled = None
    try:
        from pgserver._commands import POSTGRES_BIN_PATH

        bundled = str(Path(POSTGRES_BIN_PATH) / name)
    except ImportError:
        pass
    on_path = shutil.which(name)
    candidates = [bundled, on_path] if embedded else [on_path, bundled]
    found = []
    for candidate in dict.fromkeys(c for c in candidates if c and os.access(c, os.X_OK)):
        major = _major(subprocess.run([candidate, "--version"], capture_output=True, text=True).stdout)
        if major is not None and major >= server_major:
            return candidate
        found.append(f"{candidate} (PostgreSQL {major})")
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL {server_major} client tools"
                          f" (e.g. apt-get install postgresql-client-{server_major}) so that {name} is on PATH")
    raise BackupError(f"{name} must be of PostgreSQL {server_major} or newer (the server's version), found only "
                      f"{', '.join(found)}: install postgresql-client-{server_major} and put it first on PATH")


def _tool(conn: SyncConnection, name: str) -> str:
    row = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
    assert row is not None
    return postgres_tool(name, int(row[0]), embedded=not os.environ.get("DATABASE_URL"))


def _connection(url: str) -> tuple[str, dict[str, str]]:
    """A tool's `--dbname` and environment for `url`: the password goes in PGPASSWORD, never on a command
    line (which every local user can read in the process list)."""
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = {**os.environ, "PGPASSWORD": str(password)} if password else dict(os.environ)
    return make_conninfo("", **params), env


def _run(command: list[str], url: str) -> None:
    dbname, env = _connection(url)
    result = subprocess.run([*command, f"--dbname={dbname}"], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()}")


# ---- backup --------------------------------------------------------------------------------------------------


def backup(url: str, path: Path, county: str | None = None) -> dict[str, Any]:
    """Write a backup of one county (or of every county and every row of `core`'s tables) to `path`;
    returns its manifest. `path` appears only once the backup is whole."""
    adcode = check_adcode(county) if county is not None else None
    with tempfile.TemporaryDirectory(prefix="grassroots-backup-") as scratch, \
            psycopg.connect(url, autocommit=False) as conn:
        work = Path(scratch)
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        pg_dump = _tool(conn, "pg_dump")  # before the snapshot: this query is not in it
        conn.commit()
        row = conn.execute("SELECT pg_export_snapshot(), current_setting('server_version')").fetchone()
        assert row is not None
        snapshot, server_version = row
        counties = [r[0] for r in conn.execute(
            "SELECT adcode FROM core.counties WHERE %s::text IS NULL OR adcode = %s ORDER BY adcode",
            (adcode, adcode))] if _exists(conn, "core.counties") else []
        if adcode is not None and not counties:
            raise BackupError(f"no county {adcode} in this database (see `grassroots county list`)")
        manifest: dict[str, Any] = {
            "format": FORMAT, "version": FORMAT_VERSION, "created_at": datetime.now(UTC).isoformat(),
            "server_version": server_version, "scope": "county" if adcode else "all", "counties": {}, "core": {}}
        for code in counties:
            schema = county_schema(code)
            position = conn.execute(
                sql.SQL("SELECT coalesce(max(notification_id), 0), count(*) FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(EVENTS_TABLE))).fetchone()
            assert position is not None
            tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))]
            dump = f"{schema}.dump"
            _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-owner", "--no-privileges",
                  f"--schema={schema}", *(f"--exclude-table={schema}.{t}" for t in tables if t not in WRITE_TABLES),
                  f"--file={work / dump}"], url)
            manifest["counties"][code] = {"last_notification_id": position[0], "events": position[1], "file": dump}
        for table in CORE_TABLES:
            if not _exists(conn, f"core.{table.name}"):
                continue  # e.g. no account was ever made
            columns = [c for c in _columns(conn, table.name) if c != table.renumbered]
            whose = sql.SQL("true") if adcode is None else sql.SQL("{} = {}").format(
                sql.Identifier(table.county_column), sql.Literal(adcode))
            query = sql.SQL("COPY (SELECT {} FROM core.{} WHERE {} ORDER BY {}) TO STDOUT").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table.name), whose,
                sql.Identifier(table.renumbered or columns[0]))
            file = f"core.{table.name}.copy"
            with (work / file).open("wb") as out, conn.cursor().copy(query) as copy:
                for data in copy:
                    out.write(data)
            manifest["core"][table.name] = {"columns": columns, "file": file}
        conn.rollback()
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
        partial = path.with_name(path.name + ".partial")
        try:
            with tarfile.open(partial, "w") as archive:
                for member in [MANIFEST, *(c["file"] for c in manifest["counties"].values()),
                               *(t["file"] for t in manifest["core"].values())]:
                    archive.add(work / member, arcname=member)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
    return manifest


def _exists(conn: SyncConnection, table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


def _columns(conn: SyncConnection, table: str) -> list[str]:
    """The columns one can write (not generated), in order."""
    return [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
        " AND attgenerated = '' ORDER BY attnum", (f"core.{table}",))]


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path) as archive:
            member = archive.extractfile(MANIFEST)
            manifest: dict[str, Any] = json.load(member) if member else {}
    except tarfile.TarError:
        raise BackupError(f"{path} is not a grassroots backup (not a tar file)") from None
    except (OSError, KeyError, ValueError) as error:
        raise BackupError(f"{path} is not a grassroots backup ({error})") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise BackupError(f"{path} is not a grassroots backup of format version {FORMAT_VERSION}")
    return manifest


# ---- restore -------------------------------------------------------------------------------------------------


def restore(url: str, path: Path) -> dict[str, Any]:
    """Restore a backup into `url`'s database: every county in it must be new there (the database may hold
    others). Its read models are rebuilt from the restored logs before this returns."""
    from projections.rebuild import rebuild
    from projections.schema import ensure_tables as ensure_read_side

    from ..identity import ensure_tables as ensure_identity
    from .schemas import ensure_core

    manifest = read_manifest(path)
    counties = sorted(manifest["counties"])
    ensure_core(url)
    with connect(url) as conn:
        ensure_identity(conn)
        present = [code for code in counties if _county_exists(conn, code)]
        if present:
            raise BackupError(f"county {', '.join(present)} already exists in this database: restore into a database"
                              " without it (a county is never overwritten)")
        pg_restore = _tool(conn, "pg_restore")
    with tempfile.TemporaryDirectory(prefix="grassroots-restore-") as scratch:
        work = Path(scratch)
        with tarfile.open(path) as archive:
            archive.extractall(work, filter="data")
        restored: list[str] = []
        try:
            for code in counties:
                _restore_schema(pg_restore, url, work / manifest["counties"][code]["file"])
                restored.append(code)
            with connect(url, autocommit=False) as conn:
                for name, table in manifest["core"].items():
                    query = sql.SQL("COPY core.{} ({}) FROM STDIN").format(
                        sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, table["columns"])))
                    with (work / table["file"]).open("rb") as data, conn.cursor().copy(query) as copy:
                        while chunk := data.read(1 << 20):
                            copy.write(chunk)
                for code in counties:
                    # The triggers that keep the log's position, the position counted from the log, and
                    # empty read-model tables with tracking at 0.
                    ensure_read_side(conn, county_schema(code))
                conn.commit()
        except psycopg.errors.UniqueViolation as error:
            _drop(url, restored)
            raise BackupError(f"the database already has rows this backup holds ({error.diag.message_detail}):"
                              " restore into a database without them") from None
        except BaseException:
            _drop(url, restored)
            raise
    for code in counties:
        asyncio.run(rebuild(url, county=code))
    return manifest


def _county_exists(conn: SyncConnection, adcode: str) -> bool:
    """Registered, or its schema is there (e.g. left by something half done)."""
    row = conn.execute("SELECT EXISTS (SELECT FROM core.counties WHERE adcode = %s)"
                       " OR EXISTS (SELECT FROM pg_namespace WHERE nspname = %s)", (adcode, county_schema(adcode)))
    return bool(row.fetchone() == (True,))


def _restore_schema(pg_restore: str, url: str, dump: Path) -> None:
    """Restore a county schema in one transaction, without the log's triggers: `ensure_read_side` makes
    them and counts the log's position in the same step (were they restored, it would count nothing)."""
    listing = subprocess.run([pg_restore, "--list", str(dump)], capture_output=True, text=True, check=True).stdout
    wanted = dump.with_suffix(".list")
    wanted.write_text("".join(line for line in io.StringIO(listing) if " TRIGGER " not in line))
    _run([pg_restore, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
          f"--use-list={wanted}", str(dump)], url)


def _drop(url: str, counties: list[str]) -> None:
    """Undo the schemas of a restore that failed half way (their counties were never registered)."""
    with connect(url) as conn:
        for code in counties:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(county_schema(code))))


# ---- the commands --------------------------------------------------------------------------------------------


def backup_command(args: argparse.Namespace) -> int:
    """`grassroots backup [--county ADCODE] PATH`."""
    try:
        manifest = backup(database_url(), Path(args.path), args.county)
    except psycopg.OperationalError as error:
        print(f"error: cannot reach the database: {error}", file=sys.stderr)
        return 1
    except (BackupError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for code, county in manifest["counties"].items():
        print(f"county {code}: {county['events']:,} events, up to notification id {county['last_notification_id']}")
    print(f"backup written to {args.path}")
    return 0


def restore_command(args: argparse.Namespace) -> int:
    """`grassroots restore PATH`."""
    try:
        manifest = restore(database_url(), Path(args.path))
    except psycopg.OperationalError as error:
        print(f"error: cannot reach the database: {error}", file=sys.stderr)
        return 1
    except (BackupError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for code, county in manifest["counties"].items():
        print(f"county {code}: restored {county['events']:,} events, read models rebuilt")
    return 0
