"""The OpenAPI document: complete, valid, and true to the server (checked by fuzzing it with schemathesis).

The fuzz runs against a real uvicorn server in its own thread (schemathesis' calls are blocking), as
the admin of a county of its own (so random but valid commands land nowhere other tests look), and
from an address of its own (so random failed logins throttle no other test).
"""
from __future__ import annotations

import asyncio
import os
import socket
import threading
import time

import httpx
import pytest
import schemathesis
import uvicorn
from schemathesis.checks import positive_data_acceptance
from hypothesis import HealthCheck, Phase, given, settings

from services.api.app import create_app
from services.api.openapi import operations
from services.identity import ensure_user
from services.storage.database import connect
from services.storage.schemas import provision_county

from .conftest import PASSWORD

FUZZ_COUNTY, FUZZ_ADDRESS = "930001", "10.250.0.1"
# Fields whose rules JSON Schema cannot state, so the document says them in words (by operation path);
# DETAIL_ONLY: a 422 that names no field (a query value a read model could not use).
DETAIL_ONLY = "(the detail)"
_PERIOD = {"query.period", DETAIL_ONLY}  # calendar days, a range ending on or after its start
STATED_IN_WORDS: dict[str, set[str]] = {
    "/api/v1/households": {"body"},  # the village code begins with the township's
    "/api/v1/households/{household_id}/relocate": {"body"},
    "/api/v1/campaigns": {"ends_on"},  # on or after starts_on
    "/api/v1/targets": {"body"},  # the village in the township, both coordinates or neither, weak branches only
    "/api/v1/targets/{target_id}/revise": {"body"},
    "/api/v1/completeness/households": {"query.bbox"},  # west < east, south < north
    "/api/v1/issues": {DETAIL_ONLY},  # `after`: a cursor the server gave
    "/api/v1/proposals": {DETAIL_ONLY},  # `after`: a cursor the server gave
    "/api/v1/visits/audit": {DETAIL_ONLY},  # `after`: a cursor the server gave (the pattern admits month 27)
    "/api/v1/cadres/{cadre_id}/worklog": {DETAIL_ONLY},  # the same
    "/api/v1/households/{household_id}/worklog": {DETAIL_ONLY},  # the same
    "/api/v1/me/households": {DETAIL_ONLY},  # `since`: a cursor the server gave
    **dict.fromkeys(["/api/v1/coverage", "/api/v1/exports/coverage.geojson", "/api/v1/issues/summary",
                     "/api/v1/leaderboards/cadres", "/api/v1/leaderboards/townships", "/api/v1/visits",
                     "/api/v1/visits/summary", "/api/v1/receptions/report", "/api/v1/exports/receptions",
                     "/api/v1/stays", "/api/v1/exports/stays"], _PERIOD),
    "/api/v1/receptions": {*_PERIOD, "occurred_at"},  # `after`: a cursor the server gave; a device's time
    **dict.fromkeys(["/api/v1/research-topics", "/api/v1/research/cadres", "/api/v1/exports/research"], _PERIOD),
    "/api/v1/research-reports": {"occurred_at"},  # a device's time
    "/api/v1/rules": {"assessment_weights"},  # the weights sum to 100
    **dict.fromkeys(["/api/v1/assessment/entered", "/api/v1/province/scores", "/api/v1/exports/assessment"], _PERIOD),
}
# Endpoints that never end (a live stream) cannot be fuzzed request by request.
NOT_FUZZED = {"/api/v1/events/stream"}
# `make test` keeps it short; set GRASSROOTS_FUZZ_EXAMPLES=100 for a deep run.
MAX_EXAMPLES = int(os.environ.get("GRASSROOTS_FUZZ_EXAMPLES", "3"))


@schemathesis.check
def refused_only_for_rules_in_words(ctx, response, case) -> None:
    """A request the document admits is refused as invalid (422 …/invalid) only for a rule the document
    can say only in words; a rule of the domain about what exists is …/rejected, not invalid."""
    if response.status_code != 422 or not response.json()["type"].endswith("/invalid"):
        return
    fields = {error["field"] for error in response.json().get("errors") or []} or {DETAIL_ONLY}
    unstated = fields - STATED_IN_WORDS.get(case.operation.path, set()) - _beyond_format_bounds(case)
    assert not unstated, f"{case.operation.label}: the document admits what the server refuses: {response.text}"


