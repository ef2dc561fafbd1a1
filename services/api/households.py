"""Households (民情档案): one household's record, visits and open issues; registering, moving, retagging
and archiving one. The bulk import of a household file is `imports.py`."""
from __future__ import annotations

from projections import issues, verdicts
from services.domain import commands as c

from .auth import PERSONAL_ROLES
from .reading import Document, lookup, reading, schema_of
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


routes = [
    household_detail,
    command_endpoint(c.RegisterHousehold, "/households", "Register a household (民情档案)", "households"),
    command_endpoint(c.RelocateHousehold, HOUSEHOLD + "/relocate", "Move a household", "households"),
    command_endpoint(c.RetagHousehold, HOUSEHOLD + "/retag", "Change a household's tags", "households"),
    command_endpoint(c.ArchiveHousehold, HOUSEHOLD + "/archive", "Archive a household", "households"),
]
