"""Exports: the county's ledgers (台账) as XLSX or CSV with Chinese headers, and coverage as GeoJSON files.

Each ledger is the same read-model query the admin pages show (`projections/`), every row of it that
passes the table's filters, as of `as_of`; codes are written as the Chinese words county staff use
(转办, 逾期, 基本满意). A department exports only the issues routed to it. Household heads' names appear only
for county admins.
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from anyio import to_thread
from starlette.responses import Response

from projections import completeness, coverage, interviews, issues, pairing
from services.ledger import Column, Ledger, content_disposition
from services.personal import ERASED_LABEL, PersonalFields
from services.vocabulary import labels

from .auth import ADMIN, ISSUE_READERS, department_scope
from .filters import (
    CompletenessFilters, CoverageQuery, InterviewFilters, PairingFilters, ShortfallFilters, interview_filters,
    pairing_filters,
)
from .reading import (
    EXPORT_CONTENT, GEOJSON_MEDIA_TYPE, AsOf, ExportQuery, audit_personal_read, county_app, download, download_chunks,
    LEDGER_CHUNK, every_row, lookup, open_heads, open_issue_summaries, period_of, reading, schema_of,
)
from .routing import Call, endpoint

# A compliance ledger takes its table's filters, so the download is what the admin was looking at.
class CompletenessExport(CompletenessFilters, ExportQuery):
    pass


class PairingsExport(PairingFilters, ExportQuery):
    pass


class InterviewsExport(InterviewFilters, ExportQuery):
    pass


class ShortfallsExport(ShortfallFilters, ExportQuery):
    pass


def _label(group: str) -> Any:
    names = labels(group)
    return lambda code: names.get(code, code)


def _shown(text: str | None) -> str:
    """A household's text as a ledger shows it: 已删除 once the household is erased."""
    return ERASED_LABEL if text is None else text


def _head(personal: PersonalFields | None) -> str | None:
    """The head's name of an opened household (`open_heads`), 已删除 once erased."""
    if personal is None:
        return None
    return ERASED_LABEL if personal.erased else personal.head_name


def _names(county: Any, ids: list[UUID], attribute: str) -> dict[UUID, Any]:
    """One plain attribute (a cadre's name) of many aggregates, from their events."""
    return {aggregate_id: getattr(aggregate, attribute, None)
            for aggregate_id, aggregate in county.load_many(ids).items()} if ids else {}


# ---- issues (问题台账) ---------------------------------------------------------------------------------------------

ISSUE_COLUMNS = [
    Column("issue_id", "问题编号", 38), Column("occurred_at", "提出时间", 17), Column("township", "乡镇代码", 12),
    Column("village", "村(社区)代码", 15), Column("category", "类别", 10), Column("summary", "问题描述", 40),
    Column("source_kind", "来源", 8, _label("issue_source")), Column("state", "办理环节", 10, _label("issue_state")),
    Column("status", "状态", 8, _label("issue_status")), Column("route", "办理方式", 10, _label("issue_route_short")),
    Column("department", "责任部门", 14), Column("deadline", "办结期限", 12), Column("due_on", "应办结日期", 12),
    Column("resolved_at", "办结时间", 17), Column("resolution_hours", "办理用时(小时)", 12),
    Column("satisfaction", "满意度", 10, _label("satisfaction")),
]


async def issue_rows(call: Call, query: AsOf) -> list[dict[str, Any]]:
    """Every issue of the ledger (newest first), with its summary, as the caller may see it."""
    assert call.session is not None
    rows = await every_row(call, issues.issues, department=department_scope(call.session), as_of=query.as_of)
    summaries = await to_thread.run_sync(open_issue_summaries, county_app(call), [row["issue_id"] for row in rows])
    await audit_personal_read(call, [row["household_id"] for row in rows])
    return [{**row, "summary": _shown(summaries.get(row["issue_id"]))} for row in rows]


@endpoint("GET", "/exports/issues", query=ExportQuery, roles=ISSUE_READERS, tags=["exports"], content=EXPORT_CONTENT,
          summary="The issue ledger (问题台账) as XLSX or CSV")
async def export_issues(call: Call) -> Response:
    return download(call, Ledger("问题台账", ISSUE_COLUMNS, await issue_rows(call, call.query)))


# ---- completeness (走访完成情况台账) ---------------------------------------------------------------------------------

