"""Logging in and out, who am I, and login throttling, over HTTP against the real database."""
from __future__ import annotations

import uuid
from datetime import UTC

from services.identity import ensure_user
from services.storage.database import connect

from .conftest import COUNTY_A, DEPARTMENT, PASSWORD, fresh_address


async def test_login_returns_a_token_that_identifies_the_user(api):
    account = api.account("cadre")
    client = api.anonymous(address=fresh_address())
    response = await client.post("/api/v1/session", json={"username": account.username, "password": PASSWORD})
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["username"] == account.username
    assert body["user"]["roles"] == ["cadre"]
    assert body["user"]["county"] == COUNTY_A
    assert body["user"]["county_name"] == "测试甲县"
    assert body["user"]["province"] == "910000"
    assert body["user"]["cadre_id"] == str(account.user.cadre_id)
    me = await api.anonymous(token=body["token"]).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json() == body["user"]


async def test_a_department_account_says_which_department_it_is(api):
    me = await (await api.client("department")).get("/api/v1/me")
    assert me.json()["department"] == DEPARTMENT
    assert me.json()["roles"] == ["department"]


async def test_a_province_viewer_belongs_to_a_province_and_no_county(api):
    me = (await (await api.client("province_viewer")).get("/api/v1/me")).json()
    assert (me["county"], me["province"]) == (None, "910000")


