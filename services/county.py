"""The County application: one instance per county, one method per command, idempotent execution.

`execute(command, actor)` answers an `Outcome`:
- `applied`: the command's event and its `CommandReceipt` were saved in one transaction;
- `duplicate`: a receipt for this command id with the same payload digest exists: the original result;
- `conflict`: the same command id with another payload, or the aggregate moved past `expected_version`;
- `rejected`: validation, a domain rule or authorisation said no; nothing is saved, so a later resend
  is judged afresh.

Each command method decides (loads, checks, triggers one event) without saving; `execute` and
`execute_many` do the saving, so a bulk load goes through exactly the same rules as a phone.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, TypeVar, cast
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate as LibraryAggregate
from eventsourcing.domain import CanMutateProtocol
from eventsourcing.persistence import IntegrityError, InterfaceError, JSONTranscoder, OperationalError, StoredEvent
from eventsourcing.utils import retry
from psycopg import sql

from services import departments
from services.domain import (
    AssessmentScore, Cadre, Campaign, CommandReceipt, ContactTarget, DomainError, Household, HouseholdProposal,
    Interview, InvalidState,
    Issue, NotFound, NotPermitted, Pairing, Reception, ReceptionSchedule, ResearchReport, ResearchTopic, ReviewMinutes,
    TargetRegister, Visit, clock,
    receipt_id,
)
from services.domain import commands as c
from services.domain.errors import InvalidCommand, shown
from services.domain.issue import CHINA_TIME
from services.domain.reception import reception_issue_id
from services.domain.target import REGISTER_ID
from services.personal import (
    ERASED, KeyStore, open_free_text, open_personal, open_text, seal_free_text, seal_personal, seal_text,
)
from services.places import KnownPlaces, Level, named_places
from services.storage.names import adcode_of, register_transcodings
from services.storage.recorder import MAX_EVENTS_PER_SAVE
from services.vocabulary import labels

A = TypeVar("A", bound=LibraryAggregate)
Status = Literal["applied", "duplicate", "conflict", "rejected"]

# A command records one event on its aggregate, plus its receipt; confirming a proposal records two (the
# proposal's and the new household's), a reception one more per issue raised at it.
EVENTS_PER_COMMAND = 2
EVENTS_OF = {"confirm_proposal": 3, "register_target": 3}  # the first target also opens the register


def events_of(command: c.Command) -> int:
    if isinstance(command, c.RecordReception):
        return EVENTS_PER_COMMAND + len(command.issues)
    return EVENTS_OF.get(command.type, EVENTS_PER_COMMAND)
# A proposed household's id, from its proposal's id (uuid5): the key its personal fields are sealed with
# is the household's from the start.
PROPOSED_HOUSEHOLD_NAMESPACE = UUID("2b7e8c4a-6d0f-5a9e-8c1b-3f4a5d6e7f80")


@dataclass(frozen=True)
class Actor:
    """Who sends a command, from the session (never from the request body)."""

    user_id: str
    roles: frozenset[str]
    county: str
    cadre_id: UUID | None = None
    department: str | None = None  # for the `department` role: which department's issues it handles

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(self.roles))

    @property
    def is_admin(self) -> bool:
        return "county_admin" in self.roles


@dataclass(frozen=True)
class Outcome:
    status: Status
    reason: dict[str, str] | None = None
    result: dict[str, Any] = field(default_factory=dict)
    field: str | None = None  # a rejection about one field (e.g. a village not of the county) names it

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "result": self.result}


class Conflict(Exception):
    """The aggregate changed since the client read it."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, found {actual}")
        self.reason = {
            "zh": f"该记录的版本已变化（您提交的是第 {expected} 版，现在是第 {actual} 版），请刷新后重试。",
            "en": f"This record is at version {actual}, not the version {expected} you sent: reload and try again.",
        }


# Roles that may send each command at all; finer rules (a department's own issues, a cadre's own
# issue) are checked by the command methods.
ALLOWED_ROLES: dict[str, frozenset[str]] = {
    **{name: frozenset({"county_admin"}) for name in (
        "register_household", "relocate_household", "retag_household", "archive_household",
        "enrol_cadre", "change_rank", "transfer_cadre", "depart_cadre", "form_pairing", "end_pairing",
        "void_visit", "define_campaign", "confirm_proposal", "merge_proposal", "refuse_proposal",
        "decide_issue", "record_minutes", "register_target", "revise_target", "archive_target",
        "set_reception_schedule", "revise_reception_schedule", "end_reception_schedule", "assign_topic",
        "enter_assessment_score",
    )},
    "propose_household": frozenset({"cadre"}),
    "check_in": frozenset({"cadre", "county_admin"}),
    "hold_interview": frozenset({"cadre", "county_admin"}),
    "raise_issue": frozenset({"cadre", "county_admin"}),
    "route_issue": frozenset({"cadre", "county_admin"}),
    "resolve_issue": frozenset({"cadre", "county_admin", "department"}),
    "reply_issue": frozenset({"county_admin", "department"}),
    "rate_issue": frozenset({"cadre", "county_admin"}),
    "reopen_issue": frozenset({"cadre", "county_admin"}),
    "record_reception": frozenset({"cadre", "county_admin"}),
    "file_report": frozenset({"cadre", "county_admin"}),
}
assert set(ALLOWED_ROLES) == set(c.COMMANDS)


