"""Tenancy: one application instance per county, made on first use, all sharing one connection pool."""
from __future__ import annotations

import threading
from typing import Generic, TypeVar
from uuid import UUID

from eventsourcing.application import Application

from services.storage.names import check_adcode
from services.storage.recorder import county_env
from services.storage.schemas import get_county

App = TypeVar("App", bound=Application[UUID])


class UnknownCounty(LookupError):
    """No county with this adcode was provisioned (`grassroots county add`)."""

    def __init__(self, adcode: str):
        super().__init__(
            f"county {adcode} is not provisioned here: "
            f"add it with `grassroots county add {adcode} --name … --province …`"
        )
        self.adcode = adcode


class Counties(Generic[App]):
    """The registry of county applications of one database.

    `get` is called from many request threads at once; each county's application is constructed
    exactly once. Constructing one touches no table (tables exist since provisioning), so the
    registry lock is held only for a registry lookup and a constructor call.
    """

    def __init__(self, url: str, app_class: type[App]):
        self.url = url
        self.app_class = app_class
        self._apps: dict[str, App] = {}
        self._lock = threading.Lock()

    def get(self, adcode: str) -> App:
        adcode = check_adcode(adcode)
        app = self._apps.get(adcode)
        if app is not None:
            return app
        with self._lock:
            app = self._apps.get(adcode)
            if app is None:
                if get_county(self.url, adcode) is None:
                    raise UnknownCounty(adcode)
                app = self.app_class(env=county_env(adcode, self.url))
                self._apps[adcode] = app
            return app

    def __len__(self) -> int:
        return len(self._apps)

    def close(self) -> None:
        with self._lock:
            apps = list(self._apps.values())
            self._apps.clear()
        for app in apps:
            app.close()
