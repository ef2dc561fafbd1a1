"""Loading the demo through the command path into a real PostgreSQL (its own database, so the demo
counties never meet other tests' data)."""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import date

import asyncpg
import pytest
from psycopg import sql

from projections import campaigns, pairing, proposals, receptions, reviews, targets, verdicts
from projections.base import Period
from services.county import EVENTS_PER_COMMAND, County
from services.demo.contacts import COUNTY_RULES
from services.demo.generator import DEPARTMENT_NAMES, generate
from services.domain.values import REGISTER_KINDS
from services.demo.loader import DEMO_PASSWORD, MARKER_ACCOUNT, load_demo
from services.identity.users import verify_password
from services.storage.database import connect
from services.tenancy import Counties

SEED, SCALE = 5, 0.02
ADCODES = ("469029", "469030", "469001")


@pytest.fixture(scope="module")
def demo_url(new_database) -> str:
    return new_database("demo")


@pytest.fixture(scope="module")
def first_load(demo_url: str):
    return load_demo(demo_url, SEED, SCALE)


@pytest.fixture(scope="module")
def steps():
    return generate(SEED, SCALE)


def event_counts(url: str) -> dict[str, int]:
    with connect(url) as conn:
        return {adcode: conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(f"county_{adcode}", "county_events"))
        ).fetchone()[0] for adcode in ADCODES}


def test_every_generated_command_is_applied_with_its_event_and_receipt(demo_url, first_load, steps):
    assert first_load.commands == len(steps)
    assert first_load.outcomes == {"applied": len(steps)}
    per_county = Counter()
    for step in steps:  # a reception raises its issues too; the first target opens the register
        per_county[step.county] += EVENTS_PER_COMMAND + len(step.payload.get("issues", ()))
    for adcode in ADCODES:
        per_county[adcode] += any(s.county == adcode and s.command == "register_target" for s in steps)
    assert event_counts(demo_url) == {a: per_county[a] for a in ADCODES}


def test_events_carry_the_simulated_time_and_personal_fields_are_sealed(demo_url, first_load, steps):
    registered = next(s for s in steps if s.command == "register_household" and s.county == "469001")
    visit = next(s for s in steps if s.command == "check_in" and s.county == "469001"
                 and s.payload["target_kind"] == "household")
    counties = Counties(demo_url, County)
    try:
        app = counties.get("469001")
        assert app.repository.get(registered.command_id).created_on == registered.at
        household = app.household(registered.command_id)
        assert household["head_name"] == registered.payload["head_name"]
        assert app.visit(visit.command_id)["received_at"] == visit.at.isoformat()
    finally:
        counties.close()
    with connect(demo_url) as conn:
        state = conn.execute("SELECT state FROM county_469001.county_events WHERE originator_id = %s",
                             (registered.command_id,)).fetchone()[0]
    assert registered.payload["head_name"].encode() not in bytes(state)


def test_demo_accounts_cover_every_role_with_the_documented_password(demo_url, first_load):
    with connect(demo_url) as conn:
        rows = conn.execute("SELECT username, roles, password_hash FROM core.users").fetchall()
    roles = {role for _, user_roles, _ in rows for role in user_roles}
    assert roles == {"cadre", "county_admin", "department", "province_viewer", "prefecture_viewer", "operator"}
    assert {a.username for a in first_load.accounts} <= {username for username, _, _ in rows}
    admin_hash = next(h for username, _, h in rows if username == "baoting.admin")
    assert verify_password(admin_hash, DEMO_PASSWORD)


def test_the_counties_are_registered_with_their_map(demo_url, first_load):
    with connect(demo_url) as conn:
        rows = conn.execute("SELECT adcode, province_code, boundary FROM core.counties ORDER BY adcode").fetchall()
    assert [r[0] for r in rows] == sorted(ADCODES)
    for _, province_code, boundary in rows:
        assert province_code == "460000"
        levels = Counter(f["properties"]["level"] for f in boundary["features"])
        assert levels["county"] == 1 and levels["township"] >= 7 and levels["village"] >= 55
    with connect(demo_url) as conn:  # the composite assessment is weighed in every demo county
        weights = [r[0] for r in conn.execute("SELECT rules -> 'assessment_weights' FROM core.counties").fetchall()]
    assert weights and all(w is not None and sum(w.values()) == 100 for w in weights)


