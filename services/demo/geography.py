"""The demo province's map: Hainan (460000) and three adjacent county-level units in its central mountains.

What is real and what is not (the demo banner says so too):
- real: the county names and adcodes, their approximate centroids and populations (DESIGN §12), their
  township names; township codes follow the national scheme (towns 1xx, townships 2xx) in the order
  the townships are listed.
- rough: county boundaries are hand-drawn polygons of 7–11 vertices that keep the three units adjacent
  (one shared triple point), non-overlapping and about the right size and place; township seats are
  placed approximately; township areas are the Voronoi cells of their seats clipped to the county.
- generated: every village (name, code, centre and small hexagonal area). `Village.generated` says so.

The map is fixed (it does not depend on the generator's seed), so village codes are stable between runs.
Coordinates are WGS-84; polygons are lists of (lon, lat), GeoJSON order.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cache

Point = tuple[float, float]  # (lon, lat)
Polygon = tuple[Point, ...]

PROVINCE = "海南省"
PROVINCE_CODE = "460000"
# All three are province-direct county-level units (省直辖县级行政单位, code 469000): no prefecture city.
PREFECTURE = "省直辖县级行政区划"
PREFECTURE_CODE = "469000"  # the demo's prefecture viewer sees the three (their adcodes start 4690)

# Metres per degree at the demo's latitude (~18.8° N): accurate to well under 1% across the three
# counties, which is all the demo's distances need.
_LAT0 = math.radians(18.8)
M_PER_DEG_LAT = 110_700.0
M_PER_DEG_LON = 111_320.0 * math.cos(_LAT0)

VILLAGE_RADIUS_M = 800.0  # a village's hexagon "radius": households are placed within it
_VILLAGE_SPACING_M = 2_300.0  # minimum distance between village centres, so hexagons never overlap


@dataclass(frozen=True)
class Village:
    code: str  # 12 digits: township code + 2xx
    name: str
    township: str
    lat: float
    lon: float
    boundary: Polygon
    generated: bool = True  # every demo village is invented: name, code, place


@dataclass(frozen=True)
class Township:
    code: str  # 9 digits: county adcode + 3
    name: str
    county: str
    lat: float  # the seat (approximate)
    lon: float
    boundary: Polygon
    villages: tuple[Village, ...]


@dataclass(frozen=True)
class DemoCounty:
    adcode: str
    name: str
    short_name: str
    population: int
    lat: float  # centroid (DESIGN §12)
    lon: float
    boundary: Polygon
    townships: tuple[Township, ...]

    @property
    def short_title(self) -> str:
        """How offices name the county: 保亭县, 五指山市 (its Party committee is the 县委 / 市委)."""
        return self.short_name + ("市" if self.name.endswith("市") else "县")

    @property
    def villages(self) -> tuple[Village, ...]:
        return tuple(v for t in self.townships for v in t.villages)


# The three share the triple point T; each shared edge is listed once here and reused by both sides,
# so the polygons meet exactly and never overlap.
_T = (109.66, 18.80)
_WZS_QZ = ((109.63, 18.93), (109.56, 19.01))
_WZS_BT = ((109.60, 18.68), (109.44, 18.64))
_BT_QZ = ((109.80, 18.81), (109.93, 18.77))

_BOUNDARIES: dict[str, Polygon] = {
    "469001": (  # 五指山市
        _T, *_WZS_QZ, (109.42, 18.97), (109.33, 18.86), (109.34, 18.72), *reversed(_WZS_BT),
    ),
    "469029": (  # 保亭
        _T, *_WZS_BT, (109.50, 18.47), (109.64, 18.39), (109.80, 18.45), (109.91, 18.60),
        *reversed(_BT_QZ),
    ),
    "469030": (  # 琼中
        _T, *_BT_QZ, (110.06, 18.88), (110.12, 19.05), (110.05, 19.22), (109.90, 19.33),
        (109.74, 19.30), (109.62, 19.16), *reversed(_WZS_QZ),
    ),
}

# (adcode, name, short name, population, centroid lat, lon, townships as (name, seat lat, seat lon))
_COUNTIES = (
    ("469029", "保亭黎族苗族自治县", "保亭", 160_000, 18.64, 109.70, (
        ("保城镇", 18.64, 109.70), ("什玲镇", 18.68, 109.77), ("加茂镇", 18.55, 109.72),
        ("响水镇", 18.57, 109.60), ("新政镇", 18.50, 109.64), ("三道镇", 18.44, 109.68),
        ("六弓乡", 18.55, 109.82), ("南林乡", 18.47, 109.55), ("毛感乡", 18.58, 109.50),
    )),
    ("469030", "琼中黎族苗族自治县", "琼中", 180_000, 19.03, 109.84, (
        ("营根镇", 19.03, 109.84), ("湾岭镇", 19.17, 109.93), ("黎母山镇", 19.20, 109.72),
        ("和平镇", 18.90, 109.95), ("长征镇", 19.00, 110.00), ("红毛镇", 19.02, 109.72),
        ("中平镇", 19.10, 110.05), ("吊罗山乡", 18.84, 109.88), ("上安乡", 18.90, 109.78),
        ("什运乡", 18.90, 109.69),
    )),
    ("469001", "五指山市", "五指山", 110_000, 18.78, 109.52, (
        ("通什镇", 18.78, 109.52), ("南圣镇", 18.84, 109.58), ("毛阳镇", 18.93, 109.50),
        ("番阳镇", 18.88, 109.40), ("畅好乡", 18.70, 109.50), ("毛道乡", 18.74, 109.40),
        ("水满乡", 18.90, 109.60),
    )),
)

# Villages per county: Baoting's real 62 (DESIGN §12); the other two are kept near 60 so that every
# county of the demo is the same kind of size on a map (the real counts differ).
_VILLAGE_COUNTS = {"469029": 62, "469030": 64, "469001": 58}

# Generated village names sound like the region's: Li place names transliterated with these syllables.
_NAME_FIRST = "什番毛南抱保加水便布田龙新红牙堑岭椰槟"
_NAME_SECOND = "茂丰兰寨架东朗好岭道阳满雅弓曼庆进星合安岗坡边门头"


def _xy(p: Point) -> tuple[float, float]:
    """Planar metres (equirectangular at the demo latitude)."""
    return p[0] * M_PER_DEG_LON, p[1] * M_PER_DEG_LAT


def distance_m(a: Point, b: Point) -> float:
    (ax, ay), (bx, by) = _xy(a), _xy(b)
    return math.hypot(ax - bx, ay - by)


def offset(p: Point, east_m: float, north_m: float) -> Point:
    return p[0] + east_m / M_PER_DEG_LON, p[1] + north_m / M_PER_DEG_LAT


def contains(polygon: Polygon, p: Point) -> bool:
    """Ray casting; points exactly on an edge may fall either way (fine for generated points)."""
    x, y = p
    inside = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def area_km2(polygon: Polygon) -> float:
    pts = [_xy(p) for p in polygon]
    twice = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True))
    return abs(twice) / 2 / 1e6


def _clip_nearer(polygon: Polygon, seat: Point, other: Point) -> Polygon:
    """The part of `polygon` nearer to `seat` than to `other` (Sutherland–Hodgman, one half-plane)."""
    (sx, sy), (ox, oy) = _xy(seat), _xy(other)
    nx, ny = ox - sx, oy - sy
    mid = ((sx + ox) / 2, (sy + oy) / 2)

    def side(p: Point) -> float:  # < 0: on the seat's side of the bisector
        x, y = _xy(p)
        return (x - mid[0]) * nx + (y - mid[1]) * ny

    out: list[Point] = []
    for a, b in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        sa, sb = side(a), side(b)
        if sa <= 0:
            out.append(a)
        if (sa < 0) != (sb < 0) and sa != sb:
            t = sa / (sa - sb)
            out.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
    return tuple(out)


def _hexagon(centre: Point, radius_m: float) -> Polygon:
    return tuple(
        offset(centre, radius_m * math.cos(math.pi / 3 * k), radius_m * math.sin(math.pi / 3 * k))
        for k in range(6)
    )


def _bbox(polygon: Polygon) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    return min(xs), min(ys), max(xs), max(ys)


def _quotas(total: int, weights: list[float], minimum: int) -> list[int]:
    """Split `total` in proportion to `weights`, at least `minimum` each (largest remainders)."""
    spare = total - minimum * len(weights)
    shares = [spare * w / sum(weights) for w in weights]
    counts = [math.floor(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in by_remainder[: spare - sum(counts)]:
        counts[i] += 1
    return [c + minimum for c in counts]


def _place_villages(rng: random.Random, cell: Polygon, count: int, taken: list[Point]) -> list[Point]:
    """Village centres inside `cell`, each hexagon wholly inside it and clear of every other village."""
    minx, miny, maxx, maxy = _bbox(cell)
    spacing = _VILLAGE_SPACING_M
    placed: list[Point] = []
    attempts = 0
    while len(placed) < count:
        attempts += 1
        if attempts % 2_000 == 0:  # a small or thin cell: accept closer villages (hexagons still clear)
            spacing = max(2 * VILLAGE_RADIUS_M + 50, spacing * 0.9)
        p = (rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if not all(contains(cell, v) for v in _hexagon(p, VILLAGE_RADIUS_M * 1.05)):
            continue
        if any(distance_m(p, q) < spacing for q in taken + placed):
            continue
        placed.append(p)
    return placed


def _village_names(rng: random.Random, count: int) -> list[str]:
    pairs = [a + b for a in _NAME_FIRST for b in _NAME_SECOND if a != b]
    return [name + "村" for name in rng.sample(pairs, count)]


@cache
def hainan() -> tuple[DemoCounty, ...]:
    """The demo province's three counties, fully built (deterministic; built once per process)."""
    rng = random.Random("grassroots-demo-geography")  # fixed: the map never depends on the data seed
    counties = []
    for adcode, name, short, population, lat, lon, townships in _COUNTIES:
        boundary = _BOUNDARIES[adcode]
        seats = [(t_lon, t_lat) for _, t_lat, t_lon in townships]
        cells = []
        for seat in seats:
            cell = boundary
            for other in seats:
                if other != seat:
                    cell = _clip_nearer(cell, seat, other)
            cells.append(cell)
        quotas = _quotas(_VILLAGE_COUNTS[adcode], [area_km2(c) for c in cells], minimum=3)
        names = iter(_village_names(rng, _VILLAGE_COUNTS[adcode]))
        taken: list[Point] = []
        built = []
        for index, ((t_name, t_lat, t_lon), cell, quota) in enumerate(zip(townships, cells, quotas, strict=True)):
            # Towns (镇) are numbered 1xx and townships (乡) 2xx, in the order listed.
            towns_before = sum(1 for n, *_ in townships[:index] if n.endswith("镇"))
            number = 100 + index if t_name.endswith("镇") else 200 + index - towns_before
            code = f"{adcode}{number:03d}"
            centres = _place_villages(rng, cell, quota, taken)
            taken.extend(centres)
            villages = tuple(
                Village(
                    code=f"{code}{200 + k + 1:03d}", name=next(names), township=code,
                    lat=round(c[1], 6), lon=round(c[0], 6),
                    boundary=tuple((round(x, 6), round(y, 6)) for x, y in _hexagon(c, VILLAGE_RADIUS_M)),
                )
                for k, c in enumerate(sorted(centres, key=lambda c: (-c[1], c[0])))  # numbered north to south
            )
            built.append(Township(
                code=code, name=t_name, county=adcode, lat=t_lat, lon=t_lon,
                boundary=tuple((round(x, 6), round(y, 6)) for x, y in cell), villages=villages,
            ))
        counties.append(DemoCounty(
            adcode=adcode, name=name, short_name=short, population=population, lat=lat, lon=lon,
            boundary=boundary, townships=tuple(built),
        ))
    return tuple(counties)


def county(adcode: str) -> DemoCounty:
    for c in hainan():
        if c.adcode == adcode:
            return c
    raise KeyError(f"{adcode} is not a demo county (demo counties: {', '.join(c.adcode for c in hainan())})")
