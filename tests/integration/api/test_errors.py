"""One error shape for everything (RFC 9457 problem+json, English and Chinese), and no 500 for bad input."""
from __future__ import annotations

import re
import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from services.api import errors

PROBLEM_KEYS = {"type", "title", "status", "detail", "detail_zh"}


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS and body["status"] == status
    assert body["detail"] and body["detail_zh"]
    return body


async def test_an_unknown_api_address_is_a_404_problem(api):
    body = assert_problem(await api.anonymous().get("/api/v1/no/such/thing"), 404)
    assert body["detail_zh"] == "请求的地址不存在。"


async def test_an_unknown_address_outside_the_api_is_a_404_problem_too(api):
    assert_problem(await api.anonymous().get("/no-such-page"), 404)


async def test_a_wrong_method_is_a_405_problem(api):
    assert_problem(await (await api.client("cadre")).get("/api/v1/sync"), 405)


@pytest.mark.parametrize("method, path, allowed", [
    ("DELETE", "/api/v1/cadres", {"GET", "HEAD", "POST"}),  # GET in one module, POST in another
    ("DELETE", "/api/v1/rules", {"GET", "HEAD", "PUT"}),
    ("POST", "/api/v1/users/00000000-0000-4000-8000-000000000000", {"PATCH"}),
    ("GET", "/api/v1/sync", {"POST"}),
])
async def test_a_405_names_every_method_the_path_answers(api, method, path, allowed):
    response = await (await api.client("county_admin")).request(method, path)
    assert_problem(response, 405)
    assert set(response.headers["allow"].split(", ")) == allowed
    for other in allowed - {"HEAD"}:  # and each of them is served (a body no write accepts: nothing changes)
        served = await (await api.client("county_admin")).request(other, path, json={"no_such_field": 1})
        assert served.status_code == (200 if other == "GET" else 422), served.text


# What a hostile client sends to be echoed back: NUL, a terminal escape sequence, a line break.
CONTROL = "\x00\x1b[31m\r\nX"


def assert_no_control_characters(value) -> None:
    """In every text of a JSON answer, keys included (json.dumps would hide them as escapes)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert_no_control_characters(key)
            assert_no_control_characters(item)
    elif isinstance(value, list):
        for item in value:
            assert_no_control_characters(item)
    elif isinstance(value, str):
        assert not re.search(r"[\x00-\x1f\x7f]", value), repr(value)


async def test_an_unknown_command_type_is_not_echoed_with_its_control_characters(api):
    entry = {"id": str(uuid.uuid4()), "type": f"check_in{CONTROL}", "payload": {}}
    response = await (await api.client("cadre")).post("/api/v1/sync", json={"commands": [entry]})
    [result] = response.json()["results"]
    assert result["status"] == "rejected" and "Unknown command type: check_in" in result["reason"]["en"]
    assert_no_control_characters(result)


async def test_field_names_and_values_a_problem_echoes_lose_their_control_characters(api):
    admin = await api.client("county_admin")
    cases = [
        admin.post("/api/v1/cadres", json={"name": "李某", "rank": "staff", "unit": "组织部", f"x{CONTROL}": 1}),
        admin.put("/api/v1/rules", json={"issue_days_by_route": {f"k{CONTROL}": 3}}),
        admin.post("/api/v1/cadres", json={"name": "李某", "rank": "staff", "unit": "组织部",
                                           "command_id": f"1{CONTROL}"}),
    ]
    for sent in cases:
        response = await sent
        assert_problem(response, 422)
        assert_no_control_characters(response.json())
    sync = await (await api.client("cadre")).post("/api/v1/sync", json={"commands": [
        {"id": str(uuid.uuid4()), "type": "check_in", "payload": {f"x{CONTROL}": f"v{CONTROL}"}}]})
    [result] = sync.json()["results"]
    assert result["status"] == "rejected"
    assert_no_control_characters(result)


async def test_a_rule_of_infinity_is_refused_not_stored_as_null(api):
    """JSON has no Infinity, but pydantic reads the token: a rule of it was stored as null and every later
    read of the county's rules failed."""
    admin = await api.client("county_admin")
    response = await admin.put("/api/v1/rules", content=b'{"verified_max_distance_m": Infinity}',
                               headers={"content-type": "application/json"})
    assert_problem(response, 422)
    assert (await admin.get("/api/v1/rules")).status_code == 200


async def test_malformed_json_is_a_400_problem(api):
    client = await api.client("cadre")
    for raw in (b"{", b"", b"\xff\xfe", b'{"commands": [}', b"[" * 100_000):
        assert_problem(await client.post("/api/v1/sync", content=raw, headers={"content-type": "application/json"}),
                       400)


async def test_json_of_the_wrong_shape_is_a_422_problem_with_field_errors(api):
    client = await api.client("cadre")
    body = assert_problem(await client.post("/api/v1/sync", json=["not", "an", "object"]), 422)
    assert body["errors"][0]["field"] == "body"
    body = assert_problem(await client.post("/api/v1/sync", json={"commands": "many"}), 422)
    assert body["errors"] == [{"field": "commands", "message": "Input should be a valid array",
                               "message_zh": "应为列表"}]


async def test_a_body_over_two_mebibytes_is_a_413_problem(api):
    client = await api.client("cadre")
    body = assert_problem(await client.post("/api/v1/sync", content=b" " * (2 * 1024 * 1024 + 1),
                                            headers={"content-type": "application/json"}), 413)
    assert "2 MiB" in body["detail"]


async def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit_with_413(api):
    client = await api.client("cadre")

    async def chunks():
        for _ in range(3):
            yield b" " * (1024 * 1024)

    assert_problem(await client.post("/api/v1/sync", content=chunks(), headers={"content-type": "application/json"}),
                   413)


async def test_an_upload_over_ten_mebibytes_is_a_413_problem(api):
    client = await api.client("county_admin")
    response = await client.post("/api/v1/sync", content=b"-" * (10 * 1024 * 1024 + 1),
                                 headers={"content-type": "multipart/form-data; boundary=x"})
    assert "10 MiB" in assert_problem(response, 413)["detail"]


async def test_nul_characters_in_text_are_a_422_problem(api):
    body = assert_problem(await api.anonymous().post("/api/v1/session",
                                                     json={"username": "a\x00b", "password": "whatever-1"}), 422)
    assert body["errors"][0]["field"] == "username"


async def test_nul_characters_in_a_synced_command_reject_that_command_only(api):
    entry = {"id": "6a1c1f5e-0000-4000-8000-000000000001", "type": "raise_issue",
             "payload": {"summary": "坏\x00了"}}
    response = await (await api.client("cadre")).post("/api/v1/sync", json={"commands": [entry]})
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert (result["status"], result["errors"][0]["field"]) == ("rejected", "summary")


async def test_an_unexpected_error_is_a_500_problem_that_reveals_nothing():
    async def boom(request):
        raise RuntimeError("secret internals")

    app = Starlette(routes=[Route("/boom", boom)], exception_handlers=errors.handlers())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://t") as client:
        response = await client.get("/boom")
    body = assert_problem(response, 500)
    assert "secret" not in response.text and body["detail_zh"] == "服务器出错，已记录。请稍后重试。"
