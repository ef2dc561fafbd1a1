"""`grassroots demo`: provision the demo province and load its year of field work, once.

Everything goes through the command path users go through (`County.execute` / `execute_many`), with
the simulated clock (`services.domain.clock.at`) set to each command's own time, so the events are
exactly what phones and the office would have produced. No SQL writes the data.

A second run finds the data already there: the province viewer's account is made last, so when it
exists (and the counties have events) the run ends at once. Otherwise every command's `CommandReceipt`
tells what is stored: the loader asks which receipts exist (one query per county) and sends only the
missing commands, which finishes a load that was interrupted.

Demo accounts (all with password `demo-2026`) are printed at the end; cadres without an account of
their own act as user `cadre:<cadre id>` in the events.
"""
from __future__ import annotations

import argparse
import json
import asyncio
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from psycopg import sql
from tqdm import tqdm

from services.county import Actor, County, Outcome
from services.demo import generator
from services.demo.contacts import COUNTY_RULES
from services.demo.generator import DEMO_UNTIL, DEPARTMENT_NAMES, DEPARTMENTS, Step
from services.demo.geography import PREFECTURE, PREFECTURE_CODE, PROVINCE, PROVINCE_CODE, DemoCounty, Polygon, hainan
from services.domain import clock, receipt_id
from services.domain.commands import COMMANDS
from services.identity import ensure_user
from services.identity import ensure_tables as ensure_identity_tables
from services.storage.connections import SyncConnection
from services.storage.database import connect
from services.storage.names import EVENTS_TABLE, county_schema
from services.storage.schemas import provision_county
from services.tenancy import Counties

DEMO_PASSWORD = "demo-2026"
ACCOUNT_PREFIX = {"469029": "baoting", "469030": "qiongzhong", "469001": "wuzhishan"}
# One department per county has a login (water: drinking water and irrigation issues go to it); the
# others act as user `department:<name>` in the events. Every account costs an argon2 hash (~0.5 s here).
DEMO_DEPARTMENT = "shuiwu"  # 水务局
MARKER_ACCOUNT = "hainan.viewer"  # made last: its existence says a load completed
assert DEMO_DEPARTMENT in DEPARTMENTS


class DemoLoadError(RuntimeError):
    """A generated command was not applied: the generator and the domain rules disagree."""


@dataclass(frozen=True)
class DemoAccount:
    username: str
    roles: tuple[str, ...]
    county: str | None
    description: str
    province: str | None = None
    cadre_id: UUID | None = None
    department: str | None = None
    prefecture: str | None = None


PREFECTURE_ACCOUNT = "hainan.prefecture"


@dataclass
class LoadReport:
    commands: int  # commands sent in this run (0 when the demo was already there)
    already_loaded: bool
    seconds: float
    accounts: list[DemoAccount]  # the demo's logins, all with DEMO_PASSWORD
    outcomes: dict[str, int] = field(default_factory=dict)  # status -> count, this run


def demo_accounts(steps: Sequence[Step]) -> list[DemoAccount]:
    """One account for every role: per county an admin, a village cadre and a department; one province
    viewer, one prefecture viewer (the three counties' 市州) and one operator."""
    accounts = []
    for county in hainan():
        prefix = ACCOUNT_PREFIX[county.adcode]
        cadre = next(s for s in steps if s.county == county.adcode and s.command == "enrol_cadre"
                     and s.payload["rank"] == "village_cadre")
        accounts += [
            DemoAccount(f"{prefix}.admin", ("county_admin",), county.adcode, f"{county.short_title}委组织部管理员"),
            DemoAccount(f"{prefix}.cadre", ("cadre",), county.adcode,
                        f"{cadre.payload['name']}（{cadre.payload['unit']}）", cadre_id=cadre.command_id),
        ]
        accounts.append(DemoAccount(f"{prefix}.dept", ("department",), county.adcode,
                                    f"{county.short_title}{DEPARTMENT_NAMES[DEMO_DEPARTMENT]}",
                                    department=DEMO_DEPARTMENT))
    accounts += [
        DemoAccount(PREFECTURE_ACCOUNT, ("prefecture_viewer",), None, f"{PREFECTURE}（市州汇总，无个人信息）",
                    prefecture=PREFECTURE_CODE),
        DemoAccount(MARKER_ACCOUNT, ("province_viewer",), None, f"{PROVINCE}（省级汇总，无个人信息）",
                    province=PROVINCE_CODE),
        DemoAccount("operator", ("operator",), None, "运维"),
    ]
    return accounts


