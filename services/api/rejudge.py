"""Re-judging a county's history when its rules change (`PUT /rules`).

Verdicts (distance, accuracy, impossible travel) and a pairing's default cadence are fixed when an
event is applied, so new rules reach the past only through a rebuild. The server starts one for the
county in the background: queries keep answering from the old tables until the rebuilt ones are
swapped in (projections.rebuild). A change that arrives while one runs queues exactly one more, which
reads the newest rules.

Each change counts up the county's `rules_revision`; a full rebuild records the revision it judged
by in `judged_revision`. A county whose rules are ahead of its judgement is re-judged when a server
starts (one that stopped mid-rebuild leaves it so), and counts as being re-judged meanwhile.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from services.storage.connections import AsyncConnection, AsyncPool
from services.storage.names import REBUILD_LOCK_CLASS

log = logging.getLogger("grassroots.rejudge")


class Rejudging:
    """The app's background rebuilds, one at a time per county."""

    def __init__(self, url: str, pool: AsyncPool) -> None:
        self.url = url
        self.pool = pool
        self.running: dict[str, asyncio.Task[None]] = {}
        self.again: set[str] = set()

    async def resume(self) -> None:
        """Re-judge every county whose rules changed after its last full rebuild."""
        async with self.pool.acquire() as conn:
            behind = await conn.fetch("SELECT adcode FROM core.counties WHERE rules_revision > judged_revision")
        for row in behind:
            log.info("county %s: rules changed since its history was last judged; re-judging", row["adcode"])
            self.start(row["adcode"])

    def start(self, county: str) -> None:
        task = self.running.get(county)
        if task is not None and not task.done():
            self.again.add(county)
            return
        self.running[county] = asyncio.create_task(self._run(county), name=f"rejudge-{county}")

    async def anywhere(self, conn: AsyncConnection, county: str) -> bool:
        """Whether the county's figures are not final yet: its rules are ahead of its last full rebuild
        (so while this or another server re-judges it, or has one queued), or `grassroots projections
        rebuild` is rebuilding it (a rebuild holds the county's rebuild lock)."""
        behind: bool = await conn.fetchval(
            "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2"
            " AND objsubid = 2) OR EXISTS (SELECT FROM core.counties WHERE adcode = $3"
            " AND rules_revision > judged_revision)", REBUILD_LOCK_CLASS, int(county), county)
        return behind

    async def _run(self, county: str) -> None:
        from projections.rebuild import rebuild

        while True:
            self.again.discard(county)
            try:
                [result] = await rebuild(self.url, county=county)
                log.info("county %s re-judged under its new rules: %d events in %.1f s", county, result.events,
                         result.seconds)
            except Exception:  # the driver still follows the county; an operator can rebuild by hand
                log.exception("re-judging county %s failed; run `grassroots projections rebuild --county %s`",
                              county, county)
            if county not in self.again:
                return

    async def close(self) -> None:
        tasks: list[Any] = [task for task in self.running.values() if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
