"""Property: the reception read model (projections/receptions.py), held against scheduled by cadre and
month with the missed days, after incremental batches equals a rebuild, a plain fold of the events and
(as_of) a rebuild of only the events up to that day; its list of receptions pages through the same
receptions the fold keeps."""
from __future__ import annotations

import asyncio
import calendar
import uuid
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import asyncpg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections import receptions
from projections.base import Period
from services.domain import Cadre, Reception, ReceptionSchedule, clock
from tests.examples import examples
from tests.integration.projections.ledger_strategies import as_of_days, rebuilds_agree, run_history
from tests.integration.projections.strategies import SHANGHAI, START, cutoff, name

ADCODE = "469045"
RANKS = ["section_chief", "staff", "village_cadre"]
PERIOD = Period(date(2026, 3, 1), date(2026, 5, 31))


@st.composite
def reception_histories(draw: Any) -> list[Any]:
    """Cadres enrolled, re-ranked and departed; schedules for a cadre or a rank, monthly (also on the
    29th to 31st) or weekly, some ended; receptions, some recorded days after they were held."""
    events: list[Any] = []
    cadres: list[Cadre] = []
    plans: list[ReceptionSchedule] = []
    moment = START - timedelta(days=draw(st.integers(0, 15)))
    for made in range(1, draw(st.integers(3, 30)) + 1):
        moment += timedelta(minutes=draw(st.integers(1, 60 * 24 * 5)))
        active = [c for c in cadres if not c.departed]
        action = draw(st.sampled_from(["enrol", "rank", "depart", "schedule", "schedule", "revise", "end", "receive",
                                       "receive", "receive"]))
        if not active:
            action = "enrol"
        today = moment.astimezone(SHANGHAI).date()
        someone = active[draw(st.integers(0, len(active) - 1))] if active else None
        with clock.at(moment):
            if action == "enrol":
                cadre = Cadre(id=uuid.UUID(int=made), name=f"干部{made:02d}", rank=draw(st.sampled_from(RANKS)),
                              unit="组织部", township=None, phone=None)
                cadres.append(cadre)
                events += cadre.collect_events()
            elif action in ("rank", "depart"):
                cadre = someone
                if action == "depart":
                    cadre.depart("调离")
                elif (rank := draw(st.sampled_from(RANKS))) != cadre.rank:
                    cadre.change_rank(rank)
                events += cadre.collect_events()
            elif action == "schedule":
                weekly = draw(st.booleans())
                named = draw(st.booleans())
                plan = ReceptionSchedule(
                    id=uuid.UUID(int=made), cadre_id=someone.id if named else None,
                    rank=None if named else draw(st.sampled_from(RANKS)), place=f"接访点{made}", village=None,
                    cadence="weekly" if weekly else "monthly",
                    day=draw(st.integers(1, 7)) if weekly else draw(st.sampled_from([1, 10, 20, 29, 30, 31])),
                    starts_on=(today + timedelta(days=draw(st.integers(-20, 20)))).isoformat(), set_by="admin")
                plans.append(plan)
                events += plan.collect_events()
            elif action == "revise":  # new terms from today or a later day (the domain refuses earlier ones)
                open_plans = [p for p in plans if p.ends_on is None]
                if open_plans:
                    plan = open_plans[draw(st.integers(0, len(open_plans) - 1))]
                    weekly, named = draw(st.booleans()), draw(st.booleans())
                    plan.revise(someone.id if named else None, None if named else draw(st.sampled_from(RANKS)),
                                f"改后接访点{made}", None, "weekly" if weekly else "monthly",
                                draw(st.integers(1, 7)) if weekly else draw(st.sampled_from([1, 15, 30, 31])),
                                (today + timedelta(days=draw(st.sampled_from([0, 0, 1, 9])))).isoformat(),
                                today.isoformat(), "admin")
                    events += plan.collect_events()
            elif action == "end":
                open_plans = [p for p in plans if p.ends_on is None]
                if open_plans:
                    plan = open_plans[draw(st.integers(0, len(open_plans) - 1))]
                    plan.end(max(plan.starts_on, (today + timedelta(days=draw(st.integers(-10, 10)))).isoformat()),
                             "admin")
                    events += plan.collect_events()
            else:
                held_at = moment - timedelta(days=draw(st.sampled_from([0, 0, 1, 6])), hours=draw(st.integers(0, 3)))
                reception = Reception(
                    id=uuid.UUID(int=made), receiver_id=someone.id, occurred_at=held_at,
                    place="接访室", village=None, residents=draw(st.integers(0, 9)),
                    issue_ids=[str(uuid.uuid4()) for _ in range(draw(st.integers(0, 2)))], recorded_by="admin",
                    received_at=moment)
                events += reception.collect_events()
    return events


def _falls_on(cadence: str, day: int, on: date) -> bool:
    if cadence == "weekly":
        return on.isoweekday() == day
    last = calendar.monthrange(on.year, on.month)[1]
    return on.day == (day if day <= last else last)


