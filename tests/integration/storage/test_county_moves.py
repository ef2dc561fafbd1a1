"""`grassroots county list|move|rebalance` (issue 14, item 5): where each county is on Citus, moving one to
another worker, spreading them evenly; and a clear refusal on plain PostgreSQL.

The Citus tests use a database of their own (on every node, prepared by `grassroots db init`), so a
rebalance moves only their counties. Counties are made without the read side's tables (~50 more tables
each to copy): the read side's part in a move is tested under a sync load (test_county_move_under_sync).
"""
from __future__ import annotations

import pytest

from services.cli import main
from services.storage import schemas
from services.storage.citus import is_citus
from services.storage.database import connect
from services.storage.moves import Node, county_nodes, workers
from services.storage.schemas import provision_county

ADCODES = ("870001", "870002", "870003")


def on_citus(url: str) -> bool:
    with connect(url) as conn:
        return is_citus(conn)


@pytest.fixture(scope="module")
def citus_url(database_url: str, new_database) -> str:
    if not on_citus(database_url):
        pytest.skip("Citus only: on plain PostgreSQL every county is on the one server (refusal tested below)")
    url = new_database("moves")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schemas, "_projection_tables", lambda: None)
        for adcode in ADCODES:
            provision_county(url, adcode, f"搬迁县{adcode}", "测试省")
    return url


def placement(url: str) -> dict[str, Node | None]:
    with connect(url) as conn:
        return county_nodes(conn)


def nodes(url: str) -> list[Node]:
    with connect(url) as conn:
        return workers(conn)


def events(url: str, adcode: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(f"SELECT * FROM county_{adcode}.county_events ORDER BY notification_id").fetchall()


def test_county_list_shows_the_worker_citus_placed_each_county_on(citus_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", citus_url)
    assert main(["county", "list"]) == 0
    out = capsys.readouterr().out
    with connect(citus_url) as conn:
        # Citus's own view of where each schema's shards are, against what the list says.
        citus = dict(conn.execute(
            "SELECT DISTINCT substr(table_name::text, 8, 6), nodename || ':' || nodeport FROM citus_shards"
            " WHERE table_name::text LIKE 'county\\_87%'").fetchall())
    assert set(citus) == set(ADCODES)
    for adcode in ADCODES:
        assert f"{adcode}  搬迁县{adcode}  测试省  on {citus[adcode]}" in out


def test_a_county_moves_to_another_worker_with_its_events_and_says_how_it_goes(citus_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", citus_url)
    adcode = ADCODES[0]
    with connect(citus_url) as conn:
        conn.execute(f"INSERT INTO county_{adcode}.county_events (originator_id, originator_version, topic, state)"
                     " VALUES (gen_random_uuid(), 1, 'test:Moved', '\\x7b7d')")
    before = events(citus_url, adcode)
    source = placement(citus_url)[adcode]
    target = next(node for node in nodes(citus_url) if node != source)

    assert main(["county", "move", adcode, "--to", str(target)]) == 0
    out = capsys.readouterr().out
    assert f"moving county {adcode} (county_{adcode}) from {source} to {target} (online)" in out
    assert f"county {adcode} is on {target} (" in out
    assert placement(citus_url)[adcode] == target
    assert events(citus_url, adcode) == before and before
    assert main(["county", "list"]) == 0
    assert f"{adcode}  搬迁县{adcode}  测试省  on {target}" in capsys.readouterr().out

    assert main(["county", "move", adcode, "--to", str(target)]) == 0  # there already: nothing to do
    assert f"county {adcode} is on {target} already: nothing to move" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["879999", "--to", "127.0.0.1:1"], "no county 879999 in this database"),
    ([ADCODES[1], "--to", "127.0.0.1:1"], "127.0.0.1:1 is not a worker of this cluster that takes counties"),
    ([ADCODES[1], "--to", "worker1"], "give the target worker as HOST:PORT"),
    (["87", "--to", "127.0.0.1:1"], "must be 6 digits"),
])
def test_a_move_that_cannot_be_made_is_refused_with_exit_code_2_and_moves_nothing(citus_url, monkeypatch, capsys,
                                                                                   argv, message):
    monkeypatch.setenv("DATABASE_URL", citus_url)
    before = placement(citus_url)
    assert main(["county", "move", *argv]) == 2
    assert message in capsys.readouterr().err
    assert placement(citus_url) == before


def test_rebalance_spreads_the_counties_evenly_over_the_workers(citus_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", citus_url)
    first, *others = nodes(citus_url)
    for adcode in ADCODES:  # all on one worker
        assert main(["county", "move", adcode, "--to", str(first)]) == 0
    capsys.readouterr()

    assert main(["county", "rebalance", "--dry-run"]) == 0
    planned = capsys.readouterr().out
    assert f"counties per worker: {first} 3, " in planned and "1 move to make (dry run)" in planned
    assert set(placement(citus_url).values()) == {first}

    assert main(["county", "rebalance"]) == 0
    out = capsys.readouterr().out
    assert "[1/1] moving county " in out and "[1/1] county " in out
    counts = [sum(1 for node in placement(citus_url).values() if node == worker) for worker in (first, *others)]
    assert sorted(counts) == [1, 2]
    assert main(["county", "rebalance"]) == 0
    assert "balanced already: nothing to move" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["move", "469029", "--to", "worker3:5432"], ["rebalance"]])
def test_moving_on_plain_postgresql_is_refused_with_exit_code_2_saying_why(database_url, monkeypatch, capsys, argv):
    if on_citus(database_url):
        pytest.skip("plain PostgreSQL only: on Citus the commands move counties (tested above)")
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["county", *argv]) == 2
    assert "this database is plain PostgreSQL, not a Citus coordinator" in capsys.readouterr().err


def test_county_list_on_plain_postgresql_names_no_node(database_url, monkeypatch, capsys):
    if on_citus(database_url):
        pytest.skip("plain PostgreSQL only: on Citus each county's worker is listed (tested above)")
    monkeypatch.setenv("DATABASE_URL", database_url)
    provision_county(database_url, "870009", "单机县", "测试省")
    assert main(["county", "list"]) == 0
    out = capsys.readouterr().out
    assert "870009  单机县  测试省\n" in out and " on " not in out
