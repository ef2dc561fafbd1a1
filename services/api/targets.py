"""The register of contact targets (联系点 / 五个一): the county's Party branches (weak and scattered or not),
enterprises, talents, projects and contact points, from the targets read model (projections/targets.py);
registering, revising and archiving one. (The file import is services/api/imports.py's, with the others.)

Cadres read the register too: the phone checks in at a target and pairs name one."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from projections import targets
from projections.base import Period, reference_date
from projections.pairing import cadence_period
from projections.rules import load_rules
from services.domain import commands as c
from services.domain.values import RegisterKind

from .auth import ADMIN
from .errors import not_found
from .params import PeriodText
from .reading import AsOf, Document, Keyset, Page, invalid_query, keyset_page, reading, schema_of
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


class FiveOnesQuery(Keyset):
    period: PeriodText | None = Field(None, description="2026, 2026-Q1, 2026-03 or 2026-01-05..2026-02-20; default: "
                                                        "the county rule's period (`five_ones_period`) holding `as_of`")
    township: str | None = Field(None, pattern=r"^\d{9}$", description="the cadre's township code (9 digits)")
    after: UUID | None = Field(None, description="the `next` of the previous page")


@endpoint("GET", "/targets/five-ones", query=FiveOnesQuery, response=Document, roles=ADMIN,
          tags=["targets", "pairings"],
          summary="Each active cadre's 五个一 in a period: weak branch, enterprise, talent, project, village contacted",
          description="`enabled` is the county rule `five_ones_period` (off: no items). Per cadre (by id): distinct "
                      "weak Party branches, enterprises, talents and projects of the register checked in at, villages "
                      "checked in, `covered` (of 5) and `missing`; `next` is the page's cursor.")
async def five_ones(call: Call) -> Document:
    query: FiveOnesQuery = call.query
    async with reading(call) as conn:
        rules = await load_rules(conn, call.county)
        if rules.five_ones_period is None:
            return Document({"enabled": False, "period": None, "items": [], "next": None})
        try:
            period = (Period.parse(query.period) if query.period is not None
                      else cadence_period(rules.five_ones_period, reference_date(query.as_of)))
        except ValueError as error:
            raise invalid_query(str(error)) from None
        answer = await targets.five_ones(conn, schema_of(call), period, township=query.township, limit=query.limit,
                                         after=query.after, as_of=query.as_of)
    return Document({"enabled": True, "period": {"start": period.start, "end": period.end},
                     "items": answer["items"], "next": None if answer["next"] is None else str(answer["next"])})


routes = [
    five_ones, targets_list, target_detail,
    command_endpoint(c.RegisterTarget, "/targets", "Register a contact target (联系对象)", "targets"),
    command_endpoint(c.ReviseTarget, TARGET + "/revise", "Revise a contact target's name, place, position and flag",
                     "targets"),
    command_endpoint(c.ArchiveTarget, TARGET + "/archive", "Archive a contact target", "targets"),
]
