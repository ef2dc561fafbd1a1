"""`POST /households/import`, `/cadres/import` and `/pairings/import`: register the households of a 民情档案
file, enrol the cadres of a 干部名册 and form the pairings of a 结对名单 (CSV or XLSX), each all or nothing;
and `GET …/import/template`: the file to fill in.

Reading and checking a file is services/household_import.py and services/roster_import.py; here the
upload is taken, what a file must be checked against is looked up (O(file): the places, households and
pairings it names; a county's active cadres for their phones), a rejected file becomes a 422 naming every
bad row, and the checked rows go through the county's command path. Uploading the same rows again writes
nothing twice (each row's command id comes from its content).
"""
from __future__ import annotations

import logging
from typing import Any, Literal
from uuid import UUID

from anyio import to_thread
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from projections import pairing
from services import roster_import, target_import
from services.domain import Household
from services.domain.commands import Command
from services.domain.errors import InvalidCommand
from services.household_import import FIELDS, CountyPlace, command_for, read_households, template
from services.ledger import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, Ledger, content_disposition, to_csv, to_xlsx
from services.places import KnownPlaces, named_places
from services.table_import import ImportField, ImportRejected, RowError

from .auth import actor_of
from .errors import PROBLEM_MEDIA_TYPE, ApiError
from .reading import active_cadres, reading, schema_of
from .routing import Call, endpoint

log = logging.getLogger("grassroots.api.imports")

MAX_IMPORT_BYTES = 10 * 1024 * 1024


class ImportedHousehold(BaseModel):
    """One written row: its Excel row number and the id of what it registered (household, cadre or pairing)."""

    row: int
    id: UUID
    status: Literal["applied", "duplicate"]


class RowsImported(BaseModel):
    rows: int = Field(description="data rows in the file")
    applied: int = Field(description="newly written")
    duplicate: int = Field(description="already written by an earlier upload of the same rows")
    ignored_columns: list[str] = Field(description="columns not kept (we collect the minimum)")
    items: list[ImportedHousehold] = Field(description="each row's record: the cadre's or pairing's id")


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


async def _outside_the_county(call: Call, adcode: str, rows: list[Any],
                              fields: tuple[ImportField, ...] = FIELDS) -> list[RowError]:
    """The rows naming a village or township that is not a place of the county (services/places.py),
    found before anything is written: the county's command path would refuse them one by one."""
    known = KnownPlaces(adcode)
    async with call.db.acquire() as conn:
        await known.learn_async(conn, [place for row in rows for place in named_places(row)])
    headers = {spec.key: spec.header for spec in fields}
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
    data = await _upload(call)
    place = await _county_place(call, call.county)
    try:
        plan = await to_thread.run_sync(read_households, data, call.upload.filename if call.upload else None, place)
    except ImportRejected as rejected:
        return _rejection(rejected.errors)
    outside = await _outside_the_county(call, call.county, plan.rows)
    if outside:
        return _rejection(outside)
    written = await _write(call, [row.row for row in plan.rows], [command_for(row) for row in plan.rows], "household")
    if isinstance(written, JSONResponse):
        return written
    return ImportResult(households=len(written), applied=sum(i.status == "applied" for i in written),
                        duplicate=sum(i.status == "duplicate" for i in written),
                        ignored_columns=plan.ignored_columns, items=written)


async def _upload(call: Call) -> bytes:
    assert call.upload is not None and call.session is not None
    data = await call.upload.read()
    if len(data) > MAX_IMPORT_BYTES:
        raise ApiError(413, f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB: split it.",
                       f"文件超过 {MAX_IMPORT_BYTES // (1024 * 1024)} MiB，请拆分后上传。", kind="too-large")
    return data


async def _write(call: Call, rows: list[int], commands: list[Command],
                 what: str) -> list[ImportedHousehold] | JSONResponse:
    """The checked rows' commands through the county's command path (execute_many), each row's answer."""
    assert call.session is not None
    county_app = call.app_state.counties.get(call.county)
    outcomes = await to_thread.run_sync(county_app.execute_many, commands, actor_of(call.session, call.county))
    refused = [RowError(row, None, o.reason["zh"] if o.reason else "未能登记",
                        o.reason["en"] if o.reason else f"not written ({o.status})")
               for row, o in zip(rows, outcomes, strict=True) if o.status not in ("applied", "duplicate")]
    if refused:
        # Checked rows are refused only by a concurrent change (e.g. the county's rules): say so plainly.
        log.warning("%s import: %d of %d rows refused after checks passed", what, len(refused), len(outcomes))
        return _rejection(refused)
    return [ImportedHousehold(row=row, id=UUID(o.result["id"]), status=o.status)
            for row, o in zip(rows, outcomes, strict=True)]


def _result(written: list[ImportedHousehold], ignored_columns: list[str]) -> RowsImported:
    return RowsImported(rows=len(written), applied=sum(i.status == "applied" for i in written),
                        duplicate=sum(i.status == "duplicate" for i in written), ignored_columns=ignored_columns,
                        items=written)


@endpoint("POST", "/cadres/import", upload=True, response=RowsImported, roles={"county_admin"},
          tags=["cadres"], errors={422},
          summary="Enrol cadres from a 干部名册 file (CSV or XLSX), all or nothing")
