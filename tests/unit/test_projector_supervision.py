"""A projector process that dies at once is started again after a delay that doubles each time (a crash
loop does not flood the log and the database), and one that stops when asked is not restarted."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from services.api import projector


def supervised(command: tuple[str, ...], for_seconds: float, stop_seconds: float) -> float:
    """Supervise `command` for `for_seconds`, then stop; the seconds the stop took."""
    async def run() -> float:
        stop = asyncio.Event()
        supervising = asyncio.create_task(projector.supervise("postgresql://unused", stop, stop_seconds, command))
        await asyncio.sleep(for_seconds)
        stop.set()
        began = asyncio.get_running_loop().time()
        await asyncio.wait_for(supervising, stop_seconds + 5)
        return asyncio.get_running_loop().time() - began

    return asyncio.run(run())


def starting(starts: Path, then: str) -> tuple[str, ...]:
    """A child that notes its start in `starts`, then runs `then`."""
    return (sys.executable, "-c", f"import sys; open({str(starts)!r}, 'a').write('x\\n'); {then}")


def test_a_crash_loop_backs_off(monkeypatch, tmp_path):
    monkeypatch.setattr(projector, "RESTART_SECONDS", 0.1)
    starts = tmp_path / "starts"
    supervised(starting(starts, "raise SystemExit(3)"), 2.0, 1.0)  # each start exits at once
    count = len(starts.read_text().splitlines())
    # Delays 0.1, 0.2, 0.4, 0.8 s (plus each start's ~0.05 s): about 5 starts in 2 s; a fixed 0.1 s
    # delay would make about 13.
    assert 3 <= count <= 7, count


def test_a_projector_told_to_stop_ends_and_is_not_restarted(tmp_path):
    starts = tmp_path / "starts"
    # Runs until its standard input closes, as `grassroots projector --until-stdin-closes` does.
    took = supervised(starting(starts, "sys.stdin.read()"), 1.0, 5.0)
    assert len(starts.read_text().splitlines()) == 1
    assert took < 2.0, f"it waited {took:.1f} s: the closed pipe did not stop it (killed at 5 s)"