def fold(events: list[Any], as_of: date) -> list[tuple]:
    """The report from the events in plain Python: each day of the period, each cadre, each schedule."""
    seen = [e for e in events if e.timestamp < cutoff(as_of)]
    states: dict[Any, list[tuple[date, str, bool]]] = defaultdict(list)  # cadre -> [(from day, rank, departed)]
    names: dict[Any, str] = {}
    plans: dict[Any, dict] = {}
    held: dict[tuple, list] = defaultdict(list)
    for e in seen:
        day = e.timestamp.astimezone(SHANGHAI).date()
        if name(e) == "Cadre.Enrolled":
            names[e.originator_id] = e.name
            states[e.originator_id].append((day, e.rank, False))
        elif name(e) == "Cadre.RankChanged":
            states[e.originator_id].append((day, e.rank, False))
        elif name(e) == "Cadre.Departed":
            states[e.originator_id].append((day, states[e.originator_id][-1][1], True))
        elif name(e) == "ReceptionSchedule.Set":
            plans[e.originator_id] = {"starts": date.fromisoformat(e.starts_on), "ends": None, "terms": [
                (date.min, {"cadre": e.cadre_id, "rank": e.rank, "cadence": e.cadence, "day": e.day,
                            "place": e.place})]}
        elif name(e) == "ReceptionSchedule.Revised":  # the terms from its day on, over any revision before
            plans[e.originator_id]["terms"].append((date.fromisoformat(e.from_on), {
                "cadre": e.cadre_id, "rank": e.rank, "cadence": e.cadence, "day": e.day, "place": e.place}))
        elif name(e) == "ReceptionSchedule.Ended":
            plans[e.originator_id]["ends"] = date.fromisoformat(e.ends_on)
        elif name(e) == "Reception.Recorded":
            held[(e.receiver_id, e.occurred_at.astimezone(SHANGHAI).date())].append(e)

    def state(cadre: Any, day: date) -> tuple[str, bool] | None:
        known = [(rank, departed) for since, rank, departed in states[cadre] if since <= day]
        return known[-1] if known else None

    rows: dict[tuple, dict] = {}

    def row(cadre: Any, day: date) -> dict:
        key = (day.isoformat()[:7], cadre)
        return rows.setdefault(key, {"scheduled": 0, "held": 0, "on": 0, "missed": [], "upcoming": 0,
                                     "residents": 0, "issues": 0})

    for (cadre, day), found in held.items():
        if PERIOD.start <= day <= PERIOD.end:
            r = row(cadre, day)
            r["held"] += len(found)
            r["residents"] += sum(e.residents for e in found)
            r["issues"] += sum(len(e.issue_ids) for e in found)
    day = PERIOD.start
    while day <= PERIOD.end:
        for cadre in states:
            now = state(cadre, day)
            if now is None or now[1]:
                continue
            places = [t["place"] for p in sorted(plans.values(), key=lambda p: p["starts"])
                      if p["starts"] <= day and (p["ends"] is None or day <= p["ends"])
                      for t in [[terms for since, terms in p["terms"] if since <= day][-1]]
                      if _falls_on(t["cadence"], t["day"], day)
                      and (t["cadre"] == cadre if t["cadre"] is not None else t["rank"] == now[0])]
            if places:
                r = row(cadre, day)
                r["scheduled"] += 1
                if (cadre, day) in held:
                    r["on"] += 1
                elif day < as_of:
                    r["missed"].append(day)
                else:
                    r["upcoming"] += 1
        day += timedelta(days=1)
    return sorted((month, names.get(cadre), cadre, r["scheduled"], r["held"], r["on"], len(r["missed"]),
                   r["upcoming"], r["residents"], r["issues"], r["missed"]) for (month, cadre), r in rows.items())


async def answer(conn: Any, schema: str, day: date) -> list[tuple]:
    rows = await receptions.report(conn, schema, PERIOD, as_of=day)
    return sorted((r["month"], r["name"], r["cadre_id"], r["scheduled"], r["held"], r["on_schedule"], r["missed"],
                   r["upcoming"], r["residents"], r["issues"], [m["day"] for m in r["missed_days"]]) for r in rows)


async def listed(conn: Any, schema: str, day: date) -> list[Any]:
    ids, after = [], None
    while True:
        page = await receptions.held(conn, schema, PERIOD, as_of=day, limit=2, after=after)
        ids += [r["reception_id"] for r in page["items"]]
        if page["next"] is None:
            return ids
        after = page["next"]


def folded_list(events: list[Any], day: date) -> list[Any]:
    start, end = PERIOD.instants()
    kept = [e for e in events if name(e) == "Reception.Recorded" and e.timestamp < cutoff(day)
            and start <= e.occurred_at < end]
    return [e.originator_id for e in sorted(kept, key=lambda e: (e.occurred_at, e.originator_id), reverse=True)]


async def check(url: str, schema: str, events: list[Any], chunks: list[int], batch_size: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await run_history(conn, url, schema, events, chunks, batch_size)
        middle, last = as_of_days(events)
        incremental = {day: await answer(conn, schema, day) for day in (middle, last)}
        for day, expected in incremental.items():
            assert expected == fold(events, day), day
            assert await listed(conn, schema, day) == folded_list(events, day), day
        await rebuilds_agree(conn, url, schema, events, incremental, middle, answer)
    finally:
        await conn.close()


@settings(max_examples=examples(12), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=reception_histories(), chunks=st.lists(st.integers(1, 25), min_size=1, max_size=4),
       batch_size=st.integers(1, 40))
def test_held_against_scheduled_is_the_same_incrementally_rebuilt_folded_and_cut(database_url, county, events, chunks,
                                                                                 batch_size):
    asyncio.run(check(database_url, county(ADCODE), events, chunks, batch_size))
