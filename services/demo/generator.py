"""A year of field work in the demo province, as the commands users would have sent, in time order.

Deterministic: everything comes from `random.Random(f"{seed}:{adcode}")` (never the global random),
command ids included, so one seed always gives the same commands and a reload finds them applied.
Every aggregate's id is its creating command's id (the County's rule), so later commands can name
households, cadres and issues before anything is stored.

The story (DESIGN §1, §12): in January the county office imports households and enrols its cadres;
every cadre pairs with up to 5 hardship households. Through the year cadres visit households (more
in spring and autumn, fewer in the rainy season and the Spring Festival holiday), every paired
household about once a quarter, and the tagged households at Spring Festival, Duanwu and Mid-Autumn.
Leaders hold reception at their contact points on the 20th; interviews are on Tuesdays, by rank; the
monthly review meets on the last Friday afternoon. Some households are never visited and some GPS
fixes are bad or mocked, so the maps and ledgers have something to show. The register of contact targets,
the 五个一 and the reception days are services/demo/contacts.py's.
"""
from __future__ import annotations

import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from services.demo.geography import VILLAGE_RADIUS_M, DemoCounty, Village, hainan, offset
from services.domain.reception import reception_issue_id

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
DEMO_START = date(2026, 1, 1)
# The story ends on a fixed day so that the same seed always gives the same commands ("today-ish"
# when the demo was written); a fixed end also keeps every simulated time in the past.
DEMO_UNTIL = date(2026, 11, 20)
FESTIVALS = {"spring_festival": date(2026, 2, 17), "duanwu": date(2026, 6, 19), "mid_autumn": date(2026, 9, 25)}
SPRING_HOLIDAY = (date(2026, 2, 15), date(2026, 2, 23))
PEOPLE_PER_HOUSEHOLD = 90  # full scale: one demo household per 90 people (Baoting ≈ 29 per village)

HARDSHIP = frozenset({"hardship_member", "hardship_resident", "subsistence", "monitored"})
FESTIVAL_CARE = HARDSHIP | {"empty_nest_elderly", "left_behind_child", "disabled"}
_TAG_ODDS = (("hardship_resident", 0.20), ("subsistence", 0.08), ("monitored", 0.07),
             ("hardship_member", 0.05), ("empty_nest_elderly", 0.12), ("left_behind_child", 0.10),
             ("disabled", 0.06))
# General visits by month (Jan..Dec): busy spring and autumn, quiet in the holiday and the rains.
_MONTH_WEIGHT = (0.8, 0.5, 1.2, 1.2, 1.1, 1.0, 0.9, 0.7, 0.8, 1.0, 1.2, 1.0)
_FESTIVAL_REACH = {"spring_festival": (0.75, -11, 2), "duanwu": (0.35, -7, 1), "mid_autumn": (0.65, -10, 1)}

ROUTES = ("on_the_spot", "monthly_review", "department", "leadership")
ROUTED_STATES = ("routed", "resolved", "replied", "rated", "reopened")
# Every county's departments (services/departments.py): code -> name. Routes name them by code.
DEPARTMENT_NAMES = {
    "jiaotong": "交通运输局", "shuiwu": "水务局", "zhujian": "住房和城乡建设局", "weijian": "卫生健康委员会",
    "minzheng": "民政局", "jiaoyu": "教育局", "renshe": "人力资源和社会保障局", "nongye": "农业农村局",
    "sifa": "司法局", "gongxin": "工业和信息化局",
}
_DEPARTMENTS = {  # issue category -> the department (code) an issue of that kind is sent to
    "道路交通": "jiaotong", "饮水安全": "shuiwu", "农田水利": "shuiwu", "住房安全": "zhujian",
    "医疗保障": "weijian", "低保救助": "minzheng", "教育助学": "jiaoyu", "就业增收": "renshe",
    "产业发展": "nongye", "环境卫生": "zhujian", "邻里纠纷": "sifa", "电网通信": "gongxin",
}
DEPARTMENTS = tuple(sorted(set(_DEPARTMENTS.values())))
assert set(DEPARTMENTS) == set(DEPARTMENT_NAMES)
_SUMMARIES = {
    "道路交通": ["进村道路雨后塌方，车辆无法通行", "村道路灯损坏，夜间出行不便", "入户路泥泞，希望硬化"],
    "饮水安全": ["旱季自来水时常断水", "水管老化漏水，水压不足", "饮用水浑浊，希望检测水质"],
    "农田水利": ["灌溉水渠淤塞，田里缺水", "山塘堤坝渗漏，担心汛期安全"],
    "住房安全": ["房屋墙体开裂，雨季漏水", "危房改造补助尚未到位"],
    "医疗保障": ["老人慢性病用药报销比例不清楚", "希望村卫生室增加坐诊时间", "医保缴费遇到困难"],
    "低保救助": ["家庭收入下降，申请低保", "临时救助申请进度不明"],
    "教育助学": ["孩子上学路远，希望解决寄宿", "申请助学金材料不清楚"],
    "就业增收": ["希望提供外出务工信息", "想参加技能培训"],
    "产业发展": ["橡胶价格低，希望引导发展林下经济", "槟榔苗木病害，需要技术指导", "益智收购渠道少"],
    "环境卫生": ["垃圾清运不及时", "村内排水沟堵塞"],
    "邻里纠纷": ["宅基地边界纠纷", "山林地界有争议"],
    "电网通信": ["电压不稳，电器常损坏", "手机信号差，网络不通"],
}
_INTERVIEW_CATEGORIES = {"组织建设": ["希望增加基层干部培训机会", "村级组织活动经费紧张"],
                         "干部关怀": ["驻村干部家中老人需要照顾", "希望改善驻村住宿条件"]}
_VISIT_TOPICS = ("生产生活", "政策宣传", "医疗健康", "子女教育", "住房安全", "就业增收", "产业发展", "邻里关系")
_VISIT_NOTES = ("了解家庭生产生活情况，宣传惠民政策。", "询问老人身体状况，叮嘱按时服药。", "帮助联系技术员指导种植。",
                "了解孩子上学情况。", "查看房屋安全情况。", "")
