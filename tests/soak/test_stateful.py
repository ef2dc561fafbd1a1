"""A stateful Schemathesis run as each role (issue 15, item 6): sequences of calls that feed each other's
answers (the ids a call returns become the next call's path parameters), against `grassroots serve`,
as a cadre, a county admin, a department, a province viewer and an operator of a county of its own.

Every answer must be no 5xx and conform to the OpenAPI document (status code, content type, body
schema). Links between operations are inferred by Schemathesis from the document (`as_state_machine`).
The quick version (in `make test`) makes CALLS calls per role; `make soak` sets
GRASSROOTS_SOAK_STATEFUL_CALLS=10000 (50,000 calls in all). Run with `-s` to see the figures.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)
from schemathesis.core.failures import FailureGroup

from services.identity import ensure_user
from services.storage.database import connect
from tests.fault.harness import PASSWORD, Server, fresh_adcode, fresh_address, login, seed

CALLS = int(os.environ.get("GRASSROOTS_SOAK_STATEFUL_CALLS", "150"))  # per role
ROLES = ("cadre", "county_admin", "department", "province_viewer", "operator")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# A stream never ends, so it cannot be checked call by call; logging out would end the run's session.
NOT_CALLED = [("GET", "/api/v1/events/stream"), ("DELETE", "/api/v1/session")]
# State-machine runs of this many call sequences (each of about 40 calls), repeated until CALLS.
EXAMPLES_PER_RUN = max(2, min(25, CALLS // 40))


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory):
    """The server, and a token per role, all in a county of its own."""
    seeded = seed(database_url, fresh_adcode(), households=20)
    province = seeded.adcode[:2] + "0000"
    usernames = {"cadre": seeded.cadre, "county_admin": seeded.admin}
    with connect(database_url) as conn:
        for role, place in (("department", {"county": seeded.adcode, "department": "县民政局"}),
                            ("province_viewer", {"province": province}), ("operator", {"county": seeded.adcode})):
            usernames[role] = f"soak_{role}_{seeded.adcode}"
            ensure_user(conn, usernames[role], roles=[role], password=PASSWORD, **place)
    server = Server(database_url, tmp_path_factory.mktemp("stateful") / "serve.log")
    server.start()
    try:
        address = fresh_address()
        tokens = {}
        for role in ROLES:
            response = login(server.url, usernames[role], address=address)
            assert response.status_code == 201, response.text
            tokens[role] = response.json()["token"]
        yield server, tokens, address
    finally:
        server.close()


@dataclass
class Findings:
    answers: Counter[str] = field(default_factory=Counter)  # by status class: "2xx", "4xx", …
    violations: list[str] = field(default_factory=list)  # a failed check each, with a curl to reproduce it
    restarts: int = 0  # runs Hypothesis ended as flaky (module doc)

    @property
    def calls(self) -> int:
        return sum(self.answers.values())


def run_statefully(url: str, token: str, address: str, calls: int) -> Findings:
    """Runs of the state machine until `calls` calls were made.

    A failed check is recorded, not raised: raising would make Hypothesis replay and shrink the
    sequence, and a replay against a server whose state moved on draws differently (Hypothesis then
    ends the run as flaky, hiding the failure). For the same reason a run that Hypothesis ends as flaky
    anyway (an id bundle that was filled before is empty now) is simply followed by a fresh one, as
    Schemathesis' own runner does.
    """
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    schema.config.update(base_url=url)
    for method, path in NOT_CALLED:
        schema = schema.exclude(method=method, path=path)
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": address}
    found = Findings()

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case):
            # On the case, not in the call's keyword arguments: Schemathesis sends a case that has headers
            # of its own (it generates some) with those alone, without the keyword arguments' ones.
            case.headers = {**(case.headers or {}), **headers}

        def get_call_kwargs(self, case):
            return {"timeout": 30}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            found.answers[f"{response.status_code // 100}xx"] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as group:
                found.violations += [f"{case.operation.label} → {response.status_code}: {failure.title}:"
                                     f" {failure.message[:500]}\n  {case.as_curl_command(headers)}"
                                     for failure in group.exceptions]

    while found.calls < calls:
        try:
            Machine.run(settings=settings(max_examples=EXAMPLES_PER_RUN, deadline=None, database=None,
                                          phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
        except Flaky:
            found.restarts += 1
    return found


@pytest.mark.parametrize("role", ROLES)
def test_stateful_calls_as_each_role_answer_no_5xx_and_only_what_the_document_says(served, role):
    server, tokens, address = served
    started = time.monotonic()
    found = run_statefully(server.url, tokens[role], address, CALLS)
    seconds = time.monotonic() - started
    print(f"\n{role}: {found.calls:,} calls in {seconds:.0f} s ({found.calls / seconds:.0f}/s),"
          f" {dict(sorted(found.answers.items()))}, {len(found.violations)} violations, {found.restarts} restarts")
    assert found.violations == []
    assert found.answers["5xx"] == 0
    assert found.answers["2xx"] > 0, "every role can do something"
