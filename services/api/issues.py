"""The issue ledger (问题台账): the list, figures by group, totals, the monthly review's agenda and one
issue, from the issues read model (projections/issues.py); routing, resolving, replying to, rating and
reopening one. A department sees and handles only the issues routed to it (`auth.department_scope`)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from projections import issues
from services import departments
from services.domain import commands as c

from .auth import ADMIN, ISSUE_READERS, department_scope, may_see_issue
from .errors import not_found
from .reading import (
    PLAIN_TEXT, TIME_CURSOR, AsOf, Document, InPeriod, Keyset, Page, audit_personal_read, keyset_page, lookup,
    period_of, reading, schema_of, whole_page,
)
from .routing import Call, endpoint
from .writing import command_endpoint

ISSUE = "/issues/{issue_id:uuid}"


ISSUE_CURSOR = TIME_CURSOR  # the issue ledger's keyset: the last issue's time and id


class IssuesQuery(Keyset):
    status: Literal["open", "overdue", "resolved"] | None = None
    route: Literal["on_the_spot", "monthly_review", "department", "leadership"] | None = None
    department: str | None = Field(None, max_length=50, pattern=PLAIN_TEXT)
    category: str | None = Field(None, max_length=50, pattern=PLAIN_TEXT)
    after: str | None = Field(None, max_length=100, pattern=ISSUE_CURSOR,
                              description="the `next` of the previous page (another value answers 422)")


@endpoint("GET", "/issues", query=IssuesQuery, response=Page, roles=ISSUE_READERS, tags=["issues"],
          summary="The issue ledger, newest first (a department sees only issues routed to it)")
async def issues_list(call: Call) -> Page:
    query: IssuesQuery = call.query
    assert call.session is not None
    async with reading(call) as conn:
        answer = await issues.issues(conn, schema_of(call), status=query.status, route=query.route,
                                     department=department_scope(call.session, query.department),
                                     category=query.category, limit=query.limit, after=query.after, as_of=query.as_of)
    return keyset_page(answer, query.limit)


class LedgerQuery(AsOf):
    by: Literal["route", "department", "category", "township"] = "route"


@endpoint("GET", "/issues/ledger", query=LedgerQuery, response=Page, roles=ISSUE_READERS, tags=["issues"],
          summary="Issue figures grouped by route, department, category or township")
async def issues_ledger(call: Call) -> Page:
    """Per group: total, open, overdue, resolved, resolution hours (mean, median), rated, satisfied, %."""
    assert call.session is not None
    async with reading(call) as conn:
        items = await issues.ledger(conn, schema_of(call), call.query.by, department=department_scope(call.session),
                                    as_of=call.query.as_of)
    return whole_page(items)


@endpoint("GET", "/issues/summary", query=InPeriod, response=Document, roles=ISSUE_READERS, tags=["issues"],
          summary="Issue totals (optionally of the issues raised in a period)")
async def issues_summary(call: Call) -> Document:
    query: InPeriod = call.query
    assert call.session is not None
    async with reading(call) as conn:
        return Document(await issues.summary(conn, schema_of(call), department=department_scope(call.session),
                                             period=period_of(query) if query.period else None, as_of=query.as_of))


@endpoint("GET", "/issues/agenda", query=AsOf, response=Document, roles=ADMIN, tags=["issues"],
          summary="The next monthly review meeting (一月一议): its day and agenda")
async def review_agenda(call: Call) -> Document:
    async with reading(call) as conn:
        return Document(await issues.review_agenda(conn, schema_of(call), as_of=call.query.as_of))


@endpoint("GET", ISSUE, response=Document, roles=ISSUE_READERS, tags=["issues"],
          summary="One issue with its route, deadline, resolution, reply and rating")
async def issue_detail(call: Call) -> Document:
    issue = await lookup(call, "issue", call.path["issue_id"], ("issue", "问题"))
    assert call.session is not None
    keys: dict[str, str] = {}
    if department_scope(call.session) is not None and issue["department"] is not None:
        async with call.db.acquire() as conn:
            for text in {issue["department"], call.session.department or ""}:
                keys[text] = (await departments.lookup_async(conn, call.county, text))["key"]
    if not may_see_issue(call.session, issue["route"], issue["department"], lambda a, b: keys[a] == keys[b]):
        raise not_found("issue", "问题")  # not routed to this department: as if it did not exist
    await audit_personal_read(call, [issue["household_id"]])  # its texts are about the household
    return Document(issue)


routes = [
    issues_list, issues_ledger, issues_summary, review_agenda, issue_detail,
    command_endpoint(c.RouteIssue, ISSUE + "/route", "Route an issue (即接即办 / 一月一议 / 转办 / 上报)", "issues"),
    command_endpoint(c.ResolveIssue, ISSUE + "/resolve", "Resolve an issue", "issues"),
    command_endpoint(c.ReplyIssue, ISSUE + "/reply", "Reply to the person who raised an issue", "issues"),
    command_endpoint(c.RateIssue, ISSUE + "/rate", "Record satisfaction with an issue's handling", "issues"),
    command_endpoint(c.ReopenIssue, ISSUE + "/reopen", "Reopen an issue", "issues"),
]