_SURNAMES = "王陈李黄符吉林邢张刘周羊胡卓梁黎郑钟苏谢"
_GIVEN = "文明华海英玉金春秀丽志强国平建军德福兰芳红梅亮东清雄安庆"
_RANKS_BY_INTERVIEWER = {  # who talks to whom (DESIGN §1, Baoting's rule)
    "section_chief": "minister",  # 正科 by the minister
    "deputy_section_chief": "deputy_minister",  # 副科 by a deputy minister
    "staff": "section_chief",  # 一般 by the section chief (their township's, or the office's)
    "village_cadre": "deputy_section_chief",  # village cadres by their township's deputy
}


@dataclass(frozen=True)
class Shape:
    """How much work a county's year holds besides its size (`scale`). The demo's is `DEMO_SHAPE`; the
    benchmarks' real-size counties (tests/bench/datasets.py) have bigger village work teams and fewer
    visits and issues per household. The defaults draw exactly the demo's random numbers."""

    village_team: int = 1  # village cadres stationed in each village (驻村工作队)
    general_visits: tuple[int, ...] = (9, 14, 45, 24, 8)  # weights of 0, 1, 2, 3, 4 general visits a year
    festival_reach: float = 1.0  # multiplies the share of cared-for households visited at each festival
    issue_odds: float = 1.0  # multiplies the odds that a household visit raises an issue
    contacts: bool = True  # the register of contact targets, 五个一 and reception days (services/demo/contacts.py)


DEMO_SHAPE = Shape()


@dataclass(frozen=True)
class Actor:
    """Who sends a command: the county office, one of its cadres, or a department."""

    role: str  # county_admin | cadre | department
    cadre_id: uuid.UUID | None = None
    department: str | None = None


ADMIN = Actor("county_admin")


@dataclass(frozen=True)
class Step:
    """One command as a user sent it: `at` is the server's (simulated) time when it arrived."""

    at: datetime
    county: str
    command: str  # the sync type name
    payload: dict[str, Any]  # the command's fields, command_id included
    actor: Actor

    @property
    def command_id(self) -> uuid.UUID:
        command_id: uuid.UUID = self.payload["command_id"]
        return command_id


@dataclass
class _Cadre:
    id: uuid.UUID
    name: str
    rank: str
    unit: str
    township: str | None
    village: str | None = None
    role: str = ""  # minister | deputy_minister | office | township leader/staff | village
    device: str = ""


@dataclass(eq=False)  # identity: `due.remove` in `_visits` must not compare every field
class _Household:
    id: uuid.UUID
    village: Village
    lat: float
    lon: float
    tags: list[str]
    archived_at: datetime | None = None
    moved: tuple[datetime, float, float] | None = None  # relocated at, new lat, lon
    paired_until: datetime | None = None

    def place(self, at: datetime) -> tuple[float, float]:
        if self.moved and at >= self.moved[0]:
            return self.moved[1], self.moved[2]
        return self.lat, self.lon


@dataclass
class _Story:
    """One county's story as it is being written."""

    county: DemoCounty
    rng: random.Random
    until: datetime
    shape: Shape = DEMO_SHAPE
    steps: list[Step] = field(default_factory=list)
    cadres: list[_Cadre] = field(default_factory=list)
    households: list[_Household] = field(default_factory=list)

    def new_id(self) -> uuid.UUID:
        """A version-4 UUID drawn from the story's own random stream, so ids repeat with the seed."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def add(self, at: datetime, command: str, actor: Actor, **payload: Any) -> uuid.UUID:
        command_id = self.new_id()
        if at <= self.until:  # work that would happen after the story's end never happened
            self.steps.append(Step(at, self.county.adcode, command, {"command_id": command_id, **payload}, actor))
        return command_id


def generate(seed: int = 2026, scale: float = 1.0, until: date = DEMO_UNTIL) -> list[Step]:
    """The whole province's commands, in time order (ties keep each county's own order)."""
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    steps = [s for county in hainan() for s in county_steps(county, seed, scale, until)]
    return sorted(steps, key=lambda s: s.at)


def county_steps(county: DemoCounty, seed: int, scale: float, until: date = DEMO_UNTIL,
                 shape: Shape = DEMO_SHAPE) -> list[Step]:
    """One county's commands in time order. `scale` multiplies the households (above 1 for the
    benchmarks' real-size counties: 20 gives 琼中 about 40,000)."""
    story = _Story(county, random.Random(f"{seed}:{county.adcode}"),
                   datetime.combine(until, time(23, 59), CHINA).astimezone(UTC), shape)
    _register_households(story, scale)
    _enrol_cadres(story)
    pairings = _form_pairings(story)
    _household_changes(story, pairings)
    _visits(story, pairings)
    _receptions_and_forums(story)
    _interviews(story)
    _issues(story)
    _promotions_and_voids(story)
    _campaigns(story, seed)
    _proposals(story, seed)
    _reviews(story, seed)
    _research(story, seed)
    if shape.contacts:
        from services.demo.contacts import contact_work  # it builds on this module's story

        contact_work(story, seed, scale)
    _assessment(story, seed)
    return _with_versions(sorted(story.steps, key=lambda s: s.at))


# --- helpers ------------------------------------------------------------------------------------------

def _local(day: date, hour: float) -> datetime:
    """A Beijing-time moment on `day` at `hour` (fractional), in UTC."""
    moment = datetime.combine(day, time(0), CHINA) + timedelta(hours=hour)
    return moment.astimezone(UTC)


def _work_hour(rng: random.Random) -> float:
    return rng.choice((rng.uniform(8.5, 11.8), rng.uniform(14.5, 17.8)))


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _phone(rng: random.Random) -> str:
    return rng.choice(("138", "139", "150", "187", "135")) + f"{rng.randrange(10**8):08d}"


def _last_friday(year: int, month: int) -> date:
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1))
    return last - timedelta(days=(last.weekday() - 4) % 7)


def _next_review(after: datetime) -> datetime:
    """The monthly review (一月一议): the last Friday of the month, in the afternoon."""
    local = after.astimezone(CHINA).date()
    meeting = _last_friday(local.year, local.month)
    if meeting <= local:
        month = local.month % 12 + 1
        meeting = _last_friday(local.year + (local.month == 12), month)
    return _local(meeting, 15.0)


