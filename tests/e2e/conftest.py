"""Browser tests of the field PWA: Debian's Chromium driven by pytest-playwright against a REAL server:
`grassroots serve` in a subprocess on a free loopback port, with DATABASE_URL pointing at the test
session's PostgreSQL, serving the built pwa/dist (make test builds it first). Data: seed.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from .seed import CENTROID, ROOT, Seeded, ServerFailed, running_server, seed_county, seed_demo_county, wait_projected

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
PHONE_VIEWPORT = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Server:
    url: str
    database_url: str


@pytest.fixture(scope="session")
def seeded(database_url: str) -> Seeded:
    return seed_county(database_url)


@pytest.fixture(scope="session")
def demo_county(database_url: str) -> None:
    seed_demo_county(database_url)


@pytest.fixture(scope="session")
def server(database_url: str, seeded: Seeded, demo_county: None, tmp_path_factory):
    # Every county exists before the server (and its projector) starts: no provisioning races it.
    try:
        with running_server(database_url, tmp_path_factory.mktemp("server") / "serve.log") as url:
            wait_projected(database_url)  # the seeds are in the answers from the first request on
            yield Server(url=url, database_url=database_url)
    except ServerFailed as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def base_url(server: Server) -> str:
    # Replaces pytest-base-url's fixture (an instance-method session fixture that pytest 9 warns about).
    return server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make debs)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A phone standing in the first village, with a good GPS fix.
    return {
        **browser_context_args,
        "viewport": PHONE_VIEWPORT,
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "geolocation": {"latitude": CENTROID[0], "longitude": CENTROID[1], "accuracy": 12},
        "permissions": ["geolocation", "background-sync"],
        "service_workers": "allow",
    }


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# ---- admin and province views (tests/e2e/test_admin*.py, test_province*.py) --------------------------------------

DESKTOP_VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture(scope="session")
def admin_seeded(database_url: str, seeded: Seeded, server: Server):
    from .admin_seed import seed_admin

    made = seed_admin(database_url, seeded)
    wait_projected(database_url)  # written beside the server: visible once its projector has applied them
    return made


@pytest.fixture
def desktop(admin_seeded, browser, server: Server):
    """A page in a fresh desktop-sized context (the admin views are for office PCs)."""
    context = browser.new_context(base_url=server.url, viewport=DESKTOP_VIEWPORT, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()
