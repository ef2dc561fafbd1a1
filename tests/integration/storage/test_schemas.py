"""County provisioning, the county registry, the tenancy registry and the `grassroots county` command.

Counties in the shared test database use 88xxxx adcodes: no real county has them, nor any other test area.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.cli import main
from services.storage import schemas
from services.storage.database import connect
from services.storage.names import InvalidAdcode
from services.storage.schemas import get_county, list_counties, provision_county
from services.tenancy import UnknownCounty

from .conftest import County, Tally


def catalog(url: str, schema: str) -> list[tuple]:
    """Every relation, type and function in a schema, and the county's registry row."""
    with connect(url) as conn:
        relations = conn.execute(
            "SELECT relname, relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE nspname = %s ORDER BY 1", (schema,),
        ).fetchall()
        functions = conn.execute(
            "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE nspname = %s",
            (schema,),
        ).fetchall()
        registry = conn.execute(
            "SELECT adcode, name, province, centroid_lat, centroid_lon, rules, created_at FROM core.counties"
            " WHERE 'county_' || adcode = %s", (schema,),
        ).fetchall()
    return relations + functions + registry


def test_provisioning_makes_the_county_schema_with_events_snapshots_keys_and_read_side_tables(database_url):
    county = provision_county(database_url, "880029", "保亭黎族苗族自治县", "海南省", prefecture=None,
                              province_code="460000", centroid=(18.64, 109.70), rules={"household_visits_per_year": 2})
    assert (county.adcode, county.name, county.province, county.centroid) == (
        "880029", "保亭黎族苗族自治县", "海南省", (18.64, 109.70))
    assert county.rules == {"household_visits_per_year": 2} and county.schema == "county_880029"
    with connect(database_url) as conn:
        tables = {row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'county_880029'")}
        composite_types = conn.execute(
            "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " WHERE nspname = 'county_880029' AND typname LIKE 'stored_event%'").fetchone()[0]
    assert {"county_events", "county_snapshots", "household_keys", "projection_tracking"} <= tables
    assert composite_types == 0  # nothing per schema that a shared connection would have to learn


def test_provisioning_a_county_twice_changes_nothing(database_url):
    provision_county(database_url, "880030", "琼中黎族苗族自治县", "海南省", centroid=(19.03, 109.84))
    before = catalog(database_url, "county_880030")
    provision_county(database_url, "880030", "另一个名字", "海南省", centroid=(0.0, 0.0))
    assert catalog(database_url, "county_880030") == before
    assert get_county(database_url, "880030").name == "琼中黎族苗族自治县"


@pytest.mark.parametrize("adcode", ["46902", "4690290", "46902x", "", "county_469029", "469 029"])
def test_an_adcode_that_is_not_six_digits_is_refused_with_a_clear_error(database_url, adcode):
    with pytest.raises(InvalidAdcode, match="must be 6 digits"):
        provision_county(database_url, adcode, "某县", "某省")


@pytest.mark.parametrize(("name", "province", "centroid", "message"), [
    ("", "海南省", None, "needs a name and a province"),
    ("某县", "  ", None, "needs a name and a province"),
    ("某县", "海南省", (109.7, 18.6 + 100), "centroid must be"),
])
def test_a_county_without_name_or_province_or_with_a_wrong_centroid_is_refused(database_url, name, province, centroid,
                                                                               message):
    with pytest.raises(ValueError, match=message):
        provision_county(database_url, "880001", name, province, centroid=centroid)
    assert get_county(database_url, "880001") is None


def test_list_counties_gives_every_provisioned_county_in_adcode_order(database_url, new_county):
    adcodes = [new_county(), new_county()]
    listed = [county.adcode for county in list_counties(database_url)]
    assert listed == sorted(listed) and set(adcodes) <= set(listed)


def test_the_registry_gives_one_application_per_county_even_to_concurrent_first_requests(new_county, counties):
    adcode = new_county()
    apps: list[County] = []
    threads = [threading.Thread(target=lambda: apps.append(counties.get(adcode))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(app) for app in apps}) == 1 and len(counties) == 1
    assert apps[0].recorder.datastore.schema == f"county_{adcode}"


def test_the_registry_keeps_each_countys_events_in_its_own_schema(new_county, counties):
    first, second = counties.get(new_county()), counties.get(new_county())
    tally = Tally("only in the first")
    first.save(tally)
    assert first.repository.get(tally.id).label == "only in the first"
    assert tally.id not in second.repository
    assert second.recorder.max_notification_id() is None


def test_an_unknown_county_raises_unknown_county_and_makes_no_application(counties):
    with pytest.raises(UnknownCounty, match="county 889999 is not provisioned") as raised:
        counties.get("889999")
    assert raised.value.adcode == "889999" and len(counties) == 0
    with pytest.raises(InvalidAdcode):
        counties.get("../etc")


def test_the_county_command_adds_and_lists_counties(database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["county", "add", "880002", "--name", "琼海市", "--province", "海南省",
                 "--lat", "19.26", "--lon", "110.47"]) == 0
    assert "county 880002 琼海市 (海南省) ready in schema county_880002" in capsys.readouterr().out
    assert main(["county", "list"]) == 0
    assert "880002  琼海市  海南省  (19.26, 110.47)" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["469", "--name", "x", "--province", "y"], "must be 6 digits"),
    (["469003", "--name", "x", "--province", "y", "--lat", "19.0"], "give both --lat and --lon"),
])
def test_the_county_command_explains_bad_input_and_exits_2(database_url, monkeypatch, capsys, argv, message):
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["county", "add", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.fixture
def fresh_database(new_database):
    """A new, empty database on the test server (no `core` schema yet)."""
    return new_database("grassroots_fresh", prepared=False)


def test_concurrent_provisioning_on_a_fresh_database_does_not_collide_in_the_catalog(fresh_database, monkeypatch):
    monkeypatch.setattr(schemas, "_projection_tables", lambda: None)  # the read side's DDL has its own lock
    adcodes = ["469029", "469029", "469029", "469030", "469001", "469002"]
    with ThreadPoolExecutor(len(adcodes)) as pool:
        provisioned = list(pool.map(lambda adcode: provision_county(fresh_database, adcode, "某县", "海南省"), adcodes))
    assert [county.adcode for county in provisioned] == adcodes
    assert [county.adcode for county in list_counties(fresh_database)] == ["469001", "469002", "469029", "469030"]


def test_a_county_is_added_while_another_is_still_making_its_tables(new_database, monkeypatch):
    """Counties added at once do not wait for each other: on Citus each county's tables take 1-2 s of DDL,
    and 3,000 took over an hour when every county waited for the one before (it held the read side's DDL
    lock and, on Citus, the registry's reference table from its first statement to its commit)."""
    url = new_database("grassroots_parallel")  # prepared: on Citus, core.counties is a reference table
    ensure_tables = schemas._projection_tables()
    assert ensure_tables is not None
    made, release, outcome = threading.Event(), threading.Event(), {}

    def held_open(conn, schema, **options):
        ensure_tables(conn, schema, **options)
        if schema == "county_469001":  # its transaction stays open, its tables made, until the other is added
            made.set()
            outcome["released"] = release.wait(60)

    monkeypatch.setattr(schemas, "_projection_tables", lambda: held_open)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(provision_county, url, "469001", "五指山市", "海南省")
        assert made.wait(60)
        second = provision_county(url, "469002", "文昌市", "海南省")
        release.set()
        assert first.result().adcode == "469001"
    assert outcome["released"], "the second county waited for the first one's transaction"
    assert second.adcode == "469002"
    assert [county.adcode for county in list_counties(url)] == ["469001", "469002"]
    tables = {adcode: catalog(url, f"county_{adcode}") for adcode in ("469001", "469002")}
    assert len(tables["469001"]) == len(tables["469002"]) > 60  # every table of each, the read side's too


def test_the_demo_flag_and_rules_revisions_are_added_to_databases_made_before_them(database_url, new_county):
    from services.storage.schemas import ensure_core

    plain, invented = new_county(), new_county()
    generated = '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"generated": true}}]}'
    with connect(database_url) as conn:
        conn.execute("UPDATE core.counties SET boundary = %s WHERE adcode = %s", (generated, invented))
        # as made before the flag and the rules revisions existed
        conn.execute("ALTER TABLE core.counties DROP COLUMN demo, DROP COLUMN rules_revision,"
                     " DROP COLUMN judged_revision")
    ensure_core(database_url)
    with connect(database_url) as conn:
        flags = dict(conn.execute("SELECT adcode, demo FROM core.counties WHERE adcode IN (%s, %s)",
                                  (plain, invented)).fetchall())
        revisions = conn.execute("SELECT rules_revision, judged_revision FROM core.counties WHERE adcode = %s",
                                 (plain,)).fetchone()
    assert flags == {plain: False, invented: True}
    assert tuple(revisions.values() if isinstance(revisions, dict) else revisions) == (0, 0)


def test_ensuring_core_again_does_not_wait_for_readers_of_the_registry(database_url):
    """Every `user add` and `county add` runs it while the server reads core.counties on each request:
    it must take no lock that waits for them (a reader stuck in a transaction would stall it)."""
    from services.storage.schemas import ensure_core

    ensure_core(database_url)
    with connect(database_url) as reader, reader.transaction():
        reader.execute("SELECT count(*) FROM core.counties").fetchone()
        ensure_core(impatient(database_url))  # raises LockNotAvailable if it waits for the reader


def test_adding_a_county_does_not_wait_for_a_transaction_writing_the_province_rollup(database_url, new_county):
    """Another county's rebuild writes `rollup` in a transaction open for its whole swap. Adding a county
    waited for it (the rollup's `ADD COLUMN IF NOT EXISTS` locks the table whole even with nothing to add,
    and every province query then queued behind the waiting DDL). In the API tests the wait was a hang:
    the rebuild ran on the event loop that the test adding a county blocked."""
    new_county()  # the shared tables are there
    with connect(database_url) as writer, writer.transaction():
        writer.execute("LOCK TABLE rollup.rollup_county_months, rollup.rollup_counties, core.county_positions,"
                       " core.projection_positions IN ROW EXCLUSIVE MODE")
        new_county(impatient(database_url))  # raises LockNotAvailable if it waits for the writer


def impatient(url: str) -> str:
    """`url` with a lock timeout of 3 s: a statement that waits for a lock fails instead."""
    return url + ("&" if "?" in url else "?") + "options=-c%20lock_timeout%3D3000"


def test_db_init_makes_every_shared_table_on_a_fresh_database_and_places_them_on_citus(
        fresh_database, monkeypatch, capsys):
    from services.storage.citus import REFERENCE_TABLES, is_citus

    monkeypatch.setenv("DATABASE_URL", fresh_database)
    for _ in range(2):  # idempotent: the second run finds everything as the first left it
        assert main(["db", "init"]) == 0
    shared = {"core.counties", "core.users", "core.sessions", "core.login_attempts", "core.audit_log",
              "core.county_positions", "core.projection_positions", "rollup.rollup_county_months",
              "rollup.rollup_counties"}
    with connect(fresh_database) as conn:
        tables = {f"{schema}.{name}" for schema, name in conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('core', 'rollup')")}
        on_citus = is_citus(conn)
        if on_citus:
            kinds = dict(conn.execute("SELECT table_name::text, citus_table_type FROM citus_tables").fetchall())
            distributed_schemas = conn.execute("SELECT count(*) FROM citus_schemas").fetchone()[0]
    assert shared <= tables
    if on_citus:
        # the registry and the accounts on every node; nothing else of core or rollup left the coordinator
        assert kinds == {table: "reference" for table in REFERENCE_TABLES}
        assert distributed_schemas == 0
        assert "database ready on Citus" in capsys.readouterr().out
    else:
        assert "database ready (PostgreSQL)" in capsys.readouterr().out


def test_a_county_added_on_citus_is_a_distributed_schema_with_all_its_tables(database_url, monkeypatch):
    from services.storage.citus import is_citus

    with connect(database_url) as conn:
        if not is_citus(conn):
            pytest.skip("Citus only: on PostgreSQL a county schema is a plain schema")
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["county", "add", "880031", "--name", "五指山市", "--province", "海南省"]) == 0
    with connect(database_url) as conn:
        placed = conn.execute("SELECT count(*) FROM citus_schemas WHERE schema_name = 'county_880031'::regnamespace"
                              ).fetchone()[0]
        local = conn.execute(
            "SELECT count(*) FROM pg_tables t WHERE schemaname = 'county_880031' AND NOT EXISTS"
            " (SELECT FROM citus_tables c WHERE c.table_name = format('%I.%I', schemaname, tablename)::regclass)"
        ).fetchone()[0]
        core_schemas = conn.execute("SELECT count(*) FROM citus_schemas WHERE schema_name::text"
                                    " IN ('core', 'rollup')").fetchone()[0]
    assert (placed, local, core_schemas) == (1, 0, 0)