def test_a_second_load_finds_the_demo_there_and_adds_nothing(demo_url, first_load):
    before = event_counts(demo_url)
    started = time.monotonic()
    again = load_demo(demo_url, SEED, SCALE)
    assert again.already_loaded and again.commands == 0
    assert time.monotonic() - started < 5
    assert {a.username for a in again.accounts} == {a.username for a in first_load.accounts}
    assert event_counts(demo_url) == before


def test_without_the_completion_mark_the_receipts_show_nothing_is_missing(demo_url, first_load):
    before = event_counts(demo_url)
    with connect(demo_url) as conn:
        conn.execute("DELETE FROM core.users WHERE username = %s", (MARKER_ACCOUNT,))
    again = load_demo(demo_url, SEED, SCALE)
    assert again.commands == 0 and again.already_loaded
    assert event_counts(demo_url) == before
    with connect(demo_url) as conn:
        assert conn.execute("SELECT 1 FROM core.users WHERE username = %s", (MARKER_ACCOUNT,)).fetchone()


def test_grassroots_demo_prints_the_accounts_and_their_password(demo_url, first_load, monkeypatch, capsys):
    from services.cli import main

    monkeypatch.setenv("DATABASE_URL", demo_url)
    assert main(["demo", "--seed", str(SEED), "--scale", str(SCALE)]) == 0
    out = capsys.readouterr().out
    assert "already loaded" in out
    assert DEMO_PASSWORD in out
    for username in ("baoting.admin", "qiongzhong.cadre", "wuzhishan.dept", "hainan.prefecture", "hainan.viewer",
                     "operator"):
        assert username in out


def test_a_fresh_grassroots_demo_leaves_every_read_model_up_to_date(new_database, monkeypatch, capsys):
    from services.cli import main

    url = new_database("demo")  # a URL, as DATABASE_URL is
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["demo", "--seed", str(SEED), "--scale", str(SCALE)]) == 0
    assert "read models built from" in capsys.readouterr().out
    with connect(url) as conn:  # no projector ran: the demo command built them
        for adcode in ADCODES:
            schema = f"county_{adcode}"
            last, behind = conn.execute(sql.SQL(
                "SELECT (SELECT max(notification_id) FROM {events}),"
                " (SELECT count(*) FROM {tracking} WHERE notification_id < (SELECT max(notification_id) FROM {events}))"
            ).format(events=sql.Identifier(schema, "county_events"),
                     tracking=sql.Identifier(schema, "projection_tracking"))).fetchone()
            assert last > 0 and behind == 0
            assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(schema, "verdicts_checkins"))).fetchone()[0] > 0
    # A new user finds the Spring Festival and Mid-Autumn campaigns filled in: most of their households visited.
    for adcode in ADCODES:
        listed = asyncio.run(_campaigns(url, adcode))
        assert sorted(c["festival"] for c in listed) == ["mid_autumn", "spring_festival"], adcode
        assert all(c["state"] == "ended" and c["households"] > c["visited"] > 0 for c in listed), listed
    # …and households cadres proposed from the phone, waiting for the office.
    for adcode in ADCODES:
        pending = asyncio.run(_pending_proposals(url, adcode))
        assert len(pending) == 3 and all(p["state"] == "pending" for p in pending), adcode
    # ... and the September and October review packs with their minutes and decisions, by listed departments.
    decided = []
    for adcode in ADCODES:
        for month in ("2026-09", "2026-10"):
            minutes, decisions = asyncio.run(_review(url, adcode, month))
            assert minutes is not None and "例会" in minutes["minutes"], (adcode, month)
            decided += decisions
    assert decided and all(d["department"] in DEPARTMENT_NAMES for d in decided)
    # ... cadres short of their quota, and visits the office voided, each with its reason.
    for adcode in ADCODES:
        short, voided = asyncio.run(_short_and_voided(url, adcode))
        assert short and all(c["shortfall"] > 0 for c in short), adcode
        assert voided and all(v["verdict"] == "voided" and v["void_reason"] for v in voided), (adcode, voided[:1])
    # ... the register of contact targets, 五个一 and reception days (services/demo/contacts.py) in every county.
    for adcode in ADCODES:
        asyncio.run(_contacts_and_receptions(url, adcode))


