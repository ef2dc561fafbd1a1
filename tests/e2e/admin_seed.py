"""Data for the admin and province browser tests, added to the field tests' county (seed.py).

A second township of the test county gets its own cadre and households registered on 5 January of
this year and visited through the year (by that cadre, at the household, so every visit is verified),
so that the as-of slider has history to replay; the field tests' cadre is left alone. Issues sit on
every route: one routed to the civil affairs bureau and overdue, one not routed yet, one for the
monthly review, one routed to another department. A neighbour county in the province gives the
province ranking a second row. Accounts: that cadre, a county admin, the civil affairs bureau
(department) and a province viewer.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial

from services.county import Actor, County
from services.domain import clock
from services.domain import commands as c
from services.identity import ensure_user
from services.storage.database import connect
from services.storage.schemas import provision_county
from services.tenancy import Counties

from .seed import COUNTY, PASSWORD, Seeded

PROVINCE_CODE = "930000"
OTHER_COUNTY = "930009"  # 930002 is the field tests' demo county
TOWNSHIP = "930001002"
VILLAGE = "930001002001"
ORIGIN = (18.70, 109.76)  # the second township's households, east of the first's
HOUSEHOLDS = 8
ADMIN, DEPARTMENT_USER, PROVINCE_USER, CADRE = "e2e_admin", "e2e_civil", "e2e_province", "e2e_cadre_east"
DEPARTMENT, OTHER_DEPARTMENT = "县民政局", "县住建局"


@dataclass
class AdminSeeded:
    households: list[dict]
    issues: dict[str, str] = field(default_factory=dict)  # name -> issue id


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 3, 0, tzinfo=UTC)  # 11:00 in China


def seed_admin(database_url: str, seeded: Seeded) -> AdminSeeded:
    """Adds to the county `seeded` made (it must exist first)."""
    year = date.today().year
    registry = Counties(database_url, County)
    try:
        county = registry.get(COUNTY)
        admin = Actor(user_id="e2e-admin-fixture", roles=frozenset({"county_admin"}), county=COUNTY)

        def run(make, actor: Actor, moment: datetime) -> str:
            with clock.at(moment):  # commands check device times against "now": build them then
                outcome = county.execute(make(), actor)
            assert outcome.status == "applied", outcome
            return str(outcome.result["id"])

        # Our own cadre, so that the field tests' cadre keeps figures of its own.
        cadre_id = run(partial(c.EnrolCadre, command_id=uuid.uuid4(), name="赵东片", rank="staff", unit="县委组织部",
                                             township=TOWNSHIP), admin, _at(year, 1, 4))
        cadre = Actor(user_id="e2e-cadre-fixture", roles=frozenset({"cadre"}), county=COUNTY,
                      cadre_id=uuid.UUID(cadre_id))

        households = []
        for n in range(HOUSEHOLDS):
            place = {"lat": ORIGIN[0] + n * 0.001, "lon": ORIGIN[1] + n * 0.001}
            household_id = run(partial(c.RegisterHousehold,
                command_id=uuid.uuid4(), village=VILLAGE, township=TOWNSHIP, address=f"测试三村{n + 1}号",
                size=4, head_name=f"老户{n + 1:02d}", tags=["empty_nest_elderly"], **place), admin, _at(year, 1, 5))
            households.append({"id": household_id, **place})
        # Visits: two in February, two more in June, one in September (the slider replays them).
        for n, month in ((0, 2), (1, 2), (2, 6), (3, 6), (0, 9)):
            household = households[n]
            moment = _at(year, month, 10 + n)
            run(partial(c.CheckIn,
                command_id=uuid.uuid4(), target_kind="household", target_id=household["id"], kind="home",
                occurred_at=moment, position={"lat": household["lat"], "lon": household["lon"], "accuracy_m": 8,
                                              "provider": "gps"}, note="拉家常"), cadre, moment)

        # A section chief paired with a household and a party branch: the pairings filters have ranks and
        # a target without a place to tell apart.
        chief = run(partial(c.EnrolCadre, command_id=uuid.uuid4(), name="钱科长", rank="section_chief",
                                          unit="县委组织部", township=TOWNSHIP), admin, _at(year, 1, 4))
        for kind, target in (("household", households[0]["id"]), ("party_branch", "测试三村党支部")):
            run(partial(c.FormPairing, command_id=uuid.uuid4(), cadre_id=uuid.UUID(chief), target_kind=kind,
                                       target_id=target, programme="五个一", formed_on=date(year, 1, 6)),
                admin, _at(year, 1, 6))

        issues = {}

        def raise_issue(name: str, moment: datetime, category: str) -> str:
            issues[name] = run(partial(c.RaiseIssue,
                command_id=uuid.uuid4(), source_kind="visit", household_id=households[0]["id"], village=VILLAGE,
                category=category, summary=f"{category}问题（{name}）", occurred_at=moment), cadre, moment)
            return issues[name]

        def route(name: str, moment: datetime, **how) -> None:
            run(partial(c.RouteIssue, command_id=uuid.uuid4(), issue_id=issues[name], expected_version=1,
                                      **how), admin, moment)

        late = _at(year, 10, 1)
        raise_issue("overdue", late, "低保")
        route("overdue", late, route="department", department=DEPARTMENT, deadline=(late + timedelta(days=14)).date())
        raise_issue("unrouted", datetime.now(UTC) - timedelta(hours=2), "道路")
        raise_issue("review", datetime.now(UTC) - timedelta(hours=3), "饮水")
        route("review", datetime.now(UTC), route="monthly_review")
        raise_issue("elsewhere", datetime.now(UTC) - timedelta(hours=4), "危房")
        route("elsewhere", datetime.now(UTC), route="department", department=OTHER_DEPARTMENT,
              deadline=date.today() + timedelta(days=30))

        provision_county(database_url, OTHER_COUNTY, "测试邻县", "测试省", province_code=PROVINCE_CODE,
                         centroid=(18.90, 109.95))
        neighbour = registry.get(OTHER_COUNTY)
        other_admin = Actor(user_id="e2e-admin-fixture", roles=frozenset({"county_admin"}), county=OTHER_COUNTY)
        for n in range(3):
            outcome = neighbour.execute(c.RegisterHousehold(
                command_id=uuid.uuid4(), village="930009001001", township="930009001", address=f"邻县{n + 1}号",
                lat=18.90 + n * 0.001, lon=109.95, size=2, head_name=f"邻户{n + 1}", tags=[]), other_admin)
            assert outcome.status == "applied", outcome
    finally:
        registry.close()
    with connect(database_url) as conn:
        ensure_user(conn, CADRE, roles=["cadre"], password=PASSWORD, county=COUNTY, display_name="赵东片",
                    cadre_id=cadre_id)
        ensure_user(conn, ADMIN, roles=["county_admin"], password=PASSWORD, county=COUNTY, display_name="组织部管理员")
        ensure_user(conn, DEPARTMENT_USER, roles=["department"], password=PASSWORD, county=COUNTY,
                    display_name="县民政局", department=DEPARTMENT)
        ensure_user(conn, PROVINCE_USER, roles=["province_viewer"], password=PASSWORD, province=PROVINCE_CODE,
                    display_name="省委组织部")
    return AdminSeeded(households=households, issues=issues)