async def test_a_wrong_password_answers_401_in_both_languages(api):
    client = api.anonymous(address=fresh_address())
    response = await client.post("/api/v1/session",
                                 json={"username": api.account("cadre").username, "password": "wrong-password"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 401 and problem["detail_zh"] == "用户名或密码错误。"


async def test_an_unknown_username_answers_exactly_like_a_wrong_password(api):
    client = api.anonymous(address=fresh_address())
    unknown = await client.post("/api/v1/session", json={"username": "t_nobody", "password": "whatever-1"})
    wrong = await client.post("/api/v1/session",
                              json={"username": api.account("cadre").username, "password": "wrong-password"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


async def test_me_without_a_token_answers_401_with_a_bearer_challenge(api):
    response = await api.anonymous().get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_made_up_token_answers_401(api):
    assert (await api.anonymous(token="made-up").get("/api/v1/me")).status_code == 401
    assert (await api.anonymous(token="x" * 5000).get("/api/v1/me")).status_code == 401


async def test_logout_revokes_the_token_at_once(api):
    account = api.account("county_admin")
    login = await api.anonymous(address=fresh_address()).post(
        "/api/v1/session", json={"username": account.username, "password": PASSWORD})
    client = api.anonymous(token=login.json()["token"])
    assert (await client.get("/api/v1/me")).status_code == 200
    assert (await client.delete("/api/v1/session")).status_code == 204
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.delete("/api/v1/session")).status_code == 401


async def test_logging_out_one_session_keeps_the_others(api):
    account = api.account("operator")
    tokens = []
    for _ in range(2):
        login = await api.anonymous(address=fresh_address()).post(
            "/api/v1/session", json={"username": account.username, "password": PASSWORD})
        tokens.append(login.json()["token"])
    assert (await api.anonymous(token=tokens[0]).delete("/api/v1/session")).status_code == 204
    assert (await api.anonymous(token=tokens[1]).get("/api/v1/me")).status_code == 200


async def test_a_disabled_account_loses_its_sessions(api, database_url):
    name = f"t_disabled_{uuid.uuid4().hex[:8]}"
    with connect(database_url) as conn:
        ensure_user(conn, name, roles=["county_admin"], password=PASSWORD, county=COUNTY_A)
    login = await api.anonymous(address=fresh_address()).post(
        "/api/v1/session", json={"username": name, "password": PASSWORD})
    client = api.anonymous(token=login.json()["token"])
    with connect(database_url) as conn:
        conn.execute("UPDATE core.users SET disabled_at = now() WHERE username = %s", (name,))
    assert (await client.get("/api/v1/me")).status_code == 401


def _throwaway_account(database_url) -> str:
    name = f"t_throttle_{uuid.uuid4().hex[:8]}"
    with connect(database_url) as conn:
        ensure_user(conn, name, roles=["county_admin"], password=PASSWORD, county=COUNTY_A)
    return name


async def test_five_failed_logins_from_one_address_lock_that_address_only(api, database_url):
    name = _throwaway_account(database_url)
    guesser = api.anonymous(address=fresh_address())
    for _ in range(5):
        response = await guesser.post("/api/v1/session", json={"username": name, "password": "wrong-password"})
        assert response.status_code == 401
    locked = await guesser.post("/api/v1/session", json={"username": name, "password": PASSWORD})
    assert locked.status_code == 429
    assert 800 <= int(locked.headers["retry-after"]) <= 900
    elsewhere = await api.anonymous(address=fresh_address()).post(
        "/api/v1/session", json={"username": name, "password": PASSWORD})
    assert elsewhere.status_code == 201


async def test_twenty_failed_logins_from_many_addresses_lock_the_account_even_for_the_right_password(
        api, database_url):
    name = _throwaway_account(database_url)
    for _ in range(20):
        # A new address each time: it is the account that is throttled here.
        response = await api.anonymous(address=fresh_address()).post(
            "/api/v1/session", json={"username": name, "password": "wrong-password"})
        assert response.status_code == 401
    locked = await api.anonymous(address=fresh_address()).post(
        "/api/v1/session", json={"username": name, "password": PASSWORD})
    assert locked.status_code == 429
    assert 800 <= int(locked.headers["retry-after"]) <= 900
    assert "分钟后再试" in locked.json()["detail_zh"]


async def test_a_successful_login_resets_the_account_failure_count(api, database_url):
    name = _throwaway_account(database_url)
    for _ in range(4):
        await api.anonymous(address=fresh_address()).post("/api/v1/session",
                                                          json={"username": name, "password": "wrong-password"})
    ok = await api.anonymous(address=fresh_address()).post("/api/v1/session",
                                                           json={"username": name, "password": PASSWORD})
    assert ok.status_code == 201
    for _ in range(4):
        await api.anonymous(address=fresh_address()).post("/api/v1/session",
                                                          json={"username": name, "password": "wrong-password"})
    again = await api.anonymous(address=fresh_address()).post("/api/v1/session",
                                                              json={"username": name, "password": PASSWORD})
    assert again.status_code == 201


async def test_twenty_failures_from_one_address_lock_that_address_for_every_account(api, database_url):
    address = fresh_address()
    client = api.anonymous(address=address)
    for n in range(20):
        # Different (unknown) accounts each time: it is the address that is throttled here.
        await client.post("/api/v1/session", json={"username": f"t_guess_{n}_{address}", "password": "wrong-password"})
    name = _throwaway_account(database_url)
    locked = await client.post("/api/v1/session", json={"username": name, "password": PASSWORD})
    assert locked.status_code == 429
    elsewhere = await api.anonymous(address=fresh_address()).post(
        "/api/v1/session", json={"username": name, "password": PASSWORD})
    assert elsewhere.status_code == 201


async def test_logins_and_failures_are_in_the_audit_log(api, database_url):
    name = _throwaway_account(database_url)
    address = fresh_address()
    await api.anonymous(address=address).post("/api/v1/session", json={"username": name, "password": "nope-nope"})
    await api.anonymous(address=address).post("/api/v1/session", json={"username": name, "password": PASSWORD})
    with connect(database_url) as conn:
        actions = [row[0] for row in conn.execute(
            "SELECT action FROM core.audit_log WHERE username = %s AND address = %s ORDER BY id", (name, address))]
    assert actions == ["login.failed", "login"]


async def test_the_database_keeps_only_a_hash_of_the_token(api, database_url):
    token = await api.token("cadre")
    with connect(database_url) as conn:
        stored = [bytes(row[0]) for row in conn.execute("SELECT token_hash FROM core.sessions")]
    assert all(token.encode() not in value for value in stored)
    assert len(stored) >= 1 and all(len(value) == 32 for value in stored)


async def test_a_login_body_that_is_not_json_answers_400(api):
    response = await api.anonymous().post("/api/v1/session", content=b"{not json",
                                          headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail_zh"] == "请求内容不是合法的 JSON。"


async def test_a_login_without_a_password_answers_422_naming_the_field(api):
    response = await api.anonymous().post("/api/v1/session", json={"username": "someone"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["password"]


async def test_a_user_of_a_county_with_generated_demo_villages_is_told_it_is_a_demo(api, database_url):
    assert (await (await api.client("cadre")).get("/api/v1/me")).json()["demo"] is False
    from services.storage.database import connect as connect_db
    from services.storage.schemas import provision_county
    boundary = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": {"level": "village", "generated": True}}]}
    provision_county(database_url, "940001", "演示县", "演示省", province_code="940000", boundary=boundary)
    with connect_db(database_url) as conn:
        ensure_user(conn, "t_demo_admin", roles=["county_admin"], password=PASSWORD, county="940001")
        ensure_user(conn, "t_demo_viewer", roles=["province_viewer"], password=PASSWORD, province="940000")
    for name in ("t_demo_admin", "t_demo_viewer"):
        login = await api.anonymous(address=fresh_address()).post("/api/v1/session",
                                                                  json={"username": name, "password": PASSWORD})
        assert login.json()["user"]["demo"] is True


async def test_an_expired_session_answers_401(api, database_url):
    from services.identity.sessions import token_hash
    login = await api.anonymous(address=fresh_address()).post(
        "/api/v1/session", json={"username": api.account("cadre").username, "password": PASSWORD})
    body = login.json()
    client = api.anonymous(token=body["token"])
    assert (await client.get("/api/v1/me")).status_code == 200
    with connect(database_url) as conn:
        conn.execute("UPDATE core.sessions SET expires_at = now() - interval '1 second' WHERE token_hash = %s",
                     (token_hash(body["token"]),))
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_a_session_lasts_thirty_days(api):
    from datetime import datetime, timedelta
    login = await api.anonymous(address=fresh_address()).post(
        "/api/v1/session", json={"username": api.account("cadre").username, "password": PASSWORD})
    expires = datetime.fromisoformat(login.json()["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)


async def test_housekeeping_forgets_ended_sessions_and_old_login_attempts_and_keeps_the_rest(api, database_url):
    import asyncpg

    from services.identity import purge
    from services.identity.sessions import token_hash

    account = api.account("cadre")
    client = api.anonymous(address=fresh_address())

    async def log_in() -> str:
        response = await client.post("/api/v1/session", json={"username": account.username, "password": PASSWORD})
        assert response.status_code == 201
        return response.json()["token"]

    live, ended = await log_in(), await log_in()
    assert (await api.anonymous(token=ended).delete("/api/v1/session")).status_code == 204
    conn = await asyncpg.connect(database_url)
    try:
        expired = uuid.uuid4().bytes
        await conn.execute("INSERT INTO core.sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now())",
                           expired, account.user.id)
        old, recent = f"t_purge_{uuid.uuid4().hex[:8]}", f"t_purge_{uuid.uuid4().hex[:8]}"
        await conn.execute("INSERT INTO core.login_attempts (username, address, succeeded, at)"
                           " VALUES ($1, '10.255.0.1', false, now() - interval '25 hours'),"
                           " ($2, '10.255.0.1', false, now() - interval '10 minutes')", old, recent)
        sessions, attempts = await purge(conn)
        assert sessions >= 2 and attempts >= 1
        left = {row["token_hash"] for row in await conn.fetch(
            "SELECT token_hash FROM core.sessions WHERE token_hash = ANY($1)",
            [token_hash(live), token_hash(ended), expired])}
        assert left == {token_hash(live)}
        assert [r["username"] for r in await conn.fetch(
            "SELECT username FROM core.login_attempts WHERE username = ANY($1)", [old, recent])] == [recent]
    finally:
        await conn.close()
    assert (await api.anonymous(token=live).get("/api/v1/me")).status_code == 200
    assert (await api.anonymous(token=ended).get("/api/v1/me")).status_code == 401
