"""The demo's contact targets (联系点 / 五个一) and reception days (接访日), added to a county's story.

- **The register** (2 January, before anything names a target): every village's Party branch (flagged weak
  and scattered, 软弱涣散: the ministers' contact points, the first village of a township of several and a
  few more by chance), and per township an enterprise, a talent, a project, a contact point (the township's
  党群服务中心), a community and a college-graduate village official, each with its place and coordinates.
  The story's Party-branch pairings and check-ins, written with the village's code as before the register
  existed, are re-pointed at the branch of that village (the register binds from its first target on).
- **五个一** (Lucheng): each township's secretary and deputy pair with its weak branch, enterprise, talent,
  project and contact point in January and check in at most of them each quarter (GPS fixes as elsewhere:
  some far, coarse or mocked); township staff call at the community and the village official now and then.
  `COUNTY_RULES` switches the 五个一 rule on in 保亭, so Compliance shows the coverage.
- **Reception days**: the minister receives at the office on the 10th; every section chief (the leaders and
  the township secretaries) at their contact point on the 20th; village cadres weekly on Mondays from
  September. A reception on a weekend day moves to the Monday, and now and then one is skipped: the read
  model flags those days as missed. The minister's receptions raise issues the office routes (some resolved
  by the department); a village's are settled on the spot. The leaders' 20th receptions are the story's
  reception check-ins, now recorded as receptions too (their issues were raised with the check-in).

Everything is drawn from random streams of its own, so the story's other commands stay as they were;
`_with_versions` (generator.py) numbers the new commands' versions with the others.
"""
from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

# generator.py imports this module only inside `county_steps`, once both are loaded.
from services.demo.generator import (
    _DEPARTMENT_HOUR, _DEPARTMENTS, _ROUTING_HOUR, _SUMMARIES, ADMIN, CHINA, Actor, Step, _Cadre, _fix, _local, _name,
    _session, _Story,
)
from services.demo.geography import Village, offset
from services.domain.reception import reception_issue_id

# County rules the demo sets before loading (merged into `core.counties.rules` by the loader).
COUNTY_RULES: dict[str, dict[str, Any]] = {"469029": {"five_ones_period": "quarterly"}}
MINISTER_DAY, CONTACT_POINT_DAY, VILLAGE_WEEKDAY = 10, 20, 1  # the 10th, the 20th, Mondays
VILLAGE_WEEKLY_FROM = date(2026, 9, 7)  # the first Monday of the village cadres' weekly reception
OFFICE_RECEPTION_ROOM = "县委组织部接访室"
_ENTERPRISES = ("橡胶加工厂", "槟榔专业合作社", "茶叶加工厂", "山兰稻种植合作社", "益智种植基地")
_TALENTS = ("种养能手", "返乡创业青年", "乡村医生", "非遗传承人", "农技员")
_PROJECTS = ("村道硬化工程", "饮水改造工程", "特色产业基地", "光伏发电项目", "危房改造项目")


class _Writer:
    """Appends steps to the story with ids from a stream of its own (never the story's)."""

    def __init__(self, story: _Story, rng: random.Random) -> None:
        self.story, self.rng = story, rng

    def add(self, at: datetime, command: str, actor: Actor, **payload: Any) -> uuid.UUID:
        command_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        if at <= self.story.until:
            self.story.steps.append(Step(at, self.story.county.adcode, command,
                                         {"command_id": command_id, **payload}, actor))
        return command_id


@dataclass(frozen=True)
class _Target:
    id: uuid.UUID
    kind: str
    name: str
    village: str | None
    lat: float
    lon: float
    weak: bool


