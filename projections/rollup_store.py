"""Where the province rollup keeps its running state (`projections.rollup_tally`) in a county schema.

One query per table loads what a batch touches, keyed by the batch's ids; `save` writes back what the
batch changed. The tables (`rollup_*`) live in the county schema, next to the read models whose
facts about the batch (a check-in's verdict, an issue's versions, an interview's ranks) `load` reads
by id, and are never joined with a table of schema `rollup` (Citus: they live on different nodes).
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from projections.base import event_name, upsert_rows
from projections.rollup_tally import MONTH_FIGURES, Facts, Pairing, Tally, Target, as_uuid
from projections.rules import Rules
from projections.verdicts import judged
from services.storage.connections import AsyncConnection

TABLES = [
    "CREATE TABLE IF NOT EXISTS {schema}.rollup_totals (one boolean PRIMARY KEY CHECK (one), day date NOT NULL,"
    " last_event_at timestamptz NOT NULL, registered int NOT NULL, archived int NOT NULL, archived_before int NOT NULL,"
    " cadres int NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {schema}.rollup_months (month date PRIMARY KEY, visited int NOT NULL,"
    " verified_visits int NOT NULL, verified_visited int NOT NULL, issues_raised int NOT NULL,"
    " issues_resolved int NOT NULL, issues_rated int NOT NULL, issues_satisfied int NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {schema}.rollup_households (household_id uuid PRIMARY KEY, archived_on date)",
    "CREATE TABLE IF NOT EXISTS {schema}.rollup_household_months (household_id uuid NOT NULL, month date NOT NULL,"
    " visits int NOT NULL, verified int NOT NULL, PRIMARY KEY (household_id, month))",
    "CREATE TABLE IF NOT EXISTS {schema}.rollup_pairings (pairing_id uuid PRIMARY KEY, cadre_id uuid NOT NULL,"
    " target_kind text NOT NULL, target_id text NOT NULL, cadence text NOT NULL, eligible_from date NOT NULL)",
    "CREATE INDEX IF NOT EXISTS rollup_pairings_target ON {schema}.rollup_pairings (cadre_id, target_kind, target_id)",
    # A household's archiving ends its pairings, whoever's they are.
    "CREATE INDEX IF NOT EXISTS rollup_pairings_household ON {schema}.rollup_pairings (target_id)"
    " WHERE target_kind = 'household'",
    "CREATE TABLE IF NOT EXISTS {schema}.rollup_target_days (cadre_id uuid NOT NULL, target_kind text NOT NULL,"
    " target_id text NOT NULL, day date NOT NULL, visits int NOT NULL,"
    " PRIMARY KEY (cadre_id, target_kind, target_id, day))",
    "CREATE TABLE IF NOT EXISTS {schema}.rollup_pairing_periods (cadence text NOT NULL, period_start date NOT NULL,"
    " eligible int NOT NULL, covered int NOT NULL, PRIMARY KEY (cadence, period_start))",
    "CREATE TABLE IF NOT EXISTS {schema}.rollup_cadres (cadre_id uuid PRIMARY KEY, departed boolean NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {schema}.rollup_cadre_years (cadre_id uuid NOT NULL, year int NOT NULL,"
    " interviews int NOT NULL, PRIMARY KEY (cadre_id, year))",
    "CREATE TABLE IF NOT EXISTS {schema}.rollup_years (year int PRIMARY KEY, interviewed int NOT NULL)",
]
STATE_TABLES = ("rollup_totals", "rollup_months", "rollup_households", "rollup_household_months", "rollup_pairings",
                "rollup_target_days", "rollup_pairing_periods", "rollup_cadres", "rollup_cadre_years", "rollup_years")


def _unnest_targets(targets: set[Target]) -> tuple[list[UUID], list[str], list[str]]:
    ordered = sorted(targets)
    return [t[0] for t in ordered], [t[1] for t in ordered], [t[2] for t in ordered]


async def load(conn: AsyncConnection, schema: str, events: list[Any], rules: Rules) -> tuple[Tally, Facts]:
    """The tally of what `events` touch, and the facts the county's read models hold about them."""
    names = [(event_name(e), e) for e in events]
    visits = [e.originator_id for n, e in names if n in ("Visit.CheckedIn", "Visit.Voided")]
    issues = [(e.originator_id, v) for n, e in names if n.startswith("Issue.")
              for v in (e.originator_version - 1, e.originator_version)]
    interviews = [e.originator_id for n, e in names if n == "Interview.Held"]
    facts: Facts = {"checkins": {}, "issues": {}, "interviews": {}, "judged": await judged(conn, schema, events)}
    if visits:
        facts["checkins"] = {r["visit_id"]: r for r in await conn.fetch(
            f"SELECT visit_id, cadre_id, target_kind, target_id, household_id, occurred_at, verified"
            # only the kinds that count toward "visited" (`projections.verdicts.counts_as_visit`, stored)
            f" FROM {schema}.verdicts_checkins WHERE visit_id = ANY($1::uuid[]) AND counted", visits)}
    if issues:
        facts["issues"] = {(r["issue_id"], r["version"]): r for r in await conn.fetch(
            f"SELECT issue_id, version, occurred_at, state, resolved_at, rated_at, satisfaction"
            f" FROM {schema}.issues_versions WHERE (issue_id, version) IN"
            " (SELECT * FROM unnest($1::uuid[], $2::bigint[]))",
            [k for k, _ in issues], [v for _, v in issues])}
    if interviews:
        facts["interviews"] = {r["interview_id"]: r for r in await conn.fetch(
            f"SELECT interview_id, interviewee_id, direction, interviewer_rank, interviewee_rank, occurred_at"
            f" FROM {schema}.interviews_held WHERE interview_id = ANY($1::uuid[])", interviews)}

    households = {e.originator_id for n, e in names if n.startswith("Household.")}
    turned = [r for rows in facts["judged"].rejudged.values() for r in rows if r["counted"]]
    households |= {r["household_id"] for r in [*facts["checkins"].values(), *turned] if r["household_id"] is not None}
    cadres = {e.originator_id for n, e in names if n.startswith("Cadre.")}
    cadres |= {r["interviewee_id"] for r in facts["interviews"].values()}
    ended = [e.originator_id for n, e in names if n == "Pairing.Ended"]
    # A pairing also ends with its household (archived) or its cadre (departed).
    archived = [str(e.originator_id) for n, e in names if n == "Household.Archived"]
    departed = [e.originator_id for n, e in names if n == "Cadre.Departed"]
    targets = {(r["cadre_id"], r["target_kind"], r["target_id"]) for r in [*facts["checkins"].values(), *turned]}
    targets |= {(as_uuid(e.cadre_id), e.target_kind, str(e.target_id)) for n, e in names if n == "Pairing.Formed"}

    tally = Tally(rules)
    totals = await conn.fetchrow(f"SELECT * FROM {schema}.rollup_totals")
    if totals is not None:
        tally.day, tally.last_event_at = totals["day"], totals["last_event_at"]
        tally.registered, tally.archived = totals["registered"], totals["archived"]
        tally.archived_before, tally.cadres_active = totals["archived_before"], totals["cadres"]
    tally.months = {r["month"]: {f: r[f] for f in MONTH_FIGURES}
                    for r in await conn.fetch(f"SELECT * FROM {schema}.rollup_months")}
    tally.periods = {(r["cadence"], r["period_start"]): [r["eligible"], r["covered"]]
                     for r in await conn.fetch(f"SELECT * FROM {schema}.rollup_pairing_periods")}
    tally.years = {r["year"]: r["interviewed"] for r in await conn.fetch(f"SELECT * FROM {schema}.rollup_years")}
    if households:
        ids = list(households)
        tally.households = {r["household_id"]: r["archived_on"] for r in await conn.fetch(
            f"SELECT * FROM {schema}.rollup_households WHERE household_id = ANY($1::uuid[])", ids)}
        for r in await conn.fetch(
                f"SELECT * FROM {schema}.rollup_household_months WHERE household_id = ANY($1::uuid[])", ids):
            tally.household_months[r["household_id"]][r["month"]] = [r["visits"], r["verified"]]
    if ended or targets or archived or departed:
        for r in await conn.fetch(
            f"SELECT * FROM {schema}.rollup_pairings WHERE pairing_id = ANY($1::uuid[]) OR"
            " (cadre_id, target_kind, target_id) IN (SELECT * FROM unnest($2::uuid[], $3::text[], $4::text[]))"
            " OR (target_kind = 'household' AND target_id = ANY($5::text[])) OR cadre_id = ANY($6::uuid[])",
            ended, *_unnest_targets(targets), archived, departed,
        ):
            tally.pairings[r["pairing_id"]] = pairing = Pairing(
                r["cadre_id"], r["target_kind"], r["target_id"], r["cadence"], r["eligible_from"])
            tally.paired[pairing.target].add(r["pairing_id"])
            targets.add(pairing.target)
    if targets:
        for r in await conn.fetch(
            f"SELECT * FROM {schema}.rollup_target_days WHERE (cadre_id, target_kind, target_id) IN"
            " (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]))",
            *_unnest_targets(targets),
        ):
            tally.target_days[(r["cadre_id"], r["target_kind"], r["target_id"])][r["day"]] = r["visits"]
    if cadres:
        ids = list(cadres)
        tally.cadres = {r["cadre_id"]: r["departed"] for r in await conn.fetch(
            f"SELECT * FROM {schema}.rollup_cadres WHERE cadre_id = ANY($1::uuid[])", ids)}
        for r in await conn.fetch(f"SELECT * FROM {schema}.rollup_cadre_years WHERE cadre_id = ANY($1::uuid[])", ids):
            tally.cadre_years[r["cadre_id"]][r["year"]] = r["interviews"]
    return tally, facts


