"""A county's places (`core.places`): the township and village codes its records may carry.

Records name their place by code, and a code of another county (a typo, a copied spreadsheet, a
phone of the neighbouring county) once put a household on that county's map and in its figures. So
every village and township code in a command must be a place of the county:
- a county lists its places from its map when it is provisioned (the townships and villages of its
  FeatureCollection, services/county_map.py), and a county admin adds a village the map lacks
  (`POST /api/v1/places/villages`);
- a county that lists no place yet (provisioned without a map) can only be held to its own code:
  its codes must begin with its adcode. Its first listed place makes the list binding.

A township counts as listed when it is itself, or one of its villages is: a county may add villages
under a township its map never drew.

Every query is O(the codes asked about) (the primary key and the `(county, township)` index).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from services.domain.errors import InvalidCommand
from services.storage.connections import AsyncConnection

Level = Literal["township", "village"]
LEVEL_WORDS: dict[Level, tuple[str, str, int]] = {"township": ("township", "乡镇（街道）", 9),
                                                 "village": ("village", "村（社区）", 12)}

# The places a county's stored map names: its FeatureCollection's township and village features with
# a code of the right length inside the county, and a name (as services/county_map.places_of reads them).
_MAP_PLACES = r"""
SELECT c.adcode, p->>'code', p->>'level', p->>'name',
       CASE p->>'level' WHEN 'township' THEN p->>'code' ELSE left(p->>'code', 9) END
FROM core.counties c,
     jsonb_array_elements(CASE WHEN jsonb_typeof(c.boundary->'features') = 'array'
                               THEN c.boundary->'features' ELSE '[]' END) f,
     LATERAL (SELECT f->'properties' AS p) props
WHERE {where}
  AND ((p->>'level' = 'township' AND p->>'code' ~ '^[0-9]{{9}}$')
       OR (p->>'level' = 'village' AND p->>'code' ~ '^[0-9]{{12}}$'))
  AND starts_with(p->>'code', c.adcode) AND coalesce(p->>'name', '') <> ''
"""
_INSERT = "INSERT INTO core.places (county, code, level, name, township) "

# Made with `core` (services/storage/schemas.ensure_core). A database older than the table gets it with
# every county's map places once, when it is made.
PLACES_DDL = rf"""
DO $$ BEGIN
    IF to_regclass('core.places') IS NULL THEN
        CREATE TABLE core.places (
            county text NOT NULL,
            code text NOT NULL,
            level text NOT NULL CHECK (level IN ('township', 'village')),
            name text NOT NULL,
            township text NOT NULL,
            added_by text,  -- null: from the county's map
            added_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (county, code)
        );
        CREATE INDEX places_township ON core.places (county, township);
        {_INSERT}{_MAP_PLACES.format(where="true")} ON CONFLICT DO NOTHING;
    END IF;