COMPLETENESS_COLUMNS = [
    Column("household_id", "户编号", 38), Column("head_name", "户主姓名", 10), Column("township", "乡镇代码", 12),
    Column("village", "村(社区)代码", 15), Column("visits_this_year", "本年走访次数(计入走访的方式,含未核验)", 16),
    Column("required", "应走访次数", 10), Column("last_visit", "最近走访日期", 13),
    Column("next_due", "下次应访日期", 13), Column("status", "状态", 8, _label("due_status")),
]


@endpoint("GET", "/exports/completeness", query=CompletenessExport, roles=ADMIN, errors={404}, tags=["exports"],
          content=EXPORT_CONTENT, summary="Household-visit completeness (走访完成情况台账) as XLSX or CSV",
          description="By township, village and household, streamed a chunk of households at a time as it is "
                      "read: 290,000 households take about 15 s.")
async def export_completeness(call: Call) -> Response:
    query: CompletenessExport = call.query
    if query.cadre is not None:
        await lookup(call, "cadre", query.cadre, ("cadre", "干部"))  # another county's cadre: 404, not an empty file

    async def chunks() -> AsyncIterator[list[dict[str, Any]]]:
        async with reading(call) as conn, conn.transaction():
            async for chunk in completeness.households_by_place(
                    conn, schema_of(call), chunk=LEDGER_CHUNK, township=query.township, village=query.village,
                    cadre_id=query.cadre, as_of=query.as_of, status=query.status, tag=query.tag):
                opened = await open_heads(conn, schema_of(call), [row["household_id"] for row in chunk])
                await audit_personal_read(call, opened)
                yield [{**row, "head_name": _head(opened.get(row["household_id"]))} for row in chunk]

    return await download_chunks(call, Ledger("走访完成情况台账", COMPLETENESS_COLUMNS), chunks())


# ---- pairings (结对帮扶台账) -----------------------------------------------------------------------------------------

PAIRING_COLUMNS = [
    Column("pairing_id", "结对编号", 38), Column("cadre_name", "干部", 10), Column("rank", "职级", 10, _label("rank")),
    Column("programme", "项目", 12), Column("target_kind", "对象类型", 10, _label("target_kind")),
    Column("target_id", "对象编号", 38), Column("target_name", "户主姓名", 10), Column("township", "乡镇代码", 12),
    Column("village", "村(社区)代码", 15), Column("cadence", "走访周期", 8, _label("cadence")),
    Column("formed_on", "结对日期", 12), Column("last_visit", "最近走访日期", 13),
    Column("visits_in_period", "本期走访次数(计入走访的方式,含未核验)", 16),
    Column("verified_visits_in_period", "本期核验通过的走访次数", 14),
    Column("due_date", "应访日期", 12), Column("status", "状态", 8, _label("due_status")),
]


@endpoint("GET", "/exports/pairings", query=PairingsExport, roles=ADMIN, tags=["exports"], content=EXPORT_CONTENT,
          summary="Pairings (结对帮扶台账) as XLSX or CSV")
async def export_pairings(call: Call) -> Response:
    rows = await every_row(call, pairing.pairings, **pairing_filters(call.query))
    households = [row["household_id"] for row in rows if row["household_id"] is not None]
    cadres = await to_thread.run_sync(_names, county_app(call), sorted({row["cadre_id"] for row in rows}), "name")
    async with reading(call) as conn:
        heads = await open_heads(conn, schema_of(call), households)
    await audit_personal_read(call, heads)
    rows = [{**row, "cadre_name": cadres.get(row["cadre_id"]),
             "target_name": _head(heads.get(row["household_id"]))} for row in rows]
    return download(call, Ledger("结对帮扶台账", PAIRING_COLUMNS, rows))


# ---- quota shortfalls (结对缺额台账) ----------------------------------------------------------------------------

SHORTFALL_COLUMNS = [
    Column("cadre_id", "干部编号", 38), Column("cadre_name", "干部", 10), Column("rank", "职级", 10, _label("rank")),
    Column("township", "乡镇代码", 12), Column("pairings", "结对数", 8), Column("households", "结对户数", 10),
    Column("hardship", "结对困难户数", 12), Column("hardship_required", "应结对困难户", 12),
    Column("hardship_short", "困难户缺额", 10), Column("by_rank_required", "按职级应结对户数", 16),
    Column("by_rank_short", "按职级缺额", 10), Column("contacts_missing", "五个一缺项", 24),
    Column("shortfall", "最大缺额", 10),
]


