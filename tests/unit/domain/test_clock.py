from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.domain import clock


def test_the_clock_reads_real_time_by_default():
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_simulated_moment_applies_inside_the_block_only():
    moment = datetime(2025, 10, 6, 8, 0, tzinfo=UTC)
    with clock.at(moment):
        assert clock.now() == moment
        with clock.at(moment + timedelta(hours=1)):
            assert clock.now() == moment + timedelta(hours=1)
        assert clock.now() == moment
    assert clock.now() != moment


def test_a_simulated_moment_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"), clock.at(datetime(2025, 10, 6)):
        pass
