"""Our recorders pass eventsourcing's own conformance suites, against real PostgreSQL.

Each test gets a fresh county schema (the suites count notification ids from 1) and builds its
recorder through CountyFactory, so the factory's wiring (shared pool, our recorder classes) is what
runs. Every inherited test runs as it is: none asserts stock behaviour that we changed.
"""
from __future__ import annotations

import itertools
from typing import Any

import pytest
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Identifier

from services.storage.database import connect
from services.storage.recorder import (
    APPLICATION_NAME,
    MAX_EVENTS_PER_SAVE,
    CountyAggregateRecorder,
    CountyApplicationRecorder,
    CountyFactory,
    CountyProcessRecorder,
    county_env,
)
from services.storage.names import county_schema

# Adcodes no real county has (9xxxxx), one per test so that every suite starts from an empty log.
_adcodes = itertools.count(900001)


class FreshCountySchema:
    """Mixin: a new county schema and a CountyFactory for it around each test."""

    url: str
    factory: CountyFactory

    @pytest.fixture(autouse=True)
    def _county_schema(self, database_url: str) -> Any:
        adcode = str(next(_adcodes))
        schema = county_schema(adcode)
        with connect(database_url) as conn:
            conn.execute(SQL("CREATE SCHEMA {}").format(Identifier(schema)))
        self.env = Environment(APPLICATION_NAME, {**county_env(adcode, database_url), "CREATE_TABLE": "yes"})
        self.factory = CountyFactory(self.env)
        yield
        self.factory.close()
        with connect(database_url) as conn:
            conn.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(schema)))


class TestCountyAggregateRecorder(FreshCountySchema, AggregateRecorderTestCase):
    def create_recorder(self) -> CountyAggregateRecorder:
        recorder = self.factory.aggregate_recorder("snapshots")
        assert isinstance(recorder, CountyAggregateRecorder)
        return recorder


class TestCountyApplicationRecorder(FreshCountySchema, ApplicationRecorderTestCase):
    def create_recorder(self) -> CountyApplicationRecorder:
        recorder = self.factory.application_recorder()
        assert isinstance(recorder, CountyApplicationRecorder)
        return recorder


class TestCountyTrackingRecorder(FreshCountySchema, TrackingRecorderTestCase):
    def create_recorder(self):  # the stock tracking recorder, on the shared pool
        return self.factory.tracking_recorder()


class TestCountyProcessRecorder(FreshCountySchema, ProcessRecorderTestCase):
    def create_recorder(self) -> CountyProcessRecorder:
        recorder = self.factory.process_recorder()
        assert isinstance(recorder, CountyProcessRecorder)
        return recorder


class TestCountyNotificationIdsDoNotInterleave(FreshCountySchema, NonInterleavingNotificationIDsBaseCase):
    insert_num = MAX_EVENTS_PER_SAVE  # the suite's 1,000 is over our cap per save

    def create_recorder(self) -> CountyApplicationRecorder:
        return self.factory.application_recorder()


class TrackingRecorderSubclass(PostgresTrackingRecorder):
    pass


class TestCountyFactory(FreshCountySchema, InfrastructureFactoryTestCase[CountyFactory]):
    """County env picks our factory by topic, and the factory picks our recorder classes."""

    def expected_factory_class(self) -> type[CountyFactory]:
        return CountyFactory

    def expected_aggregate_recorder_class(self) -> type[CountyAggregateRecorder]:
        return CountyAggregateRecorder

    def expected_application_recorder_class(self) -> type[CountyApplicationRecorder]:
        return CountyApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[PostgresTrackingRecorder]:
        return PostgresTrackingRecorder

    def tracking_recorder_subclass(self) -> type[PostgresTrackingRecorder]:
        return TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[CountyProcessRecorder]:
        return CountyProcessRecorder
