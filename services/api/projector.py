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
- if it dies, the server starts it again after RESTART_SECONDS; meanwhile `/readyz` reports the lag.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from contextlib import suppress

log = logging.getLogger("grassroots.projector")

RESTART_SECONDS = 1.0


async def supervise(url: str, stop: asyncio.Event, stop_seconds: float) -> None:
    """Run `grassroots projector` for the database at `url` until `stop`, starting it again if it ends;
    then give it `stop_seconds` to finish its batch."""
    while not stop.is_set():
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.cli", "projector", "--until-stdin-closes",
            stdin=asyncio.subprocess.PIPE, start_new_session=True,
            env={**os.environ, "DATABASE_URL": url})
        exited = asyncio.ensure_future(child.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if stop.is_set():
            await _end(child, stop_seconds)
            return
        log.error("the projector (pid %d) exited with %s; starting it again in %.0f s",
                  child.pid, child.returncode, RESTART_SECONDS)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RESTART_SECONDS)


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
