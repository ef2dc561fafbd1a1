"""services/api/admin_extra.py: web config, places, the county's cadres and accounts, the province map."""
from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from .conftest import COUNTY_A, COUNTY_B, PASSWORD, Api


async def test_config_names_the_tile_server_set_at_runtime_and_none_by_default(api: Api, monkeypatch):
    admin = await api.client("county_admin")
    monkeypatch.delenv("GRASSROOTS_TILE_URL", raising=False)
    assert (await admin.get("/api/v1/config")).json() == {"tile_url": None, "tile_attribution": None}
    monkeypatch.setenv("GRASSROOTS_TILE_URL", "https://tiles.example/{z}/{x}/{y}.png")
    monkeypatch.setenv("GRASSROOTS_TILE_ATTRIBUTION", "© 示例")
    answer = (await admin.get("/api/v1/config")).json()
    assert answer == {"tile_url": "https://tiles.example/{z}/{x}/{y}.png", "tile_attribution": "© 示例"}


async def test_config_needs_a_login(api: Api):
    assert (await api.anonymous().get("/api/v1/config")).status_code == 401


async def test_places_of_a_county_without_a_place_registry_are_empty(api: Api):
    admin = await api.client("county_admin")
    assert (await admin.get("/api/v1/places")).json() == {"places": []}


def square(lon: float, lat: float) -> dict:
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


COUNTY_MAP = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": square(109.6, 18.6),
     "properties": {"level": "county", "code": "469029", "name": "保亭"}},
    {"type": "Feature", "geometry": square(109.7, 18.6),
     "properties": {"level": "township", "code": "469029100", "name": "保城镇", "parent": "469029"}},
    {"type": "Feature", "geometry": square(109.71, 18.61),
     "properties": {"level": "village", "code": "469029100201", "name": "什聘村", "parent": "469029100",
                    "generated": True}},
]}


def test_places_and_the_county_outline_come_from_the_county_map():
    from services.county_map import county_outline, places_of

    places = places_of(COUNTY_MAP)
    assert [(p.code, p.name, p.level, p.generated) for p in places] == [
        ("469029100", "保城镇", "township", False), ("469029100201", "什聘村", "village", True)]
    assert places[1].boundary == square(109.71, 18.61)
    assert county_outline(COUNTY_MAP) == square(109.6, 18.6)
    assert county_outline(square(1, 2)) == square(1, 2)
    assert places_of(square(1, 2)) == [] and places_of(None) == [] and county_outline(None) is None


async def test_province_viewers_get_no_places(api: Api):
    viewer = await api.client("province_viewer")
    assert (await viewer.get("/api/v1/places")).status_code == 403


async def test_cadre_list_shows_enrolled_cadres_of_my_county_only(api: Api):
    cadre_id = api.cadre(COUNTY_A)
    other = api.cadre(COUNTY_B)
    admin = await api.client("county_admin")
    for _ in range(100):  # the list reads the projected cadres: wait for the projector
        listed = {row["id"]: row for row in (await admin.get("/api/v1/cadres")).json()["cadres"]}
        if str(cadre_id) in listed:
            break
        await asyncio.sleep(0.05)
    assert listed[str(cadre_id)]["rank"] == "staff" and listed[str(cadre_id)]["unit"] == "县委组织部"
    assert str(other) not in listed


async def new_account(api: Api) -> tuple[str, str, httpx.AsyncClient]:
    """A fresh department account of county A, its id, and a client logged in as it."""
    admin = await api.client("county_admin")
    name = f"d_{uuid.uuid4().hex[:8]}"
    made = await admin.post("/api/v1/users", json={
        "username": name, "display_name": "县水务局", "password": PASSWORD, "roles": ["department"],
        "department": "县水务局"})
    assert made.status_code == 201, made.text
    login = await api.anonymous().post("/api/v1/session", json={"username": name, "password": PASSWORD})
    return name, made.json()["id"], api.anonymous(token=login.json()["token"])


async def test_admin_creates_a_department_account_that_can_log_in(api: Api):
    admin = await api.client("county_admin")
    name, user_id, holder = await new_account(api)
    me = (await holder.get("/api/v1/me")).json()
    assert (me["username"], me["county"], me["roles"], me["department"]) == (name, COUNTY_A, ["department"], "县水务局")
    listed = (await admin.get("/api/v1/users")).json()["users"]
    assert {u["username"]: u["id"] for u in listed}[name] == user_id
    assert all(u["username"] != api.account("county_admin", COUNTY_B).username for u in listed)


