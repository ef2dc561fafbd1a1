"""`grassroots county rebalance`'s plan: counties spread evenly by count, the smallest moved first."""
from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.storage.moves import MoveRefused, Node, parse_node, rebalance_plan

A, B, C, OLD = Node("10.0.0.1", 5432), Node("10.0.0.2", 5432), Node("10.0.0.3", 5432), Node("10.0.0.9", 5432)


def after(placement: dict[str, Node | None], moves) -> dict[str, Node | None]:
    placed = dict(placement)
    for move in moves:
        assert placed[move.adcode] == move.source, "each move starts where the county is then"
        placed[move.adcode] = move.target
    return placed


def test_a_new_worker_takes_a_third_of_the_counties_the_smallest_first():
    placement: dict[str, Node | None] = {f"90{n:04d}": (A if n % 2 else B) for n in range(12)}
    sizes = {adcode: 1000 - int(adcode[2:]) for adcode in placement}  # the later adcodes are smaller
    moves = rebalance_plan(placement, [A, B, C], sizes)
    assert len(moves) == 4 and {move.target for move in moves} == {C}
    assert Counter(after(placement, moves).values()) == {A: 4, B: 4, C: 4}
    assert sorted(move.adcode for move in moves) == ["900008", "900009", "900010", "900011"]  # 2 from each


def test_balanced_counties_stay_where_they_are_and_a_drained_nodes_counties_leave_it():
    assert rebalance_plan({"900001": A, "900002": B, "900003": A}, [A, B], {}) == []
    placement: dict[str, Node | None] = {"900001": OLD, "900002": OLD, "900003": A, "900004": None}
    placed = after(placement, rebalance_plan(placement, [A, B], {}))
    assert Counter(placed.values()) == {A: 2, B: 1, None: 1}  # nothing left on the drained node
    assert placed["900003"] == A and placed["900004"] is None  # a schema not distributed is left alone


@given(st.dictionaries(st.from_regex(r"9[0-9]{5}", fullmatch=True), st.sampled_from([A, B, C, OLD]), max_size=40),
       st.dictionaries(st.from_regex(r"9[0-9]{5}", fullmatch=True), st.integers(0, 10**9)))
def test_after_the_plan_no_worker_holds_two_more_counties_than_another_and_each_county_moves_once(placement, sizes):
    moves = rebalance_plan(placement, [A, B, C], sizes)
    counts = Counter(after(placement, moves).values())
    assert OLD not in counts
    assert max(counts[n] for n in (A, B, C)) - min(counts[n] for n in (A, B, C)) <= 1
    assert len({move.adcode for move in moves}) == len(moves)


@pytest.mark.parametrize("text", ["worker1", ":5432", "worker1:", "worker1:port", "worker1:70000"])
def test_a_target_that_is_not_host_and_port_is_refused_saying_the_form(text):
    with pytest.raises(MoveRefused, match="HOST:PORT"):
        parse_node(text)


def test_a_target_is_host_and_port():
    assert parse_node("10.0.0.12:5432") == Node("10.0.0.12", 5432)
    assert str(parse_node(" worker-3:6432 ")) == "worker-3:6432"
