"""The county's cadres (组工干部): the roster of active cadres, and enrolling, re-ranking, transferring
and recording the departure of one (a departure also disables their accounts: services/identity)."""
from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from services.domain import commands as c

from .auth import ADMIN
from .reading import active_cadres
from .routing import Call, endpoint
from .writing import command_endpoint

CADRE = "/cadres/{cadre_id:uuid}"


class RosterCadre(BaseModel):
    id: UUID
    name: str
    rank: str
    unit: str
    township: str | None
    phone: str | None
    version: int


class CadreRoster(BaseModel):
    cadres: list[RosterCadre]


@endpoint("GET", "/cadres", response=CadreRoster, roles=ADMIN, tags=["cadres"],
          summary="The county's active cadres with rank, unit and township")
async def cadre_list(call: Call) -> CadreRoster:
    rows = [RosterCadre(id=cadre.id, name=cadre.name, rank=cadre.rank, unit=cadre.unit, township=cadre.township,
                        phone=cadre.phone, version=cadre.version) for cadre in await active_cadres(call)]
    return CadreRoster(cadres=sorted(rows, key=lambda row: (row.township or "", row.name, str(row.id))))


routes = [
    cadre_list,
    command_endpoint(c.EnrolCadre, "/cadres", "Enrol a cadre", "cadres"),
    command_endpoint(c.ChangeRank, CADRE + "/rank", "Change a cadre's rank", "cadres"),
    command_endpoint(c.TransferCadre, CADRE + "/transfer", "Transfer a cadre to another unit", "cadres"),
    command_endpoint(c.DepartCadre, CADRE + "/depart", "Record that a cadre left", "cadres"),
]