async def test_an_existing_username_is_never_overwritten(api: Api):
    admin = await api.client("county_admin")
    taken = api.account("county_admin", COUNTY_B).username
    response = await admin.post("/api/v1/users", json={
        "username": taken, "display_name": "x", "password": "another-password", "roles": ["county_admin"]})
    assert response.status_code == 409
    login = await api.anonymous().post("/api/v1/session", json={"username": taken, "password": PASSWORD})
    assert login.status_code == 201


@pytest.mark.parametrize("body, field", [
    ({"roles": ["province_viewer"]}, "roles"),
    ({"roles": ["department"]}, None),  # no department named
    ({"roles": ["cadre"], "cadre_id": str(uuid.uuid4())}, "cadre_id"),
    ({"roles": ["county_admin"], "password": "short"}, "password"),
])
async def test_accounts_that_make_no_sense_are_refused_with_a_reason(api: Api, body, field):
    admin = await api.client("county_admin")
    response = await admin.post("/api/v1/users", json={
        "username": f"u_{uuid.uuid4().hex[:8]}", "display_name": "x", "password": PASSWORD, **body})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["detail_zh"]
    if field is not None:
        assert any(field in error["field"] for error in problem.get("errors", [])) or field in problem["detail"]


async def test_a_cadre_account_must_name_a_cadre_of_my_county(api: Api):
    admin = await api.client("county_admin")
    foreign = api.cadre(COUNTY_B)
    response = await admin.post("/api/v1/users", json={
        "username": f"c_{uuid.uuid4().hex[:8]}", "display_name": "x", "password": PASSWORD, "roles": ["cadre"],
        "cadre_id": str(foreign)})
    assert response.status_code == 422


@pytest.mark.parametrize("role", ["cadre", "department", "province_viewer"])
async def test_only_county_admins_manage_accounts(api: Api, role):
    client = await api.client(role)
    assert (await client.get("/api/v1/users")).status_code == 403
    assert (await client.post("/api/v1/users", json={
        "username": "nobody_x", "display_name": "x", "password": PASSWORD, "roles": ["county_admin"],
    })).status_code == 403
    target = api.account("department").user.id
    assert (await client.patch(f"/api/v1/users/{target}", json={"disabled": True})).status_code == 403
    assert (await client.get("/api/v1/audit")).status_code == 403


async def test_a_disabled_account_is_logged_out_and_cannot_log_in_until_enabled(api: Api):
    admin = await api.client("county_admin")
    name, user_id, holder = await new_account(api)
    assert (await holder.get("/api/v1/me")).status_code == 200
    disabled = await admin.patch(f"/api/v1/users/{user_id}", json={"disabled": True})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert (await holder.get("/api/v1/me")).status_code == 401
    login = await api.anonymous().post("/api/v1/session", json={"username": name, "password": PASSWORD})
    assert login.status_code == 401
    listed = {u["username"]: u for u in (await admin.get("/api/v1/users")).json()["users"]}
    assert listed[name]["disabled"] is True
    assert (await admin.patch(f"/api/v1/users/{user_id}", json={"disabled": False})).json()["disabled"] is False
    login = await api.anonymous().post("/api/v1/session", json={"username": name, "password": PASSWORD})
    assert login.status_code == 201


async def test_a_new_password_replaces_the_old_one_and_ends_open_sessions(api: Api):
    admin = await api.client("county_admin")
    name, user_id, holder = await new_account(api)
    changed = await admin.patch(f"/api/v1/users/{user_id}", json={"password": "a-brand-new-secret"})
    assert changed.status_code == 200 and changed.json()["disabled"] is False
    assert (await holder.get("/api/v1/me")).status_code == 401
    old = await api.anonymous().post("/api/v1/session", json={"username": name, "password": PASSWORD})
    assert old.status_code == 401
    new = await api.anonymous().post("/api/v1/session", json={"username": name, "password": "a-brand-new-secret"})
    assert new.status_code == 201


@pytest.mark.parametrize("body, status, says", [
    ({}, 422, "Nothing to change"),
    ({"password": "short"}, 422, "password"),
    ({"disabled": "maybe"}, 422, "disabled"),
])
async def test_account_changes_that_make_no_sense_are_refused(api: Api, body, status, says):
    admin = await api.client("county_admin")
    _, user_id, holder = await new_account(api)
    response = await admin.patch(f"/api/v1/users/{user_id}", json=body)
    assert response.status_code == status and says in response.text
    assert (await holder.get("/api/v1/me")).status_code == 200  # nothing happened to it


