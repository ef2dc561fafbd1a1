"""Accounts: who may log in, with which roles, for which county (or province).

Roles (DESIGN §8): `cadre` (a field cadre, linked to the cadre they are in the county's log),
`county_admin`, `department` (a functional department that receives routed issues), `province_viewer`
(a province's rollups only, no county), `prefecture_viewer` (the same for the counties of one prefecture,
市州: those whose adcode starts with its code's first 4 digits) and `operator` (runs the service; a county
is optional).
Accounts are made by `grassroots user add` and by the demo loader through `ensure_user`.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg.errors import UndefinedTable
from psycopg.rows import dict_row

from services.storage.connections import SyncConnection

from .tables import ensure_tables

ROLES = ("cadre", "county_admin", "department", "province_viewer", "prefecture_viewer", "operator")
VIEWER_ROLES = ("province_viewer", "prefecture_viewer")  # rollups of an area, bound to no county
# A prefecture's code: its province's 2 digits, its own 2 (01-99, never 00), then 00 (e.g. 469000).
PREFECTURE_CODE = re.compile(r"^[0-9]{2}(?!00)[0-9]{2}00$")
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
MIN_PASSWORD = 8

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a wrong username costs as long as a wrong
# password and the answer time does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash("grassroots-no-such-user")


class InvalidUser(ValueError):
    """An account that cannot be made as asked; the message says what to change."""


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    username: str
    display_name: str
    roles: tuple[str, ...]
    county: str | None
    province: str | None
    cadre_id: uuid.UUID | None
    department: str | None
    prefecture: str | None = None


def province_of_prefecture(prefecture: str) -> str:
    """The province a prefecture belongs to: the first 2 digits of its code, then 0000."""
    return prefecture[:2] + "0000"


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Hash new passwords with `hasher` from now on (tests use argon2's CHEAPEST profile, because they
    log in hundreds of times). Hashes made before still verify: each carries its own parameters."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("grassroots-no-such-user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends the time of one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def check_account(
    username: str,
    roles: Iterable[str],
    county: str | None,
    province: str | None,
    cadre_id: uuid.UUID | None,
    department: str | None,
    prefecture: str | None = None,
) -> tuple[str, ...]:
    """The roles, sorted, after checking that the combination makes sense; raises InvalidUser."""
    if not USERNAME.match(username or ""):
        raise InvalidUser("username: 3 to 64 letters, digits or . _ @ -")
    wanted = tuple(sorted(set(roles)))
    unknown = [role for role in wanted if role not in ROLES]
    if not wanted or unknown:
        raise InvalidUser(f"roles must be some of {', '.join(ROLES)} (got {', '.join(unknown) or 'none'})")
    viewer = [role for role in wanted if role in VIEWER_ROLES]
    if viewer:
        if len(wanted) > 1:
            raise InvalidUser(f"{viewer[0]} cannot be combined with other roles")
        if viewer == ["province_viewer"] and (county is not None or province is None or prefecture is not None):
            raise InvalidUser("a province_viewer needs --province (6-digit code, e.g. 460000) and no county")
        if viewer == ["prefecture_viewer"] and (county is not None or not PREFECTURE_CODE.match(prefecture or "")):
            raise InvalidUser("a prefecture_viewer needs --prefecture (6-digit code ending in 00, e.g. 469000)"
                              " and no county")
        if viewer == ["prefecture_viewer"] and province is not None and \
                province != province_of_prefecture(prefecture or ""):
            raise InvalidUser(f"prefecture {prefecture} is not in province {province}: leave --province out")
    elif county is None and wanted != ("operator",):
        raise InvalidUser("every role but operator and the viewers belongs to a county: give --county")
    elif prefecture is not None:
        raise InvalidUser("--prefecture is for a prefecture_viewer only")
    if "cadre" in wanted and cadre_id is None:
        raise InvalidUser("a cadre account needs --cadre-id (the cadre's id in the county)")
    if "department" in wanted and not (department or "").strip():
        raise InvalidUser("a department account needs --department (the department's name)")
    return wanted


def ensure_user(
    conn: SyncConnection,
    username: str,
    *,
    roles: Iterable[str],
    password: str | None = None,
    display_name: str | None = None,
    county: str | None = None,
    province: str | None = None,
    cadre_id: uuid.UUID | str | None = None,
    department: str | None = None,
    prefecture: str | None = None,
) -> User:
    """Create the account, or bring an existing one to these values (psycopg connection).

    Idempotent, for the demo loader and the CLI. The password is set when given; a new account must
    have one. A county account's province is the county's, a prefecture viewer's the prefecture's.
    """
    cadre = uuid.UUID(str(cadre_id)) if cadre_id is not None else None
    wanted = check_account(username, roles, county, province, cadre, department, prefecture)
    if prefecture is not None:
        province = province_of_prefecture(prefecture)
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidUser(f"password: at least {MIN_PASSWORD} characters")
    ensure_tables(conn)
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        if county is not None:
            try:
                row = cur.execute("SELECT province_code FROM core.counties WHERE adcode = %s", (county,)).fetchone()
            except UndefinedTable:  # no county was ever added to this database
                row = None
            if row is None:
                raise InvalidUser(f"no county {county}: add it first with `grassroots county add {county} ...`")
            province = row["province_code"]
        existing = cur.execute("SELECT id FROM core.users WHERE username = %s FOR UPDATE", (username,)).fetchone()
        if existing is None and password is None:
            raise InvalidUser("a new account needs a password")
        values: dict[str, Any] = dict(display_name=display_name or username, roles=list(wanted), county=county,
                                      province=province, cadre_id=cadre,
                                      department=(department or "").strip() or None, prefecture=prefecture)
        if existing is None:
            assert password is not None  # a new account without one was refused above
            user_id = uuid.uuid4()
            cur.execute(
                "INSERT INTO core.users (id, username, display_name, password_hash, roles, county, province,"
                " cadre_id, department, prefecture) VALUES (%(id)s, %(username)s, %(display_name)s, %(hash)s,"
                " %(roles)s, %(county)s, %(province)s, %(cadre_id)s, %(department)s, %(prefecture)s)",
                dict(values, id=user_id, username=username, hash=hash_password(password)),
            )
        else:
            user_id = existing["id"]
            cur.execute(
                "UPDATE core.users SET display_name = %(display_name)s, roles = %(roles)s, county = %(county)s,"
                " province = %(province)s, cadre_id = %(cadre_id)s, department = %(department)s,"
                " prefecture = %(prefecture)s, disabled_at = NULL WHERE id = %(id)s",
                dict(values, id=user_id),
            )
            if password is not None:
                cur.execute("UPDATE core.users SET password_hash = %s WHERE id = %s",
                            (hash_password(password), user_id))
        cur.execute("INSERT INTO core.audit_log (action, user_id, username, county) VALUES (%s, %s, %s, %s)",
                    ("user.created" if existing is None else "user.updated", user_id, username, county))
    return User(id=user_id, username=username, display_name=values["display_name"], roles=wanted, county=county,
                province=province, cadre_id=cadre, department=values["department"], prefecture=prefecture)
