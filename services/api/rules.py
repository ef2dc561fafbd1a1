"""The county's rules (visits per household per year, pairing cadence, interview rules, verification
distance and accuracy, quotas): read, replace, and whether the county's history is still being re-judged
under the newest ones (services/api/rejudge.py)."""
from __future__ import annotations

from pydantic import BaseModel, Field

from projections.rules import Rules
from services.identity.sessions import audit

from .routing import Call, endpoint

RULES_READERS = {"county_admin", "operator"}


@endpoint("GET", "/rules", response=Rules, roles=RULES_READERS, tags=["rules"],
          summary="The county's rules (defaults filled in)")
async def get_rules(call: Call) -> Rules:
    async with call.db.acquire() as conn:
        stored = await conn.fetchval("SELECT rules FROM core.counties WHERE adcode = $1", call.county)
    return Rules.from_stored(stored, call.county)


@endpoint("PUT", "/rules", body=Rules, response=Rules, roles={"county_admin"}, tags=["rules"],
          summary="Replace the county's rules (fields left out take the defaults)",
          description="The read models judge by these rules. The server re-judges the county's history under "
                      "the new rules in the background: a rebuild, seconds to a minute; the old figures answer "
                      "until the rebuilt ones are swapped in.")
async def put_rules(call: Call) -> Rules:
    assert call.session is not None
    stored = call.body.model_dump(mode="json", exclude_unset=True)
    async with call.db.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE core.counties SET rules = $1::jsonb, rules_revision = rules_revision + 1"
                           " WHERE adcode = $2",
                           Rules.model_validate(stored).model_dump_json(exclude_unset=True), call.county)
        await audit(conn, "rules.changed", call.session.user_id, call.session.username, call.county, detail=stored)
    call.app_state.rejudging.start(call.county)
    return Rules.model_validate(stored)


class RejudgingState(BaseModel):
    running: bool = Field(description="true while the county's history is being re-judged under its newest "
                                      "rules; its figures are final once this is false")


@endpoint("GET", "/rules/rejudging", response=RejudgingState, roles=RULES_READERS, tags=["rules"],
          summary="Whether the county's history is still being re-judged after a rules change",
          description="True while this or any other server, or `grassroots projections rebuild`, rebuilds the "
                      "county's read models.")
async def get_rejudging(call: Call) -> RejudgingState:
    async with call.db.acquire() as conn:
        return RejudgingState(running=await call.app_state.rejudging.anywhere(conn, call.county))


routes = [get_rules, put_rules, get_rejudging]
