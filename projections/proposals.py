"""Household proposals (新增农户申报): what cadres proposed from the phone and what the county office
decided, for the admin's list of proposals (pending first: the ones to confirm, merge or refuse).

One row per proposal, its state as the events left it. Personal fields (head's name, phone, notes) and the
address stay sealed here exactly as the event holds them (`services.personal`); the API opens them with
the proposed household's key for those allowed to see them.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from projections.base import Projection, event_name, parse_keyset, parse_time
from projections.base import as_uuid as _uuid
from projections.rules import Rules
from services.domain.proposal import PROPOSAL_STATES
from services.storage.connections import AsyncConnection

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.proposals_households ("
    " proposal_id uuid PRIMARY KEY, household_id uuid NOT NULL, village text NOT NULL, township text NOT NULL,"
    " address text NOT NULL, lat double precision NOT NULL, lon double precision NOT NULL, tags text[] NOT NULL,"
    " size int NOT NULL, personal text NOT NULL, proposed_by uuid NOT NULL, occurred_at timestamptz NOT NULL,"
    " proposed_at timestamptz NOT NULL, version bigint NOT NULL, state text NOT NULL, decided_at timestamptz,"
    " decided_by text, merged_into uuid, reason text)",
    # The admin's list: one state's proposals, newest first, by keyset.
    "CREATE INDEX IF NOT EXISTS proposals_households_state ON {schema}.proposals_households"
    " (state, proposed_at DESC, proposal_id DESC)",
]

DECISIONS = {"HouseholdProposal.Confirmed": "confirmed", "HouseholdProposal.Merged": "merged",
             "HouseholdProposal.Refused": "refused"}


class Proposals(Projection):
    name = "proposals"
    tables = TABLES

    async def apply(self, conn: AsyncConnection, schema: str, events: Sequence[Any], rules: Rules) -> None:
        proposed, decided = [], []
        for event in events:
            name = event_name(event)
            if name == "HouseholdProposal.Proposed":
                proposed.append((
                    event.originator_id, _uuid(event.household_id), event.village, event.township, event.address,
                    float(event.lat), float(event.lon), list(event.tags), int(event.size), event.personal,
                    _uuid(event.proposed_by), parse_time(event.occurred_at), event.timestamp,
                    event.originator_version,
                ))
            elif name in DECISIONS:
                decided.append((event.originator_id, event.originator_version, DECISIONS[name], event.timestamp,
                                event.decided_by, _uuid(getattr(event, "into", None)), getattr(event, "reason", None)))
        if proposed:
            await conn.executemany(
                f"INSERT INTO {schema}.proposals_households (proposal_id, household_id, village, township, address,"
                " lat, lon, tags, size, personal, proposed_by, occurred_at, proposed_at, version, state)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'pending')", proposed)
        if decided:
            await conn.executemany(
                f"UPDATE {schema}.proposals_households SET version = $2, state = $3, decided_at = $4,"
                " decided_by = $5, merged_into = $6, reason = $7 WHERE proposal_id = $1", decided)


projection = Proposals()

COLUMNS = ("proposal_id, household_id, village, township, address, lat, lon, tags, size, personal, proposed_by,"
           " occurred_at, proposed_at, version, state, decided_at, decided_by, merged_into, reason")


async def page(conn: AsyncConnection, schema: str, *, state: str = "pending", limit: int = 100,
               after: str | None = None) -> dict[str, Any]:
    """One state's proposals, newest first: `{items, next}` (`next`: `<proposed_at>|<proposal id>` of the
    last row, `parse_keyset`). By the state index: the page's rows only."""
    if state not in PROPOSAL_STATES:
        raise ValueError(f"state is one of {', '.join(PROPOSAL_STATES)}, not {state!r}")
    if not 1 <= limit <= 500:
        raise ValueError(f"limit is 1 to 500, not {limit}")
    moment, last_id = parse_keyset(after)
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM {schema}.proposals_households WHERE state = $1"
        " AND ($2::timestamptz IS NULL OR (proposed_at, proposal_id) < ($2, $3::uuid))"
        " ORDER BY proposed_at DESC, proposal_id DESC LIMIT $4", state, moment, last_id, limit + 1)
    items = [dict(row) for row in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    return {"items": items, "next": f"{last['proposed_at'].isoformat()}|{last['proposal_id']}" if last else None}


async def one(conn: AsyncConnection, schema: str, proposal_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM {schema}.proposals_households WHERE proposal_id = $1",
                              proposal_id)
    return None if row is None else dict(row)