async def save(conn: AsyncConnection, schema: str, tally: Tally) -> None:
    """Write back what the batch changed: one statement per table (`upsert_rows`; each key once)."""
    dirty = tally.dirty

    async def upsert(table: str, columns: list[tuple[str, str]], keys: int, rows: list[tuple[Any, ...]]) -> None:
        await upsert_rows(conn, f"{schema}.{table}", columns, keys, rows)  # nothing sent for no rows

    await upsert("rollup_totals", [("one", "boolean"), ("day", "date"), ("last_event_at", "timestamptz"),
                                   ("registered", "int"), ("archived", "int"), ("archived_before", "int"),
                                   ("cadres", "int")], 1,
                 [(True, tally.day, tally.last_event_at, tally.registered, tally.archived, tally.archived_before,
                   tally.cadres_active)])
    await upsert("rollup_months", [("month", "date"), *((f, "int") for f in MONTH_FIGURES)], 1,
                 [(m, *(tally.months[m][f] for f in MONTH_FIGURES)) for m in dirty["months"]])
    await upsert("rollup_households", [("household_id", "uuid"), ("archived_on", "date")], 1,
                 [(h, tally.households[h]) for h in dirty["households"]])
    await upsert("rollup_household_months", [("household_id", "uuid"), ("month", "date"), ("visits", "int"),
                                             ("verified", "int")], 2,
                 [(h, m, *tally.household_months[h][m]) for h, m in dirty["household_months"]])
    await upsert("rollup_pairings", [("pairing_id", "uuid"), ("cadre_id", "uuid"), ("target_kind", "text"),
                                     ("target_id", "text"), ("cadence", "text"), ("eligible_from", "date")], 1,
                 [(k, p.cadre_id, p.target_kind, p.target_id, p.cadence, p.eligible_from)
                  for k, p in tally.pairings.items() if k in dirty["pairings"]])
    if tally.ended:
        await conn.execute(f"DELETE FROM {schema}.rollup_pairings WHERE pairing_id = ANY($1::uuid[])",
                           list(tally.ended))
    await upsert("rollup_target_days", [("cadre_id", "uuid"), ("target_kind", "text"), ("target_id", "text"),
                                        ("day", "date"), ("visits", "int")], 4,
                 [(*k, tally.target_days[k[:3]][k[3]]) for k in dirty["target_days"]])
    await upsert("rollup_pairing_periods", [("cadence", "text"), ("period_start", "date"), ("eligible", "int"),
                                            ("covered", "int")], 2,
                 [(*k, *tally.periods[k]) for k in dirty["periods"]])
    await upsert("rollup_cadres", [("cadre_id", "uuid"), ("departed", "boolean")], 1,
                 [(c, tally.cadres[c]) for c in dirty["cadres"]])
    await upsert("rollup_cadre_years", [("cadre_id", "uuid"), ("year", "int"), ("interviews", "int")], 2,
                 [(c, y, tally.cadre_years[c][y]) for c, y in dirty["cadre_years"]])
    await upsert("rollup_years", [("year", "int"), ("interviewed", "int")], 1,
                 [(y, tally.years[y]) for y in dirty["years"]])
