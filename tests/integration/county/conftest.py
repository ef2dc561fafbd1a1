"""Fixtures: a freshly provisioned county with its County application, and actors to act in it."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from services.county import Actor, County
from services.domain import commands as c
from services.storage.recorder import county_env
from services.storage.schemas import provision_county

# Adcodes no real county has (97xxxx), apart from other test areas' ranges.
_adcodes = itertools.count(970001)
# A village and its township, as codes of the county's own (places belong to their county).
VILLAGE, TOWNSHIP = "100001", "100"


def place(county: County, code: str) -> str:
    """The county's place of that code: `place(county, VILLAGE)` is its village 100001."""
    return county.adcode + code


def new_county(database_url: str) -> County:
    adcode = str(next(_adcodes))
    provision_county(database_url, adcode, name=f"测试县{adcode}", province="测试省")
    return County(env=county_env(adcode, database_url))


@pytest.fixture
def county(database_url: str) -> Iterator[County]:
    app = new_county(database_url)
    yield app
    app.close()


@pytest.fixture
def admin(county: County) -> Actor:
    return Actor(user_id="admin-1", roles={"county_admin"}, county=county.adcode)


def applied(outcome) -> UUID:
    assert outcome.status == "applied", outcome
    return UUID(outcome.result["id"])


def register(county: County, admin: Actor, **changes) -> UUID:
    fields = dict(village=place(county, VILLAGE), township=place(county, TOWNSHIP), address="保城镇新民村",
                  lat=18.64, lon=109.70, size=3, head_name="黄阿妹", phone="13800000000", notes="独居老人",
                  tags=["empty_nest_elderly"])
    return applied(county.execute(c.RegisterHousehold(command_id=uuid4(), **{**fields, **changes}), admin))


def enrol(county: County, admin: Actor, name: str = "王小明") -> UUID:
    return applied(county.execute(c.EnrolCadre(command_id=uuid4(), name=name, rank="staff", unit="组织部"), admin))


def cadre_actor(county: County, cadre_id: UUID, user_id: str = "cadre-1") -> Actor:
    return Actor(user_id=user_id, roles={"cadre"}, county=county.adcode, cadre_id=cadre_id)


def check_in(household_id: UUID, **changes) -> c.CheckIn:
    fields = dict(target_kind="household", target_id=str(household_id), kind="home",
                  occurred_at=datetime.now(UTC),
                  position=c.Position(lat=18.64, lon=109.70, accuracy_m=8.0, provider="gps"),
                  topics=["医保"], note="老人腿脚不便")
    return c.CheckIn(command_id=uuid4(), **{**fields, **changes})


def raise_issue(county: County, household_id: UUID | None = None, **changes) -> c.RaiseIssue:
    fields = dict(source_kind="visit", household_id=household_id, village=place(county, VILLAGE), category="医疗",
                  summary="村卫生室缺药", occurred_at=datetime.now(UTC))
    return c.RaiseIssue(command_id=uuid4(), **{**fields, **changes})
