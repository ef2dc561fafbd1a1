"""Fixtures for the storage tests: fresh counties, and a trivial County application.

The storage layer must not depend on the domain, so these tests use their own small aggregate in an
Application named "County" (the name decides the table names, as for services.county.County).
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from services.storage import schemas
from services.storage.schemas import provision_county
from services.tenancy import Counties

# Adcodes no real county has (8xxxxx), so tests never collide with the demo province.
_adcodes = itertools.count(800001)


class Tally(Aggregate):
    @event("Opened")
    def __init__(self, label: str):
        self.label = label
        self.count = 0

    @event("Counted")
    def count_one(self) -> None:
        self.count += 1


class County(Application):
    name = "County"


@pytest.fixture
def new_county(database_url: str, monkeypatch: pytest.MonkeyPatch):
    """Provision a fresh county and give its adcode.

    Without the read side's tables: they cost ~0.4 s per county to create and play no part in the
    write path (test_schemas checks that real provisioning makes them).
    """
    monkeypatch.setattr(schemas, "_projection_tables", lambda: None)

    def provision(url: str = database_url) -> str:
        """`url`: the test database's, with options of its own (e.g. a lock timeout)."""
        # Past the counties an earlier run on the same database left (TEST_DATABASE_URL): a fresh one.
        adcode = str(next(_adcodes))
        while schemas.get_county(database_url, adcode) is not None:
            adcode = str(next(_adcodes))
        provision_county(url, adcode, f"测试县{adcode}", "测试省", centroid=(18.6, 109.7))
        return adcode

    return provision


@pytest.fixture
def counties(database_url: str) -> Iterator[Counties[County]]:
    registry = Counties(database_url, County)
    yield registry
    registry.close()
