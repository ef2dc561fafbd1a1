"""Households (民情档案): one household's record, visits and open issues; registering, moving, retagging
and archiving one; all its data for an access request (services/access.py) and erasing its personal
data (services/erasure.py). The bulk import of a household file is `imports.py`."""
from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Literal
from uuid import UUID

from anyio import to_thread
from pydantic import BaseModel, Field
from starlette.responses import Response

from projections import issues, verdicts
from projections.base import SHANGHAI
from services import access
from services.domain import commands as c
from services.domain.errors import NotFound
from services.erasure import ErasureRequest, erase_household
from services.ledger import XLSX_MEDIA_TYPE, content_disposition

from .auth import ADMIN, PERSONAL_ROLES
from .errors import not_found
from .reading import Document, audit_personal_read, county_app, lookup, reading, schema_of
from .routing import Call, endpoint
from .writing import command_endpoint

HOUSEHOLD = "/households/{household_id:uuid}"
EXPORTED = "household.exported"


@endpoint("GET", HOUSEHOLD, response=Document, roles=PERSONAL_ROLES, tags=["households"],
          summary="One household: its record, visit history and open issues")
async def household_detail(call: Call) -> Document:
    household_id = call.path["household_id"]
    household = await lookup(call, "household", household_id, ("household", "户"))
    async with reading(call) as conn:
        visits = await verdicts.checkins(conn, schema_of(call), household_id=household_id)
        open_issues = await issues.of_household(conn, schema_of(call), household_id, open_only=True)
    await audit_personal_read(call, [household_id])
    return Document({**household, "visits": visits, "open_issues": open_issues})


class ExportQuery(BaseModel):
    format: Literal["json", "xlsx"] | None = Field(
        None, description="json or xlsx; default: xlsx when the Accept header asks for it, else json")


@endpoint("GET", HOUSEHOLD + "/export", query=ExportQuery, response=Document, roles=ADMIN, tags=["households"],
          content={XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
          summary="All of one household's data, decoded, for an access request (PIPL art. 45): JSON or XLSX",
          description="Its record, its history of changes, its visits and the issues raised about it, with "
                      "every sealed field opened (null, or 已删除 in XLSX, once erased). Audited.")
async def export_household(call: Call) -> Document | Response:
    household_id = call.path["household_id"]
    await lookup(call, "household", household_id, ("household", "户"))
    async with reading(call) as conn:
        checkins = await verdicts.checkins(conn, schema_of(call), household_id=household_id)
        raised = await issues.of_household(conn, schema_of(call), household_id)
    data = await to_thread.run_sync(access.household_data, county_app(call), household_id, checkins, raised)
    wanted = call.query.format or ("xlsx" if XLSX_MEDIA_TYPE in call.request.headers.get("accept", "") else "json")
    await audit_personal_read(call, [household_id], action=EXPORTED, format=wanted)
    if wanted == "json":
        return Document(data)
    filename = f"农户信息-{household_id}-{datetime.now(SHANGHAI).date().isoformat()}.xlsx"
    return Response(await to_thread.run_sync(access.workbook, data), media_type=XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": content_disposition(filename)})


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
    erase = partial(erase_household, county_app(call), household_id, reason=call.query.reason,
                    user_id=call.session.user_id, username=call.session.username, via="api")
    try:
        erasure = await to_thread.run_sync(erase)
    except NotFound:
        raise not_found("household", "农户") from None
    return ErasureAnswer(household_id=household_id, already_erased=erasure.already_erased)


routes = [
    household_detail,
    export_household,
    erase_personal_data,
    command_endpoint(c.RegisterHousehold, "/households", "Register a household (民情档案)", "households"),
    command_endpoint(c.RelocateHousehold, HOUSEHOLD + "/relocate", "Move a household", "households"),
    command_endpoint(c.RetagHousehold, HOUSEHOLD + "/retag", "Change a household's tags", "households"),
    command_endpoint(c.ArchiveHousehold, HOUSEHOLD + "/archive", "Archive a household", "households"),
]
