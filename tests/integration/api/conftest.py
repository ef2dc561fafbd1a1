"""Shared fixtures for the HTTP tests: the app against the session's real PostgreSQL, test counties,
an account of every role, logged-in httpx clients, and a live uvicorn server on a loopback port.

    async def test_something(api):
        admin = await api.client("county_admin")            # county A unless told otherwise
        outcome = api.execute(COUNTY_A, some_command)       # write directly through County.execute
        response = await admin.get("/api/v1/me")

Counties use adcodes no real county has (91xxxx, 92xxxx) so they never meet the demo's. A and B share
province 910000; C is in province 920000. The prefecture viewer's prefecture 930100 (province 930000)
holds none of them: tests that need its counties provision them (test_queries_prefecture.py).
"""
from __future__ import annotations

import asyncio
import itertools
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher, profiles

from services.api.app import create_app
from services.county import Actor, County, Outcome
from services.domain import commands as c
from services.identity import ROLES, User, ensure_user
from services.identity.users import use_password_hasher
from services.storage.database import connect
from services.storage.schemas import provision_county
from services.tenancy import Counties

COUNTY_A, COUNTY_B, COUNTY_C = "910001", "910002", "920001"
PROVINCE_AB, PROVINCE_C = "910000", "920000"
PREFECTURE = "930100"
TEST_COUNTIES = {
    COUNTY_A: ("测试甲县", "测试省", PROVINCE_AB, (18.64, 109.70)),
    COUNTY_B: ("测试乙县", "测试省", PROVINCE_AB, (19.03, 109.84)),
    COUNTY_C: ("测试丙县", "另一省", PROVINCE_C, (26.57, 107.98)),
}
PROVINCE_OF = {adcode: spec[2] for adcode, spec in TEST_COUNTIES.items()}
PASSWORD = "test-password-1"
DEPARTMENT = "县民政局"
COUNTY_ROLES = [role for role in ROLES if role not in ("province_viewer", "prefecture_viewer")]

_addresses = (f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}" for n in itertools.count(1))


def fresh_address() -> str:
    """A client address no other test used, so login throttling by address never spills over."""
    return next(_addresses)


def username(role: str, place: str) -> str:
    return f"t_{role}_{place}"


@dataclass(frozen=True)
class Account:
    role: str
    place: str  # county adcode, or province code for province_viewer, prefecture code for prefecture_viewer
    user: User

    @property
    def username(self) -> str:
        return self.user.username


def admin_actor(county: str) -> Actor:
    return Actor(user_id="test-fixture", roles=frozenset({"county_admin"}), county=county)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> None:
    # Hundreds of logins and throttled failures: argon2's default profile would take minutes on 2 cores.
    use_password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture(scope="session")
def test_counties(database_url: str) -> dict[str, object]:
    return {adcode: provision_county(database_url, adcode, name, province, province_code=code, centroid=centroid)
            for adcode, (name, province, code, centroid) in TEST_COUNTIES.items()}


@pytest.fixture(scope="session")
def county_apps(database_url: str, test_counties) -> Iterator[Counties[County]]:
    registry = Counties(database_url, County)
    yield registry
    registry.close()


@pytest.fixture(scope="session")
def accounts(database_url: str, county_apps: Counties[County]) -> dict[tuple[str, str], Account]:
    """One account per role and test county (province viewers per province); cadres are enrolled."""
    made: dict[tuple[str, str], Account] = {}
    with connect(database_url) as conn:
        for adcode in TEST_COUNTIES:
            enrolled = county_apps.get(adcode).execute(
                c.EnrolCadre(command_id=uuid.uuid4(), name="测试干部", rank="staff", unit="县委组织部"),
                admin_actor(adcode))
            assert enrolled.status == "applied", enrolled
            for role in COUNTY_ROLES:
                user = ensure_user(conn, username(role, adcode), roles=[role], password=PASSWORD, county=adcode,
                                   display_name=f"{role} {adcode}",
                                   cadre_id=enrolled.result["id"] if role == "cadre" else None,
                                   department=DEPARTMENT if role == "department" else None)
                made[(role, adcode)] = Account(role, adcode, user)
        for province in (PROVINCE_AB, PROVINCE_C):
            user = ensure_user(conn, username("province_viewer", province), roles=["province_viewer"],
                               password=PASSWORD, province=province)
            made[("province_viewer", province)] = Account("province_viewer", province, user)
        user = ensure_user(conn, username("prefecture_viewer", PREFECTURE), roles=["prefecture_viewer"],
                           password=PASSWORD, prefecture=PREFECTURE)
        made[("prefecture_viewer", PREFECTURE)] = Account("prefecture_viewer", PREFECTURE, user)
    return made


