"""The contact targets page (联系对象) in Debian's Chromium against the real server (conftest.py): an admin
registers a weak Party branch, filters the register, imports a 联系对象名录 file, archives a target, pairs a
cadre with a register target, revises the branch, and sees the 五个一 table once the county turns the rule on."""
from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from .admin_seed import ADMIN, AdminSeeded
from .conftest import Server
from .seed import TOWNSHIP, VILLAGES
from .test_admin_views import api_get, go, log_in, token, wait_until

pytestmark = pytest.mark.e2e

VILLAGE = next(iter(VILLAGES))


def test_an_admin_keeps_the_register_of_contact_targets(desktop: Page, server: Server, admin_seeded: AdminSeeded,
                                                         tmp_path, artifacts):
    page = desktop
    bearer = token(server, ADMIN)
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/targets")
    expect(page.locator("body[data-usable=admin-targets]")).to_be_attached()
    expect(page.get_by_test_id("five-ones-off")).to_be_visible()  # the rule is off until the county turns it on

    page.get_by_test_id("target-new").click()
    form = page.get_by_test_id("target-form")
    form.get_by_label("对象类别").select_option("party_branch")
    form.get_by_label("名称").fill("测试一村党支部")
    form.get_by_label("乡镇").fill(TOWNSHIP)
    form.get_by_label("村（社区）").fill(VILLAGE)
    form.get_by_label("纬度").fill("18.64")
    form.get_by_label("经度").fill("109.70")
    form.get_by_label("软弱涣散").check()
    page.get_by_test_id("target-register").click()
    expect(page.get_by_test_id("targets-note")).to_contain_text("测试一村党支部")
    branch = page.locator("tr[data-target=测试一村党支部]")
    expect(branch).to_contain_text("软弱涣散")
    registered = api_get(server, bearer, "/targets", kind="party_branch", weak="true").json()["items"]
    assert [(t["name"], t["village"], t["weak"]) for t in registered] == [("测试一村党支部", VILLAGE, True)]

    upload = tmp_path / "联系对象名录.csv"
    upload.write_text(f"类别,名称,乡镇代码,村(社区)代码\n企业,测试农业公司,{TOWNSHIP},{VILLAGE}\n项目,测试水渠项目,{TOWNSHIP},\n",
                      encoding="utf-8")
    page.get_by_test_id("import-file").set_input_files(str(upload))
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("import-result")).to_contain_text("新登记 2 个")
    expect(page.locator("tr[data-target=测试农业公司]")).to_be_visible()

    page.get_by_test_id("targets-weak").check()
    expect(page.locator("tr[data-target=测试农业公司]")).to_have_count(0)
    expect(branch).to_be_visible()
    page.get_by_test_id("targets-weak").uncheck()
    page.get_by_test_id("targets-kind").select_option("project")
    expect(page.locator("tr[data-target=测试水渠项目]")).to_be_visible()
    expect(branch).to_have_count(0)
    page.screenshot(path=str(artifacts / "admin-targets.png"), full_page=True)

    project = page.locator("tr[data-target=测试水渠项目]")
    project.get_by_role("button", name="撤销").click()
    project.locator("input[name=reason]").fill("项目已完工")
    project.get_by_role("button", name="撤销").click()
    expect(page.get_by_test_id("targets-note")).to_contain_text("已撤销")
    expect(page.locator("tr[data-target=测试水渠项目]")).to_have_count(0)
    assert not api_get(server, bearer, "/targets", kind="project").json()["items"]

    # Revised: no longer weak, the weak filter leaves it out.
    page.get_by_test_id("targets-kind").select_option("")
    branch.get_by_role("button", name="修改").click()
    revise = page.get_by_test_id("target-revise-form")
    expect(revise.get_by_label("名称")).to_have_value("测试一村党支部")
    revise.get_by_label("软弱涣散").uncheck()
    revise.get_by_role("button", name="修改").click()
    expect(page.get_by_test_id("targets-note")).to_contain_text("已修改")
    page.get_by_test_id("targets-weak").check()
    expect(branch).to_have_count(0)
    page.get_by_test_id("targets-weak").uncheck()

    # The pairing form names a register target, not only a household.
    go(page, "/admin/compliance")
    page.get_by_test_id("tab-pairings").click()
    page.get_by_test_id("new-pairing").click()
    pairing = page.get_by_test_id("pairing-form")
    cadre_id = next(c["id"] for c in api_get(server, bearer, "/cadres").json()["cadres"] if c["name"] == "赵东片")
    branch_id = registered[0]["target_id"]
    pairing.locator("select[name=cadre_id]").select_option(cadre_id)
    page.get_by_test_id("pairing-kind").select_option("party_branch")
    expect(page.get_by_test_id("pairing-target")).to_contain_text("测试一村党支部")
    page.get_by_test_id("pairing-target").select_option(branch_id)
    pairing.get_by_role("button", name="结对", exact=True).click()
    expect(page.get_by_test_id("pairing-note")).to_be_visible()
    wait_until(lambda: any(p["target_id"] == branch_id and p["target_kind"] == "party_branch"
                           for p in api_get(server, bearer, "/pairings", limit=500).json()["items"]), timeout=10)


def test_the_five_ones_table_shows_once_the_county_turns_the_rule_on(desktop: Page, server: Server,
                                                                      admin_seeded: AdminSeeded):
    page = desktop
    bearer = token(server, ADMIN)
    headers = {"Authorization": f"Bearer {bearer}"}
    before = api_get(server, bearer, "/rules").json()
    try:
        assert httpx.put(f"{server.url}/api/v1/rules", json={**before, "five_ones_period": "yearly"},
                         headers=headers).status_code == 200
        wait_until(lambda: not api_get(server, bearer, "/rules/rejudging").json()["running"], timeout=60, every=0.2)
        log_in(page, ADMIN, "admin-map")
        go(page, "/admin/targets")
        table = page.get_by_test_id("five-ones")
        expect(table).to_be_visible()
        east = table.locator("tr[data-cadre=赵东片]")
        # 赵东片 checked in at households of one village this year: the village is covered, nothing else.
        expect(east.get_by_test_id("five-ones-covered")).to_have_text("1/5")
    finally:
        assert httpx.put(f"{server.url}/api/v1/rules", json=before, headers=headers).status_code == 200
        wait_until(lambda: not api_get(server, bearer, "/rules/rejudging").json()["running"], timeout=60, every=0.2)