async def test_an_admin_setting_their_own_password_stays_logged_in_here_only(api: Api):
    """A fresh admin (the shared test admin's password must not change): two devices logged in."""
    admin = await api.client("county_admin")
    name = f"a_{uuid.uuid4().hex[:8]}"
    made = await admin.post("/api/v1/users", json={"username": name, "display_name": "副部长", "password": PASSWORD,
                                                   "roles": ["county_admin"]})
    assert made.status_code == 201, made.text

    async def device() -> httpx.AsyncClient:
        login = await api.anonymous().post("/api/v1/session", json={"username": name, "password": PASSWORD})
        return api.anonymous(token=login.json()["token"])

    desk, phone = await device(), await device()
    changed = await desk.patch(f"/api/v1/users/{made.json()['id']}", json={"password": "my-own-new-secret"})
    assert changed.status_code == 200, changed.text
    assert (await desk.get("/api/v1/me")).status_code == 200
    assert (await phone.get("/api/v1/me")).status_code == 401


async def test_an_admin_cannot_disable_their_own_account(api: Api):
    admin = await api.client("county_admin")
    me = api.account("county_admin").user.id
    response = await admin.patch(f"/api/v1/users/{me}", json={"disabled": True})
    assert response.status_code == 422 and "自己" in response.json()["detail_zh"]
    assert (await admin.get("/api/v1/me")).status_code == 200


async def test_the_audit_log_shows_my_countys_account_changes_newest_first_in_pages(api: Api):
    admin = await api.client("county_admin")
    name, user_id, _ = await new_account(api)
    await admin.patch(f"/api/v1/users/{user_id}", json={"disabled": True})
    await admin.patch(f"/api/v1/users/{user_id}", json={"password": "another-secret-1"})
    first = (await admin.get("/api/v1/audit", params={"limit": 3})).json()
    mine = api.account("county_admin").username
    assert [(e["action"], e["username"], e["detail"].get("by")) for e in first["items"]] == [
        ("user.password_set", name, mine), ("user.disabled", name, mine), ("login", name, None)]
    assert first["next"] == first["items"][-1]["id"]
    older = (await admin.get("/api/v1/audit", params={"limit": 3, "before": first["next"]})).json()
    assert older["items"][0] == {**older["items"][0], "action": "user.created", "username": name}
    assert all(e["id"] < first["next"] for e in older["items"])
    # county B's admin sees none of it
    other = await api.client("county_admin", COUNTY_B)
    theirs = (await other.get("/api/v1/audit", params={"limit": 500})).json()["items"]
    assert name not in {e["username"] for e in theirs}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"before": "x"}, {"before": 0},
                                    {"before": 2**64}])
async def test_bad_audit_parameters_are_422(api: Api, params):
    response = await (await api.client("county_admin")).get("/api/v1/audit", params=params)
    assert response.status_code == 422, response.text


async def test_province_map_lists_the_province_counties_with_centroids(api: Api):
    viewer = await api.client("province_viewer")
    counties = (await viewer.get("/api/v1/province/map")).json()["counties"]
    assert [c["adcode"] for c in counties] == [COUNTY_A, COUNTY_B]  # province 910000; 920001 is elsewhere
    assert counties[0]["lat"] == pytest.approx(18.64)
    admin = await api.client("county_admin")
    assert (await admin.get("/api/v1/province/map")).status_code == 403


@pytest.mark.parametrize("path", ["endpoint", "sync"])
async def test_a_departed_cadre_loses_access_at_once(api: Api, path):
    """Their accounts are disabled and logged out, however the departure was sent, and the log says why."""
    admin = await api.client("county_admin")
    cadre_id = str(api.cadre(COUNTY_A))
    name = f"c_{uuid.uuid4().hex[:8]}"
    made = await admin.post("/api/v1/users", json={"username": name, "display_name": "李某", "password": PASSWORD,
                                                   "roles": ["cadre"], "cadre_id": cadre_id})
    assert made.status_code == 201, made.text
    login = await api.anonymous().post("/api/v1/session", json={"username": name, "password": PASSWORD})
    phone = api.anonymous(token=login.json()["token"])
    assert (await phone.get("/api/v1/me/due")).status_code == 200
    departure = {"reason": "调往外县", "expected_version": 1}
    if path == "endpoint":
        answer = await admin.post(f"/api/v1/cadres/{cadre_id}/depart", json=departure)
        assert answer.status_code == 200, answer.text
    else:
        answer = await admin.post("/api/v1/sync", json={"commands": [
            {"id": str(uuid.uuid4()), "type": "depart_cadre", "payload": {"cadre_id": cadre_id, **departure}}]})
        assert answer.json()["results"][0]["status"] == "applied", answer.text
    assert (await phone.get("/api/v1/me/due")).status_code == 401
    listed = {u["username"]: u for u in (await admin.get("/api/v1/users")).json()["users"]}
    assert listed[name]["disabled"] is True
    [entry] = [e for e in (await admin.get("/api/v1/audit")).json()["items"] if e["username"] == name
               and e["action"] == "user.disabled"]
    assert entry["detail"]["why"] == "cadre departed"