def digest(command: c.Command) -> str:
    """sha256 of the command's canonical payload: equal for a byte-for-byte resend."""
    payload = {"type": command.type, **command.model_dump(mode="json")}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Work:
    """One unit of work: the aggregates one `execute` or `execute_many` call reads and changes, and
    the household keys it needs.

    Reads are cached for the unit's life, so a bulk load reads each household and cadre once; changed
    aggregates keep their pending events until the next save.
    """

    def __init__(self, county: County) -> None:
        self.county = county
        self.aggregates: dict[UUID, LibraryAggregate] = {}
        self.changed: dict[UUID, LibraryAggregate] = {}
        self.keys: dict[UUID, bytes | None] = {}
        self.places = KnownPlaces(county.adcode)
        self.departments: dict[str, dict[str, Any]] = {}

    def department(self, text: str) -> dict[str, Any]:
        """What the county's departments make of `text` (services/departments.lookup), asked once per unit."""
        if text not in self.departments:
            self.departments[text] = self.county.look_up_department(text)
        return self.departments[text]

    def get(self, cls: type[A], aggregate_id: UUID, what: tuple[str, str]) -> A:
        aggregate = self.aggregates.get(aggregate_id)
        if aggregate is None:
            try:
                aggregate = self.county.repository.get(aggregate_id)
            except AggregateNotFoundError:
                aggregate = None
            if aggregate is not None:
                self.aggregates[aggregate_id] = aggregate
        if not isinstance(aggregate, cls):
            zh, en = what
            raise NotFound(f"{cls.__name__.lower()}_not_found", f"找不到该{zh}。", f"No such {en} in this county.",
                           id=str(aggregate_id))
        return aggregate

    def read(self, aggregate_ids: Iterable[UUID], receipt_ids: Iterable[UUID],
             household_ids: Iterable[UUID]) -> dict[UUID, LibraryAggregate]:
        """Read what a batch needs at once (else one query each): the aggregates it references and the
        household keys, kept for the unit, and the receipts that exist among `receipt_ids` (returned:
        those commands are done already)."""
        receipt_ids = set(receipt_ids)
        wanted = {i for i in aggregate_ids if i not in self.aggregates} | receipt_ids
        keys = [i for i in dict.fromkeys(household_ids) if i not in self.keys]
        loaded, found = self.county.read(wanted, keys)
        self.keys.update({i: found.get(i) for i in keys})
        receipts = {i: loaded.pop(i) for i in receipt_ids if i in loaded}
        self.aggregates.update(loaded)
        return receipts

    def require_places(self, command: c.Command) -> None:
        """Every village and township the command names is a place of the county (services/places.py)."""
        named = named_places(command)
        if self.places.unasked(named):
            self.county.learn_places(self.places, named)
        for level, code in named:
            self.places.require(level, code)

    def created(self, aggregate: A) -> A:
        self.aggregates[aggregate.id] = aggregate
        self.changed[aggregate.id] = aggregate
        return aggregate

    def changing(self, aggregate: A, command: c.ChangeCommand) -> A:
        if aggregate.version != command.expected_version:
            raise Conflict(command.expected_version, aggregate.version)
        self.changed[aggregate.id] = aggregate
        return aggregate

    def key(self, household_id: UUID) -> bytes | None:
        if household_id not in self.keys:
            self.keys[household_id] = self.county.keys.get(household_id)
        return self.keys[household_id]

    def create_keys(self, household_ids: Iterable[UUID]) -> None:
        ids = [i for i in household_ids if i not in self.keys]
        found = self.county.keys.create_many(ids)
        self.keys.update({i: found.get(i) for i in ids})

    def forget_changes(self) -> None:
        # After a failed save the changed aggregates hold events that were never stored.
        for aggregate_id in self.changed:
            self.aggregates.pop(aggregate_id, None)
        self.changed.clear()


HOUSEHOLD = ("农户", "household")
CADRE = ("干部", "cadre")
PAIRING = ("结对", "pairing")
VISIT = ("走访记录", "visit")
ISSUE = ("问题", "issue")
PROPOSAL = ("农户申报", "household proposal")
CAMPAIGN = ("慰问活动", "campaign")
TARGET = ("联系对象", "contact target")
SCHEDULE = ("接访安排", "reception schedule")
TOPIC = ("调研课题", "research topic")


