"""Small hand-written stories for the read models' example tests: build events, project them, query."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from projections.driver import Driver, FollowedCounty, decoder
from projections.registry import by_name
from projections.rules import Rules
from services.domain import Cadre, Household, Pairing, Visit, clock
from tests.integration.projections.strategies import METRE, reset_county, store_events

MINE = ["verdicts", "coverage", "completeness"]


class Story:
    """Events of one county told in order; each call runs at the given moment of the simulated clock."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def household(self, at: datetime, village: str, lat: float, lon: float) -> Household:
        with clock.at(at):
            home = Household(id=uuid.uuid4(), village=village, township=village[:9], address="", lat=lat, lon=lon,
                             tags=[], size=2, personal="sealed")
        self.events += home.collect_events()
        return home

    def cadre(self, at: datetime, township: str | None) -> Cadre:
        with clock.at(at):
            cadre = Cadre(id=uuid.uuid4(), name="c", rank="staff", unit="u", township=township, phone=None)
        self.events += cadre.collect_events()
        return cadre

    def pair(self, at: datetime, cadre: Cadre, home: Household, cadence: str, formed_on: str) -> Pairing:
        with clock.at(at):
            pairing = Pairing(id=uuid.uuid4(), cadre_id=cadre.id, target_kind="household", target_id=str(home.id),
                              programme="结对", cadence=cadence, formed_on=formed_on)
        self.events += pairing.collect_events()
        return pairing

    def visit(self, at: datetime, cadre: Cadre, home: Household | None, *, north_m: float = 0.0,
              accuracy_m: float = 10.0, mock: bool = False, fix: bool = True, occurred_at: datetime | None = None,
              lat: float | None = None, lon: float | None = None, kind: str = "home") -> Visit:
        base_lat, base_lon = (home.lat, home.lon) if home else (lat, lon)
        position = {"lat": (lat if lat is not None else base_lat) + north_m * METRE,
                    "lon": lon if lon is not None else base_lon, "accuracy_m": accuracy_m, "provider": "gps",
                    "is_mock": mock} if fix else None
        with clock.at(at):
            visit = Visit(id=uuid.uuid4(), cadre_id=cadre.id, target_kind="household" if home else "enterprise",
                          target_id=str(home.id) if home else "ENT-7", household_id=home.id if home else None,
                          village=home.village if home else None, kind=kind, occurred_at=occurred_at or at,
                          received_at=at, position=position, topics=[], note="", companions=[], device_id=None)
        self.events += visit.collect_events()
        return visit

    def then(self, at: datetime, aggregate: Any, method: str, *args: Any) -> None:
        with clock.at(at):
            getattr(aggregate, method)(*args)
        self.events += aggregate.collect_events()


async def project(url: str, schema: str, events: list[Any], rules: Rules | None = None,
                  names: list[str] = MINE) -> asyncpg.Connection:
    """A fresh county holding exactly these events, projected by these read models; returns a connection."""
    conn = await asyncpg.connect(url)
    await reset_county(conn, schema)
    await store_events(conn, schema, events)
    await Driver(url, [by_name(n) for n in names], decoder(), 1000, 2).process(
        conn, FollowedCounty(schema.removeprefix("county_"), schema, rules or Rules()))
    return conn
