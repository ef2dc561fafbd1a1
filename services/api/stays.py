"""Stays (蹲点 / 三进三同): the days each cadre stayed in a period, and the stays ledger (蹲点台账) as XLSX or
CSV, from the stays read model (projections/stays.py). A stay counts in the period it began; `verified_days`
counts only stays whose check-in was verified (the figure on the leaderboards)."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from anyio import to_thread
from pydantic import Field
from starlette.responses import Response

from projections import stays
from services.domain import Cadre
from services.ledger import Column, Ledger
from services.vocabulary import labels

from .auth import ADMIN
from .reading import EXPORT_CONTENT, ExportQuery, InPeriod, Page, county_app, download, period_of, reading, schema_of
from .routing import Call, endpoint


class StaysQuery(InPeriod):
    cadre_id: UUID | None = Field(None, description="one cadre's stays only (the ledger)")


def _cadres(county: Any, ids: list[UUID]) -> dict[UUID, Cadre]:
    """The cadres named, from their events (sync: run in a thread)."""
    return {i: a for i, a in county.load_many(ids).items() if isinstance(a, Cadre)} if ids else {}


@endpoint("GET", "/stays", query=InPeriod, response=Page, roles=ADMIN, tags=["stays"],
          summary="Days stayed (蹲点) per cadre in a period: stays, days, verified stays and verified days",
          description="A stay counts in the period holding the day it began, with all its days. Rows: `cadre_id`, "
                      "`name`, `township`, `stays`, `days`, `verified_stays`, `verified_days`; most days first.")
async def stays_by_cadre(call: Call) -> Page:
    query: InPeriod = call.query
    async with reading(call) as conn:
        figures = await stays.by_cadre(conn, schema_of(call), period_of(query), as_of=query.as_of)
    cadres = await to_thread.run_sync(_cadres, county_app(call), list(figures))
    items: list[dict[str, Any]] = [{"cadre_id": cadre_id, "name": getattr(cadres.get(cadre_id), "name", None),
              "township": getattr(cadres.get(cadre_id), "township", None), **row}
             for cadre_id, row in figures.items()]
    items.sort(key=lambda row: (-figures[row["cadre_id"]]["days"], -figures[row["cadre_id"]]["verified_days"],
                                str(row["cadre_id"])))
    return Page(items=items, total=len(items), limit=max(len(items), 1), offset=0)


def _label(group: str) -> Any:
    names = labels(group)
    return lambda code: names.get(code, code)


STAY_COLUMNS = [
    Column("cadre_name", "干部", 10), Column("cadre_id", "干部编号", 38), Column("day", "开始日期", 12),
    Column("days", "蹲点天数", 10), Column("target_kind", "对象类型", 10, _label("target_kind")),
    Column("target_id", "对象编号", 38), Column("village", "村(社区)代码", 15), Column("verified", "定位核验", 8),
    Column("visit_id", "走访编号", 38),
]


class StaysExport(StaysQuery, ExportQuery):
    pass


@endpoint("GET", "/exports/stays", query=StaysExport, roles=ADMIN, tags=["exports", "stays"], content=EXPORT_CONTENT,
          summary="The stays ledger (蹲点台账) of a period as XLSX or CSV: one row per stay")
async def export_stays(call: Call) -> Response:
    query: StaysExport = call.query
    async with reading(call) as conn:
        rows = await stays.stays(conn, schema_of(call), period_of(query), cadre_id=query.cadre_id, as_of=query.as_of)
    cadres = await to_thread.run_sync(_cadres, county_app(call), sorted({row["cadre_id"] for row in rows}))
    rows = [{**row, "cadre_name": getattr(cadres.get(row["cadre_id"]), "name", None)} for row in rows]
    return download(call, Ledger("蹲点台账", STAY_COLUMNS, rows))


routes = [stays_by_cadre, export_stays]
