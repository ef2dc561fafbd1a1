"""How many examples a Hypothesis property test of the read side runs: `max_examples=examples(25)`.

All of them in `make test`. `make test-citus` (tests/citus.sh) sets GRASSROOTS_TEST_EXAMPLES to a share
(0.25): the example count proves the logic, which is the same on every server, and on Citus the suites
prove that the same SQL runs and answers the same; there each example costs several times more (every
county statement goes to a worker, a rebuild's DDL is propagated). At least MIN_EXAMPLES still run, so
every property meets a few random histories on Citus too. GRASSROOTS_TEST_EXAMPLES=1 runs them all.
"""
from __future__ import annotations

import math
import os

MIN_EXAMPLES = 3


def examples(count: int) -> int:
    share = float(os.environ.get("GRASSROOTS_TEST_EXAMPLES", "1"))
    if not 0 < share <= 1:
        raise ValueError(f"GRASSROOTS_TEST_EXAMPLES is a share of the examples in (0, 1], got {share}")
    return count if share == 1 else min(count, max(MIN_EXAMPLES, math.ceil(count * share)))
