"""Generated counties for the benchmarks that need many: copies of 琼中's demo map (469030, DESIGN §12)
moved to a place of their own, with adcodes, names and township/village codes of their own.

Everything here is generated and says so in the names (生成县 N): the province of 38 counties takes
Chongqing's size (38 county-level units, 11 million households) and its code pattern (5001xx), not its
real counties; the 3,000 tenants take codes 410101 … in blocks of 20 counties per prefecture.
"""
from __future__ import annotations

from dataclasses import replace

from services.demo.geography import DemoCounty, Polygon, county

BASE = "469030"  # 琼中: its map is the one every generated county copies
PROVINCE38 = ("重庆市（生成）", "500000")
TENANTS = ("生成省", "410000")  # the 3,000 tenants' province: one, so that nothing depends on many
# Each copy moves this far from the last (degrees): 琼中 is about 0.5° by 0.6°, so copies never overlap.
# Rows run south; after ROWS of them (60°) the next band starts east of the last, so that 3,000 copies stay
# on the globe (one band of 8 per row reached latitude -90 at the 1,426th copy).
STEP_LAT, STEP_LON, PER_ROW, ROWS = 0.6, 0.7, 8, 100


def province38_adcodes() -> list[str]:
    return [f"5001{n:02d}" for n in range(1, 39)]


def tenant_adcodes(count: int = 3000) -> list[str]:
    """Distinct 6-digit codes: 20 counties per prefecture, 10 prefectures per province, from 41."""
    return [f"{41 + n // 200:02d}{1 + n // 20 % 10:02d}{1 + n % 20:02d}" for n in range(count)]


def generated_county(adcode: str, index: int) -> DemoCounty:
    """琼中's map moved `index` steps across a grid, recoded under `adcode`."""
    base = county(BASE)
    row, band = index // PER_ROW % ROWS, index // (PER_ROW * ROWS)
    dlat, dlon = -STEP_LAT * row, STEP_LON * (index % PER_ROW + PER_ROW * band)

    def moved(polygon: Polygon) -> Polygon:
        return tuple((round(lon + dlon, 6), round(lat + dlat, 6)) for lon, lat in polygon)

    def recode(code: str) -> str:
        return adcode + code[len(BASE):]

    townships = tuple(replace(
        t, code=recode(t.code), county=adcode, lat=round(t.lat + dlat, 6), lon=round(t.lon + dlon, 6),
        boundary=moved(t.boundary),
        villages=tuple(replace(v, code=recode(v.code), township=recode(v.township), lat=round(v.lat + dlat, 6),
                               lon=round(v.lon + dlon, 6), boundary=moved(v.boundary)) for v in t.villages),
    ) for t in base.townships)
    return replace(base, adcode=adcode, name=f"生成县{index + 1}", short_name=f"生成{index + 1}",
                   lat=round(base.lat + dlat, 6), lon=round(base.lon + dlon, 6), boundary=moved(base.boundary),
                   townships=townships)

