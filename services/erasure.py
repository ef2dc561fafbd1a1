"""Erasure of one household's personal data (PIPL art. 47): `grassroots household erase` and
`DELETE /api/v1/households/{id}/personal-data`.

Every personal field and every free text about a household is sealed with the household's own key
(`services.personal`), so erasing is deleting that key (crypto-shredding): the head's name, phone,
notes and address, the archive reason, visit notes and void reasons, pairing end reasons and the
summaries, resolutions, replies and reopening reasons of its issues no longer open in any event, and no
read model or core table holds them in clear (a backup taken before still holds the key). The events
themselves remain, so every figure built on them stays as it was; the household's village, township,
map point, tags and size are not personal fields and remain. Who erased it, when and why goes to the
audit log, from which the phones learn of it at their next sync.

Erasing twice answers the same as once, saying it was erased already.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field, ValidationError

from services.domain.commands import Reason
from services.storage.connections import SyncCursor

AUDIT_ACTION = "household.erased"


class ErasureRequest(BaseModel):
    reason: Reason = Field(description="why the household's personal data is erased (kept in the audit log)")


@dataclass(frozen=True)
class Erasure:
    household_id: UUID
    already_erased: bool  # its key was gone before this request: nothing more to erase

    def audit_detail(self, reason: str, via: str) -> dict[str, Any]:
        return {"household_id": str(self.household_id), "reason": reason, "already_erased": self.already_erased,
                "via": via}


def erase_household(county: Any, household_id: UUID, *, reason: str, user_id: UUID | None, username: str,
                    via: str) -> Erasure:
    """Delete the household's key and write the audit entry, in one transaction (sync: run in a thread).
    NotFound when the county has no such household."""
    from services.identity.sessions import audit_sync

    county.household(household_id)  # NotFound for an unknown id, before anything is deleted

    def audited(cursor: SyncCursor, deleted: bool) -> None:
        audit_sync(cursor, AUDIT_ACTION, user_id, username, county.adcode,
                   detail=Erasure(household_id, already_erased=not deleted).audit_detail(reason, via))

    return Erasure(household_id, already_erased=not county.keys.delete(household_id, then=audited))


def command(args: argparse.Namespace) -> int:
    """`grassroots household erase ADCODE ID --reason TEXT`."""
    from services.county import County
    from services.domain.errors import NotFound
    from services.identity import ensure_tables
    from services.storage.database import connect, database_url
    from services.storage.recorder import county_env
    from services.storage.schemas import get_county

    def refuse(message: str) -> int:
        print(f"grassroots household erase: {message}", file=sys.stderr)
        return 2

    try:
        household_id = UUID(args.household_id)
    except ValueError:
        return refuse(f"{args.household_id!r} is not a household id (a UUID)")
    try:
        request = ErasureRequest(reason=args.reason)
    except ValidationError as error:
        return refuse(f"--reason: {error.errors()[0]['msg']}")
    url = database_url()
    try:
        known = get_county(url, args.adcode)
    except ValueError as error:  # not a 6-digit adcode
        return refuse(str(error))
    if known is None:
        return refuse(f"no county {args.adcode} (see `grassroots county list`)")
    with connect(url) as conn:
        ensure_tables(conn)  # a county used only from the command line may not have the audit log yet
    county = County(env=county_env(args.adcode, url))
    try:
        erasure = erase_household(county, household_id, reason=request.reason, user_id=None,
                                  username=f"cli:{getpass.getuser()}", via="cli")
    except NotFound:
        return refuse(f"county {args.adcode} has no household {household_id}")
    finally:
        county.close()
    if erasure.already_erased:
        print(f"household {household_id}: personal data was already erased; nothing more to erase")
    else:
        print(f"household {household_id}: personal data erased (its key is deleted); its events remain")
    return 0
