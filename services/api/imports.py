"""`POST /households/import`: register the households of a 民情档案 file (CSV or XLSX), all or nothing, and
`GET /households/import/template`: the file to fill in.

Reading and checking the file is services/household_import.py; here the upload is taken, a rejected file
becomes a 422 naming every bad row, and the checked rows go through the county's command path.
Uploading the same rows again registers nothing twice (each row's command id comes from its content).
"""
from __future__ import annotations

import logging
from typing import Literal
from uuid import UUID

from anyio import to_thread
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from services.domain.errors import InvalidCommand
from services.household_import import (
    FIELDS, CountyPlace, HouseholdRow, ImportRejected, RowError, command_for, read_households, template,
)
from services.places import KnownPlaces, named_places
from services.ledger import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, content_disposition, to_csv, to_xlsx

from .auth import actor_of
from .errors import PROBLEM_MEDIA_TYPE, ApiError
from .routing import Call, endpoint

log = logging.getLogger("grassroots.api.imports")

MAX_IMPORT_BYTES = 10 * 1024 * 1024


class ImportedHousehold(BaseModel):
    row: int
    id: UUID
    status: Literal["applied", "duplicate"]


class ImportResult(BaseModel):
    households: int = Field(description="households in the file")
    applied: int = Field(description="newly registered")
    duplicate: int = Field(description="already registered by an earlier upload of the same rows")
    ignored_columns: list[str] = Field(description="columns not kept (we collect the minimum)")
    items: list[ImportedHousehold]


def _rejection(errors: list[RowError]) -> JSONResponse:
    """422 problem+json; each error keeps the common `{field, message, message_zh}` and adds the row,
    column and bilingual reason (RFC 9457 extension members)."""
    listed = [
        {"field": f"row {e.row}" + (f": {e.column}" if e.column else ""), "message": e.en, "message_zh": e.zh,
         **e.as_dict()}
        for e in errors
    ]
    bad_rows = len({e.row for e in errors})
    error = ApiError(422, f"The file was not imported: {len(errors)} problem(s) in {bad_rows} row(s); nothing was "
                          "written. Fix every listed row and upload the file again.",
                     f"文件未导入：{bad_rows} 行共 {len(errors)} 处错误，未写入任何数据。请逐行修改后重新上传。",
                     kind="import-rejected")
    body = error.problem().model_dump(mode="json", exclude_none=True)
    body["errors"] = listed
    return JSONResponse(body, status_code=422, media_type=PROBLEM_MEDIA_TYPE)


async def _county_place(call: Call, adcode: str) -> CountyPlace:
    async with call.db.acquire() as conn:
        row = await conn.fetchrow("SELECT centroid_lat, centroid_lon FROM core.counties WHERE adcode = $1", adcode)
    centroid = (row["centroid_lat"], row["centroid_lon"]) if row and row["centroid_lat"] is not None else None
    return CountyPlace(adcode, centroid)


async def _outside_the_county(call: Call, adcode: str, rows: list[HouseholdRow]) -> list[RowError]:
    """The rows naming a village or township that is not a place of the county (services/places.py),
    found before anything is written: the county's command path would refuse them one by one."""
    known = KnownPlaces(adcode)
    async with call.db.acquire() as conn:
        await known.learn_async(conn, [place for row in rows for place in named_places(row)])
    headers = {spec.key: spec.header for spec in FIELDS}
    errors = []
    for row in rows:
        for level, code in named_places(row):
            try:
                known.require(level, code)
            except InvalidCommand as error:
                errors.append(RowError(row.row, headers[level], error.zh, error.en))
    return errors


@endpoint("POST", "/households/import", upload=True, response=ImportResult, roles={"county_admin"},
          tags=["households"], errors={422},
          summary="Register households from a 民情档案 file (CSV or XLSX), all or nothing")
async def import_households(call: Call) -> ImportResult | JSONResponse:
    """Every row is checked first; if any is wrong the answer (422) names each bad row, column and
    reason and nothing is written. Uploading the same rows again registers nothing twice."""
    assert call.upload is not None and call.session is not None
    adcode = call.county
    data = await call.upload.read()
    if len(data) > MAX_IMPORT_BYTES:
        raise ApiError(413, f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB: split it.",
                       f"文件超过 {MAX_IMPORT_BYTES // (1024 * 1024)} MiB，请拆分后上传。", kind="too-large")
    place = await _county_place(call, adcode)
    try:
        plan = await to_thread.run_sync(read_households, data, call.upload.filename, place)
    except ImportRejected as rejected:
        return _rejection(rejected.errors)
    outside = await _outside_the_county(call, adcode, plan.rows)
    if outside:
        return _rejection(outside)
    commands = [command_for(row) for row in plan.rows]
    county_app = call.app_state.counties.get(adcode)
    outcomes = await to_thread.run_sync(county_app.execute_many, commands, actor_of(call.session, adcode))
    refused = [RowError(row.row, None, o.reason["zh"] if o.reason else "未能登记",
                        o.reason["en"] if o.reason else f"not registered ({o.status})")
               for row, o in zip(plan.rows, outcomes, strict=True) if o.status not in ("applied", "duplicate")]
    if refused:
        # Checked rows are refused only by a concurrent change (e.g. the county's rules): say so plainly.
        log.warning("household import: %d of %d rows refused after checks passed", len(refused), len(outcomes))
        return _rejection(refused)
    items = [ImportedHousehold(row=row.row, id=UUID(o.result["id"]), status=o.status)
             for row, o in zip(plan.rows, outcomes, strict=True)]
    return ImportResult(households=len(items), applied=sum(i.status == "applied" for i in items),
                        duplicate=sum(i.status == "duplicate" for i in items),
                        ignored_columns=plan.ignored_columns, items=items)


class TemplateQuery(BaseModel):
    format: Literal["xlsx", "csv"] = "xlsx"


@endpoint("GET", "/households/import/template", query=TemplateQuery, roles={"county_admin"}, tags=["households"],
          summary="Download the 民情档案 import template (XLSX or CSV)",
          content={XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                   "text/csv": {"schema": {"type": "string"}}})
async def import_template(call: Call) -> Response:
    ledger = template()
    if call.query.format == "csv":
        body, media_type = to_csv(ledger), CSV_MEDIA_TYPE
    else:
        body, media_type = to_xlsx(ledger), XLSX_MEDIA_TYPE
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": content_disposition(f"{ledger.title}.{call.query.format}")})


routes = [import_households, import_template]
