"""`POST /api/v1/sync`: a phone's outbox, up to 500 commands, each answered on its own (DESIGN §7).

Each entry `{id, type, payload}` gets `applied`, `duplicate` (same id, same payload: the original
result), `conflict` (same id with another payload, or a stale `expected_version`) or `rejected` (with
a reason in Chinese and English and, for invalid fields, which fields). A bad entry never fails the
batch: the answer is 200 whenever the batch itself is well formed. Resending a batch, even from
several phones at once, changes nothing: the County's command receipts make every command id count
once. The county is always the session's.

The write side is synchronous (psycopg), so the whole batch runs in one threadpool call.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Literal
from uuid import UUID

from anyio import to_thread
from pydantic import BaseModel, Field

from services.county import Actor
from services.domain.commands import parse_command
from services.domain.errors import InvalidCommand
from services.identity import end_departed_accounts

from .auth import actor_of
from .routing import Call, endpoint, nul_fields

MAX_COMMANDS = 500
SYNC_ROLES = {"cadre", "county_admin", "department"}


class SyncCommand(BaseModel):
    id: UUID = Field(description="the client's id for this command (for things made on the phone, also their id)")
    type: str = Field(max_length=40, description="a command type, e.g. check_in")
    payload: Any = Field(description="the command's fields (an object)")


class SyncBatch(BaseModel):
    device_id: str | None = Field(None, max_length=64)
    commands: list[SyncCommand] = Field(max_length=MAX_COMMANDS)


class Reason(BaseModel):
    zh: str
    en: str


class FieldProblem(BaseModel):
    field: str
    zh: str
    en: str


class CommandResult(BaseModel):
    id: UUID
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    reason: Reason | None = None
    errors: list[FieldProblem] | None = None
    result: dict[str, Any] | None = None


class SyncResults(BaseModel):
    results: list[CommandResult]


def run_batch(counties: Any, actor: Actor, batch: SyncBatch, may_hold_nul: bool) -> list[CommandResult]:
    """Parse every entry, execute the valid ones in order (in batched transactions), answer each.
    `may_hold_nul=False` skips looking for NUL characters entry by entry (the body has none)."""
    county_app = counties.get(actor.county)
    answers: list[CommandResult | None] = [None] * len(batch.commands)
    valid: list[tuple[int, Any]] = []
    for index, entry in enumerate(batch.commands):
        payload = entry.payload
        if entry.type == "check_in" and isinstance(payload, dict) and batch.device_id and "device_id" not in payload:
            payload = {**payload, "device_id": batch.device_id}
        nul = nul_fields(payload) if may_hold_nul else None
        if nul:
            answers[index] = CommandResult(
                id=entry.id, status="rejected",
                reason=Reason(zh="文字中不能含有空字符（NUL）。", en="Text may not contain NUL characters."),
                errors=[FieldProblem(field=f, zh=f"{f}：含有空字符（NUL）", en=f"{f}: contains a NUL character")
                        for f in nul])
            continue
        try:
            valid.append((index, parse_command(entry.type, entry.id, payload)))
        except InvalidCommand as error:
            problems = error.context.get("errors")
            answers[index] = CommandResult(id=entry.id, status="rejected", reason=Reason(**error.reason),
                                           errors=[FieldProblem(**p) for p in problems] if problems else None)
    outcomes = county_app.execute_many([command for _, command in valid], actor) if valid else []
    for (index, _), outcome in zip(valid, outcomes, strict=True):
        named = outcome.field and outcome.reason
        answers[index] = CommandResult(id=batch.commands[index].id, status=outcome.status,
                                       reason=Reason(**outcome.reason) if outcome.reason else None,
                                       errors=[FieldProblem(field=outcome.field, **outcome.reason)] if named else None,
                                       result=outcome.result or None)
    assert all(answer is not None for answer in answers)
    return answers  # type: ignore[return-value]


@endpoint("POST", "/sync", body=SyncBatch, response=SyncResults, roles=SYNC_ROLES, tags=["sync"], reject_nul=False,
          summary="Send a batch of offline commands; each is answered applied, duplicate, conflict or rejected")
async def sync(call: Call) -> SyncResults:
    county = call.county
    assert call.session is not None
    # JSON carries a NUL only as the escape \u0000: a body without one needs no search entry by entry.
    may_hold_nul = b"\\u0000" in await call.request.body()
    results = await to_thread.run_sync(run_batch, call.app_state.counties, actor_of(call.session, county), call.body,
                                       may_hold_nul)
    departed = [UUID(str(entry.payload.get("cadre_id")))
                for entry, result in zip(call.body.commands, results, strict=True)
                if entry.type == "depart_cadre" and result.status in ("applied", "duplicate")]
    if departed:
        async with call.db.acquire() as conn:
            await end_departed_accounts(conn, county, departed, call.session.username)
    metrics = getattr(call.app_state, "metrics", None)
    if metrics is not None:
        for status, count in Counter(result.status for result in results).items():
            metrics.sync_commands.labels(status).inc(count)
    return SyncResults(results=results)


routes = [sync]