def _fix(rng: random.Random, lat: float, lon: float) -> dict[str, Any]:
    """A GPS fix near (lat, lon) as cheap phones report them: mostly good, some far, coarse or mocked."""
    draw = rng.random()
    if draw < 0.015:  # a mock-location app: suspiciously exact
        return {"lat": round(lat, 6), "lon": round(lon, 6), "accuracy_m": 5.0, "provider": "gps", "is_mock": True}
    if draw < 0.055:  # checked in from somewhere else (the township office, the road)
        distance, accuracy, provider = rng.uniform(600, 6000), rng.uniform(8, 40), rng.choice(("gps", "fused"))
    elif draw < 0.085:  # no GPS under the canopy: a coarse cell-tower fix
        distance, accuracy, provider = rng.uniform(80, 400), rng.uniform(250, 400), "network"
    else:
        provider = rng.choices(("gps", "fused", "network"), (6, 3, 1))[0]
        accuracy = {"gps": rng.uniform(5, 20), "fused": rng.uniform(10, 35), "network": rng.uniform(30, 50)}[provider]
        distance = abs(rng.gauss(0, accuracy / 2)) + rng.uniform(3, 15)  # standing at the door
    angle = rng.uniform(0, 2 * math.pi)
    p = offset((lon, lat), distance * math.cos(angle), distance * math.sin(angle))
    return {"lat": round(p[1], 6), "lon": round(p[0], 6), "accuracy_m": round(accuracy, 1), "provider": provider,
            "is_mock": False}


# --- January: the registry ----------------------------------------------------------------------------

def _register_households(story: _Story, scale: float) -> None:
    rng, county = story.rng, story.county
    villages_total = len(county.villages)
    per_village = county.population / PEOPLE_PER_HOUSEHOLD / villages_total
    for township in county.townships:
        # The office imports each township's household file (民情档案) in one go, early in January.
        at = _local(date(2026, 1, 2) + timedelta(days=rng.randrange(3)), _work_hour(rng))
        keep = max(1, round(len(township.villages) * scale))
        for village in township.villages[:keep]:
            count = max(6, round(per_village * scale * rng.uniform(0.8, 1.2)))
            for number in range(1, count + 1):
                tags = sorted(tag for tag, odds in _TAG_ODDS if rng.random() < odds)
                if "subsistence" in tags and "hardship_resident" not in tags:
                    tags = sorted([*tags, "hardship_resident"])
                radius = min(VILLAGE_RADIUS_M * 0.85, abs(rng.gauss(0, 280)))
                angle = rng.uniform(0, 2 * math.pi)
                lon, lat = offset((village.lon, village.lat), radius * math.cos(angle), radius * math.sin(angle))
                size = rng.choice((1, 2)) if "empty_nest_elderly" in tags else rng.choice((2, 3, 4, 4, 5, 5, 6, 7))
                notes = "独居老人，行动不便" if "empty_nest_elderly" in tags and size == 1 else ""
                household_id = story.add(
                    at, "register_household", ADMIN, village=village.code, township=township.code,
                    address=f"{township.name}{village.name}{number}号", lat=round(lat, 6), lon=round(lon, 6),
                    tags=tags, size=size, head_name=_name(rng), phone=_phone(rng) if rng.random() < 0.8 else None,
                    notes=notes,
                )
                story.households.append(_Household(household_id, village, round(lat, 6), round(lon, 6), tags))


def _enrol_cadres(story: _Story) -> None:
    rng, county = story.rng, story.county
    office = f"{county.short_title}委组织部"
    at = _local(date(2026, 1, 2), 9.0)
    team: list[tuple[str, str, str, str | None, str | None]] = [
        ("minister", "section_chief", office, None, None), ("deputy_minister", "section_chief", office, None, None),
        ("office", "deputy_section_chief", office, None, None), ("office", "staff", office, None, None)]
    villages_used = {h.village.code for h in story.households}
    for township in county.townships:
        team += [("township", "section_chief", f"{township.name}党委", township.code, None),
                 ("township", "deputy_section_chief", f"{township.name}党委", township.code, None),
                 ("township", "staff", f"{township.name}党委", township.code, None),
                 ("township", "staff", f"{township.name}党委", township.code, None)]
        team += [("village", "village_cadre", f"{township.name}{v.name}驻村工作队", township.code, v.code)
                 for v in township.villages if v.code in villages_used for _ in range(story.shape.village_team)]
    for number, (role, rank, unit, township_code, village) in enumerate(team, 1):
        name = _name(rng)
        cadre_id = story.add(at, "enrol_cadre", ADMIN, name=name, rank=rank, unit=unit,
                             township=township_code, phone=_phone(rng))
        story.cadres.append(_Cadre(cadre_id, name, rank, unit, township_code, village, role,
                                   device=f"demo-{county.adcode}-{number:03d}"))


def _form_pairings(story: _Story) -> dict[uuid.UUID, tuple[_Cadre, uuid.UUID]]:
    """Every field cadre pairs with up to 5 hardship households (own village first, then township);
    leaders keep a contact-point Party branch. Answers household id -> (cadre, pairing id)."""
    rng = story.rng
    paired: dict[uuid.UUID, tuple[_Cadre, uuid.UUID]] = {}
    hardship: dict[str, list[_Household]] = {}  # by township, in registration order
    for household in story.households:
        if HARDSHIP & set(household.tags):
            hardship.setdefault(household.village.township, []).append(household)
    # Each township's pairings are agreed at one meeting in the second week of January.
    meetings = {t.code: date(2026, 1, 5) + timedelta(days=rng.randrange(10)) for t in story.county.townships}
    office_meeting = date(2026, 1, 5)
    for cadre in story.cadres:
        formed_on = meetings[cadre.township] if cadre.township else office_meeting
        at = _local(formed_on, 10.0)
        if cadre.role in ("minister", "deputy_minister"):
            point = rng.choice([h.village for h in story.households])
            story.add(at, "form_pairing", ADMIN, cadre_id=cadre.id, target_kind="party_branch",
                      target_id=point.code, programme="联系点", cadence="quarterly", formed_on=formed_on)
            cadre.village = point.code
            continue
        if cadre.township is None:
            continue
        free = [h for h in hardship.get(cadre.township, ()) if h.id not in paired]
        free.sort(key=lambda h: (h.village.code != cadre.village, rng.random()))
        for household in free[:5]:
            pairing_id = story.add(at, "form_pairing", ADMIN, cadre_id=cadre.id, target_kind="household",
                                   target_id=str(household.id), programme="结对帮扶", cadence="quarterly",
                                   formed_on=formed_on)
            paired[household.id] = (cadre, pairing_id)
    return paired


