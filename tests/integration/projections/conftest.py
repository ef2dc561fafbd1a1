"""Fixtures of the read-side tests: provisioned counties in the session's PostgreSQL."""
from __future__ import annotations

import pytest

from services.storage.schemas import provision_county


@pytest.fixture(scope="session")
def county(database_url: str):
    """Provision a county by adcode (idempotent); returns its schema name."""

    def provision(adcode: str) -> str:
        provision_county(database_url, adcode, name=f"测试县{adcode}", province="海南省", province_code="460000")
        return f"county_{adcode}"

    return provision
