"""Household proposals (新增农户申报): the households cadres proposed from the phone (sync command
`propose_household`, offline too), listed for the county office, which confirms one (the household is
registered), merges it into a household already on record, or refuses it with a reason. Each decision is
a line of the county's audit log; the proposal's personal fields are opened for the admins who decide.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from projections import proposals
from services.domain import commands as c
from services.identity.sessions import audit
from services.personal import keys_of, open_free_text, open_personal

from .auth import ADMIN
from .reading import NewestFirst, Page, audit_personal_read, keyset_page, reading, schema_of
from .routing import Call, endpoint
from .writing import CommandOutcome, command_endpoint

PROPOSAL = "/proposals/{proposal_id:uuid}"


class ProposalsQuery(NewestFirst):
    state: Literal["pending", "confirmed", "merged", "refused"] = Field(
        "pending", description="pending: still to confirm, merge or refuse")


@endpoint("GET", "/proposals", query=ProposalsQuery, response=Page, roles=ADMIN, tags=["households"],
          summary="Households proposed by cadres from the phone, newest first (pending by default)",
          description="Each row: the proposed household (`household_id`, the id it is registered under when "
                      "confirmed), place, tags, size, the head's name, phone and notes, `proposed_by` (cadre), "
                      "`state`, and once decided `decided_at`, `merged_into` (merged) or `reason` (refused).")
async def proposals_list(call: Call) -> Page:
    query: ProposalsQuery = call.query
    async with reading(call) as conn:
        answer = await proposals.page(conn, schema_of(call), state=query.state, limit=query.limit,
                                      after=query.after)
        keys = await keys_of(conn, schema_of(call), [item["household_id"] for item in answer["items"]])
    answer["items"] = [_opened(item, keys.get(item["household_id"])) for item in answer["items"]]
    await audit_personal_read(call, [item["household_id"] for item in answer["items"]], listing=True)
    return keyset_page(answer, query.limit)


def _opened(item: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """A proposal row with its sealed fields opened (None once its household's key is gone)."""
    household_id = item["household_id"]
    personal = open_personal(item.pop("personal"), key, household_id)
    return {**item, "address": open_free_text(item["address"], key, household_id),
            "reason": open_free_text(item["reason"], key, household_id), "head_name": personal.head_name,
            "phone": personal.phone, "notes": personal.notes, "erased": personal.erased}


def _audited(action: str) -> Any:
    async def then(call: Call, outcome: CommandOutcome) -> None:
        """A decision is a line of the audit log (a resend adds none); the reason stays in the event, sealed."""
        assert call.session is not None
        if outcome.status == "applied":
            detail = {"proposal_id": str(call.path["proposal_id"])}
            if action == "proposal.merged":
                detail["household_id"] = str(call.body.household_id)
            async with call.db.acquire() as conn:
                await audit(conn, action, call.session.user_id, call.session.username, call.county, detail=detail)
    return then


routes = [
    proposals_list,
    command_endpoint(c.ConfirmProposal, PROPOSAL + "/confirm", "Confirm a proposed household: register it",
                     "households", then=_audited("proposal.confirmed")),
    command_endpoint(c.MergeProposal, PROPOSAL + "/merge",
                     "Merge a proposed household into one already on record", "households",
                     then=_audited("proposal.merged")),
    command_endpoint(c.RefuseProposal, PROPOSAL + "/refuse", "Refuse a proposed household, with a reason",
                     "households", then=_audited("proposal.refused")),
]