END $$;
"""
# A provisioned county's map places (psycopg, in the provisioning transaction).
RECORD_MAP = _INSERT + _MAP_PLACES.format(where="c.adcode = %s") + " ON CONFLICT DO NOTHING"

_KNOWN = """
SELECT 'listed' AS kind, NULL AS code WHERE EXISTS (SELECT 1 FROM core.places WHERE county = {county})
UNION ALL
SELECT 'village', code FROM core.places WHERE county = {county} AND level = 'village' AND code = ANY({villages})
UNION ALL
SELECT 'township', t FROM unnest({townships}::text[]) t
WHERE EXISTS (SELECT 1 FROM core.places WHERE county = {county} AND township = t)
"""
_KNOWN_PSYCOPG = _KNOWN.format(county="%(county)s", villages="%(villages)s", townships="%(townships)s")
_KNOWN_ASYNCPG = _KNOWN.format(county="$1", villages="$2", townships="$3")


def named_places(command: Any) -> list[tuple[Level, str]]:
    """The (level, code) of every place a command names: its `village` and `township` fields."""
    # Asked of the model's fields first: getattr's default comes from pydantic's slow path (an AttributeError).
    fields = getattr(type(command), "model_fields", None)
    return [(level, code) for level in ("village", "township")
            if (fields is None or level in fields) and isinstance(code := getattr(command, level, None), str)]


@dataclass
class KnownPlaces:
    """What a unit of work has learnt of its county's places, asked in batches (`learn`)."""

    adcode: str
    listed: bool = False
    asked: set[tuple[Level, str]] = field(default_factory=set)
    found: set[tuple[Level, str]] = field(default_factory=set)

    def unasked(self, places: Iterable[tuple[Level, str]]) -> list[tuple[Level, str]]:
        return [place for place in dict.fromkeys(places) if place not in self.asked]

    def learn(self, cursor: Any, places: Iterable[tuple[Level, str]]) -> None:
        """Look up the places not asked about yet, in one query (psycopg cursor)."""
        if wanted := self.unasked(places):
            villages, townships = _by_level(wanted)
            cursor.execute(_KNOWN_PSYCOPG, {"county": self.adcode, "villages": villages, "townships": townships})
            self._learnt(wanted, cursor.fetchall())

    async def learn_async(self, conn: AsyncConnection, places: Iterable[tuple[Level, str]]) -> None:
        """`learn` on an asyncpg connection."""
        if wanted := self.unasked(places):
            self._learnt(wanted, await conn.fetch(_KNOWN_ASYNCPG, self.adcode, *_by_level(wanted)))

    def _learnt(self, wanted: list[tuple[Level, str]], rows: Iterable[Any]) -> None:
        for row in rows:  # psycopg's dict rows and asyncpg's records both read by name
            if row["kind"] == "listed":
                self.listed = True
            else:
                self.found.add((row["kind"], row["code"]))
        self.asked.update(wanted)

    def require(self, level: Level, code: str) -> None:
        """Refuse a code that is not a place of the county, naming the field (`village`, `township`)."""
        en_level, zh_level, _ = LEVEL_WORDS[level]
        if not code.startswith(self.adcode):
            raise InvalidCommand(
                "place_of_another_county", f"{level}：{code} 不是本县的{zh_level}（本县代码以 {self.adcode} 开头）",
                f"{level}: {code} is not a {en_level} of this county (its codes begin with {self.adcode})",
                field=level)
        if self.listed and (level, code) not in self.found:
            raise InvalidCommand(
                "unknown_place", f"{level}：{code} 不在本县的{zh_level}名录中，请县管理员先在“地点”中添加",
                f"{level}: {code} is not among this county's {en_level}s: a county admin can add it to the "
                "county's places first", field=level)


def _by_level(places: list[tuple[Level, str]]) -> tuple[list[str], list[str]]:
    return ([code for level, code in places if level == "village"],
            [code for level, code in places if level == "township"])


def record_map(cursor: Any, adcode: str) -> None:
    """List the places of a county's stored map (at provisioning; places already listed stay)."""
    cursor.execute(RECORD_MAP, (adcode,))


async def township_known(conn: AsyncConnection, adcode: str, township: str) -> tuple[bool, bool]:
    """(whether the county lists any place, whether it lists this township or a village of it), asyncpg."""
    row = await conn.fetchrow(
        "SELECT EXISTS (SELECT 1 FROM core.places WHERE county = $1) AS listed,"
        " EXISTS (SELECT 1 FROM core.places WHERE county = $1 AND township = $2) AS known", adcode, township)
    assert row is not None  # a SELECT without FROM gives its one row
    return row["listed"], row["known"]


async def add_village(conn: AsyncConnection, adcode: str, code: str, name: str, township: str, added_by: str) -> bool:
    """List a village (asyncpg); False when the county lists that code already."""
    added = await conn.fetchval(
        "INSERT INTO core.places (county, code, level, name, township, added_by)"
        " VALUES ($1, $2, 'village', $3, $4, $5) ON CONFLICT DO NOTHING RETURNING code",
        adcode, code, name, township, added_by)
    return added is not None


async def added_villages(conn: AsyncConnection, adcode: str) -> list[dict[str, Any]]:
    """The villages a county admin added (not from the map), for the place names the views show."""
    rows = await conn.fetch("SELECT code, name, township FROM core.places"
                            " WHERE county = $1 AND added_by IS NOT NULL ORDER BY code", adcode)
    return [dict(row) for row in rows]