def _shortfall_row(row: dict[str, Any], name: str | None) -> dict[str, Any]:
    """One cadre's figures, each quota rule in its own columns (blank where the county has no such rule)."""
    rules = {quota["rule"]: quota for quota in row["quotas"]}
    hardship, by_rank = rules.get("hardship_households", {}), rules.get("households_by_rank", {})
    kind = _label("target_kind")
    return {**row, "cadre_name": name, "hardship_required": hardship.get("required"),
            "hardship_short": hardship.get("short_by"), "by_rank_required": by_rank.get("required"),
            "by_rank_short": by_rank.get("short_by"),
            "contacts_missing": "、".join(kind(k) for k in rules.get("five_contacts", {}).get("missing", []))}


@endpoint("GET", "/exports/shortfalls", query=ShortfallsExport, roles=ADMIN, tags=["exports"],
          content=EXPORT_CONTENT, summary="Cadres short of a pairing quota (结对缺额台账) as XLSX or CSV")
async def export_shortfalls(call: Call) -> Response:
    query: ShortfallsExport = call.query
    rows = await every_row(call, pairing.shortfalls, township=query.township, rank=query.rank, as_of=query.as_of)
    names = await to_thread.run_sync(_names, county_app(call), [row["cadre_id"] for row in rows], "name")
    return download(call, Ledger("结对缺额台账", SHORTFALL_COLUMNS,
                                 [_shortfall_row(row, names.get(row["cadre_id"])) for row in rows]))


# ---- interviews (约谈台账) ----------------------------------------------------------------------------------------

INTERVIEW_COLUMNS = [
    Column("cadre_id", "干部编号", 38), Column("cadre_name", "干部", 10), Column("rank", "职级", 10, _label("rank")),
    Column("township", "乡镇代码", 12), Column("interviews_this_year", "本年约谈次数", 12),
    Column("expected_rank_this_year", "符合职级要求次数", 16),
    Column("required", "应约谈次数", 10), Column("last_day", "最近约谈日期", 13),
    Column("last_interviewer_rank", "最近约谈人职级", 14, _label("rank")),
    Column("status", "状态", 8, _label("due_status")),
]


@endpoint("GET", "/exports/interviews", query=InterviewsExport, roles=ADMIN, tags=["exports"], content=EXPORT_CONTENT,
          summary="Interview coverage per cadre (约谈台账) as XLSX or CSV")
async def export_interviews(call: Call) -> Response:
    rows = await every_row(call, interviews.cadres, **interview_filters(call.query))
    names = await to_thread.run_sync(_names, county_app(call), [row["cadre_id"] for row in rows], "name")
    rows = [{**row, "cadre_name": names.get(row["cadre_id"]),
             "last_day": (row["last_interview"] or {}).get("day"),
             "last_interviewer_rank": (row["last_interview"] or {}).get("interviewer_rank")} for row in rows]
    return download(call, Ledger("约谈台账", INTERVIEW_COLUMNS, rows))


# ---- GeoJSON ---------------------------------------------------------------------------------------------------


@endpoint("GET", "/exports/coverage.geojson", query=CoverageQuery, roles=ADMIN, tags=["exports"],
          content={GEOJSON_MEDIA_TYPE: {"schema": {"type": "object"}}},
          summary="Coverage as a GeoJSON file (village, township, county or H3 cells)")
async def export_coverage(call: Call) -> Response:
    query: CoverageQuery = call.query
    period = period_of(query)
    async with reading(call) as conn:
        collection = await coverage.geojson(conn, schema_of(call), period, query.level,
                                            resolution=query.resolution, as_of=query.as_of, tag=query.tag)
    level = f"h3-{query.resolution}" if query.level == "h3" else query.level
    filename = f"走访覆盖-{call.county}-{level}-{period.start.isoformat()}_{period.end.isoformat()}.geojson"
    return Response(json.dumps(collection, ensure_ascii=False, default=str), media_type=GEOJSON_MEDIA_TYPE,
                    headers={"Content-Disposition": content_disposition(filename)})


routes = [export_issues, export_completeness, export_pairings, export_shortfalls, export_interviews,
          export_coverage]
