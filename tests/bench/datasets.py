"""The benchmark datasets of issue 12, made by the demo generator and loaded by the bulk path.

- `county40k`: 琼中 (469030) at real size: 40,265 households and a year of work (~80,000 visits,
  ~2,100 pairings with their visits, ~2,000 issues with their routes, resolutions, replies and ratings,
  interviews, ~430 cadres): ~135,000 commands, ~270,000 events (each command's event and its receipt).
- `county290k`: the same shape at 292,000 households (~980,000 commands, ~1.96 million events).
- `province38`: 38 generated counties of the county40k shape in one generated province (tests/bench/geography.py).
- `tenants3000`: 3,000 provisioned counties, 30 of them with a demo-size year (~2,000 households each).

Each county's log is made in memory by the County's own rules (services/demo/bulk.py) and copied in
with COPY; the log and keys are cached in `.grassroots-bench/<dataset>/<version>/` (git-ignored), where
the version is a digest of the code that makes events, so a second run only copies. A dataset is
loaded into a database that has nothing else: the read models are left to `projections.rebuild` (which
the benchmarks time). Run `python -m tests.bench.datasets county40k` to load one into a fresh embedded
PostgreSQL and print what it took.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from urllib.parse import urlsplit
from uuid import UUID

from services.demo.bulk import BulkLog, decide, store
from services.demo.generator import Shape, Step, county_steps
from services.demo.geography import PREFECTURE, PROVINCE, PROVINCE_CODE, DemoCounty, county
from services.demo.loader import county_geojson
from services.identity import ensure_tables as ensure_identity_tables
from services.identity import ensure_user
from services.storage.database import connect, embedded_server
from services.storage.schemas import ensure_core, provision_county
from tests.bench.geography import BASE, PROVINCE38, TENANTS, generated_county, province38_adcodes, tenant_adcodes
from tests.e2e.seed import ROOT

SEED = 2026
PASSWORD = "bench-2026"
CACHE = ROOT / ".grassroots-bench"
# The code whose change changes the events: a new digest makes a new cache entry (as does a Part's change).
EVENT_SOURCES = ("services/demo/generator.py", "services/demo/contacts.py", "services/demo/geography.py",
                 "services/demo/bulk.py", "services/domain", "services/county.py", "services/personal.py",
                 "tests/bench/geography.py")
RESUME = os.environ.get("BENCH_RESUME") == "1"
PROVISIONING_THREADS = 4  # provisioning is round trips: a few at once keep PostgreSQL busy


def real_shape(scale: float) -> Shape:
    """A real county's year (issue 12: 40,000 households, 80,000 visits, 2,000 pairings, 2,000 issues):
    a village work team of ~6 per 625 households, five pairings each; fewer visits and issues per
    household than the demo's showcase."""
    return Shape(village_team=max(1, round(scale * 0.3)), general_visits=(22, 31, 32, 12, 3),
                 festival_reach=0.5, issue_odds=0.24, contacts=False)  # as the figures measured before them


@dataclass(frozen=True)
class Part:
    """A county of a dataset with a year of work: its map, its size (the demo's households × scale)."""

    place: DemoCounty
    scale: float
    shape: Shape
    province: tuple[str, str] = (PROVINCE, PROVINCE_CODE)
    prefecture: str | None = PREFECTURE

    def steps(self) -> list[Step]:
        return county_steps(self.place, SEED, self.scale, shape=self.shape)


@dataclass(frozen=True)
class Dataset:
    name: str
    parts: tuple[Part, ...]
    empty: tuple[DemoCounty, ...] = ()  # provisioned, no events
    description: str = ""


def dataset(name: str) -> Dataset:
    if name == "county40k":
        return Dataset(name, (Part(county(BASE), 20.0, real_shape(20.0)),),
                       description="琼中 (469030) at 40,265 households, a year of work")
    if name == "county290k":
        return Dataset(name, (Part(county(BASE), 144.0, real_shape(144.0)),),
                       description="琼中 (469030) at 292,000 households, the same shape")
    if name == "province38":
        return Dataset(name, tuple(Part(generated_county(a, i), 20.0, real_shape(20.0), PROVINCE38, None)
                                   for i, a in enumerate(province38_adcodes())),
                       description="38 generated counties of the county40k shape in one generated province")
    if name == "tenants3000":
        places = [generated_county(a, i) for i, a in enumerate(tenant_adcodes())]
        return Dataset(name, tuple(Part(p, 1.0, Shape(), TENANTS, None) for p in places[:30]), tuple(places[30:]),
                       description="3,000 provisioned counties, 30 with a demo-size year")
    raise KeyError(f"no dataset {name!r}: county40k, county290k, province38 or tenants3000")