class Api:
    """Clients of one running app, logged in as any test account."""

    def __init__(self, app, accounts: dict[tuple[str, str], Account], county_apps: Counties[County]) -> None:
        self.app = app
        self.accounts = accounts
        self.county_apps = county_apps
        self._tokens: dict[str, str] = {}
        self._clients: list[httpx.AsyncClient] = []

    def anonymous(self, address: str = "127.0.0.1", token: str | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 50000))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)
        self._clients.append(client)
        return client

    def account(self, role: str, county: str = COUNTY_A) -> Account:
        place = PROVINCE_OF[county] if role == "province_viewer" else PREFECTURE if role == "prefecture_viewer" \
            else county
        return self.accounts[(role, place)]

    async def token(self, role: str, county: str = COUNTY_A) -> str:
        name = self.account(role, county).username
        if name not in self._tokens:
            response = await self.anonymous().post("/api/v1/session", json={"username": name, "password": PASSWORD})
            assert response.status_code == 201, response.text
            self._tokens[name] = response.json()["token"]
        return self._tokens[name]

    async def client(self, role: str, county: str = COUNTY_A) -> httpx.AsyncClient:
        """A client logged in as the test account of `role` in `county` (its province for province_viewer)."""
        return self.anonymous(token=await self.token(role, county))

    def execute(self, county: str, command: c.Command) -> Outcome:
        """Write through the County directly, as a county admin (for setting up data)."""
        return self.county_apps.get(county).execute(command, admin_actor(county))

    # Objects for tests, written through the County (as its admin, or as its test cadre for field work).

    def cadre_actor(self, county: str = COUNTY_A) -> Actor:
        user = self.accounts[("cadre", county)].user
        return Actor(user_id=str(user.id), roles=frozenset({"cadre"}), county=county, cadre_id=user.cadre_id)

    def _applied(self, outcome: Outcome) -> uuid.UUID:
        assert outcome.status == "applied", outcome
        return uuid.UUID(outcome.result["id"])

    def household(self, county: str = COUNTY_A, **fields) -> uuid.UUID:
        township = county + "001"
        values = dict(command_id=uuid.uuid4(), village=township + "001", township=township, address="一组 3 号",
                      lat=18.64, lon=109.70, size=3, head_name="王某", tags=["empty_nest_elderly"])
        return self._applied(self.execute(county, c.RegisterHousehold(**{**values, **fields})))

    def cadre(self, county: str = COUNTY_A) -> uuid.UUID:
        return self._applied(self.execute(county, c.EnrolCadre(command_id=uuid.uuid4(), name="李某", rank="staff",
                                                                unit="县委组织部")))

    def pairing(self, county: str = COUNTY_A) -> uuid.UUID:
        return self._applied(self.execute(county, c.FormPairing(
            command_id=uuid.uuid4(), cadre_id=self.cadre(county), target_kind="household",
            target_id=str(self.household(county)), programme="结穷亲", formed_on="2026-01-05")))

    def visit(self, county: str = COUNTY_A, household_id: uuid.UUID | None = None) -> uuid.UUID:
        command = c.CheckIn(command_id=uuid.uuid4(), target_kind="household",
                            target_id=str(household_id or self.household(county)), kind="home",
                            occurred_at=datetime.now(UTC), note="身体还好")
        return self._applied(self.county_apps.get(county).execute(command, self.cadre_actor(county)))

    def issue(self, county: str = COUNTY_A, department: str | None = None) -> uuid.UUID:
        """An issue raised by the county's test cadre; routed to `department` when given."""
        issue_id = self._applied(self.county_apps.get(county).execute(c.RaiseIssue(
            command_id=uuid.uuid4(), source_kind="visit", village=county + "001001", category="道路",
            summary="村道塌方", occurred_at=datetime.now(UTC)), self.cadre_actor(county)))
        if department is not None:
            self._applied(self.execute(county, c.RouteIssue(
                command_id=uuid.uuid4(), issue_id=issue_id, expected_version=1, route="department",
                department=department, deadline="2099-12-31")))
        return issue_id

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


# Package scope: the app's projection driver must stop when these tests end, or it would compete with
# the drivers that the projections tests start for the same counties.
@pytest.fixture(scope="package")
async def api_app(database_url: str, test_counties, accounts):
    app = create_app(database_url, projector="inline", pwa_dir=None)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="package")
async def api(api_app, accounts, county_apps) -> AsyncIterator[Api]:
    clients = Api(api_app, accounts, county_apps)
    yield clients
    await clients.close()


@dataclass(frozen=True)
class LiveServer:
    url: str


@pytest.fixture(scope="package")
async def live_server(database_url: str, test_counties, accounts) -> AsyncIterator[LiveServer]:
    """The app served by uvicorn on a loopback port (real HTTP, real connections), without a projector."""
    app = create_app(database_url, projector=None, pwa_dir=None)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
        await asyncio.sleep(0.02)
    yield LiveServer(url=f"http://127.0.0.1:{port}")
    server.should_exit = True
    await task
    sock.close()
