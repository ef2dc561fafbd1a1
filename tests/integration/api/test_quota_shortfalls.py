"""Quota shortfalls (结对缺额): every cadre short of a pairing quota and by how many, filtered by the
cadre's township and rank, paged by key, exported as a ledger, and kept current as pairings, ranks,
townships and households' tags change.

The module writes its own small world in townships no other test uses (191, 192, 193) under the default
rules (5 hardship households each; 3/2/1 households by rank). The table is checked against
`/pairings/quotas`, which judges every cadre afresh on each read: for every cadre of the county, listed
as short exactly when that judgement says a quota is not met, with the same figures.
"""
from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta

import pytest

from services.domain import commands as c
from services.storage.database import connect
from tests.integration.api.conftest import COUNTY_A
from tests.integration.api.test_compliance_filters import listed
from tests.integration.api.test_exports import sheet_rows
from tests.integration.api.test_queries import household, run, sid, wait_for_projections
from tests.integration.plans import INDEXES_ONLY

T1, T2, T3 = f"{COUNTY_A}191", f"{COUNTY_A}192", f"{COUNTY_A}193"
V1 = f"{T1}201"
HARDSHIP = ["hardship_resident"]


def enrol(api, key: str, name: str, rank: str, township: str) -> uuid.UUID:
    return uuid.UUID(run(api, COUNTY_A, c.EnrolCadre(command_id=sid(key), name=name, rank=rank, unit="县委组织部",
                                                     township=township))["id"])


def pair(api, key: str, cadre: uuid.UUID, target: uuid.UUID) -> uuid.UUID:
    return uuid.UUID(run(api, COUNTY_A, c.FormPairing(
        command_id=sid(key), cadre_id=cadre, target_kind="household", target_id=str(target), programme="结对帮扶",
        formed_on=date.today() - timedelta(days=1)))["id"])


@pytest.fixture(scope="module")
async def world(api, database_url) -> dict:
    homes = [uuid.UUID(run(api, COUNTY_A, household(V1, f"缺额{i}", f"qs-h{i}", 18.80 + i / 1000,
                                                    HARDSHIP if i < 6 else ()))["id"]) for i in range(7)]
    staff = enrol(api, "qs-staff", "足额科员", "staff", T1)  # 5 hardship households: every quota met
    chief = enrol(api, "qs-chief", "缺额科长", "section_chief", T1)  # 1 hardship + 1 plain: short 4 and 1
    deputy = enrol(api, "qs-deputy", "缺额副科", "deputy_section_chief", T2)  # nothing: short 5 and 2
    pairings = {f"staff{i}": pair(api, f"qs-p{i}", staff, homes[i]) for i in range(5)}
    pairings["chief_hardship"] = pair(api, "qs-pc1", chief, homes[5])
    pairings["chief_plain"] = pair(api, "qs-pc2", chief, homes[6])
    # The same household paired twice counts once.
    pairings["chief_again"] = pair(api, "qs-pc3", chief, homes[6])
    many = [enrol(api, f"qs-many{i}", f"缺额{i}", "staff", T3) for i in range(5)]
    await wait_for_projections(database_url, COUNTY_A)
    return {"homes": homes, "staff": staff, "chief": chief, "deputy": deputy, "many": many, "pairings": pairings}


def rules_of(item: dict) -> dict:
    return {q["rule"]: (q["required"], q["actual"], q["short_by"]) for q in item["quotas"]}


async def test_the_table_lists_the_cadres_short_of_a_quota_by_how_many(api, world):
    admin = await api.client("county_admin")
    rows = await listed(admin, "/api/v1/pairings/shortfalls", township=T1)
    assert [row["cadre_id"] for row in rows] == [str(world["chief"])]  # the staff cadre meets every quota
    [chief] = rows
    assert (chief["rank"], chief["township"], chief["pairings"], chief["households"], chief["hardship"]) == (
        "section_chief", T1, 3, 2, 1)
    assert rules_of(chief) == {"hardship_households": (5, 1, 4), "households_by_rank": (3, 2, 1)}
    assert chief["shortfall"] == 4
    [deputy] = await listed(admin, "/api/v1/pairings/shortfalls", township=T2)
    assert rules_of(deputy) == {"hardship_households": (5, 0, 5), "households_by_rank": (2, 0, 2)}
    assert deputy["shortfall"] == 5