def _household_changes(story: _Story, paired: dict[uuid.UUID, tuple[_Cadre, uuid.UUID]]) -> None:
    """A few households leave hardship (their pairing ends), move within the village, or leave."""
    rng = story.rng
    for household in story.households:
        draw = rng.random()
        at = _local(DEMO_START + timedelta(days=rng.randrange(90, 320)), _work_hour(rng))
        if household.id in paired and draw < 0.03:
            tags = sorted({*household.tags} - HARDSHIP | {"monitored"})
            story.add(at, "retag_household", ADMIN, household_id=household.id, tags=tags)
            household.paired_until = at
            story.add(at + timedelta(minutes=5), "end_pairing", ADMIN, pairing_id=paired[household.id][1],
                      reason="已稳定脱贫，转为监测户", ended_on=at.astimezone(CHINA).date())
        elif 0.03 <= draw < 0.04:
            village = household.village
            angle, radius = rng.uniform(0, 2 * math.pi), rng.uniform(100, VILLAGE_RADIUS_M * 0.8)
            lon, lat = offset((village.lon, village.lat), radius * math.cos(angle), radius * math.sin(angle))
            household.moved = (at, round(lat, 6), round(lon, 6))
            story.add(at, "relocate_household", ADMIN, household_id=household.id, village=village.code,
                      township=village.township, address=f"{village.name}新村安置点{rng.randrange(1, 40)}号",
                      lat=round(lat, 6), lon=round(lon, 6))
        elif 0.04 <= draw < 0.047 and household.id not in paired:
            household.archived_at = at
            story.add(at, "archive_household", ADMIN, household_id=household.id,
                      reason=rng.choice(("全家迁往县城居住", "户主去世，家人并户")))


# --- the year's field work --------------------------------------------------------------------------

def _trip(story: _Story, cadre: _Cadre, households: list[_Household], day: date, kinds: tuple[str, ...],
          kind_weights: tuple[int, ...], companions: Sequence[_Cadre] = ()) -> None:
    """A cadre's day in the villages (走村入户): household visits one after another, uploaded together
    when the phone next has a signal (at once where there is coverage, else that evening or next day)."""
    rng = story.rng
    occurred = _local(day, rng.uniform(8.5, max(8.5, 16.5 - 0.6 * len(households))))
    visits = []
    for household in households:
        if household.archived_at and occurred >= household.archived_at:
            continue
        if household.paired_until and kinds == _PAIRING_KINDS and occurred >= household.paired_until:
            continue
        visits.append((household, occurred))
        occurred += timedelta(minutes=rng.uniform(20, 50))
    if rng.random() < 0.4:
        synced = occurred + timedelta(minutes=rng.uniform(1, 10))
    else:
        synced = occurred + timedelta(hours=rng.uniform(2, 16))
    # A household archived before the phone synced takes no more visits (the office was quicker).
    visits = [(h, at) for h, at in visits if not (h.archived_at and synced >= h.archived_at)]
    for household, at in visits:
        kind = rng.choices(kinds, kind_weights)[0]
        lat, lon = household.place(at)
        story.add(
            synced, "check_in", Actor("cadre", cadre.id), target_kind="household", target_id=str(household.id),
            kind=kind, occurred_at=at, position=None if kind == "phone" else _fix(rng, lat, lon),
            topics=rng.sample(_VISIT_TOPICS, rng.randint(1, 3)), note=rng.choice(_VISIT_NOTES),
            companions=[c.id for c in companions if c is not cadre], device_id=cadre.device,
            # a stay (蹲点) of one to three days, drawn from the household, not from `rng`: no other step moves
            **({"days": 1 + household.id.int % 3} if kind == "stay" else {}),
        )


_GENERAL_KINDS, _GENERAL_WEIGHTS = ("home", "chat", "phone", "petition"), (70, 20, 8, 2)
_PAIRING_KINDS, _PAIRING_WEIGHTS = ("home", "chat", "stay"), (60, 25, 15)