NAMES = ("county40k", "county290k", "province38", "tenants3000")


def code_version() -> str:
    digest = hashlib.sha256(f"eventsourcing {version('eventsourcing')}".encode())
    for source in EVENT_SOURCES:
        path = ROOT / source
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(ROOT).as_posix().encode() + file.read_bytes())
    return digest.hexdigest()[:12]


@dataclass
class Account:
    username: str
    cadre_id: UUID | None = None


@dataclass
class Loaded:
    """A dataset in a database, with what it took."""

    dataset: Dataset
    url: str
    accounts: dict[str, Account]  # admin, cadre (a village cadre of the first county), viewer
    commands: int = 0
    events: int = 0
    decide_seconds: float = 0.0  # in memory (0 when every log came from the cache)
    copy_seconds: float = 0.0
    provision_seconds: float = 0.0
    cached: list[str] = field(default_factory=list)  # adcodes whose log came from the cache

    @property
    def adcodes(self) -> list[str]:
        return [p.place.adcode for p in self.dataset.parts]


def county_log(name: str, part: Part) -> tuple[BulkLog, bool]:
    """The county's log: from the cache, or made now (and cached). True when it was cached."""
    made_of = hashlib.sha256(repr((SEED, part)).encode()).hexdigest()[:12]  # its size, shape and map
    path = CACHE / name / code_version() / f"{part.place.adcode}-{made_of}.pickle"
    if path.exists():
        with path.open("rb") as file:
            return pickle.load(file), True
    log = decide(part.place.adcode, part.steps())
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".partial")
    with scratch.open("wb") as file:
        pickle.dump(log, file, protocol=pickle.HIGHEST_PROTOCOL)
    scratch.rename(path)  # a run stopped while writing leaves no half entry
    return log, False


def provision(url: str, place: DemoCounty, province: tuple[str, str], prefecture: str | None) -> None:
    provision_county(url, place.adcode, place.name, province[0], prefecture=prefecture, province_code=province[1],
                     centroid=(place.lat, place.lon), boundary=county_geojson(place))


def load(name: str, url: str, *, progress: bool = True) -> Loaded:
    """Provision the dataset's counties in the (empty) database at `url` and copy their logs in."""
    chosen = dataset(name)
    ensure_core(url)
    loaded = Loaded(chosen, url, {})
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if progress else (lambda text: None)
    cadres: tuple[UUID, UUID] | None = None
    done = resumed(url, {p.place.adcode for p in chosen.parts}) if RESUME else {}
    for number, part in enumerate(chosen.parts, 1):
        started = time.monotonic()
        log, cached = county_log(name, part)
        decided = time.monotonic()
        if part.place.adcode in done:  # BENCH_RESUME: loaded by a run that stopped later
            if done[part.place.adcode] != len(log.events):
                raise RuntimeError(f"BENCH_RESUME: county {part.place.adcode} holds {done[part.place.adcode]:,}"
                                   f" events, its log {len(log.events):,}: start on an empty database")
            provisioned = stored = decided
        else:
            provision(url, part.place, part.province, part.prefecture)
            provisioned = time.monotonic()
            store(url, log)
            stored = time.monotonic()
        if cached:
            loaded.cached.append(part.place.adcode)
        else:
            loaded.decide_seconds += decided - started
        loaded.provision_seconds += provisioned - decided
        loaded.copy_seconds += stored - provisioned
        loaded.commands += log.commands
        loaded.events += len(log.events)
        if cadres is None:
            cadres = village_cadres(log)
        say(f"  {name} {number}/{len(chosen.parts)} {part.place.adcode}: {log.commands:,} commands,"
            f" {len(log.events):,} events ({'cached' if cached else f'decided in {decided - started:.0f} s'},"
            f" copied in {stored - provisioned:.1f} s)")
    empty = [p for p in chosen.empty if p.adcode not in done]
    if len(empty) < len(chosen.empty):
        say(f"  {name}: BENCH_RESUME: {len(chosen.empty) - len(empty):,} empty counties were provisioned before")
    if empty:
        started = time.monotonic()
        with ThreadPoolExecutor(PROVISIONING_THREADS) as pool:
            list(pool.map(lambda p: provision(url, p, TENANTS, None), empty))
        loaded.provision_seconds += time.monotonic() - started
        say(f"  {name}: {len(empty):,} empty counties provisioned in {time.monotonic() - started:.0f} s")
    assert cadres is not None
    loaded.accounts = make_accounts(url, chosen, cadres)
    return loaded