def load_demo(url: str, seed: int = 2026, scale: float = 1.0, *, progress: bool = False,
              until: date = DEMO_UNTIL) -> LoadReport:
    """Provision the three counties and send every demo command not yet applied (idempotent).

    The province viewer's account is made after everything else, so when it exists (and the counties
    have events) the demo is complete and nothing is generated or checked: that answer takes well
    under a second. Otherwise the receipts decide which commands are still to send.
    """
    started = time.monotonic()
    if _completed(url):
        return LoadReport(0, True, time.monotonic() - started, _stored_accounts(url))
    steps = generator.generate(seed, scale, until)
    for county in hainan():
        _provision(url, county)
        list_departments(url, county.adcode)
    pending = {county.adcode: _missing(url, county.adcode, [s for s in steps if s.county == county.adcode])
               for county in hainan()}
    accounts = demo_accounts(steps)
    users = _ensure_accounts(url, [a for a in accounts if a.username != MARKER_ACCOUNT])
    total = sum(len(p) for p in pending.values())
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    counties = Counties(url, County)
    try:
        with tqdm(total=total, unit="cmd", desc="demo", disable=not progress, smoothing=0.05) as bar:
            def load(adcode: str) -> None:
                app = counties.get(adcode)
                for batch in batches(pending[adcode]):
                    results = send(app, batch, _actor(batch[0], users))
                    with lock:
                        for outcome in results:
                            outcomes[outcome.status] = outcomes.get(outcome.status, 0) + 1
                    bar.update(len(batch))

            # One thread per county: counties are independent, and each waits on its own database round
            # trips; on two cores this took half to two thirds of the time of one county after another.
            with ThreadPoolExecutor(max_workers=len(pending)) as pool:
                for future in [pool.submit(load, adcode) for adcode, p in pending.items() if p]:
                    future.result()
    finally:
        counties.close()
    _ensure_accounts(url, [a for a in accounts if a.username == MARKER_ACCOUNT])
    return LoadReport(total, total == 0, time.monotonic() - started, accounts, outcomes)


def _completed(url: str) -> bool:
    with connect(url) as conn:
        tables = _value(conn, "SELECT to_regclass('core.users') IS NOT NULL")
        if not tables or not conn.execute("SELECT 1 FROM core.users WHERE username = %s",
                                          (MARKER_ACCOUNT,)).fetchone():
            return False
        for county in hainan():
            schema = county_schema(county.adcode)
            events = sql.Identifier(schema, EVENTS_TABLE)
            exists = _value(conn, "SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.{EVENTS_TABLE}",))
            if not exists or not conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(events)).fetchone():
                return False
    return True


def _value(conn: SyncConnection, query: str, params: tuple[str, ...] | None = None) -> object:
    """The one value of a query that always returns one row (a SELECT without FROM)."""
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def _stored_accounts(url: str) -> list[DemoAccount]:
    names = [f"{prefix}.{kind}" for prefix in ACCOUNT_PREFIX.values() for kind in ("admin", "cadre", "dept")]
    names += [PREFECTURE_ACCOUNT, MARKER_ACCOUNT, "operator"]
    with connect(url) as conn:
        rows = {row[0]: row for row in conn.execute(
            "SELECT username, roles, county, display_name FROM core.users WHERE username = ANY(%s)", (names,))}
    return [DemoAccount(name, tuple(rows[name][1]), rows[name][2], rows[name][3]) for name in names if name in rows]


def _provision(url: str, county: DemoCounty) -> None:
    # The rules the demo turns on (保亭's 五个一) are the new county's, so the read models are built under
    # them from the start; a county already there keeps what its admin set.
    provision_county(url, county.adcode, county.name, PROVINCE, prefecture=PREFECTURE, province_code=PROVINCE_CODE,
                     centroid=(county.lat, county.lon), boundary=county_geojson(county),
                     rules=COUNTY_RULES.get(county.adcode))
    # The composite assessment's weights, unless the county's admin set its own: a weight changes no read
    # model's table (the score reads it when asked), so no re-judging is needed.
    with connect(url) as conn:
        conn.execute("UPDATE core.counties SET rules = rules || %s::jsonb WHERE adcode = %s"
                      " AND NOT rules ? 'assessment_weights'",
                      (json.dumps({"assessment_weights": generator.ASSESSMENT_WEIGHTS}), county.adcode))


def list_departments(url: str, adcode: str) -> None:
    """The county's departments as records (before any route names one: the list then binds)."""
    with connect(url) as conn:
        conn.cursor().executemany(
            "INSERT INTO core.departments (county, code, name, added_by) VALUES (%s, %s, %s, 'demo')"
            " ON CONFLICT DO NOTHING", [(adcode, code, name) for code, name in DEPARTMENT_NAMES.items()])


def county_geojson(county: DemoCounty) -> dict[str, Any]:
    """The county's map for `core.counties.boundary`: a FeatureCollection of the county, its townships
    and its villages, each feature with `level`, `code`, `name` (villages: `generated: true`)."""
    def polygon(ring: Polygon) -> dict[str, Any]:
        return {"type": "Polygon", "coordinates": [[list(p) for p in (*ring, ring[0])]]}

    features = [{"type": "Feature", "geometry": polygon(county.boundary),
                 "properties": {"level": "county", "code": county.adcode, "name": county.name,
                                "rough": True}}]
    for township in county.townships:
        features.append({"type": "Feature", "geometry": polygon(township.boundary),
                         "properties": {"level": "township", "code": township.code, "name": township.name,
                                        "parent": county.adcode, "seat": [township.lon, township.lat]}})
        features += [{"type": "Feature", "geometry": polygon(v.boundary),
                      "properties": {"level": "village", "code": v.code, "name": v.name, "parent": township.code,
                                     "centre": [v.lon, v.lat], "generated": v.generated}}
                     for v in township.villages]
    return {"type": "FeatureCollection", "features": features}