def _visits(story: _Story, paired: dict[uuid.UUID, tuple[_Cadre, uuid.UUID]]) -> None:
    rng = story.rng
    last_day = story.until.astimezone(CHINA).date()
    year = [d for d in _days(DEMO_START + timedelta(days=7), last_day) if d.weekday() < 5 or rng.random() < 0.15]
    workdays = [d for d in year if not SPRING_HOLIDAY[0] <= d <= SPRING_HOLIDAY[1]]
    weights = [_MONTH_WEIGHT[d.month - 1] for d in workdays]
    by_township: dict[str, list[_Cadre]] = {}
    by_village: dict[str, list[_Cadre]] = {}
    for cadre in story.cadres:
        if cadre.township:
            by_township.setdefault(cadre.township, []).append(cadre)
        if cadre.role == "village" and cadre.village:
            by_village.setdefault(cadre.village, []).append(cadre)
    villages: dict[str, list[_Household]] = {}
    for household in story.households:
        villages.setdefault(household.village.code, []).append(household)

    def visitor(village: Village) -> _Cadre:
        own = by_village.get(village.code)
        if own and rng.random() < 0.6:
            return own[0] if len(own) == 1 else rng.choice(own)  # one member: no draw (the demo's stream)
        return rng.choice(by_township[village.township])

    # The annual rule (≥2 visits a year): most households get there, some never get a visit. A trip
    # takes a cadre to 3–8 households of one village.
    for members in villages.values():
        village = members[0].village
        wanted = {h.id: rng.choices((0, 1, 2, 3, 4), story.shape.general_visits)[0] for h in members}
        due = [h for h in members if wanted[h.id]]  # kept in order as households drop out (O(n) per trip)
        while due:
            chosen = rng.sample(due, min(len(due), rng.randint(3, 8)))
            for household in chosen:
                wanted[household.id] -= 1
                if not wanted[household.id]:
                    due.remove(household)
            cadre = visitor(village)
            companions = [rng.choice(by_township[village.township])] if rng.random() < 0.15 else []
            day = rng.choices(workdays, weights)[0]
            _trip(story, cadre, chosen, day, _GENERAL_KINDS, _GENERAL_WEIGHTS, companions)
    # The pairing's cadence: each cadre sees their paired households about once a quarter, in one trip.
    by_cadre: dict[uuid.UUID, list[_Household]] = {}
    for household in story.households:
        if household.id in paired:
            by_cadre.setdefault(paired[household.id][0].id, []).append(household)
    cadres = {c.id: c for c in story.cadres}
    for cadre_id, households in by_cadre.items():
        for quarter in range(4):
            in_quarter = [d for d in workdays if (d.month - 1) // 3 == quarter]
            going = [h for h in households if rng.random() >= 0.12]  # now and then one is missed
            if in_quarter and going:
                _trip(story, cadres[cadre_id], going, rng.choice(in_quarter), _PAIRING_KINDS, _PAIRING_WEIGHTS)
    # Festival visits (节日慰问) to the households the county looks after, in the days before: paired
    # households by their own cadre, the others village by village.
    for festival, (reach, before, after) in _FESTIVAL_REACH.items():
        trips: dict[tuple[uuid.UUID, str], list[_Household]] = {}
        for members in villages.values():
            cadre = visitor(members[0].village)
            for household in members:
                if FESTIVAL_CARE & set(household.tags) and rng.random() < reach * story.shape.festival_reach:
                    who = paired[household.id][0] if household.id in paired else cadre
                    trips.setdefault((who.id, household.village.code), []).append(household)
        for (cadre_id, _), households in trips.items():
            day = FESTIVALS[festival] + timedelta(days=rng.randint(before, after))
            if day <= last_day:
                _trip(story, cadres[cadre_id], households, day, ("festival",), (1,))


def _receptions_and_forums(story: _Story) -> None:
    """Leaders receive residents at their contact point on the 20th (接待日); township secretaries hold a
    forum (座谈) at a village Party branch most months. Receptions raise issues, handled in `_issues`."""
    rng = story.rng
    last_day = story.until.astimezone(CHINA).date()
    villages = {h.village.code: h.village for h in story.households}
    for cadre in story.cadres:
        for month in range(1, 13):
            if cadre.role in ("minister", "deputy_minister") and cadre.village:
                day = date(2026, month, 20)
                if day.weekday() >= 5:  # on a weekend the reception moves to Monday
                    day += timedelta(days=7 - day.weekday())
                kind, village = "reception", villages[cadre.village]
            elif cadre.role == "township" and cadre.rank == "section_chief" and rng.random() < 0.7:
                own = [v for v in villages.values() if v.township == cadre.township]
                day, kind, village = date(2026, month, rng.randint(3, 26)), "forum", rng.choice(own)
            else:
                continue
            if day > last_day:
                continue
            occurred = _local(day, rng.uniform(9, 10.5))
            story.add(occurred + timedelta(hours=rng.uniform(2, 8)), "check_in", Actor("cadre", cadre.id),
                      target_kind="party_branch", target_id=village.code, kind=kind, occurred_at=occurred,
                      position=_fix(rng, village.lat, village.lon), topics=["听取群众意见"], note="",
                      companions=[], device_id=cadre.device)


def _interviews(story: _Story) -> None:
    """Interviews every Tuesday (拉家常), by rank; about one cadre in ten is missed this year."""
    rng = story.rng
    last_day = story.until.astimezone(CHINA).date()
    tuesdays = [d for d in _days(date(2026, 1, 6), last_day) if d.weekday() == 1
                and not SPRING_HOLIDAY[0] <= d <= SPRING_HOLIDAY[1]]
    leaders = {role: [c for c in story.cadres if c.role == role] for role in ("minister", "deputy_minister")}

    def interviewer(cadre: _Cadre) -> _Cadre | None:
        wanted = _RANKS_BY_INTERVIEWER[cadre.rank]
        if wanted in leaders:
            candidates = leaders[wanted]
        elif cadre.township is None:  # office staff: a deputy minister
            candidates = leaders["deputy_minister"]
        else:
            candidates = [c for c in story.cadres if c.township == cadre.township and c.rank == wanted
                          and c.role == "township"]
        candidates = [c for c in candidates if c is not cadre]
        return rng.choice(candidates) if candidates else None

    for cadre in story.cadres:
        if cadre.role == "minister" or rng.random() < 0.1:
            continue
        for _ in range(1 if rng.random() < 0.85 else 2):
            leader = interviewer(cadre)
            if leader is None:
                continue
            upward = rng.random() < 0.08  # 双向约谈: the cadre asks for the talk
            talker, talked_to = (cadre, leader) if upward else (leader, cadre)
            occurred = _local(rng.choice(tuesdays), rng.choice((rng.uniform(9, 11.5), rng.uniform(15, 17))))
            opinions = rng.choices((0, 1, 2, 3), (40, 35, 17, 8))[0]
            story.add(
                occurred + timedelta(minutes=rng.uniform(1, 20)), "hold_interview", Actor("cadre", talker.id),
                interviewee_id=talked_to.id,
                form=rng.choices(("one_on_one", "group", "home", "phone"), (70, 10, 10, 10))[0],
                direction="cadre_to_leader" if upward else "leader_to_cadre",
                topics=rng.sample(("family", "health", "performance", "team", "organisation", "difficulties"),
                                  rng.randint(3, 6)),
                opinions_count=opinions, follow_up=opinions > 0 and rng.random() < 0.4, occurred_at=occurred,
                note=rng.choice(("", "谈心谈话", "了解思想动态")),
            )


# --- issues ----------------------------------------------------------------------------------------

@dataclass
class _Raised:
    at: datetime  # when the issue reached the server
    occurred: datetime
    by: _Cadre
    village: str
    household: uuid.UUID | None
    source_kind: str
    source_id: str | None
    category: str


def _issues(story: _Story) -> None:
    """Issues from visits, interviews and receptions, and their handling to the end of the story."""
    rng = story.rng
    cadres = {c.id: c for c in story.cadres}
    households = {str(h.id): h for h in story.households}
    raised: list[_Raised] = []
    for step in list(story.steps):
        if step.actor.cadre_id is None:
            continue  # the office's own steps raise no issues
        p, by = step.payload, cadres[step.actor.cadre_id]
        if step.command == "check_in" and p["target_kind"] == "household":
            if rng.random() < (0.15 if p["kind"] in ("festival", "petition") else 0.09) * story.shape.issue_odds:
                category = rng.choice(list(_SUMMARIES))
                raised.append(_Raised(step.at, p["occurred_at"], by, households[p["target_id"]].village.code,
                                      uuid.UUID(p["target_id"]), "visit", str(p["command_id"]), category))
        elif step.command == "check_in" and p["kind"] == "reception":
            for _ in range(rng.choices((0, 1, 2), (30, 50, 20))[0]):
                raised.append(_Raised(step.at, p["occurred_at"], by, p["target_id"], None, "reception",
                                      str(p["command_id"]), rng.choice(list(_SUMMARIES))))
        elif step.command == "hold_interview" and p["opinions_count"] and rng.random() < 0.3:
            # A village cadre's own village, a leader's contact point, else the first in their township.
            village = by.village or next(h.village.code for h in story.households
                                         if by.township in (None, h.village.township))
            raised.append(_Raised(step.at, p["occurred_at"], by, village, None, "interview",
                                  str(p["command_id"]), rng.choice(list(_INTERVIEW_CATEGORIES))))
    raised.sort(key=lambda r: r.at)
    # Every route in every state, and unrouted ones, show up in every county: issues from visits and
    # receptions spread over January to August (time enough to reach any state) get those fates; the
    # rest are drawn at random.
    forced = [(route, state) for route in ROUTES for state in ROUTED_STATES] + [(None, "raised")]
    early = [i for i, r in enumerate(raised)
             if r.source_kind != "interview" and r.occurred.astimezone(CHINA).month <= 8]
    fates: dict[int, tuple[str | None, str]] = {}
    for n, fate in enumerate(forced):
        if early:
            fates[early[(n * len(early)) // len(forced)]] = fate
    for index, issue in enumerate(raised):
        route, state = fates.get(index) or _random_fate(rng, issue.category)
        _issue_story(story, issue, route, state)


def _random_fate(rng: random.Random, category: str) -> tuple[str | None, str]:
    route = rng.choices(ROUTES, (40, 28, 22, 10))[0]
    if category in _INTERVIEW_CATEGORIES and route == "department":
        route = "leadership"
    state = rng.choices(("raised", "routed", "resolved", "replied", "rated", "reopened", "rated_again"),
                        (2, 10, 8, 12, 66, 1, 1))[0]
    return (None, "raised") if state == "raised" else (route, state)


def _session(after: datetime, hour: float, days: float = 0) -> datetime:
    """The office works its ledger in sessions: the first working day at least `days` after `after`
    (and after it), at `hour` Beijing time. Everything handled in one session arrives together."""
    day = (after + timedelta(days=days)).astimezone(CHINA).date()
    while True:
        moment = _local(day, hour)
        if day.weekday() < 5 and moment > after:
            return moment
        day += timedelta(days=1)


# The office's daily sessions (Beijing time): departments report at 16:00, the office records
# callbacks (回访) at 16:30, closes leadership items at 17:00, routes and reopens at 17:30, replies at 17:45.
_DEPARTMENT_HOUR, _CALLBACK_HOUR, _CLOSING_HOUR, _ROUTING_HOUR, _REPLY_HOUR = 16.0, 16.5, 17.0, 17.5, 17.75


def _issue_story(story: _Story, issue: _Raised, route: str | None, state: str) -> None:
    rng = story.rng
    summaries = _SUMMARIES.get(issue.category) or _INTERVIEW_CATEGORIES[issue.category]
    # Raised in the same upload as the visit, interview or reception it came from.
    raiser = Actor("cadre", issue.by.id)
    issue_id = story.add(issue.at, "raise_issue", raiser, source_kind=issue.source_kind, source_id=issue.source_id,
                         household_id=issue.household, village=issue.village, category=issue.category,
                         summary=rng.choice(summaries), occurred_at=issue.occurred)
    if route is None:
        return
    department = _DEPARTMENTS.get(issue.category) if route == "department" else None
    at = issue.at
    for cycle in range(2 if state == "rated_again" else 1):
        final = "rated" if state == "rated_again" and cycle else ("reopened" if state == "rated_again" else state)
        if route == "on_the_spot":
            # 即接即办: taken and settled on the spot, in the same upload as the visit (after a
            # reopening: on the cadre's next visit).
            at += timedelta(days=rng.uniform(1, 3)) if cycle else timedelta(0)
            router = raiser
        else:
            at = _session(at, _ROUTING_HOUR, rng.uniform(0, 2))
            router = ADMIN
        deadline = None
        if department:
            deadline = at.astimezone(CHINA).date() + timedelta(days=rng.choice((15, 20, 30)))
        story.add(at, "route_issue", router, issue_id=issue_id, route=route, department=department, deadline=deadline)
        if final == "routed":
            return
        if route == "on_the_spot":
            resolver = raiser
        elif route == "monthly_review":
            at = _next_review(at)  # 一月一议: settled at the meeting
            resolver = ADMIN
        elif route == "department":
            # Most departments finish inside the deadline; about one in five runs late.
            late = rng.random() < 0.2
            at = _session(at, _DEPARTMENT_HOUR, rng.uniform(25, 45) if late else rng.uniform(3, 14))
            resolver = Actor("department", department=department)
        else:
            at = _session(at, _CLOSING_HOUR, rng.uniform(10, 60))
            resolver = ADMIN
        story.add(at, "resolve_issue", resolver, issue_id=issue_id,
                  resolution=rng.choice(("已协调解决", "已现场处理", "已纳入整改计划并完成", "已联系相关单位落实")))
        if final == "resolved":
            return
        if resolver.role == "department":
            replier, at = resolver, _session(at, _DEPARTMENT_HOUR, rng.uniform(0, 4))
        else:
            replier, at = ADMIN, _session(at, _REPLY_HOUR, rng.uniform(0, 4))
        story.add(at, "reply_issue", replier, issue_id=issue_id, reply="问题已办结，已向群众反馈办理结果。")
        if final == "replied":
            return
        if final == "reopened":
            satisfaction = "unsatisfied"
        else:
            satisfaction = rng.choices(("satisfied", "basically_satisfied", "unsatisfied"), (80, 16, 4))[0]
        at = _session(at, _CALLBACK_HOUR, rng.uniform(0, 6))  # the office calls the household back
        story.add(at, "rate_issue", ADMIN, issue_id=issue_id, satisfaction=satisfaction)
        if final == "rated":
            return
        at = _session(at, _ROUTING_HOUR, rng.uniform(0, 3))
        story.add(at, "reopen_issue", ADMIN, issue_id=issue_id, reason="群众对办理结果不满意，重新办理")


def _promotions_and_voids(story: _Story) -> None:
    """Two staff are promoted in July; the office voids a few visits entered twice by mistake."""
    rng = story.rng
    staff = [c for c in story.cadres if c.rank == "staff" and c.township]
    for cadre in rng.sample(staff, min(2, len(staff))):
        story.add(_local(date(2026, 7, 1) + timedelta(days=rng.randrange(20)), 10.0), "change_rank", ADMIN,
                  cadre_id=cadre.id, rank="deputy_section_chief")
    visits = [s for s in story.steps if s.command == "check_in"]
    for step in rng.sample(visits, max(1, len(visits) // 400)):
        story.add(step.at + timedelta(days=rng.uniform(1, 10)), "void_visit", ADMIN, visit_id=step.command_id,
                  reason="重复录入")


# The festival campaigns the office defines (Chongqing's festival visits: hardship Party members and
# residents, empty-nest elders, left-behind children), each a few weeks ahead, over the days the
# cadres' festival visits fall on (`_FESTIVAL_REACH`): festival, defined on, window.
CAMPAIGNS = (("spring_festival", date(2026, 1, 26), (date(2026, 2, 5), date(2026, 2, 19))),
             ("mid_autumn", date(2026, 9, 1), (date(2026, 9, 15), date(2026, 9, 26))))
CAMPAIGN_TAGS = ["empty_nest_elderly", "hardship_member", "hardship_resident", "left_behind_child"]


def _campaigns(story: _Story, seed: int) -> None:
    """The Spring Festival and Mid-Autumn campaigns. Their ids come from a random stream of their own:
    drawing them from the story's would change every command after them (and the figures tests know)."""
    ids = random.Random(f"{seed}:{story.county.adcode}:campaigns")
    for festival, defined_on, (starts_on, ends_on) in CAMPAIGNS:
        at = _local(defined_on, 10.0)
        if at <= story.until:
            story.steps.append(Step(at, story.county.adcode, "define_campaign", {
                "command_id": uuid.UUID(int=ids.getrandbits(128), version=4), "festival": festival,
                "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(), "tags": CAMPAIGN_TAGS,
            }, ADMIN))


# Households cadres found missing from the records and proposed from the phone in the story's last weeks,
# still waiting for the office (confirmed ones would add households the figures' tests count).
PROPOSALS_PER_COUNTY = 3


def _proposals(story: _Story, seed: int) -> None:
    """A few pending proposals per county, each by a township cadre in a village of their township. Drawn
    from a random stream of their own, like the campaigns, so no other command changes."""
    rng = random.Random(f"{seed}:{story.county.adcode}:proposals")
    by_code = {household.village.code: household.village for household in story.households}
    villages: dict[str, list[Village]] = {}
    for code in sorted(by_code):
        villages.setdefault(code[:9], []).append(by_code[code])
    cadres = [c for c in story.cadres if c.township in villages and c.rank != "village_cadre"]
    for _ in range(PROPOSALS_PER_COUNTY if cadres else 0):
        cadre = rng.choice(cadres)
        assert cadre.township is not None
        village = rng.choice(villages[cadre.township])
        lon, lat = offset((village.lon, village.lat), rng.uniform(-300, 300), rng.uniform(-300, 300))
        occurred = story.until - timedelta(days=rng.uniform(2, 20))
        size = rng.choice((1, 2, 3, 4))
        story.steps.append(Step(occurred + timedelta(minutes=rng.uniform(1, 90)), story.county.adcode,
                                "propose_household", {
            "command_id": uuid.UUID(int=rng.getrandbits(128), version=4), "village": village.code,
            "township": cadre.township, "address": f"{village.name}新建房{rng.randrange(1, 40)}号",
            "lat": round(lat, 6), "lon": round(lon, 6), "size": size,
            "tags": ["empty_nest_elderly"] if size == 1 else [], "head_name": _name(rng),
            "phone": _phone(rng) if rng.random() < 0.6 else None,
            "notes": "新迁入，名单中没有" if size > 1 else "独居老人，名单中没有", "occurred_at": occurred,
        }, Actor("cadre", cadre.id)))


# The monthly review meetings (一月一议) whose packs the demo fills in: decisions on items of their agenda
# (routed to a department with a deadline) and minutes.
REVIEW_MONTHS = ((2026, 9), (2026, 10))
_DECISIONS = ("责成{department}牵头，一个月内办结并向群众反馈", "由{department}实地核查，限期整改到位")


def _reviews(story: _Story, seed: int) -> None:
    """Decisions on up to two open agenda items per meeting and the meeting's minutes. Their choices and
    ids come from a random stream of their own, so the story's other commands (and the figures tests
    know) stay as they were; an issue left on the agenda always remains (every route keeps open issues)."""
    rng = random.Random(f"{seed}:{story.county.adcode}:reviews")
    raised = {s.command_id: s for s in story.steps if s.command == "raise_issue"}
    last: dict[uuid.UUID, Step] = {}
    for step in story.steps:
        if step.command.endswith("_issue") and step.command != "raise_issue":
            last[step.payload["issue_id"]] = step
    waiting = sorted((step.at, issue_id) for issue_id, step in last.items()
                     if step.command == "route_issue" and step.payload["route"] == "monthly_review"
                     and raised[issue_id].payload["category"] in _DEPARTMENTS)
    for year, month in REVIEW_MONTHS:
        meeting = _local(_last_friday(year, month), 15.5)
        if meeting > story.until:
            continue
        due = [issue_id for at, issue_id in waiting if at < meeting]
        chosen = rng.sample(due, min(2, len(due) - 1)) if len(due) > 1 else []
        for number, issue_id in enumerate(chosen):
            code = _DEPARTMENTS[raised[issue_id].payload["category"]]
            story.steps.append(Step(meeting + timedelta(minutes=number), story.county.adcode, "decide_issue", {
                "command_id": uuid.UUID(int=rng.getrandbits(128), version=4), "issue_id": issue_id,
                "month": f"{year}-{month:02d}", "department": code,
                "decision": rng.choice(_DECISIONS).format(department=DEPARTMENT_NAMES[code]),
                "deadline": (meeting.astimezone(CHINA).date() + timedelta(days=30)).isoformat(),
            }, ADMIN))
            waiting = [(at, i) for at, i in waiting if i != issue_id]
        story.steps.append(Step(meeting + timedelta(hours=1), story.county.adcode, "record_minutes", {
            "command_id": uuid.UUID(int=rng.getrandbits(128), version=4), "month": f"{year}-{month:02d}",
            "minutes": f"{year} 年 {month} 月例会研究了本月议题 {len(due)} 项，议定转办 {len(chosen)} 项，"
                       "其余问题继续跟踪，下月例会复核。",
            "attendees": ["组织部部长", "分管副部长", "干部监督科科长"],
        }, ADMIN))


# Research topics (调研课题) the office assigns each autumn: (title, days before the story's end it is
# assigned, days before the end it is due (negative: after), what becomes of it). `reported` topics get a
# report on time, `late` one after the due day, `overdue` none; `open` ones are not due yet.
RESEARCH_TOPICS = (
    ("农村集体经济发展调研", 90, 40, "reported"),
    ("基层党组织软弱涣散整顿调研", 75, 25, "late"),
    ("农村留守儿童关爱服务调研", 60, 10, "overdue"),
    ("乡村振兴人才队伍建设调研", 20, -25, "open"),
)


def _research(story: _Story, seed: int) -> None:
    """Research topics for township cadres (the first a team of two) and for the demo cadre account's
    village cadre, with the reports filed on them, drawing on the author's own visits and issues. From a
    random stream of their own, so no other command changes."""
    rng = random.Random(f"{seed}:{story.county.adcode}:research")
    township = [c for c in story.cadres if c.township and c.rank != "village_cadre"]
    account = next((s.payload["command_id"] for s in sorted(story.steps, key=lambda s: s.at)
                    if s.command == "enrol_cadre" and s.payload["rank"] == "village_cadre"), None)
    if len(township) < 2 or account is None:
        return
    for number, (title, assigned, due, fate) in enumerate(RESEARCH_TOPICS):
        team = [c.id for c in rng.sample(township, 2 if number == 0 else 1)]
        if number == len(RESEARCH_TOPICS) - 1:
            team = [account]  # the phone's demo account has a topic of its own to report on
        at = _session(story.until - timedelta(days=assigned), 9.5)
        topic_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        due_on = (story.until - timedelta(days=due)).astimezone(CHINA).date()
        story.steps.append(Step(at, story.county.adcode, "assign_topic", {
            "command_id": topic_id, "title": f"{story.county.short_title}{title}",
            "description": "深入村（社区）走访调研，形成调研报告", "assignee_ids": team, "due_on": due_on.isoformat(),
        }, ADMIN))
        if fate not in ("reported", "late"):
            continue
        author = team[0]
        filed = _local(due_on + timedelta(days=rng.randint(3, 8) if fate == "late" else -rng.randint(2, 12)),
                       rng.uniform(15, 17.5))
        own = [s for s in story.steps if s.actor.cadre_id == author and s.at < filed]
        visits = [s.command_id for s in own if s.command == "check_in"][-2:]
        issues = [s.command_id for s in own if s.command == "raise_issue"][-1:]
        story.steps.append(Step(filed + timedelta(minutes=rng.uniform(1, 30)), story.county.adcode, "file_report", {
            "command_id": uuid.UUID(int=rng.getrandbits(128), version=4), "topic_id": topic_id,
            "title": f"关于{title.removesuffix('调研')}的调研报告",
            "summary": f"走访了 {len(visits)} 户群众，梳理问题 {len(issues)} 项。\n提出加强统筹、压实责任等建议。",
            "visit_ids": visits, "issue_ids": issues, "occurred_at": filed,
        }, Actor("cadre", author)))


# The assessment's weights the demo counties keep (services/demo/loader.py): Chongqing's 三维考核, results
# 60 % (the projected figures), democratic evaluation 10 %, opinion polls 30 %.
ASSESSMENT_WEIGHTS = {"completeness": 15, "pairing": 10, "interviews": 10, "resolution": 10, "satisfaction": 5,
                      "receptions": 5, "reports": 5, "evaluation": 10, "poll": 30}


def _assessment(story: _Story, seed: int) -> None:
    """Every cadre's democratic evaluation (民主测评) and opinion poll (民意调查) scores for the third quarter,
    entered ten days after it, and for the year, entered in November. From a random stream of their own."""
    rng = random.Random(f"{seed}:{story.county.adcode}:assessment")
    year = story.until.astimezone(CHINA).year
    for period, day in ((f"{year}-Q3", date(year, 10, 10)), (str(year), date(year, 11, 16))):
        at = _local(day, 10.0)
        for cadre in story.cadres:
            # most cadres score well; a few are rated down by their colleagues or the residents
            evaluation = max(40, min(100, round(rng.gauss(86, 7))))
            poll = max(40, min(100, round(rng.gauss(88, 8))))
            for part, score in (("evaluation", evaluation), ("poll", poll)):
                at += timedelta(seconds=rng.uniform(5, 40))
                story.steps.append(Step(at, story.county.adcode, "enter_assessment_score", {
                    "command_id": uuid.UUID(int=rng.getrandbits(128), version=4), "cadre_id": cadre.id,
                    "period": period, "part": part, "score": score}, ADMIN))


def _with_versions(steps: list[Step]) -> list[Step]:
    """Fill `expected_version` of every change command: each command adds one event to its aggregate."""
    versions: dict[uuid.UUID, int] = {}
    targets = ("household_id", "cadre_id", "pairing_id", "visit_id", "issue_id")
    out = []
    for step in steps:
        if step.command in ("register_household", "enrol_cadre", "form_pairing", "check_in", "hold_interview",
                            "raise_issue", "define_campaign", "propose_household",
                            "record_minutes", "assign_topic", "file_report", "register_target",
                            "set_reception_schedule", "record_reception", "enter_assessment_score"):
            versions[step.command_id] = 1
            for index in range(len(step.payload.get("issues", ()))):  # a reception raises its issues
                versions[reception_issue_id(step.command_id, index)] = 1
            out.append(step)
            continue
        target = next(step.payload[t] for t in targets if t in step.payload)
        version = versions[target]
        versions[target] = version + 1
        out.append(replace(step, payload={**step.payload, "expected_version": version}))
    return out
