"""Accounts under attack (issue 15, item 8), against `grassroots serve` in a subprocess:

- a password-guessing loop against one account from one address is throttled as the README says
  (429 with Retry-After after 5 failures), while the real user still logs in from another address;
- no password, session token or personal field appears in any line the server logs (its stdout and
  stderr, request log included) during logins, failed logins, syncs carrying personal fields, rejected
  and malformed syncs, a personal read and a logout.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from services.identity.throttle import PAIR_FAILURES, WINDOW

from .harness import PASSWORD, Server, check_in, fresh_adcode, fresh_address, login, seed



@pytest.fixture(scope="module")
def served(database_url, tmp_path_factory) -> Iterator[tuple[Server, object]]:
    seeded = seed(database_url, fresh_adcode(), households=2)
    server = Server(database_url, tmp_path_factory.mktemp("accounts") / "serve.log")
    try:
        server.start()
        yield server, seeded
    finally:
        server.close()


def test_a_guessing_loop_from_one_address_is_throttled_and_the_user_still_logs_in_elsewhere(served):
    server, seeded = served
    guesser, elsewhere = fresh_address(), fresh_address()  # sent as X-Forwarded-For, trusted from loopback
    answers = [login(server.url, seeded.cadre, f"guess-{n:04d}", address=guesser) for n in range(30)]
    assert [a.status_code for a in answers[:PAIR_FAILURES]] == [401] * PAIR_FAILURES
    throttled = answers[PAIR_FAILURES:]
    assert {a.status_code for a in throttled} == {429}
    assert all(0 < int(a.headers["retry-after"]) <= WINDOW.total_seconds() for a in throttled)
    assert throttled[-1].json()["type"].endswith("/too-many-logins")
    # The lock holds for the guesser even with the right password, or guessing would simply go on ...
    assert login(server.url, seeded.cadre, PASSWORD, address=guesser).status_code == 429
    # ... and only there: the real user, from another address, logs in.
    real = login(server.url, seeded.cadre, PASSWORD, address=elsewhere)
    assert real.status_code == 201, real.text
    me = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {real.json()['token']}"})
    assert me.json()["username"] == seeded.cadre


def test_no_password_token_or_personal_field_is_ever_logged(served):
    server, seeded = served
    secrets_seen: list[str] = [PASSWORD, "wrong-but-close-password-7"]
    personal = ["隐私户主陈某某", "13912345678", "隐私备注：低保申请材料", "隐私走访：孩子在外打工"]

    assert login(server.url, seeded.admin, secrets_seen[1], address=fresh_address()).status_code == 401
    admin = login(server.url, seeded.admin, address=fresh_address()).json()["token"]
    cadre = login(server.url, seeded.cadre, address=fresh_address()).json()["token"]
    secrets_seen += [admin, cadre]

    def sync(token: str, body: object) -> httpx.Response:
        return httpx.post(f"{server.url}/api/v1/sync", json=body, headers={"Authorization": f"Bearer {token}"})

    household = {"id": str(uuid.uuid4()), "type": "register_household", "payload": {
        "village": seeded.adcode + "001001", "township": seeded.adcode + "001", "address": "一组 1 号", "lat": 18.64,
        "lon": 109.70, "size": 3, "tags": [], "head_name": personal[0], "phone": personal[1], "notes": personal[2]}}
    rejected = {"id": str(uuid.uuid4()), "type": "register_household",
                "payload": {**household["payload"], "size": 99}}
    answered = sync(admin, {"device_id": "admin-pc", "commands": [household, rejected]}).json()["results"]
    assert [r["status"] for r in answered] == ["applied", "rejected"]
    visit = check_in(seeded.households[0], note=personal[3])
    assert sync(cadre, {"device_id": "phone", "commands": [visit]}).json()["results"][0]["status"] == "applied"
    # Malformed batches: a wrong shape and a NUL in a personal field.
    assert sync(cadre, {"commands": {"head_name": personal[0]}}).status_code in (400, 422)
    nul = check_in(seeded.households[0], note=personal[3] + "\u0000")
    assert sync(cadre, {"commands": [nul]}).json()["results"][0]["status"] == "rejected"
    # A personal read (audited in the database, not in the log), a bad token, and logging out.
    read = httpx.get(f"{server.url}/api/v1/households/{household['id']}", headers={"Authorization": f"Bearer {admin}"})
    assert read.status_code == 200 and personal[0] in read.text
    bad = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {cadre[::-1]}"})
    assert bad.status_code == 401
    assert httpx.delete(f"{server.url}/api/v1/session", headers={"Authorization": f"Bearer {cadre}"}).status_code == 204

    log = server.log()
    assert '"path": "/api/v1/sync"' in log and '"path": "/api/v1/session"' in log  # the request log is on
    leaked = [(value, line) for line in log.splitlines() for value in [*secrets_seen, cadre[::-1], *personal]
              if value in line]
    assert not leaked, leaked[:5]
