"""Accounts: `ensure_user` (the demo loader's way in) and `grassroots user add`."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from services.cli import main
from services.identity import InvalidUser, ensure_user
from services.storage.database import connect

from .conftest import COUNTY_A, PASSWORD, fresh_address


def test_ensure_user_is_idempotent_and_updates_in_place(database_url, test_counties):
    name = f"t_acct_{uuid.uuid4().hex[:8]}"
    with connect(database_url) as conn:
        first = ensure_user(conn, name, roles=["county_admin"], password=PASSWORD, county=COUNTY_A)
        again = ensure_user(conn, name, roles=["county_admin", "operator"], county=COUNTY_A, display_name="王主任")
        rows = conn.execute("SELECT id, roles, display_name, province FROM core.users WHERE username = %s",
                            (name,)).fetchall()
    assert first.id == again.id
    assert rows == [(first.id, ["county_admin", "operator"], "王主任", "910000")]


@pytest.mark.parametrize("fields, words", [
    ({"roles": ["cadre"], "county": COUNTY_A}, "--cadre-id"),
    ({"roles": ["department"], "county": COUNTY_A}, "--department"),
    ({"roles": ["county_admin"]}, "--county"),
    ({"roles": ["province_viewer"], "county": COUNTY_A}, "--province"),
    ({"roles": ["province_viewer", "county_admin"], "province": "910000"}, "cannot be combined"),
    ({"roles": ["mayor"], "county": COUNTY_A}, "mayor"),
    ({"roles": ["county_admin"], "county": "999999"}, "no county 999999"),
])
def test_accounts_that_make_no_sense_are_refused_with_what_to_change(database_url, test_counties, fields, words):
    with connect(database_url) as conn, pytest.raises(InvalidUser, match=words):
        ensure_user(conn, f"t_bad_{uuid.uuid4().hex[:8]}", password=PASSWORD, **fields)


def test_a_short_password_is_refused(database_url):
    with connect(database_url) as conn, pytest.raises(InvalidUser, match="at least 8"):
        ensure_user(conn, f"t_short_{uuid.uuid4().hex[:6]}", roles=["operator"], password="short")


async def test_the_cli_adds_a_user_who_can_then_log_in(api, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    name = f"t_cli_{uuid.uuid4().hex[:8]}"
    # In a thread: the command's DDL may wait for a lock that a request of the in-process app holds,
    # and that request only ends if the event loop keeps running (it hung the test once, under load).
    assert await asyncio.to_thread(main, ["user", "add", name, "--role", "department", "--county", COUNTY_A,
                                          "--department", "县水务局", "--password", PASSWORD]) == 0
    assert f"user {name} (department; county {COUNTY_A})" in capsys.readouterr().out
    login = await api.anonymous(address=fresh_address()).post("/api/v1/session",
                                                              json={"username": name, "password": PASSWORD})
    assert login.status_code == 201 and login.json()["user"]["department"] == "县水务局"


def test_the_cli_makes_up_a_password_when_none_is_given(database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["user", "add", f"t_cli_{uuid.uuid4().hex[:8]}", "--role", "operator"]) == 0
    out = capsys.readouterr().out
    assert "password: " in out and len(out.split("password: ")[1].strip()) >= 12


def test_the_cli_explains_a_refused_account(database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["user", "add", "t_cli_nocounty", "--role", "cadre", "--password", PASSWORD]) == 2
    assert "--county" in capsys.readouterr().err


def test_ensuring_the_identity_tables_again_does_not_wait_for_writers_of_sessions(database_url):
    """`user add` runs it while the server purges ended sessions: a writer with its transaction open
    (an event loop paused mid-purge) held a start-up for ever, and on Citus the DDL goes to every node."""
    from services.identity import ensure_tables

    with connect(database_url) as conn:
        ensure_tables(conn)
    impatient = database_url + ("&" if "?" in database_url else "?") + "options=-c%20lock_timeout%3D3000"
    with connect(database_url) as writer, writer.transaction():
        writer.execute("DELETE FROM core.sessions WHERE expires_at < now() - interval '100 years'")
        with connect(impatient) as conn:
            ensure_tables(conn)  # raises LockNotAvailable if it waits for the writer