class County(Application[UUID]):
    name = "County"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # The library types `recorder` as an abstract ApplicationRecorder; services/storage/recorder.py's
        # factory makes a Postgres one, with a datastore and an events table (the ignores below).
        datastore = self.recorder.datastore  # type: ignore[attr-defined]
        self.schema: str = datastore.schema
        self.adcode = adcode_of(self.schema)
        self.keys = KeyStore(partial(datastore.transaction, commit=True), self.schema)
        self._read_statement = sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {events} WHERE originator_id = ANY(%b)"
            " UNION ALL SELECT household_id, 0, NULL, key FROM {keys} WHERE household_id = ANY(%b)"
            " ORDER BY 1, 2"
        ).format(events=sql.Identifier(self.schema, self.recorder.events_table_name),  # type: ignore[attr-defined]
                 keys=sql.Identifier(self.schema, "household_keys"))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        register_transcodings(transcoder)

    # --- execution ---------------------------------------------------------------------------------

    def execute(self, command: c.Command, actor: Actor) -> Outcome:
        work = Work(self)
        receipt = receipt_id(command.command_id)
        # The receipt, the aggregates the command reads and the household key in one query.
        receipted = work.read(_references(command, actor), [receipt], _keys_needed(command))
        if receipt in receipted:
            return _answer(receipted[receipt], command)
        refusal = self._decide(command, actor, work)
        if refusal is not None:
            return refusal
        aggregate = work.changed[self._aggregate_id(command)]
        result = {"id": str(aggregate.id), "version": aggregate.version}
        try:
            # Every aggregate the command changed (one, or two when a proposal is confirmed), with its receipt.
            self._save(*work.changed.values(), CommandReceipt(id=receipt, command=command.type,
                                                              digest=digest(command), result=result))
        except IntegrityError:
            # Someone got there first: the same command (a concurrent resend) or another change to
            # the same aggregate (a concurrent writer). The receipt tells which.
            answer = self._answer_from_receipt(command)
            if answer is not None:
                return answer
            return Outcome("conflict", {
                "zh": "该记录刚被他人修改，请刷新后重试。",
                "en": "Someone else changed this record at the same moment: reload and try again.",
            })
        return Outcome("applied", None, result)

    def execute_many(self, commands: Sequence[c.Command], actor: Actor) -> list[Outcome]:
        """Execute commands in order, saving many per transaction (at most MAX_EVENTS_PER_SAVE events).

        For bulk loading: the same rules as `execute`, with reads, keys and receipts looked up per
        batch. A batch that meets an integrity error (e.g. a concurrent writer) is re-run one command
        at a time, so every command still gets its own definite answer.
        """
        outcomes: list[Outcome | None] = [None] * len(commands)
        work = Work(self)
        for chunk in _batches(commands):
            receipt_ids = {cmd.command_id: receipt_id(cmd.command_id) for _, cmd in chunk}
            work.create_keys(_new_household_id(cmd) for _, cmd in chunk
                             if isinstance(cmd, (c.RegisterHousehold, c.ProposeHousehold)))
            places = [place for _, cmd in chunk for place in named_places(cmd)]
            if work.places.unasked(places):
                self.learn_places(work.places, places)
            receipted = work.read((i for _, cmd in chunk for i in _references(cmd, actor)), receipt_ids.values(),
                                  (i for _, cmd in chunk for i in _keys_needed(cmd)))
            applied: list[tuple[int, c.Command, dict[str, Any]]] = []
            receipts: list[CommandReceipt] = []
            seen: dict[UUID, tuple[str, dict[str, Any]]] = {}
            for index, command in chunk:
                if command.command_id in seen:
                    outcomes[index] = self._repeat(command, seen)
                    continue
                if receipt_ids[command.command_id] in receipted:
                    outcomes[index] = _answer(receipted[receipt_ids[command.command_id]], command)
                    continue
                refusal = self._decide(command, actor, work)
                if refusal is not None:
                    outcomes[index] = refusal
                    continue
                aggregate = work.changed[self._aggregate_id(command)]
                result = {"id": str(aggregate.id), "version": aggregate.version}
                command_digest = digest(command)
                seen[command.command_id] = (command_digest, result)
                receipts.append(CommandReceipt(id=receipt_ids[command.command_id], command=command.type,
                                               digest=command_digest, result=result))
                applied.append((index, command, result))
            try:
                self._save(*work.changed.values(), *receipts)
            except IntegrityError:
                work.forget_changes()
                for index, command, _ in applied:
                    outcomes[index] = self.execute(command, actor)
            else:
                work.changed.clear()
                for index, _, result in applied:
                    outcomes[index] = Outcome("applied", None, result)
        assert all(o is not None for o in outcomes)
        return outcomes  # type: ignore[return-value]

    def load_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, LibraryAggregate]:
        """Aggregates by id, from their events. County takes no snapshots, so events are all there is."""
        return self.read(aggregate_ids, ())[0]

    def read(self, aggregate_ids: Iterable[UUID],
             household_ids: Iterable[UUID]) -> tuple[dict[UUID, LibraryAggregate], dict[UUID, bytes]]:
        """Aggregates by id and the keys of households, in one query (a key row has version 0, which
        no event has: versions start at 1).

        No transaction: the pool's connections autocommit, the statement reads one snapshot, and
        BEGIN and ROLLBACK would cost two more round trips (a sync request is mostly round trips)."""
        aggregate_ids, household_ids = list(aggregate_ids), list(household_ids)
        if not aggregate_ids and not household_ids:
            return {}, {}
        aggregates: dict[UUID, Any] = {}
        keys: dict[UUID, bytes] = {}
        # Every stored topic is an event class of services.domain, whose `mutate` folds it.
        to_domain_event = cast("Callable[[StoredEvent], CanMutateProtocol[Any]]", self.mapper.to_domain_event)
        for row in self._select(aggregate_ids, household_ids):
            originator_id, version = row["originator_id"], row["originator_version"]
            if version == 0:
                keys[originator_id] = bytes(row["state"])
                continue
            # The fold of eventsourcing's project_aggregate, without its per-event isinstance against a
            # runtime Protocol (typing's slow path).
            event = to_domain_event(StoredEvent(originator_id, version, row["topic"], bytes(row["state"])))
            aggregates[originator_id] = event.mutate(aggregates.get(originator_id))
        return aggregates, keys

    # Retried like the recorder's own reads: after a database restart the pool still holds dead
    # connections, and this is the first statement of every command.
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _select(self, aggregate_ids: list[UUID], household_ids: list[UUID]) -> list[Any]:
        # A Postgres recorder (see __init__): the ignore is for the library's abstract type.
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(self._read_statement, (aggregate_ids, household_ids), prepare=True)
            return cursor.fetchall()

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def learn_places(self, known: KnownPlaces, places: list[tuple[Level, str]]) -> None:
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            known.learn(cursor, places)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def look_up_department(self, text: str) -> dict[str, Any]:
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            return departments.lookup(cursor, self.adcode, text)

    def _save(self, *aggregates: LibraryAggregate) -> None:
        """`Application.save` for aggregates, without its per-object isinstance checks against runtime
        Protocols (typing's slow path: with the fold's, ~10 % of the server's CPU under sync). County
        takes no snapshots and notifies nothing in-process, so recording is all a save does."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in aggregates:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        self._record(processing_event)

    @staticmethod
    def _repeat(command: c.Command, seen: dict[UUID, tuple[str, dict[str, Any]]]) -> Outcome:
        earlier_digest, result = seen[command.command_id]
        return Outcome("duplicate", None, result) if earlier_digest == digest(command) else _id_reused()

    def _decide(self, command: c.Command, actor: Actor, work: Work) -> Outcome | None:
        """Run the command's method; an Outcome when it refuses, None when its event is pending."""
        try:
            self._authorise(command, actor)
            work.require_places(command)
            getattr(self, command.type)(command, actor, work)
        except DomainError as error:
            return Outcome("rejected", error.reason, field=error.context.get("field"))
        except Conflict as conflict:
            return Outcome("conflict", conflict.reason)
        return None

    @staticmethod
    def _aggregate_id(command: c.Command) -> UUID:
        return command.aggregate_id if isinstance(command, c.ChangeCommand) else command.command_id

    def _authorise(self, command: c.Command, actor: Actor) -> None:
        if actor.county != self.adcode:
            raise NotPermitted("other_county", "不能操作其他县的数据。", "You cannot act on another county's data.")
        if not actor.roles & ALLOWED_ROLES[command.type]:
            raise NotPermitted("role_not_permitted", "您的角色无权执行此操作。",
                               f"Your role may not {command.type.replace('_', ' ')}.", command=command.type)

    def _answer_from_receipt(self, command: c.Command) -> Outcome | None:
        try:
            receipt: LibraryAggregate = self.repository.get(receipt_id(command.command_id))
        except AggregateNotFoundError:
            return None
        return _answer(receipt, command)

    # --- households --------------------------------------------------------------------------------

    def register_household(self, command: c.RegisterHousehold, actor: Actor, work: Work) -> None:
        household_id = command.command_id
        if household_id not in work.keys or work.keys[household_id] is None:
            work.keys[household_id] = self.keys.create(household_id)
        key = work.keys[household_id]
        assert key is not None
        work.created(Household(
            id=household_id, village=command.village, township=command.township,
            address=seal_free_text(command.address, key, household_id), lat=command.lat, lon=command.lon,
            tags=list(command.tags), size=command.size,
            personal=seal_personal(command.head_name, command.phone, command.notes, key, household_id),
        ))

    def relocate_household(self, command: c.RelocateHousehold, actor: Actor, work: Work) -> None:
        household = work.changing(work.get(Household, command.household_id, HOUSEHOLD), command)
        key = work.key(household.id)
        if key is None:  # the address is personal: an erased household has none to keep
            raise InvalidState("household_erased", "该户的个人信息已删除，不能再记录新地址。",
                               "This household's personal data was erased: a new address cannot be kept.")
        household.relocate(village=command.village, township=command.township,
                           address=seal_free_text(command.address, key, household.id), lat=command.lat,
                           lon=command.lon)

    def retag_household(self, command: c.RetagHousehold, actor: Actor, work: Work) -> None:
        work.changing(work.get(Household, command.household_id, HOUSEHOLD), command).retag(list(command.tags))

    def archive_household(self, command: c.ArchiveHousehold, actor: Actor, work: Work) -> None:
        household = work.changing(work.get(Household, command.household_id, HOUSEHOLD), command)
        household.archive(_sealed_or_dropped(command.reason, work, household.id))

    # --- household proposals (a cadre's, from the phone; the office decides) ---------------------------

    def propose_household(self, command: c.ProposeHousehold, actor: Actor, work: Work) -> None:
        cadre_id = self._own_cadre(actor, work)
        household_id = _new_household_id(command)
        if work.keys.get(household_id) is None:
            work.keys[household_id] = self.keys.create(household_id)
        key = work.keys[household_id]
        assert key is not None
        work.created(HouseholdProposal(
            id=command.command_id, household_id=household_id, village=command.village, township=command.township,
            address=seal_free_text(command.address, key, household_id), lat=command.lat, lon=command.lon,
            tags=list(command.tags), size=command.size,
            personal=seal_personal(command.head_name, command.phone, command.notes, key, household_id),
            proposed_by=cadre_id, occurred_at=command.occurred_at,
        ))

    def confirm_proposal(self, command: c.ConfirmProposal, actor: Actor, work: Work) -> None:
        proposal = work.changing(work.get(HouseholdProposal, command.proposal_id, PROPOSAL), command)
        proposal.confirm(actor.user_id)
        # The household takes the proposal's sealed fields as they are: they are sealed with its key.
        work.created(Household(
            id=proposal.household_id, village=proposal.village, township=proposal.township,
            address=proposal.address, lat=proposal.lat, lon=proposal.lon, tags=list(proposal.tags),
            size=proposal.size, personal=proposal.personal,
        ))

    def merge_proposal(self, command: c.MergeProposal, actor: Actor, work: Work) -> None:
        proposal = work.changing(work.get(HouseholdProposal, command.proposal_id, PROPOSAL), command)
        household = self._active_household(work, command.household_id)
        proposal.merge(household.id, actor.user_id)

    def refuse_proposal(self, command: c.RefuseProposal, actor: Actor, work: Work) -> None:
        proposal = work.changing(work.get(HouseholdProposal, command.proposal_id, PROPOSAL), command)
        proposal.refuse(_sealed_or_dropped(command.reason, work, proposal.household_id), actor.user_id)

    # --- cadres and pairings -----------------------------------------------------------------------

    def enrol_cadre(self, command: c.EnrolCadre, actor: Actor, work: Work) -> None:
        work.created(Cadre(id=command.command_id, name=command.name, rank=command.rank, unit=command.unit,
                           township=command.township, phone=command.phone))

    def change_rank(self, command: c.ChangeRank, actor: Actor, work: Work) -> None:
        work.changing(work.get(Cadre, command.cadre_id, CADRE), command).change_rank(command.rank)

    def transfer_cadre(self, command: c.TransferCadre, actor: Actor, work: Work) -> None:
        work.changing(work.get(Cadre, command.cadre_id, CADRE), command).transfer(command.unit, command.township)

    def depart_cadre(self, command: c.DepartCadre, actor: Actor, work: Work) -> None:
        work.changing(work.get(Cadre, command.cadre_id, CADRE), command).depart(command.reason)

    def form_pairing(self, command: c.FormPairing, actor: Actor, work: Work) -> None:
        work.get(Cadre, command.cadre_id, CADRE).require_active()
        target_id = command.target_id
        if command.target_kind == "household":
            household = self._active_household(work, UUID(target_id))
            target_id = str(household.id)
        else:
            target = self._registered_target(work, command.target_kind, target_id)
            target_id = str(target.id) if target is not None else target_id
        work.created(Pairing(id=command.command_id, cadre_id=command.cadre_id, target_kind=command.target_kind,
                             target_id=target_id, programme=command.programme, cadence=command.cadence,
                             formed_on=command.formed_on.isoformat()))

    def end_pairing(self, command: c.EndPairing, actor: Actor, work: Work) -> None:
        pairing = work.changing(work.get(Pairing, command.pairing_id, PAIRING), command)
        household_id = UUID(pairing.target_id) if pairing.target_kind == "household" else None
        pairing.end(_sealed_or_dropped(command.reason, work, household_id), command.ended_on.isoformat())

    # --- the register of contact targets ---------------------------------------------------------------

    def register_target(self, command: c.RegisterTarget, actor: Actor, work: Work) -> None:
        if not isinstance(work.aggregates.get(REGISTER_ID), TargetRegister):
            work.created(TargetRegister(id=REGISTER_ID, opened_by=actor.user_id))
        work.created(ContactTarget(id=command.command_id, kind=command.kind, name=command.name,
                                   township=command.township, village=command.village, lat=command.lat,
                                   lon=command.lon, weak=command.weak))

    def revise_target(self, command: c.ReviseTarget, actor: Actor, work: Work) -> None:
        target = work.changing(work.get(ContactTarget, command.target_id, TARGET), command)
        if command.weak and target.kind != "party_branch":
            raise InvalidCommand("weak_not_a_branch", "weak：只有党支部可以标记为软弱涣散",
                                 "weak: only a Party branch can be flagged weak and scattered", field="weak")
        target.revise(command.name, command.township, command.village, command.lat, command.lon, command.weak)

    def archive_target(self, command: c.ArchiveTarget, actor: Actor, work: Work) -> None:
        work.changing(work.get(ContactTarget, command.target_id, TARGET), command).archive(command.reason)

    @staticmethod
    def _registered_target(work: Work, kind: str, target_id: str) -> ContactTarget | None:
        """The register's target a pairing or check-in names (of that kind, not archived); None while the
        county keeps no register (free text, as before it did). Once it keeps one, anything else is refused."""
        target: object = None
        with suppress(ValueError, NotFound):  # free text, or no such id
            target = work.get(ContactTarget, UUID(target_id), TARGET)
        if isinstance(target, ContactTarget) and target.kind == kind:
            target.require_active()
            return target
        if isinstance(target, ContactTarget) or isinstance(work.aggregates.get(REGISTER_ID), TargetRegister):
            raise InvalidCommand(
                "unknown_target",
                f"target_id：本县联系对象名录中没有这个{_kind_zh(kind)}，请先在“联系对象”中登记或选择",
                f"target_id: no {kind.replace('_', ' ')} of this id in the county's register of contact targets: "
                "register it first or pick one (GET /api/v1/targets)", field="target_id")
        return None

    # --- field work ----------------------------------------------------------------------------------

    def check_in(self, command: c.CheckIn, actor: Actor, work: Work) -> None:
        cadre_id = self._own_cadre(actor, work)
        household_id, village, note = None, None, command.note
        target_id = command.target_id
        if command.target_kind == "household":
            household = self._active_household(work, UUID(command.target_id))
            household_id, village, target_id = household.id, household.village, str(household.id)
            if note:
                key = work.key(household.id)
                if key is None:
                    raise InvalidState("household_erased", "该户的个人信息已删除，不能再记录走访备注。",
                                       "This household's personal data was erased: a visit note cannot be kept.")
                note = seal_text(note, key, household.id)
        else:
            target = self._registered_target(work, command.target_kind, target_id)
            if target is not None:  # the visit is in the target's village (None: a township-level target)
                target_id, village = str(target.id), target.village
        work.created(Visit(
            id=command.command_id, cadre_id=cadre_id, target_kind=command.target_kind, target_id=target_id,
            household_id=household_id, village=village, kind=command.kind, occurred_at=command.occurred_at,
            received_at=clock.now(), position=command.position.model_dump() if command.position else None,
            topics=list(command.topics), note=note, companions=[str(u) for u in command.companions],
            device_id=command.device_id, days=command.days,
        ))

    def void_visit(self, command: c.VoidVisit, actor: Actor, work: Work) -> None:
        visit = work.changing(work.get(Visit, command.visit_id, VISIT), command)
        visit.void(actor.user_id, _sealed_or_dropped(command.reason, work, visit.household_id))

    def hold_interview(self, command: c.HoldInterview, actor: Actor, work: Work) -> None:
        interviewer_id = self._own_cadre(actor, work)
        work.get(Cadre, command.interviewee_id, CADRE)
        work.created(Interview.hold(
            id=command.command_id, interviewer_id=interviewer_id, interviewee_id=command.interviewee_id,
            form=command.form, direction=command.direction, topics=list(command.topics),
            opinions_count=command.opinions_count, follow_up=command.follow_up, occurred_at=command.occurred_at,
            received_at=clock.now(), note=command.note,
        ))

    # --- issues --------------------------------------------------------------------------------------

    def raise_issue(self, command: c.RaiseIssue, actor: Actor, work: Work) -> None:
        summary = command.summary
        if command.household_id is not None:
            work.get(Household, command.household_id, HOUSEHOLD)
            key = work.key(command.household_id)
            if key is None:
                raise InvalidState("household_erased", "该户的个人信息已删除，不能再记录关于该户的问题。",
                                   "This household's personal data was erased: an issue about it cannot be kept.")
            summary = seal_free_text(summary, key, command.household_id)
        work.created(Issue(
            id=command.command_id, source_kind=command.source_kind, source_id=command.source_id,
            household_id=command.household_id, village=command.village, category=command.category,
            summary=summary, raised_by=actor.cadre_id, occurred_at=command.occurred_at,
        ))

    def route_issue(self, command: c.RouteIssue, actor: Actor, work: Work) -> None:
        issue = work.get(Issue, command.issue_id, ISSUE)
        # A cadre may only take their own issue on the spot (即接即办); everything else is the office's.
        if not actor.is_admin and not (command.route == "on_the_spot" and self._raised_by(issue, actor)):
            raise _not_yours("只有县委组织部可以分办问题；干部只能对自己提出的问题即接即办。",
                             "Only the county office routes issues; a cadre may only take their own issue on the spot.")
        work.changing(issue, command).route(
            command.route, self._department_of(command.department, work),
            command.deadline.isoformat() if command.deadline else None, routed_by=actor.user_id,
        )

    def decide_issue(self, command: c.DecideIssue, actor: Actor, work: Work) -> None:
        issue = work.get(Issue, command.issue_id, ISSUE)
        department = self._department_of(command.department, work)
        assert department is not None
        work.changing(issue, command).decide(
            command.month, department, command.deadline.isoformat(),
            _sealed_or_dropped(command.decision, work, issue.household_id), decided_by=actor.user_id)

    def resolve_issue(self, command: c.ResolveIssue, actor: Actor, work: Work) -> None:
        issue = work.get(Issue, command.issue_id, ISSUE)
        if not (actor.is_admin or self._routed_to(issue, actor, work)
                or (issue.current_route == "on_the_spot" and self._raised_by(issue, actor))):
            raise _not_yours("只能办结转给本部门的问题，或自己即接即办的问题。",
                             "You may resolve only issues routed to your department, or your own on-the-spot issues.")
        resolution = _sealed_or_dropped(command.resolution, work, issue.household_id)
        work.changing(issue, command).resolve(resolution, resolved_by=actor.user_id)

    def reply_issue(self, command: c.ReplyIssue, actor: Actor, work: Work) -> None:
        issue = work.get(Issue, command.issue_id, ISSUE)
        if not (actor.is_admin or self._routed_to(issue, actor, work)):
            raise _not_yours("只能答复转给本部门的问题。", "You may reply only to issues routed to your department.")
        work.changing(issue, command).reply(_sealed_or_dropped(command.reply, work, issue.household_id),
                                            replied_by=actor.user_id)

    def rate_issue(self, command: c.RateIssue, actor: Actor, work: Work) -> None:
        issue = work.get(Issue, command.issue_id, ISSUE)
        if not (actor.is_admin or self._raised_by(issue, actor)):
            raise _not_yours("只能为自己提出的问题记录满意度。",
                             "You may record satisfaction only for issues you raised.")
        work.changing(issue, command).rate(command.satisfaction, rated_by=actor.user_id)

    def reopen_issue(self, command: c.ReopenIssue, actor: Actor, work: Work) -> None:
        issue = work.get(Issue, command.issue_id, ISSUE)
        if not (actor.is_admin or self._raised_by(issue, actor)):
            raise _not_yours("只能重新打开自己提出的问题。", "You may reopen only issues you raised.")
        work.changing(issue, command).reopen(_sealed_or_dropped(command.reason, work, issue.household_id),
                                             reopened_by=actor.user_id)

    # --- campaigns -------------------------------------------------------------------------------------

    def define_campaign(self, command: c.DefineCampaign, actor: Actor, work: Work) -> None:
        work.created(Campaign(id=command.command_id, festival=command.festival,
                              starts_on=command.starts_on.isoformat(), ends_on=command.ends_on.isoformat(),
                              tags=list(command.tags), defined_by=actor.user_id))

    # --- reception days -------------------------------------------------------------------------------

    def set_reception_schedule(self, command: c.SetReceptionSchedule, actor: Actor, work: Work) -> None:
        if command.cadre_id is not None:
            work.get(Cadre, command.cadre_id, CADRE).require_active()
        work.created(ReceptionSchedule(
            id=command.command_id, cadre_id=command.cadre_id, rank=command.rank, place=command.place,
            village=command.village, cadence=command.cadence, day=command.day,
            starts_on=command.starts_on.isoformat(), set_by=actor.user_id))

    def revise_reception_schedule(self, command: c.ReviseReceptionSchedule, actor: Actor, work: Work) -> None:
        schedule = work.changing(work.get(ReceptionSchedule, command.schedule_id, SCHEDULE), command)
        if command.cadre_id is not None:
            work.get(Cadre, command.cadre_id, CADRE).require_active()
        today = clock.now().astimezone(CHINA_TIME).date().isoformat()  # the reception days' calendar
        schedule.revise(command.cadre_id, command.rank, command.place, command.village, command.cadence, command.day,
                        command.from_on.isoformat(), today, actor.user_id)

    def end_reception_schedule(self, command: c.EndReceptionSchedule, actor: Actor, work: Work) -> None:
        schedule = work.changing(work.get(ReceptionSchedule, command.schedule_id, SCHEDULE), command)
        schedule.end(command.ends_on.isoformat(), actor.user_id)

    def record_reception(self, command: c.RecordReception, actor: Actor, work: Work) -> None:
        """The reception, and each issue raised at it through `raise_issue` (the same rules and event as
        one raised in the field), raised by the receiver."""
        if actor.is_admin and command.receiver_id is not None:
            receiver = command.receiver_id
            work.get(Cadre, receiver, CADRE).require_active()
        elif actor.cadre_id is None:
            raise InvalidCommand("receiver_missing", "receiver_id：请选择接访的干部",
                                 "receiver_id: name the cadre who received", field="receiver_id")
        else:
            receiver = self._own_cadre(actor, work)
            if command.receiver_id not in (None, receiver):
                raise _not_yours("干部只能登记本人的接访。", "A cadre records only the receptions they held.")
        as_receiver = dataclasses.replace(actor, cadre_id=receiver)
        issue_ids = []
        for index, raised in enumerate(command.issues):
            issue = c.RaiseIssue(
                command_id=reception_issue_id(command.command_id, index), source_kind="reception",
                source_id=str(command.command_id), household_id=raised.household_id,
                village=raised.village or command.village, category=raised.category, summary=raised.summary,
                occurred_at=command.occurred_at)
            work.require_places(issue)
            self.raise_issue(issue, as_receiver, work)
            issue_ids.append(str(issue.command_id))
        work.created(Reception(
            id=command.command_id, receiver_id=receiver, occurred_at=command.occurred_at, place=command.place,
            village=command.village, residents=command.residents, issue_ids=issue_ids, recorded_by=actor.user_id,
            received_at=clock.now()))

    # --- research topics and reports ------------------------------------------------------------------

    def assign_topic(self, command: c.AssignTopic, actor: Actor, work: Work) -> None:
        for cadre_id in command.assignee_ids:
            work.get(Cadre, cadre_id, CADRE).require_active()
        work.created(ResearchTopic(
            id=command.command_id, title=command.title, description=command.description,
            assignee_ids=[str(i) for i in command.assignee_ids], due_on=command.due_on.isoformat(),
            assigned_by=actor.user_id))

    def file_report(self, command: c.FileReport, actor: Actor, work: Work) -> None:
        """A report by one of the topic's assignees (the sender, or the one an admin names), on visits and
        issues of this county."""
        topic = work.get(ResearchTopic, command.topic_id, TOPIC)
        if actor.is_admin and command.author_id is not None:
            author = command.author_id
            work.get(Cadre, author, CADRE)
        elif actor.cadre_id is None:
            raise InvalidCommand("author_missing", "author_id：请选择撰写报告的干部",
                                 "author_id: name the cadre who wrote the report", field="author_id")
        else:
            author = self._own_cadre(actor, work)
            if command.author_id not in (None, author):
                raise _not_yours("干部只能提交本人撰写的调研报告。", "A cadre files only the reports they wrote.")
        if not topic.assigned_to(author):
            raise InvalidState("topic_not_assigned", "topic_id：该调研课题未分配给该干部，不能提交报告",
                               "topic_id: this research topic is not assigned to this cadre, who cannot report on it",
                               field="topic_id")
        for cls, ids, named, (zh, en) in ((Visit, command.visit_ids, "visit_ids", VISIT),
                                          (Issue, command.issue_ids, "issue_ids", ISSUE)):
            for linked in ids:
                try:
                    work.get(cls, linked, (zh, en))
                except NotFound:
                    raise NotFound(f"linked_{en}_not_found", f"{named}：本县没有编号为 {linked} 的{zh}",
                                   f"{named}: no {en} {linked} in this county", field=named) from None
        work.created(ResearchReport(
            id=command.command_id, topic_id=topic.id, author_id=author, title=command.title, summary=command.summary,
            visit_ids=[str(i) for i in command.visit_ids], issue_ids=[str(i) for i in command.issue_ids],
            occurred_at=command.occurred_at, filed_by=actor.user_id, received_at=clock.now()))

    # --- the composite assessment (三维考核) ----------------------------------------------------------

    def enter_assessment_score(self, command: c.EnterAssessmentScore, actor: Actor, work: Work) -> None:
        """A democratic evaluation or opinion poll score of a cadre of this county (one who has departed
        still gets the score of a period they served in)."""
        try:
            work.get(Cadre, command.cadre_id, CADRE)
        except NotFound:
            raise NotFound("cadre_not_found", f"cadre_id：本县没有编号为 {command.cadre_id} 的干部",
                           f"cadre_id: no cadre {command.cadre_id} in this county", field="cadre_id") from None
        work.created(AssessmentScore(id=command.command_id, cadre_id=command.cadre_id, period=command.period,
                                     part=command.part, score=command.score, entered_by=actor.user_id))

    # --- the monthly review ----------------------------------------------------------------------------

    def record_minutes(self, command: c.RecordMinutes, actor: Actor, work: Work) -> None:
        work.created(ReviewMinutes(id=command.command_id, month=command.month, minutes=command.minutes,
                                   attendees=list(command.attendees), recorded_by=actor.user_id))

    # --- shared checks -------------------------------------------------------------------------------

    def _own_cadre(self, actor: Actor, work: Work) -> UUID:
        """A cadre records field work as themselves, so the actor must be a cadre still in post."""
        if actor.cadre_id is None:
            raise NotPermitted("no_cadre_record", "您的账号未关联干部档案，不能记录走访或约谈。",
                               "Your account is not linked to a cadre record, so it cannot record field work.")
        work.get(Cadre, actor.cadre_id, CADRE).require_active()
        return actor.cadre_id

    @staticmethod
    def _active_household(work: Work, household_id: UUID) -> Household:
        household = work.get(Household, household_id, HOUSEHOLD)
        if household.archived:
            raise InvalidState("household_archived", "该户已归档，不能再走访或结对。",
                               "This household is archived: no more visits or pairings.",
                               household_id=str(household_id))
        return household

    @staticmethod
    def _raised_by(issue: Issue, actor: Actor) -> bool:
        return actor.cadre_id is not None and issue.raised_by == actor.cadre_id

    @staticmethod
    def _department_of(text: str | None, work: Work) -> str | None:
        """The department a route names: once the county lists departments, one of them (by code or
        current name), recorded by its code; before, the free text as given (services/departments.py)."""
        if text is None:
            return None
        found = work.department(text)
        if not found["listed"]:
            return text
        if found["current"] is None:
            raise InvalidCommand(
                "unknown_department", f"department：“{shown(text)}”不是本县的职能部门，请从部门名录中选择",
                f"department: {shown(text)!r} is not a department of this county: pick one of its departments "
                "(GET /api/v1/departments)", field="department")
        return str(found["current"])

    @staticmethod
    def _routed_to(issue: Issue, actor: Actor, work: Work) -> bool:
        """Whether the issue is routed to the actor's department, by its key (code), whatever text
        either was recorded with."""
        return ("department" in actor.roles and actor.department is not None
                and issue.current_route == "department" and issue.department is not None
                and work.department(issue.department)["key"] == work.department(actor.department)["key"])

    # --- reads the API needs -------------------------------------------------------------------------

    def household(self, household_id: UUID) -> dict[str, Any]:
        """A household with its personal fields opened (or marked erased when its key is gone)."""
        household = Work(self).get(Household, household_id, HOUSEHOLD)
        key = self.keys.get(household_id)
        personal = open_personal(household.personal, key, household_id) if key is not None else ERASED
        return {
            "id": str(household.id), "version": household.version, "village": household.village,
            "township": household.township, "address": open_free_text(household.address, key, household_id),
            "lat": household.lat,
            "lon": household.lon, "tags": household.tags, "size": household.size, "archived": household.archived,
            "head_name": personal.head_name, "phone": personal.phone, "notes": personal.notes,
            "erased": personal.erased,
        }

    def cadre(self, cadre_id: UUID) -> dict[str, Any]:
        cadre = Work(self).get(Cadre, cadre_id, CADRE)
        return {"id": str(cadre.id), "version": cadre.version, "name": cadre.name, "rank": cadre.rank,
                "unit": cadre.unit, "township": cadre.township, "phone": cadre.phone, "departed": cadre.departed}

    def pairing(self, pairing_id: UUID) -> dict[str, Any]:
        pairing = Work(self).get(Pairing, pairing_id, PAIRING)
        return {"id": str(pairing.id), "version": pairing.version, "cadre_id": str(pairing.cadre_id),
                "target_kind": pairing.target_kind, "target_id": pairing.target_id, "programme": pairing.programme,
                "cadence": pairing.cadence, "formed_on": pairing.formed_on, "ended_on": pairing.ended_on}

    def visit(self, visit_id: UUID) -> dict[str, Any]:
        """A visit with its note opened (None with `note_erased` when the household's key is gone)."""
        visit = Work(self).get(Visit, visit_id, VISIT)
        note: str | None = visit.note
        if visit.household_id is not None and visit.note:
            note = open_text(visit.note, self.keys.get(visit.household_id), visit.household_id)
        return {
            "id": str(visit.id), "version": visit.version, "cadre_id": str(visit.cadre_id),
            "target_kind": visit.target_kind, "target_id": visit.target_id,
            "household_id": str(visit.household_id) if visit.household_id else None, "village": visit.village,
            "kind": visit.kind, "occurred_at": visit.occurred_at.isoformat(),
            "received_at": visit.received_at.isoformat(), "position": visit.position, "topics": visit.topics,
            "note": note, "note_erased": note is None, "companions": visit.companions, "voided": visit.voided,
            "days": visit.days,
        }

    def campaign(self, campaign_id: UUID) -> dict[str, Any]:
        campaign = Work(self).get(Campaign, campaign_id, CAMPAIGN)
        return {"id": str(campaign.id), "version": campaign.version, "festival": campaign.festival,
                "starts_on": campaign.starts_on, "ends_on": campaign.ends_on, "tags": campaign.tags}

    def issue(self, issue_id: UUID) -> dict[str, Any]:
        issue = Work(self).get(Issue, issue_id, ISSUE)
        key = self.keys.get(issue.household_id) if issue.household_id is not None else None
        texts = {name: open_free_text(getattr(issue, attribute), key, issue.household_id)
                 for name, attribute in (("summary", "summary"), ("resolution", "resolution"), ("reply", "last_reply"))}
        return {
            "id": str(issue.id), "version": issue.version, "state": issue.state, "source_kind": issue.source_kind,
            "source_id": issue.source_id, "household_id": str(issue.household_id) if issue.household_id else None,
            "village": issue.village, "category": issue.category, "summary": texts["summary"],
            "raised_by": str(issue.raised_by) if issue.raised_by else None,
            "occurred_at": issue.occurred_at.isoformat(), "route": issue.current_route,
            "department": issue.department, "deadline": issue.deadline, "resolution": texts["resolution"],
            "reply": texts["reply"], "satisfaction": issue.satisfaction,
            "erased": issue.household_id is not None and key is None,
        }