async def import_cadres(call: Call) -> RowsImported | JSONResponse:
    """Columns 姓名, 职级, 单位, 联系电话 and optionally 乡镇代码 (the template). Every row is checked first; if
    any is wrong, or names the phone of a cadre already enrolled, the answer (422) names each bad row, column
    and reason and nothing is written. Uploading the same rows again enrols nobody twice."""
    data = await _upload(call)
    enrolled = {cadre.phone: cadre.id for cadre in await active_cadres(call) if cadre.phone}
    filename = call.upload.filename if call.upload else None
    try:
        plan = await to_thread.run_sync(roster_import.read_cadres, data, filename, call.county, enrolled)
    except ImportRejected as rejected:
        return _rejection(rejected.errors)
    outside = await _outside_the_county(call, call.county, plan.rows, roster_import.CADRE_FIELDS)
    if outside:
        return _rejection(outside)
    written = await _write(call, [row.row for row in plan.rows],
                           [roster_import.enrol_command(row) for row in plan.rows], "cadre")
    return written if isinstance(written, JSONResponse) else _result(written, plan.ignored_columns)


@endpoint("POST", "/pairings/import", upload=True, response=RowsImported, roles={"county_admin"},
          tags=["pairings"], errors={422},
          summary="Form pairings from a 结对名单 file (CSV or XLSX), all or nothing")
async def import_pairings(call: Call) -> RowsImported | JSONResponse:
    """Columns 干部电话 (the cadre's phone on the roster), 农户编号 (the household's number), 结对项目, 结对日期
    and optionally 走访频次. Every row is checked first, against the county's active cadres, its households
    (not archived) and their pairings (a cadre already paired with the household is refused); if any is
    wrong the answer (422) names each bad row, column and reason and nothing is written. Uploading the same
    rows again pairs nobody twice."""
    data = await _upload(call)
    filename = call.upload.filename if call.upload else None
    try:
        plan = await to_thread.run_sync(roster_import.read_pairings, data, filename, call.county)
        household_ids = list({row.household_id for row in plan.rows})
        cadres = {cadre.phone: cadre.id for cadre in await active_cadres(call) if cadre.phone}
        loaded = await to_thread.run_sync(call.app_state.counties.get(call.county).load_many, household_ids)
        households = {hid: h.archived for hid, h in loaded.items() if isinstance(h, Household)}
        async with reading(call) as conn:
            paired = await pairing.active_pairs(conn, schema_of(call), household_ids)
        commands = roster_import.resolve_pairings(plan, roster_import.PairingContext(cadres, households, paired))
    except ImportRejected as rejected:
        return _rejection(rejected.errors)
    written = await _write(call, [row.row for row in plan.rows], list(commands), "pairing")
    return written if isinstance(written, JSONResponse) else _result(written, plan.ignored_columns)


@endpoint("POST", "/targets/import", upload=True, response=RowsImported, roles={"county_admin"},
          tags=["targets"], errors={422},
          summary="Register contact targets from a 联系对象名录 file (CSV or XLSX), all or nothing")
async def import_targets(call: Call) -> RowsImported | JSONResponse:
    """Columns 类别, 名称, 乡镇代码 and optionally 村(社区)代码, 纬度, 经度, 软弱涣散 (the template). Every row is
    checked first, its places against the county's; if any is wrong the answer (422) names each bad row, column
    and reason and nothing is written. Uploading the same rows again registers nothing twice."""
    data = await _upload(call)
    try:
        plan = await to_thread.run_sync(target_import.read_targets, data,
                                        call.upload.filename if call.upload else None, call.county)
    except ImportRejected as rejected:
        return _rejection(rejected.errors)
    outside = await _outside_the_county(call, call.county, plan.rows, target_import.FIELDS)
    if outside:
        return _rejection(outside)
    written = await _write(call, [row.row for row in plan.rows],
                           [target_import.register_command(row) for row in plan.rows], "target")
    return written if isinstance(written, JSONResponse) else _result(written, plan.ignored_columns)


class TemplateQuery(BaseModel):
    format: Literal["xlsx", "csv"] = "xlsx"


TEMPLATE_CONTENT = {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                    "text/csv": {"schema": {"type": "string"}}}


def _template_file(call: Call, ledger: Ledger) -> Response:
    if call.query.format == "csv":
        body, media_type = to_csv(ledger), CSV_MEDIA_TYPE
    else:
        body, media_type = to_xlsx(ledger), XLSX_MEDIA_TYPE
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": content_disposition(f"{ledger.title}.{call.query.format}")})


@endpoint("GET", "/households/import/template", query=TemplateQuery, roles={"county_admin"}, tags=["households"],
          summary="Download the 民情档案 import template (XLSX or CSV)", content=TEMPLATE_CONTENT)
async def import_template(call: Call) -> Response:
    return _template_file(call, template())


@endpoint("GET", "/cadres/import/template", query=TemplateQuery, roles={"county_admin"}, tags=["cadres"],
          summary="Download the 干部名册 import template (XLSX or CSV)", content=TEMPLATE_CONTENT)
async def cadre_import_template(call: Call) -> Response:
    return _template_file(call, roster_import.cadre_template())


@endpoint("GET", "/pairings/import/template", query=TemplateQuery, roles={"county_admin"}, tags=["pairings"],
          summary="Download the 结对名单 import template (XLSX or CSV)", content=TEMPLATE_CONTENT)
async def pairing_import_template(call: Call) -> Response:
    return _template_file(call, roster_import.pairing_template())


@endpoint("GET", "/targets/import/template", query=TemplateQuery, roles={"county_admin"}, tags=["targets"],
          summary="Download the 联系对象名录 import template (XLSX or CSV)", content=TEMPLATE_CONTENT)
async def target_import_template(call: Call) -> Response:
    return _template_file(call, target_import.template())


routes = [import_households, import_template, import_cadres, cadre_import_template, import_pairings,
          pairing_import_template, import_targets, target_import_template]
