"""The fault tests run real servers whose projectors follow every county of their database: they get a
database of their own on the test server, so other tests' counties (some with test-only event types the
server cannot decode) neither slow them down nor put errors in the logs they read."""
from __future__ import annotations

import pytest

from tests.conftest import create_database


@pytest.fixture(scope="session")
def database_url(database_url: str) -> str:
    return create_database(database_url, "fault")