def _references(command: c.Command, actor: Actor) -> list[UUID]:
    """The aggregates a command will read, so that a batch can read them all at once."""
    ids = [actor.cadre_id] if actor.cadre_id else []
    if isinstance(command, c.ChangeCommand):
        ids.append(command.aggregate_id)
    elif isinstance(command, (c.CheckIn, c.FormPairing)):
        if command.target_kind == "household":
            ids.append(UUID(command.target_id))
        else:  # a register's target, and whether the county keeps a register at all
            ids.append(REGISTER_ID)
            with suppress(ValueError):
                ids.append(UUID(command.target_id))
    elif isinstance(command, c.RegisterTarget):
        ids.append(REGISTER_ID)
    if isinstance(command, c.FormPairing):
        ids.append(command.cadre_id)
    elif isinstance(command, c.HoldInterview):
        ids.append(command.interviewee_id)
    elif isinstance(command, c.RecordReception) and command.receiver_id:
        ids.append(command.receiver_id)
    elif isinstance(command, c.AssignTopic):
        ids += command.assignee_ids
    elif isinstance(command, c.EnterAssessmentScore):
        ids.append(command.cadre_id)
    elif isinstance(command, c.FileReport):
        ids += [command.topic_id, *command.visit_ids, *command.issue_ids]
        if command.author_id:
            ids.append(command.author_id)
    elif isinstance(command, (c.RaiseIssue, c.MergeProposal)) and command.household_id:
        ids.append(command.household_id)
    return ids