async def _contacts_and_receptions(url: str, adcode: str) -> None:
    conn = await asyncpg.connect(url)
    schema = f"county_{adcode}"
    try:
        # Targets of every kind, each with its place and coordinates; some Party branches weak and scattered.
        for kind in REGISTER_KINDS:
            listed = (await targets.page(conn, schema, kind=kind, limit=1000))["items"]
            assert listed and all(t["township"] and t["lat"] is not None for t in listed), (adcode, kind)
        weak = (await targets.page(conn, schema, kind="party_branch", weak=True, limit=1000))["items"]
        strong = (await targets.page(conn, schema, kind="party_branch", weak=False, limit=1000))["items"]
        assert weak and strong, adcode
        # Pairings and check-ins naming targets of the register, judged like any check-in.
        paired = {r["target_kind"] for r in await conn.fetch(
            f"SELECT DISTINCT target_kind FROM {schema}.pairing_pairings WHERE target_kind <> 'household'")}
        assert paired >= {"party_branch", "enterprise", "talent", "project", "contact_point"}, (adcode, paired)
        checked = await conn.fetch(
            f"SELECT c.target_kind, c.verified, t.target_id IS NOT NULL AS registered FROM {schema}.verdicts_checkins c"
            f" LEFT JOIN {schema}.targets_versions t ON t.target_id::text = c.target_id AND t.valid_to IS NULL"
            " WHERE c.target_kind <> 'household'")
        assert all(r["registered"] for r in checked), adcode
        assert {r["target_kind"] for r in checked} == set(REGISTER_KINDS), adcode
        assert {r["verified"] for r in checked} == {True, False}, adcode  # GPS verdicts as elsewhere
        # Schedules: the minister on the 10th, section chiefs on the 20th, village cadres weekly.
        plans = await receptions.schedules(conn, schema)
        assert {(p["cadence"], p["day"], p["rank"]) for p in plans} == {
            ("monthly", 10, None), ("monthly", 20, "section_chief"), ("weekly", 1, "village_cadre")}, adcode
        # Receptions held against scheduled, with missed days flagged, residents received and issues raised.
        rows = await receptions.report(conn, schema, Period(date(2026, 1, 1), date(2026, 11, 20)))
        assert sum(r["held"] for r in rows) and sum(r["residents"] for r in rows), adcode
        assert any(r["missed_days"] for r in rows) and sum(r["on_schedule"] for r in rows), adcode
        routed = await conn.fetch(
            f"SELECT route FROM {schema}.issues_versions WHERE source_kind = 'reception' AND valid_to IS NULL"
            " AND route IS NOT NULL")
        assert {"on_the_spot", "department"} <= {r["route"] for r in routed}, adcode
        # 保亭 keeps the 五个一 rule: cadres' coverage of the five in a quarter.
        rules = await conn.fetchval("SELECT rules->>'five_ones_period' FROM core.counties WHERE adcode = $1", adcode)
        assert rules == COUNTY_RULES.get(adcode, {}).get("five_ones_period"), adcode
        if rules:
            five = (await targets.five_ones(conn, schema, Period(date(2026, 7, 1), date(2026, 9, 30)),
                                            limit=1000))["items"]
            assert any(f["covered"] == 5 for f in five) and any(f["covered"] < 5 for f in five), adcode
    finally:
        await conn.close()


async def _short_and_voided(url: str, adcode: str) -> tuple[list[dict], list[dict]]:
    conn = await asyncpg.connect(url)
    try:
        schema = f"county_{adcode}"
        return ((await pairing.shortfalls(conn, schema))["items"],
                (await verdicts.page(conn, schema, verdict="voided"))["items"])
    finally:
        await conn.close()


async def _pending_proposals(url: str, adcode: str) -> list[dict]:
    conn = await asyncpg.connect(url)
    try:
        return (await proposals.page(conn, f"county_{adcode}"))["items"]
    finally:
        await conn.close()


async def _review(url: str, adcode: str, month: str) -> tuple[dict | None, list[dict]]:
    conn = await asyncpg.connect(url)
    try:
        schema = f"county_{adcode}"
        return await reviews.minutes(conn, schema, month), await reviews.decisions(conn, schema, month)
    finally:
        await conn.close()


async def _campaigns(url: str, adcode: str) -> list[dict]:
    conn = await asyncpg.connect(url)
    try:
        return await campaigns.campaigns(conn, f"county_{adcode}")
    finally:
        await conn.close()


def test_grassroots_demo_refuses_a_scale_outside_zero_to_one(capsys):
    from services.cli import main

    assert main(["demo", "--scale", "2"]) == 2
    assert "--scale must be more than 0" in capsys.readouterr().err
