"""The register of contact targets (联系点 / 五个一): the county's Party branches (weak and scattered or not),
enterprises, talents, projects and contact points, from the targets read model (projections/targets.py);
registering, revising and archiving one. (The file import is services/api/imports.py's, with the others.)

Cadres read the register too: the phone checks in at a target and pairs name one."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from projections import targets
from services.domain import commands as c
from services.domain.values import RegisterKind

from .errors import not_found
from .reading import AsOf, Document, Keyset, Page, keyset_page, reading, schema_of
from .routing import Call, endpoint
from .writing import command_endpoint

TARGET = "/targets/{target_id:uuid}"
READERS = frozenset({"county_admin", "cadre"})


class TargetsQuery(Keyset):
    kind: RegisterKind | None = None
    township: str | None = Field(None, pattern=r"^\d{9}$", description="township code (9 digits)")
    village: str | None = Field(None, pattern=r"^\d{12}$", description="village code (12 digits)")
    weak: bool | None = Field(None, description="true: only Party branches flagged weak and scattered (软弱涣散)")
    state: Literal["active", "archived"] = "active"
    after: UUID | None = Field(None, description="the `next` of the previous page")


@endpoint("GET", "/targets", query=TargetsQuery, response=Page, roles=READERS, tags=["targets"],
          summary="The county's register of contact targets (by id): kind, name, place, coordinates, weak flag")
async def targets_list(call: Call) -> Page:
    query: TargetsQuery = call.query
    async with reading(call) as conn:
        answer = await targets.page(conn, schema_of(call), kind=query.kind, township=query.township,
                                    village=query.village, weak=query.weak, archived=query.state == "archived",
                                    limit=query.limit, after=query.after, as_of=query.as_of)
    return keyset_page(answer, query.limit)


@endpoint("GET", TARGET, query=AsOf, response=Document, roles=READERS, tags=["targets"], errors={404},
          summary="One contact target as it stood at `as_of` (archived ones too)")
async def target_detail(call: Call) -> Document:
    async with reading(call) as conn:
        found = await targets.one(conn, schema_of(call), call.path["target_id"], as_of=call.query.as_of)
    if found is None:
        raise not_found("contact target", "联系对象")
    return Document(found)


routes = [
    targets_list, target_detail,
    command_endpoint(c.RegisterTarget, "/targets", "Register a contact target (联系对象)", "targets"),
    command_endpoint(c.ReviseTarget, TARGET + "/revise", "Revise a contact target's name, place, position and flag",
                     "targets"),
    command_endpoint(c.ArchiveTarget, TARGET + "/archive", "Archive a contact target", "targets"),
]