def _beyond_format_bounds(case) -> set[str]:
    """Query fields whose value is outside the document's `formatMinimum`/`formatMaximum` (dates): the
    document states those bounds, but the generator does not keep to them."""
    spec = case.operation.schema.raw_schema["paths"][case.operation.path][case.operation.method.lower()]
    beyond = set()
    for parameter in spec.get("parameters", []):
        value = (case.query or {}).get(parameter["name"])
        for branch in parameter["schema"].get("anyOf", [parameter["schema"]]):
            low, high = branch.get("formatMinimum"), branch.get("formatMaximum")
            if isinstance(value, str) and low and high and not low <= value <= high:  # ISO dates sort as text
                beyond.add(f"query.{parameter['name']}")
    return beyond


async def test_the_document_is_openapi_3_1_and_lists_every_api_route(api):
    response = await api.anonymous().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    listed = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    mounted = {(op.method, prefix + op.openapi_path) for prefix, op in operations(api.app.routes)}
    assert listed == mounted
    assert ("POST", "/api/v1/sync") in listed and ("GET", "/healthz") in listed


async def test_operations_say_who_may_call_them_and_how_they_fail(api):
    document = (await api.anonymous().get("/api/v1/openapi.json")).json()
    sync = document["paths"]["/api/v1/sync"]["post"]
    assert sync["security"] == [{"bearer": []}]
    assert {"200", "400", "401", "403", "413", "422", "503"} <= set(sync["responses"])
    assert "Retry-After" in sync["responses"]["503"]["headers"]  # the database unreachable: come back later
    assert sync["responses"]["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"}
    archive = document["paths"]["/api/v1/households/{household_id}/archive"]["post"]
    assert archive["parameters"] == [{"name": "household_id", "in": "path", "required": True,
                                      "schema": {"type": "string", "format": "uuid"}}]
    assert {"404", "409"} <= set(archive["responses"])
    assert "security" not in document["paths"]["/healthz"]["get"]


@pytest.fixture(scope="module")
async def fuzz_server(database_url: str, test_counties):
    # Async, and the fuzz runs in a thread: the package's app shares this event loop, and its projector
    # and housekeeping must keep running (a loop stopped mid-query would hold its locks throughout).
    def prepare() -> None:
        provision_county(database_url, FUZZ_COUNTY, "测试丁县", "测试丁省", province_code="930000")
        with connect(database_url) as conn:
            ensure_user(conn, "t_fuzz_admin", roles=["county_admin"], password=PASSWORD, county=FUZZ_COUNTY)

    await asyncio.to_thread(prepare)
    app = create_app(database_url, projector=None, pwa_dir=None)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", proxy_headers=True,
                                           forwarded_allow_ips="127.0.0.1"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the fuzz server did not start"
        await asyncio.sleep(0.02)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with httpx.AsyncClient() as client:
        login = await client.post(f"{url}/api/v1/session", json={"username": "t_fuzz_admin", "password": PASSWORD},
                                  headers={"X-Forwarded-For": FUZZ_ADDRESS})
    assert login.status_code == 201, login.text
    yield url, login.json()["token"]
    server.should_exit = True
    await asyncio.to_thread(thread.join, 15)
    sock.close()


async def test_the_server_does_what_its_openapi_document_says(fuzz_server):
    """Every operation, MAX_EXAMPLES generated requests each: no 5xx, and every status, content type,
    header and body is one the document declares."""
    assert await asyncio.to_thread(fuzz, *fuzz_server) >= 20


def fuzz(url: str, token: str) -> int:
    """Schemathesis' calls block: this runs in a thread of its own. Returns how many operations it fuzzed."""
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    schema.config.update(base_url=url)
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": FUZZ_ADDRESS}
    fuzzed = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in NOT_FUZZED or (operation.method.upper(), operation.path) == ("DELETE", "/api/v1/session"):
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            # Schema-valid is not always acceptable: the domain's rules (a village inside its township,
            # an existing household, a device clock not in the future) answer 422 with reasons.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance],
                                   additional_checks=[refused_only_for_rules_in_words])

        check()
        fuzzed += 1
    return fuzzed