async def test_rank_and_township_filters_combine(api, world):
    admin = await api.client("county_admin")
    ids = lambda rows: [row["cadre_id"] for row in rows]  # noqa: E731
    assert ids(await listed(admin, "/api/v1/pairings/shortfalls", township=T1, rank="section_chief")) == [
        str(world["chief"])]
    assert await listed(admin, "/api/v1/pairings/shortfalls", township=T1, rank="staff") == []
    chiefs = ids(await listed(admin, "/api/v1/pairings/shortfalls", rank="section_chief"))
    assert str(world["chief"]) in chiefs and str(world["deputy"]) not in chiefs


async def test_pages_follow_the_next_key_without_gaps_or_repeats(api, world):
    admin = await api.client("county_admin")
    seen, after = [], None
    while True:
        response = await admin.get("/api/v1/pairings/shortfalls",
                                   params={"township": T3, "limit": 2, **({"after": after} if after else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [row["cadre_id"] for row in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == sorted(str(cadre) for cadre in world["many"])


async def test_the_table_agrees_with_the_quotas_judged_afresh_for_every_cadre(api, world):
    admin = await api.client("county_admin")
    judged, offset = [], 0
    while True:
        page = (await admin.get("/api/v1/pairings/quotas", params={"limit": 500, "offset": offset})).json()
        judged += page["items"]
        offset += 500
        if offset >= page["total"]:
            break
    short = {row["cadre_id"]: row for row in await listed(admin, "/api/v1/pairings/shortfalls")}
    assert {q["cadre_id"] for q in judged if not q["compliant"]} == set(short)
    for cadre in judged:
        if cadre["cadre_id"] in short:
            row = short[cadre["cadre_id"]]
            assert (row["rank"], row["pairings"], row["quotas"]) == (cadre["rank"], cadre["pairings"],
                                                                     cadre["quotas"])
            assert row["shortfall"] == max(q["short_by"] for q in cadre["quotas"])


async def test_the_table_follows_retagging_archiving_ending_transfers_and_departures(api, world, database_url):
    admin = await api.client("county_admin")
    homes = world["homes"]
    # The staff cadre's hardship household is no longer in hardship: short by one.
    run(api, COUNTY_A, c.RetagHousehold(command_id=sid("qs-retag"), household_id=homes[0], expected_version=1,
                                        tags=[]))
    # The chief's plain household is archived: only the duplicate-free hardship one is left.
    run(api, COUNTY_A, c.ArchiveHousehold(command_id=sid("qs-archive"), household_id=homes[6], expected_version=1,
                                          reason="迁出"))
    run(api, COUNTY_A, c.TransferCadre(command_id=sid("qs-transfer"), cadre_id=world["deputy"], expected_version=1,
                                       unit="县委组织部", township=T1))
    run(api, COUNTY_A, c.DepartCadre(command_id=sid("qs-depart"), cadre_id=world["many"][0], expected_version=1,
                                     reason="调离"))
    await wait_for_projections(database_url, COUNTY_A)
    rows = {row["cadre_id"]: row for row in await listed(admin, "/api/v1/pairings/shortfalls", township=T1)}
    assert set(rows) == {str(world["staff"]), str(world["chief"]), str(world["deputy"])}
    assert rules_of(rows[str(world["staff"])])["hardship_households"] == (5, 4, 1)
    assert rules_of(rows[str(world["chief"])])["households_by_rank"] == (3, 1, 2)
    assert rows[str(world["chief"])]["pairings"] == 1
    assert await listed(admin, "/api/v1/pairings/shortfalls", township=T2) == []
    assert str(world["many"][0]) not in {r["cadre_id"] for r in await listed(
        admin, "/api/v1/pairings/shortfalls", township=T3)}
    # As of yesterday, before any of this world was recorded, none of its cadres was enrolled.
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert await listed(admin, "/api/v1/pairings/shortfalls", township=T1, as_of=yesterday) == []
    # Pairing one more hardship household brings the staff cadre back to every quota met.
    pair(api, "qs-p-new", world["staff"], homes[5])
    await wait_for_projections(database_url, COUNTY_A)
    assert str(world["staff"]) not in {r["cadre_id"] for r in await listed(
        admin, "/api/v1/pairings/shortfalls", township=T1)}


async def test_the_shortfall_ledger_is_the_filtered_table_with_names(api, world):
    admin = await api.client("county_admin")
    table = await listed(admin, "/api/v1/pairings/shortfalls", township=T3)
    response = await admin.get("/api/v1/exports/shortfalls", params={"township": T3, "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["干部编号"] for row in rows] == [row["cadre_id"] for row in table]
    assert {row["干部"] for row in rows} <= {f"缺额{i}" for i in range(5)}
    assert {(row["职级"], row["应结对困难户"], row["困难户缺额"], row["按职级缺额"]) for row in rows} == {
        ("一般干部", "5", "5", "1")}
    header, *sheet = sheet_rows((await admin.get("/api/v1/exports/shortfalls", params={"township": T3})).content)
    assert header[:3] == ["干部编号", "干部", "职级"] and len(sheet) == len(rows)


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/pairings/shortfalls", {"township": "19"}),
    ("/api/v1/pairings/shortfalls", {"rank": "general"}),
    ("/api/v1/pairings/shortfalls", {"after": "not-an-id"}),
    ("/api/v1/pairings/shortfalls", {"limit": "0"}),
    ("/api/v1/pairings/shortfalls", {"limit": "501"}),
    ("/api/v1/exports/shortfalls", {"format": "pdf"}),
    ("/api/v1/exports/shortfalls", {"township": "x" * 9}),
])
async def test_a_bad_filter_is_422_with_a_reason(api, path, params):
    response = await (await api.client("county_admin")).get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail_zh"] and next(iter(params)) in response.text


async def test_only_county_admins_read_the_shortfalls(api):
    for role in ("cadre", "department"):
        client = await api.client(role)
        assert (await client.get("/api/v1/pairings/shortfalls")).status_code == 403
        assert (await client.get("/api/v1/exports/shortfalls")).status_code == 403


@pytest.mark.parametrize("filters", [{}, {"township": T1}, {"rank": "staff"}, {"township": T1, "rank": "staff"}])
async def test_every_filter_reads_a_range_of_a_partial_index_not_the_county(api, world, database_url, filters):
    """O(answer): with sequential scans priced out, the plan still finds a short-cadre index to read,
    so the query's predicate is the indexes' own (a county-wide scan is never needed)."""
    conditions = "".join(f" AND {name} = %s" for name in filters)
    sql = (f"EXPLAIN SELECT cadre_id FROM county_{COUNTY_A}.pairing_quotas WHERE shortfall > 0 AND NOT departed"
           f" AND valid_to IS NULL{conditions} ORDER BY cadre_id LIMIT 51")
    with connect(database_url) as conn, conn.transaction():
        for statement in INDEXES_ONLY:
            conn.execute(statement)
        plan = "\n".join(row[0] for row in conn.execute(sql, list(filters.values())).fetchall())
    assert "pairing_quotas_short" in plan, plan


async def test_as_of_a_day_reads_the_short_versions_not_every_version(api, world, database_url):
    sql = (f"EXPLAIN SELECT cadre_id FROM county_{COUNTY_A}.pairing_quotas WHERE shortfall > 0 AND NOT departed"
           " AND valid_from < now() AND (valid_to IS NULL OR valid_to >= now()) ORDER BY cadre_id LIMIT 51")
    with connect(database_url) as conn, conn.transaction():
        for statement in INDEXES_ONLY:
            conn.execute(statement)
        plan = "\n".join(row[0] for row in conn.execute(sql).fetchall())
    assert "pairing_quotas_short_then" in plan, plan
