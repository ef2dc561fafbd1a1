"""The projector beside the API: `grassroots serve` runs the projection driver as a child process.

Ingest (`/sync`) and projection are both Python-bound; on one event loop they shared one GIL, and under a
sustained load the API took most of it while the read models fell behind (docs/benchmarks.md, issue 12).
As its own process the driver gets a core of its own. The driver needs nothing from the API process: it
follows every county through the database (LISTEN/NOTIFY and `core.county_positions`), and readers learn
of its progress the same way (`/readyz`, `/metrics`, the event stream).

The child is tied to the server both ways:
- it reads its standard input, a pipe only the server holds, and stops when that closes, so a server that
  dies (even by `kill -9`) leaves no projector behind;
- it runs in a session of its own, so a Ctrl-C in the terminal reaches only the server, which stops it
  after the requests in flight by closing that pipe (the driver then commits its batch or rolls it back,
  never half of it);
- if it dies, the server starts it again after RESTART_SECONDS, twice as long after each death that came
  within STEADY_SECONDS of its start (up to RESTART_MAX_SECONDS: a crash loop does not flood the log and
  the database); meanwhile `/readyz` reports the lag.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from contextlib import suppress

log = logging.getLogger("grassroots.projector")

RESTART_SECONDS = 1.0
RESTART_MAX_SECONDS = 60.0
STEADY_SECONDS = 60.0  # a projector that ran this long died of something new: back to RESTART_SECONDS


COMMAND = (sys.executable, "-m", "services.cli", "projector", "--until-stdin-closes")


async def supervise(url: str, stop: asyncio.Event, stop_seconds: float, command: Sequence[str] = COMMAND) -> None:
    """Run `grassroots projector` (`command`) for the database at `url` until `stop`, starting it again
    if it ends; then give it `stop_seconds` to finish its batch."""
    delay = RESTART_SECONDS
    while not stop.is_set():
        started = loop_time()
        child = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, start_new_session=True, env={**os.environ, "DATABASE_URL": url})
        exited = asyncio.ensure_future(child.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if stop.is_set():
            await _end(child, stop_seconds)
            return
        delay = RESTART_SECONDS if loop_time() - started >= STEADY_SECONDS else delay
        log.error("the projector (pid %d) exited with %s; starting it again in %.0f s",
                  child.pid, child.returncode, delay)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(2 * delay, RESTART_MAX_SECONDS)


def loop_time() -> float:
    return asyncio.get_running_loop().time()


async def _end(child: asyncio.subprocess.Process, seconds: float) -> None:
    """Close its standard input, then SIGKILL after `seconds` (its batch's transaction rolls back)."""
    if child.stdin is not None:
        child.stdin.close()
    try:
        await asyncio.wait_for(child.wait(), seconds)
    except TimeoutError:
        log.warning("the projector did not stop in %s s; killed (its batch rolls back)", seconds)
        with suppress(ProcessLookupError):
            child.kill()
        await child.wait()