def _missing(url: str, adcode: str, steps: list[Step]) -> list[Step]:
    """The steps whose command left no receipt yet: all of them on a fresh database, none after a load."""
    receipts = [receipt_id(s.command_id) for s in steps]
    events = sql.Identifier(county_schema(adcode), EVENTS_TABLE)
    with connect(url) as conn:
        found = {row[0] for row in conn.execute(
            sql.SQL("SELECT originator_id FROM {} WHERE originator_id = ANY(%s) AND originator_version = 1")
            .format(events), (receipts,))}
    return [s for s, r in zip(steps, receipts, strict=True) if r not in found]


def _ensure_accounts(url: str, accounts: list[DemoAccount]) -> dict[str, dict[str, Any]]:
    """Make the accounts that are missing (existing ones are left as they are, passwords included);
    answers username -> {id, ...} for every demo account."""
    with connect(url) as conn:
        ensure_identity_tables(conn)
        existing = {row[0]: row[1] for row in conn.execute(
            "SELECT username, id FROM core.users WHERE username = ANY(%s)", ([a.username for a in accounts],))}
        for account in accounts:
            if account.username not in existing:
                user = ensure_user(conn, account.username, roles=account.roles, password=DEMO_PASSWORD,
                                   display_name=account.description, county=account.county,
                                   province=account.province, cadre_id=account.cadre_id,
                                   department=account.department, prefecture=account.prefecture)
                existing[account.username] = user.id
    by_name = {a.username: a for a in accounts}
    return {name: {"id": str(user_id), "account": by_name[name]} for name, user_id in existing.items()}


def _actor(step: Step, users: dict[str, dict[str, Any]]) -> Actor:
    prefix = ACCOUNT_PREFIX[step.county]
    who = step.actor
    if who.role == "county_admin":
        return Actor(users[f"{prefix}.admin"]["id"], frozenset({"county_admin"}), step.county)
    if who.role == "department":
        user_id = users[f"{prefix}.dept"]["id"] if who.department == DEMO_DEPARTMENT else f"department:{who.department}"
        return Actor(user_id, frozenset({"department"}), step.county, department=who.department)
    own = users[f"{prefix}.cadre"]
    user_id = own["id"] if own["account"].cadre_id == who.cadre_id else f"cadre:{who.cadre_id}"
    return Actor(user_id, frozenset({"cadre"}), step.county, cadre_id=who.cadre_id)


def batches(steps: list[Step]) -> Iterator[list[Step]]:
    """Runs of steps with one sender at one moment (the office's January imports), sent together."""
    batch: list[Step] = []
    for step in steps:
        if batch and (step.at != batch[0].at or step.actor != batch[0].actor):
            yield batch
            batch = []
        batch.append(step)
    if batch:
        yield batch


def send(app: County, batch: list[Step], actor: Actor) -> list[Outcome]:
    with clock.at(batch[0].at):
        commands = [COMMANDS[s.command].model_validate(s.payload) for s in batch]
        outcomes = app.execute_many(commands, actor) if len(commands) > 1 else [app.execute(commands[0], actor)]
    for step, outcome in zip(batch, outcomes, strict=True):
        if outcome.status not in ("applied", "duplicate"):
            raise DemoLoadError(f"{step.county} {step.command} {step.command_id} at {step.at.isoformat()}: "
                                f"{outcome.status} {outcome.reason}")
    return outcomes


def main(args: argparse.Namespace) -> int:
    """The `grassroots demo` handler."""
    from services.storage.database import database_url

    if not 0 < args.scale <= 1:
        print(f"error: --scale must be more than 0 and at most 1 (a fraction of the full demo), got {args.scale}",
              file=sys.stderr)
        return 2
    try:
        report = load_demo(database_url(), args.seed, args.scale, progress=sys.stderr.isatty() or args.progress)
    except DemoLoadError as error:
        print(f"error: the demo could not be loaded: {error}", file=sys.stderr)
        return 1
    if report.already_loaded:
        print(f"demo province already loaded (checked in {report.seconds:.1f} s; it keeps the seed and scale"
              " it was first loaded with)")
    else:
        print(f"demo province loaded: {report.commands} commands in {report.seconds:.0f} s")
        # Build the read models now, so the first page a newcomer opens shows the whole province rather
        # than the projector catching up for a minute (it would get there by itself: this is quicker).
        from projections.rebuild import rebuild

        progress = sys.stderr.isatty() or args.progress
        built = [result for adcode in ACCOUNT_PREFIX
                 for result in asyncio.run(rebuild(database_url(), county=adcode, progress=progress))]
        seconds = sum(result.seconds for result in built)
        print(f"read models built from {sum(result.events for result in built):,} events in {seconds:.0f} s")
    print(f"demo accounts (password {DEMO_PASSWORD}); village names and households are generated:")
    for account in report.accounts:
        print(f"  {account.username:<20} {'/'.join(account.roles):<16} {account.description}")
    return 0