def contact_work(story: _Story, seed: int, scale: float) -> None:
    """The register, the 五个一 pairings and check-ins, and the reception days (see the module doc). Below a
    fifth of the full size (the tests' small demos) only a few townships keep 五个一 and receptions: that
    work is per township and cadre, and would otherwise outweigh the small demo's own."""
    rng = random.Random(f"{seed}:{story.county.adcode}:contacts")
    write = _Writer(story, rng)
    villages = _villages(story)
    if not villages:
        return
    leaders = {c.village for c in story.cadres if c.role in ("minister", "deputy_minister") and c.village}
    targets: dict[str, list[_Target]] = {}  # township -> its targets
    branches: dict[str, _Target] = {}  # village code -> its Party branch
    registered = _local(date(2026, 1, 2), 8.0)
    for township in story.county.townships:
        own = [v for v in villages if v.township == township.code]
        if not own:
            continue
        for number, village in enumerate(own):
            # the leaders' contact points, the first of a township's villages (when it has more), a few more
            weak = village.code in leaders or (number == 0 and len(own) > 1) or rng.random() < 0.1
            branches[village.code] = _register(write, targets, registered, "party_branch", f"{village.name}党支部",
                                               township.code, village, 40, weak=weak)
        _register(write, targets, registered, "enterprise", f"{township.name}{rng.choice(_ENTERPRISES)}",
                  township.code, rng.choice(own), rng.uniform(300, 700))
        _register(write, targets, registered, "talent", f"{_name(rng)}（{rng.choice(_TALENTS)}）", township.code,
                  rng.choice(own), rng.uniform(50, 300))
        village = rng.choice(own)
        _register(write, targets, registered, "project", f"{village.name}{rng.choice(_PROJECTS)}", township.code,
                  village, rng.uniform(200, 600))
        _register(write, targets, registered, "contact_point", f"{township.name}党群服务中心联系点", township.code,
                  None, 0, seat=(township.lat, township.lon))
        _register(write, targets, registered, "community", f"{township.name}墟社区", township.code, None,
                  rng.uniform(100, 400), seat=(township.lat, township.lon))
        _register(write, targets, registered, "village_official", f"{_name(rng)}（大学生村官）", township.code,
                  rng.choice(own), rng.uniform(20, 200))
    _point_at_branches(story, branches)
    # Townships with a weak branch first, so the few a small demo keeps busy have one to contact.
    ordered = sorted(targets, key=lambda code: not any(t.weak for t in targets[code]))
    busy = {code: targets[code] for code in ordered[:max(2, round(len(ordered) * min(1.0, scale * 5)))]}
    _five_ones(story, write, busy)
    _reception_days(story, write, busy, branches, villages)


def _villages(story: _Story) -> list[Village]:
    """The villages the story's households live in, in code order."""
    return sorted({h.village.code: h.village for h in story.households}.values(), key=lambda v: v.code)


def _register(write: _Writer, targets: dict[str, list[_Target]], at: datetime, kind: str, name: str, township: str,
              village: Village | None, distance: float, *, weak: bool = False,
              seat: tuple[float, float] | None = None) -> _Target:
    """A target `distance` metres from its village's centre (or the township seat), registered by the office."""
    centre = (village.lat, village.lon) if village else seat
    assert centre is not None
    angle = write.rng.uniform(0, 2 * math.pi)
    point = offset((centre[1], centre[0]), distance * math.cos(angle), distance * math.sin(angle))
    lat, lon = round(point[1], 6), round(point[0], 6)
    target_id = write.add(at, "register_target", ADMIN, kind=kind, name=name, township=township,
                          village=village.code if village else None, lat=lat, lon=lon, weak=weak)
    target = _Target(target_id, kind, name, village.code if village else None, lat, lon, weak)
    targets.setdefault(township, []).append(target)
    return target


def _point_at_branches(story: _Story, branches: dict[str, _Target]) -> None:
    """The story's Party-branch pairings and check-ins named the village (free text, as before a register):
    from its first target on the register binds, so they name the village's branch."""
    for index, step in enumerate(story.steps):
        payload = step.payload
        if payload.get("target_kind") == "party_branch" and payload.get("target_id") in branches:
            story.steps[index] = replace(step, payload={**payload, "target_id": str(branches[payload["target_id"]].id)})


