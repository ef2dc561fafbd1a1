"""Households (民情档案): one household's record, visits and open issues; registering, moving, retagging
and archiving one; erasing its personal data (services/erasure.py). The bulk import of a household
file is `imports.py`."""
from __future__ import annotations

from uuid import UUID

from anyio import to_thread
from pydantic import BaseModel, Field

from projections import issues, verdicts
from services.domain import commands as c
from services.domain.errors import NotFound
from services.erasure import AUDIT_ACTION, ErasureRequest, erase_household
from services.identity.sessions import audit

from .auth import ADMIN, PERSONAL_ROLES
from .errors import not_found
from .reading import Document, county_app, lookup, reading, schema_of
from .routing import Call, endpoint
from .writing import command_endpoint

HOUSEHOLD = "/households/{household_id:uuid}"


@endpoint("GET", HOUSEHOLD, response=Document, roles=PERSONAL_ROLES, tags=["households"],
          summary="One household: its record, visit history and open issues")
async def household_detail(call: Call) -> Document:
    household_id = call.path["household_id"]
    household = await lookup(call, "household", household_id, ("household", "户"))
    async with reading(call) as conn:
        visits = await verdicts.checkins(conn, schema_of(call), household_id=household_id)
        open_issues = await issues.of_household(conn, schema_of(call), household_id, open_only=True)
    return Document({**household, "visits": visits, "open_issues": open_issues})


class ErasureAnswer(BaseModel):
    household_id: UUID
    erased: bool = Field(True, description="always true: the household's personal data is erased")
    already_erased: bool = Field(description="true when it had been erased before this request")


@endpoint("DELETE", HOUSEHOLD + "/personal-data", query=ErasureRequest, response=ErasureAnswer, roles=ADMIN,
          tags=["households"], summary="Erase a household's personal data (PIPL art. 47)",
          description="Deletes the household's key, so its name, phone, notes, address, visit notes and its "
                      "issues' texts can no longer be read anywhere; its events and figures remain. "
                      "`reason` is required and kept in the audit log. Erasing again answers "
                      "`already_erased: true`.")
async def erase_personal_data(call: Call) -> ErasureAnswer:
    assert call.session is not None
    household_id = call.path["household_id"]
    try:
        erasure = await to_thread.run_sync(erase_household, county_app(call), household_id)
    except NotFound:
        raise not_found("household", "农户") from None
    async with call.db.acquire() as conn:
        await audit(conn, AUDIT_ACTION, call.session.user_id, call.session.username, call.county,
                    detail=erasure.audit_detail(call.query.reason, "api"))
    return ErasureAnswer(household_id=household_id, already_erased=erasure.already_erased)


routes = [
    household_detail,
    erase_personal_data,
    command_endpoint(c.RegisterHousehold, "/households", "Register a household (民情档案)", "households"),
    command_endpoint(c.RelocateHousehold, HOUSEHOLD + "/relocate", "Move a household", "households"),
    command_endpoint(c.RetagHousehold, HOUSEHOLD + "/retag", "Change a household's tags", "households"),
    command_endpoint(c.ArchiveHousehold, HOUSEHOLD + "/archive", "Archive a household", "households"),
]
