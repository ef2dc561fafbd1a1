"""The work log (民情日记): a cadre's visits read as a diary, per cadre and per household, newest first:
when, where, what kind, the topics, the note and the verdict (voided visits stay in the log, marked).

Rows and their order come from the verdicts read model (projections/verdicts.py `page`, an index range);
the topics, companions and notes of the page's visits from their own events. A note is personal data
(sealed with its household's key, services/personal.py), as are a void's reason and a household head's
name: they are opened only for the roles that may see personal data (`reading.may_see_personal`), and a
county admin's reading is audited (`with_heads`); a department reads the log without them. An erased
household's notes read as erased (`note_erased`), never as text.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from anyio import to_thread

from projections import verdicts
from services.domain import Visit
from services.personal import open_text

from .reading import (NewestFirst, Page, county_app, keyset_page, lookup, may_see_personal, reading, schema_of,
                      with_heads, with_void_reasons)
from .routing import Call, endpoint

WORKLOG_READERS = frozenset({"county_admin", "cadre", "department"})
PERSONAL_NOTE = ("Notes, void reasons and household heads' names (personal data) only for cadres and county "
                 "admins; a department reads the log without them.")


def visit_entries(county: Any, visit_ids: Iterable[UUID], personal: bool) -> dict[UUID, dict[str, Any]]:
    """The diary part of each visit from its events: topics, companions and (if `personal`) the note
    opened with its household's key (sync: run in a thread)."""
    visits = {i: v for i, v in county.load_many(list(visit_ids)).items() if isinstance(v, Visit)}
    sealed = {v.household_id for v in visits.values() if v.household_id is not None and v.note}
    keys = county.keys.get_many(list(sealed)) if personal and sealed else {}
    entries = {}
    for visit_id, visit in visits.items():
        entry: dict[str, Any] = {"topics": list(visit.topics), "companions": [str(c) for c in visit.companions],
                                 "days": visit.days}  # a stay's (蹲点) days
        if personal:
            note: str | None = visit.note
            if visit.household_id is not None and visit.note:
                note = open_text(visit.note, keys.get(visit.household_id), visit.household_id)
            entry.update(note=note, note_erased=note is None)
        entries[visit_id] = entry
    return entries


async def worklog(call: Call, *, cadre_id: UUID | None = None, household_id: UUID | None = None) -> Page:
    query: NewestFirst = call.query
    async with reading(call) as conn:
        answer = await verdicts.page(conn, schema_of(call), cadre_id=cadre_id, household_id=household_id,
                                     limit=query.limit, after=query.after, as_of=query.as_of)
    personal = may_see_personal(call)
    entries = await to_thread.run_sync(visit_entries, county_app(call), [row["visit_id"] for row in answer["items"]],
                                       personal)
    items = [{**row, **entries.get(row["visit_id"], {})} for row in answer["items"]]
    if not personal:  # a void's reason is free text about the household, sealed like the note
        items = [{**item, "void_reason": None} for item in items]
    else:
        items = await with_void_reasons(call, items)
    return keyset_page({"items": await with_heads(call, items), "next": answer["next"]}, query.limit)


@endpoint("GET", "/cadres/{cadre_id:uuid}/worklog", query=NewestFirst, response=Page, roles=WORKLOG_READERS,
          tags=["cadres"], summary="A cadre's work log (民情日记): their visits newest first, with notes and verdicts",
          description=PERSONAL_NOTE)
async def cadre_worklog(call: Call) -> Page:
    await lookup(call, "cadre", call.path["cadre_id"], ("cadre", "干部"))
    return await worklog(call, cadre_id=call.path["cadre_id"])


@endpoint("GET", "/households/{household_id:uuid}/worklog", query=NewestFirst, response=Page,
          roles=WORKLOG_READERS, tags=["households"],
          summary="A household's work log (民情日记): every cadre's visits to it newest first, with notes and verdicts",
          description=PERSONAL_NOTE)
async def household_worklog(call: Call) -> Page:
    await lookup(call, "household", call.path["household_id"], ("household", "户"))
    return await worklog(call, household_id=call.path["household_id"])


routes = [cadre_worklog, household_worklog]