def _kind_zh(kind: str) -> str:
    return labels("target_kind").get(kind, kind)


def _new_household_id(command: c.Command) -> UUID:
    """The household a command registers: a registration's own id, a proposal's derived one."""
    if isinstance(command, c.ProposeHousehold):
        return uuid5(PROPOSED_HOUSEHOLD_NAMESPACE, str(command.command_id))
    return command.command_id


def _batches(commands: Sequence[c.Command]) -> Iterable[list[tuple[int, c.Command]]]:
    """The commands with their positions, in runs whose events fit one save (MAX_EVENTS_PER_SAVE)."""
    chunk: list[tuple[int, c.Command]] = []
    events = 0
    for index, command in enumerate(commands):
        size = events_of(command)
        if chunk and events + size > MAX_EVENTS_PER_SAVE:
            yield chunk
            chunk, events = [], 0
        chunk.append((index, command))
        events += size
    if chunk:
        yield chunk


def _keys_needed(command: c.Command) -> list[UUID]:
    """The households whose keys a command seals with, so that a batch reads them with its aggregates.
    (An issue's household is known only once the issue is read: `Work.key` fetches that one.)"""
    if isinstance(command, c.CheckIn) and command.target_kind == "household":
        return [UUID(command.target_id)]
    if isinstance(command, (c.RelocateHousehold, c.ArchiveHousehold)):
        return [command.household_id]
    if isinstance(command, c.RaiseIssue) and command.household_id is not None:
        return [command.household_id]
    return []


def _sealed_or_dropped(text: str, work: Work, household_id: UUID | None) -> str:
    """Free text about a household, sealed with its key. Once the household is erased such text is not
    kept (stored empty), so its issues can still be closed and it can still be archived."""
    if household_id is None:
        return text
    key = work.key(household_id)
    return seal_free_text(text, key, household_id) if key is not None else ""


def _answer(receipt: LibraryAggregate, command: c.Command) -> Outcome:
    """The answer to a command whose id already has a receipt."""
    if isinstance(receipt, CommandReceipt) and receipt.command == command.type and receipt.digest == digest(command):
        return Outcome("duplicate", None, receipt.result)
    return _id_reused()


def _id_reused() -> Outcome:
    return Outcome("conflict", {
        "zh": "该操作编号已用于另一条不同的记录（请勿重复使用编号）。",
        "en": "This command id was already used for a different command.",
    })


def _not_yours(zh: str, en: str) -> NotPermitted:
    return NotPermitted("not_in_scope", zh, en)