def _check_in(write: _Writer, cadre: _Cadre, target: _Target, occurred: datetime, kind: str) -> None:
    rng = write.rng
    synced = occurred + timedelta(hours=rng.uniform(0.2, 7))
    write.add(synced, "check_in", Actor("cadre", cadre.id), target_kind=target.kind, target_id=str(target.id),
              kind=kind, occurred_at=occurred, position=_fix(rng, target.lat, target.lon), topics=["听取意见"],
              note="", companions=[], device_id=cadre.device)


def _five_ones(story: _Story, write: _Writer, targets: dict[str, list[_Target]]) -> None:
    rng = write.rng
    last = story.until.astimezone(CHINA).date()
    for cadre in story.cadres:
        if cadre.role != "township" or cadre.township not in targets:
            continue
        own = targets[cadre.township]
        if cadre.rank in ("section_chief", "deputy_section_chief"):
            branches = [t for t in own if t.kind == "party_branch"]
            weak = next((t for t in branches if t.weak), branches[0])  # none weak: the township's first
            five = [weak, *(next(t for t in own if t.kind == kind) for kind in ("enterprise", "talent", "project"))]
            formed_on = date(2026, 1, 16)
            for target in [*five, next(t for t in own if t.kind == "contact_point")]:
                write.add(_local(formed_on, 10.0), "form_pairing", ADMIN, cadre_id=cadre.id, target_kind=target.kind,
                          target_id=str(target.id), programme="五个一", cadence="quarterly", formed_on=formed_on)
            visits, odds = five, 0.85
        else:  # township staff: the community and the village official, now and then
            visits, odds = [t for t in own if t.kind in ("community", "village_official")], 0.4
        for quarter in range(4):
            for target in visits:
                first = max(date(2026, 3 * quarter + 1, 1), date(2026, 1, 19))  # after the pairings
                day = first + timedelta(days=rng.randrange(85 - (first.day - 1) if quarter == 0 else 85))
                day -= timedelta(days=max(0, day.weekday() - 4))  # a weekend's visit is on the Friday
                if rng.random() < odds and day <= last:
                    kind = "forum" if target.kind in ("enterprise", "project", "party_branch") else "chat"
                    _check_in(write, cadre, target, _local(day, rng.uniform(9, 16.5)), kind)


