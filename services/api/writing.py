"""The plumbing every command endpoint shares: `command_endpoint` turns a domain command into a POST.

Each endpoint builds the domain command from the path id and the JSON body and runs
`County.execute` in the threadpool, in the session's county. The answer:
- applied or duplicate: 201 for things created (the new id is the command id), else 200, with
  `{status, result: {id, version}}`; resending the same `command_id` is harmless (duplicate);
- conflict (stale `expected_version`, or a `command_id` reused for another command): 409;
- rejected (a domain rule, or the role may not): 422 with the reason in Chinese and English;
- the path's object is not in this county (or, for a department, not routed to it): 404.

The body models are the domain's command models minus `command_id` (optional here: send one to make
retries safe) and minus the id the path gives; `roles` are the County's own `ALLOWED_ROLES`. The
resource modules (households, people, pairings, visits, issues) list their commands' endpoints.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal
from uuid import UUID, uuid4

from anyio import to_thread
from eventsourcing.application import AggregateNotFoundError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from services.county import ALLOWED_ROLES, County, Outcome
from services.domain import Cadre, ContactTarget, Household, HouseholdProposal, Issue, Pairing, ReceptionSchedule, Visit
from services.domain import commands as c
from services.domain.commands import explain
from services.identity import end_departed_accounts
from services.tenancy import Counties

from .auth import Session, actor_of, may_see_issue
from .errors import ApiError, FieldError, not_found
from .routing import ApiRoute, Call, endpoint

# The aggregate each path id names, and how to say "not found" in both languages.
TARGETS: dict[str, tuple[type, str, str]] = {
    "household_id": (Household, "household", "农户"),
    "cadre_id": (Cadre, "cadre", "干部"),
    "pairing_id": (Pairing, "pairing", "结对"),
    "visit_id": (Visit, "visit", "走访记录"),
    "issue_id": (Issue, "issue", "问题"),
    "proposal_id": (HouseholdProposal, "household proposal", "农户申报"),
    "target_id": (ContactTarget, "contact target", "联系对象"),
    "schedule_id": (ReceptionSchedule, "reception schedule", "接访安排"),
}


class Done(BaseModel):
    id: UUID
    version: int


class CommandOutcome(BaseModel):
    status: Literal["applied", "duplicate"]
    result: Done


def body_model(command: type[c.Command]) -> type[BaseModel]:
    """The command's fields as a request body: no path id, and `command_id` optional."""
    target = getattr(command, "target", None)
    fields: dict[str, Any] = {name: (info.annotation, info) for name, info in command.model_fields.items()
                              if name not in ("command_id", target)}
    fields["command_id"] = (UUID | None, Field(None, description="send one to make retries safe (idempotency key)"))
    # The command's own model validators run when `run` builds it; its schema extras state them here.
    config = ConfigDict(extra="forbid", allow_inf_nan=False,
                        json_schema_extra=command.model_config.get("json_schema_extra"))
    return create_model(f"{command.__name__}Body", __config__=config, __doc__=command.__doc__, **fields)


def _visible(county_app: County, session: Session, target: str, aggregate_id: UUID) -> bool:
    """The path's object exists in this county (as the right kind) and this session may see it."""
    cls = TARGETS[target][0]
    try:
        aggregate: object = county_app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return False
    if not isinstance(aggregate, cls):
        return False
    if isinstance(aggregate, Issue):  # the path names an issue (cls is Issue)
        def same(a: str, b: str) -> bool:
            return bool(county_app.look_up_department(a)["key"] == county_app.look_up_department(b)["key"])
        return may_see_issue(session, aggregate.current_route, aggregate.department, same)
    return True


def _execute(counties: Counties[County], session: Session, county: str, command: c.Command) -> Outcome | None:
    county_app = counties.get(county)
    target = getattr(command, "target", None)
    if target is not None and not _visible(county_app, session, target, getattr(command, target)):
        return None
    return county_app.execute(command, actor_of(session, county))


async def run(call: Call, command_type: type[c.Command]) -> CommandOutcome:
    """Build the command from path and body, execute it, and answer as the module docstring says."""
    assert call.session is not None
    county = call.county
    values = call.body.model_dump(exclude_unset=True)
    values["command_id"] = values.get("command_id") or uuid4()
    target = getattr(command_type, "target", None)
    if target is not None:
        values[target] = call.path[target]
    try:
        command = command_type.model_validate(values)
    except ValidationError as error:
        problem = explain(error)
        raise ApiError(422, problem.en, problem.zh, kind="invalid", errors=[
            FieldError(field=p["field"] or "body", message=p["en"], message_zh=p["zh"])
            for p in problem.context.get("errors", [])]) from None
    outcome = await to_thread.run_sync(_execute, call.app_state.counties, call.session, county, command)
    if outcome is None:
        assert target is not None  # `_execute` answers None only for a path id it did not find
        _, en, zh = TARGETS[target]
        raise not_found(en, zh)
    if outcome.status == "conflict":
        assert outcome.reason is not None  # County.execute gives every conflict and rejection a reason
        raise ApiError(409, outcome.reason["en"], outcome.reason["zh"], kind="conflict")
    if outcome.status == "rejected":
        assert outcome.reason is not None
        named = None if outcome.field is None else [
            FieldError(field=outcome.field, message=outcome.reason["en"], message_zh=outcome.reason["zh"])]
        raise ApiError(422, outcome.reason["en"], outcome.reason["zh"], kind="rejected", errors=named)
    if isinstance(command, c.DepartCadre):
        async with call.db.acquire() as conn:
            await end_departed_accounts(conn, county, [command.cadre_id], call.session.username)
    return CommandOutcome(status=outcome.status, result=Done(**outcome.result))


def command_endpoint(command_type: type[c.Command], path: str, summary: str, tag: str,
                     then: Callable[[Call, CommandOutcome], Awaitable[None]] | None = None) -> ApiRoute:
    """The POST for one command; `then` runs after it applied or was a duplicate (e.g. an audit line)."""
    creates = getattr(command_type, "target", None) is None

    async def handler(call: Call) -> CommandOutcome:
        outcome = await run(call, command_type)
        if then is not None:
            await then(call, outcome)
        return outcome

    handler.__name__ = command_type.type
    handler.__doc__ = (f"Runs the `{command_type.type}` command. A rule of the domain it breaks (the object's state,"
                       " the caller's role) answers 422 with `type` …/rejected.")
    return endpoint("POST", path, body=body_model(command_type), response=CommandOutcome,
                    roles=ALLOWED_ROLES[command_type.type], status=201 if creates else 200, tags=[tag],
                    errors={404, 409, 422} if not creates else {409, 422}, summary=summary)(handler)
