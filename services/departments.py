"""A county's departments (职能部门, `core.departments`): the units that receive issues routed to them
with a deadline (转办·限时办结), each with a stable `code`, a `name` the admin may change, and the
accounts of role `department` that act for it.

Why records and not strings: a route once named its department in free text, and a department account
saw the issues whose text equalled its own, so "县住建局" and "住建局" were two departments. Now:
- a route names a department of the county's list by code (or its current name); the Routed event
  carries the code, so a rename changes nothing routed;
- a county that lists no department yet keeps free text (as before); its first department makes the
  list binding (as services/places.py does for places);
- free text recorded before (events are never rewritten) is mapped at read time: a department is
  known by its code, its name and every name it had before a rename (`former_names`). `canonical`
  turns any of these into the code; text that names no department stays itself. Issues, accounts and
  the write side's "routed to your department" all compare canonical keys.

Reference data shared by every county schema (like core.places), so every row carries its county and
every query is scoped by it; a county has tens of departments, each lookup reads that county's rows.
"""
from __future__ import annotations

from typing import Any

from services.storage.connections import AsyncConnection

# Made with `core` (services/storage/schemas.ensure_core).
DEPARTMENTS_DDL = """
CREATE TABLE IF NOT EXISTS core.departments (
    county text NOT NULL,
    code text NOT NULL,
    name text NOT NULL,
    former_names text[] NOT NULL DEFAULT '{}',
    added_by text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county, code),
    UNIQUE (county, name)
);
"""

CODE_PATTERN = r"^[a-z][a-z0-9_-]{0,29}$"


def canonical_sql(county: str, text: str) -> str:
    """SQL: the department key of the text expression `text` in county `county` (a literal adcode,
    six digits, checked): the code of the department it names (by code, then current name, then a
    former name), else the text itself (free text naming no listed department)."""
    if not (len(county) == 6 and county.isdigit()):
        raise ValueError(f"not a county adcode: {county!r}")
    # The guard skips the lookup for rows naming no department (most issues are never routed to one).
    return (f"CASE WHEN {text} IS NULL THEN NULL ELSE coalesce((SELECT kd.code FROM core.departments kd"
            f" WHERE kd.county = '{county}' AND ({text} = kd.code OR {text} = kd.name OR {text} = ANY(kd.former_names))"
            f" ORDER BY {text} = kd.code DESC, {text} = kd.name DESC, kd.code LIMIT 1), {text}) END")


def keys_table_sql(county: str) -> str:
    """SQL: a derived table `(raw, code)`: every text naming a department of county `county` (its code,
    name and former names) with the department it maps to, preferring as `canonical_sql` does. Joined
    by hash to many rows, it maps them for the price of one scan of the county's few departments."""
    if not (len(county) == 6 and county.isdigit()):
        raise ValueError(f"not a county adcode: {county!r}")
    return ("(SELECT DISTINCT ON (n.raw) n.raw, kd.code FROM core.departments kd,"
            " unnest(ARRAY[kd.code, kd.name] || kd.former_names) WITH ORDINALITY AS n(raw, rank)"
            f" WHERE kd.county = '{county}' ORDER BY n.raw, least(n.rank, 3), kd.code)")


_LOOKUP = ("SELECT EXISTS (SELECT 1 FROM core.departments WHERE county = {c}) AS listed,"
           " (SELECT code FROM core.departments WHERE county = {c} AND ({t} = code OR {t} = name)"
           "  ORDER BY {t} = code DESC LIMIT 1) AS current,"
           " {canonical} AS key")


def lookup_sql(placeholder_county: str, placeholder_text: str, county: str) -> str:
    return _LOOKUP.format(c=placeholder_county, t=placeholder_text,
                          canonical=canonical_sql(county, placeholder_text))


def lookup(cursor: Any, county: str, text: str) -> dict[str, Any]:
    """(psycopg, dict rows) `{listed, current, key}` for `text`: whether the county lists departments,
    the code of the department `text` names by code or current name (None: none), and its canonical key."""
    cursor.execute(lookup_sql("%(county)s", "%(text)s::text", county), {"county": county, "text": text})
    row = cursor.fetchone()
    return {"listed": row["listed"], "current": row["current"], "key": row["key"]}


async def lookup_async(conn: AsyncConnection, county: str, text: str) -> dict[str, Any]:
    """`lookup` on an asyncpg connection."""
    row = await conn.fetchrow(lookup_sql("$1", "$2::text", county), county, text)
    assert row is not None  # lookup_sql answers one row, found or not
    return dict(row)


async def county_departments(conn: AsyncConnection, county: str) -> list[dict[str, Any]]:
    """The county's departments by code, each with the usernames of the accounts acting for it (an
    account naming it by code, current or former name)."""
    rows = await conn.fetch(
        "SELECT d.code, d.name, d.former_names, d.added_at,"
        " coalesce(array_agg(u.username ORDER BY u.username) FILTER (WHERE u.username IS NOT NULL), '{}') AS accounts"
        " FROM core.departments d LEFT JOIN core.users u ON u.county = d.county AND 'department' = ANY(u.roles)"
        "  AND (u.department = d.code OR u.department = d.name OR u.department = ANY(d.former_names))"
        " WHERE d.county = $1 GROUP BY d.code, d.name, d.former_names, d.added_at ORDER BY d.code", county)
    return [{**dict(row), "former_names": list(row["former_names"]), "accounts": list(row["accounts"])}
            for row in rows]


async def add_department(conn: AsyncConnection, county: str, code: str, name: str, by: str) -> str | None:
    """Add a department; None when added, else the field that clashes (`code` or `name`: a code or a
    current name already used by another department of the county, or a name equal to a code)."""
    clash = await conn.fetchval(
        "SELECT CASE WHEN code = $2 OR name = $2 THEN 'code' ELSE 'name' END FROM core.departments"
        " WHERE county = $1 AND (code = $2 OR name = $2 OR name = $3 OR code = $3) LIMIT 1", county, code, name)
    if clash is not None:
        return str(clash)
    inserted = await conn.fetchval(
        "INSERT INTO core.departments (county, code, name, added_by) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING RETURNING code", county, code, name, by)
    return None if inserted is not None else "code"


async def rename_department(conn: AsyncConnection, county: str, code: str, name: str) -> dict[str, Any] | str | None:
    """Rename a department (its old name joins `former_names`, so free text naming it still maps).
    The renamed row; None when the county has no such department; "name" when another department of
    the county has that name or code."""
    if await conn.fetchval("SELECT 1 FROM core.departments WHERE county = $1 AND code <> $2"
                           " AND (name = $3 OR code = $3)", county, code, name):
        return "name"
    row = await conn.fetchrow(
        "UPDATE core.departments SET former_names = CASE WHEN name = $3 OR name = ANY(former_names)"
        "  THEN former_names ELSE former_names || name END, name = $3"
        " WHERE county = $1 AND code = $2 RETURNING code, name, former_names", county, code, name)
    if row is None:
        return None
    return {**dict(row), "former_names": list(row["former_names"])}
