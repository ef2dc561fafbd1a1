"""Fixtures of the read-side tests: provisioned counties in the session's PostgreSQL."""
from __future__ import annotations

import pytest

from services.storage.schemas import provision_county


@pytest.fixture(scope="session")
def county(database_url: str):
    """Provision a county by adcode (idempotent); returns its schema name.

    Once per adcode and session: property tests call it in every example, and a second provisioning,
    though it changes nothing, still runs its ~180 `IF NOT EXISTS` statements (0.1–0.2 s an example;
    each sent on to the worker on Citus). The examples' `reset_county` restores what a test's rebuild
    or reset may have dropped of the read side."""
    provisioned: set[str] = set()

    def provision(adcode: str) -> str:
        if adcode not in provisioned:
            provision_county(database_url, adcode, name=f"测试县{adcode}", province="海南省", province_code="460000")
            provisioned.add(adcode)
        return f"county_{adcode}"

    return provision