def _reception_days(story: _Story, write: _Writer, targets: dict[str, list[_Target]], branches: dict[str, _Target],
                    villages: list[Village]) -> None:
    rng = write.rng
    last = story.until.astimezone(CHINA).date()
    minister = next((c for c in story.cadres if c.role == "minister"), None)
    set_at = _local(date(2026, 1, 2), 10.0)
    if minister is not None:
        write.add(set_at, "set_reception_schedule", ADMIN, cadre_id=minister.id, place=OFFICE_RECEPTION_ROOM,
                  cadence="monthly", day=MINISTER_DAY, starts_on=date(2026, 1, 1))
    write.add(set_at, "set_reception_schedule", ADMIN, rank="section_chief", place="各自联系点", cadence="monthly",
              day=CONTACT_POINT_DAY, starts_on=date(2026, 1, 1))
    write.add(_local(VILLAGE_WEEKLY_FROM - timedelta(days=6), 10.0), "set_reception_schedule", ADMIN,
              rank="village_cadre", place="村党群服务中心", cadence="weekly", day=VILLAGE_WEEKDAY,
              starts_on=VILLAGE_WEEKLY_FROM)

    def issues(count: int, village: str | None = None) -> list[dict[str, Any]]:
        out = []
        for _ in range(count):
            category = rng.choice(list(_SUMMARIES))
            out.append({"category": category, "summary": rng.choice(_SUMMARIES[category]),
                        "village": village or rng.choice(villages).code})
        return out

    def record(cadre: _Cadre, occurred: datetime, place: str, village: str | None, residents: int,
               raised: list[dict[str, Any]], on_the_spot: bool) -> None:
        sender = Actor("cadre", cadre.id)
        synced = occurred + timedelta(hours=rng.uniform(1, 6))
        reception = write.add(synced, "record_reception", sender, occurred_at=occurred, place=place, village=village,
                              residents=residents, issues=raised)
        for index, issue in enumerate(raised):
            issue_id = reception_issue_id(reception, index)
            if on_the_spot:  # settled there and then, in the same upload
                write.add(synced, "route_issue", sender, issue_id=issue_id, route="on_the_spot")
                write.add(synced, "resolve_issue", sender, issue_id=issue_id, resolution="已现场答复并处理")
                continue
            department = _DEPARTMENTS[issue["category"]]
            routed = _session(synced, _ROUTING_HOUR, rng.uniform(0, 2))
            if rng.random() < 0.5:
                write.add(routed, "route_issue", ADMIN, issue_id=issue_id, route="monthly_review")
                continue
            deadline = routed.astimezone(CHINA).date() + timedelta(days=rng.choice((15, 20, 30)))
            write.add(routed, "route_issue", ADMIN, issue_id=issue_id, route="department", department=department,
                      deadline=deadline)
            if rng.random() < 0.6:
                write.add(_session(routed, _DEPARTMENT_HOUR, rng.uniform(3, 14)), "resolve_issue",
                          Actor("department", department=department), issue_id=issue_id, resolution="已协调解决")

    def held_on(day: date, skip: float) -> date | None:
        """The day a reception due on `day` is held: a weekend's on the Monday; None when skipped."""
        if day.weekday() >= 5:
            day += timedelta(days=7 - day.weekday())
        return None if rng.random() < skip or day > last else day

    for month in range(1, 13):
        if minister is not None and (day := held_on(date(2026, month, MINISTER_DAY), 0.15)):
            record(minister, _local(day, rng.uniform(9, 10)), OFFICE_RECEPTION_ROOM, None, rng.randint(3, 15),
                   issues(rng.choices((0, 1, 2), (30, 45, 25))[0]), on_the_spot=False)
        for cadre in story.cadres:
            if cadre.role == "township" and cadre.rank == "section_chief" and cadre.township in targets:
                point = next(t for t in targets[cadre.township] if t.kind == "contact_point")
                if day := held_on(date(2026, month, CONTACT_POINT_DAY), 0.2):
                    occurred = _local(day, rng.uniform(9, 10.5))
                    _check_in(write, cadre, point, occurred, "reception")
                    own = [v.code for v in villages if v.township == cadre.township]
                    record(cadre, occurred, point.name, None, rng.randint(1, 10),
                           issues(int(rng.random() < 0.3), rng.choice(own)), on_the_spot=True)
    # The leaders' receptions at their contact points on the 20th are the story's reception check-ins.
    names = {str(b.id): b for b in branches.values()}
    leaders = {c.id: c for c in story.cadres if c.role in ("minister", "deputy_minister")}
    for step in [s for s in story.steps if s.command == "check_in" and s.payload["kind"] == "reception"]:
        leader = leaders.get(step.actor.cadre_id) if step.actor.cadre_id else None
        branch = names.get(step.payload["target_id"])
        if leader is None or branch is None:
            continue
        record(leader, step.payload["occurred_at"], f"{branch.name}（联系点）", branch.village,
               rng.randint(2, 12), [], on_the_spot=True)
    # Village cadres weekly, from September (the National Day week's mostly skipped).
    mondays = [VILLAGE_WEEKLY_FROM + timedelta(weeks=n) for n in range(20)]
    for cadre in story.cadres:
        if cadre.role != "village" or cadre.village is None or cadre.township not in targets:
            continue
        village = next(v for v in villages if v.code == cadre.village)
        for monday in mondays:
            skip = 0.7 if monday == date(2026, 10, 5) else 0.12
            if day := held_on(monday, skip):
                record(cadre, _local(day, rng.uniform(9, 11)), f"{village.name}党群服务中心", village.code,
                       rng.randint(0, 8), issues(int(rng.random() < 0.15), village.code), on_the_spot=True)