def resumed(url: str, counted: set[str]) -> dict[str, int]:
    """BENCH_RESUME: the registered counties, with the event count of those in `counted` (the others -1),
    so that a run on a database that a stopped run filled (3,000 counties on Citus take over an hour to
    provision) loads only what is missing. Its section's provisioning figure is then the missing ones'."""
    with connect(url) as conn:
        adcodes = [row[0] for row in conn.execute("SELECT adcode FROM core.counties ORDER BY adcode")]
        return {adcode: conn.execute(f"SELECT count(*) FROM county_{adcode}.county_events").fetchone()[0]
                if adcode in counted else -1 for adcode in adcodes}


def village_cadres(log: BulkLog) -> tuple[UUID, UUID]:
    """The first village cadre the county enrols (whose phone the benchmarks use) and the first of
    another township (the probe's, so that its households never meet the load's)."""
    enrolled = [(originator_id, json.loads(state)) for originator_id, _, topic, state in log.events
                if topic.endswith(":Cadre.Enrolled")]
    village = [(i, s["township"]) for i, s in enrolled if s["rank"] == "village_cadre"]
    first = village[0]
    return first[0], next(i for i, township in village if township != first[1])


def make_accounts(url: str, chosen: Dataset, cadres: tuple[UUID, UUID]) -> dict[str, Account]:
    """In the first county: its admin, the load's cadre, the probe's cadre; the province's viewer."""
    first = chosen.parts[0]
    adcode = first.place.adcode
    accounts = {"admin": Account("bench.admin"), "cadre": Account("bench.cadre", cadres[0]),
                "prober": Account("bench.prober", cadres[1]), "viewer": Account("bench.viewer")}
    with connect(url) as conn:
        ensure_identity_tables(conn)
        ensure_user(conn, "bench.admin", roles=("county_admin",), password=PASSWORD, county=adcode)
        for name in ("cadre", "prober"):
            ensure_user(conn, accounts[name].username, roles=("cadre",), password=PASSWORD, county=adcode,
                        cadre_id=accounts[name].cadre_id)
        ensure_user(conn, "bench.viewer", roles=("province_viewer",), password=PASSWORD, province=first.province[1])
    return accounts


@dataclass(frozen=True)
class Server:
    """The database a benchmark measures: its URL, what it is (for the section's header), and the name that
    sets its section apart (None for the embedded server)."""

    url: str
    description: str
    kind: str | None = None


@contextmanager
def bench_database() -> Iterator[Server]:
    """BENCH_DATABASE_URL (an empty database that `grassroots db init` prepared) if set, else a fresh
    embedded PostgreSQL."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        with embedded_database() as url:
            yield Server(url, "a fresh embedded PostgreSQL 16 (pgserver) in a temp dir")
        return
    with connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        citus = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'citus'").fetchone()
        workers = conn.execute("SELECT count(*) FROM citus_get_active_worker_nodes()").fetchone()[0] if citus else 0
    host = urlsplit(url).hostname or "localhost"
    where = "on this machine" if host in ("localhost", "127.0.0.1", "::1") or host.startswith("/") else f"at {host}"
    if citus:
        yield Server(url, f"Citus {citus[0]} on PostgreSQL {version}, a coordinator and {workers} workers {where}"
                          " (BENCH_DATABASE_URL, the coordinator's)", "Citus")
    else:
        yield Server(url, f"PostgreSQL {version} {where} (BENCH_DATABASE_URL)", f"PostgreSQL {version.split('.')[0]}")


@contextmanager
def embedded_database() -> Iterator[str]:
    """A fresh embedded PostgreSQL in a temp dir (never the developer's .grassroots), stopped after."""
    import shutil

    datadir = tempfile.mkdtemp(prefix="gr-bench-", dir="/tmp")
    server = embedded_server(datadir, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(datadir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.bench.datasets [--cache-only] NAME…`: load each into a fresh embedded PostgreSQL and
    say what it took, or (--cache-only) just make the logs the cache lacks."""
    args = argv if argv is not None else sys.argv[1:]
    cache_only = "--cache-only" in args
    for name in [a for a in args if a != "--cache-only"] or ["county40k"]:
        if cache_only:
            for part in dataset(name).parts:
                log, cached = county_log(name, part)
                print(f"{name} {part.place.adcode}: {len(log.events):,} events {'cached' if cached else 'made'}")
            continue
        with embedded_database() as url:
            started = time.monotonic()
            loaded = load(name, url)
            print(f"{name}: {loaded.commands:,} commands, {loaded.events:,} events"
                  f" in {time.monotonic() - started:.0f} s"
                  f" (decide {loaded.decide_seconds:.0f} s, provision {loaded.provision_seconds:.0f} s,"
                  f" copy {loaded.copy_seconds:.0f} s = {loaded.events / max(loaded.copy_seconds, 1e-9):,.0f} events/s;"
                  f" cached: {len(loaded.cached)} of {len(loaded.dataset.parts)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
