"""The composite assessment (三维考核) in Debian's Chromium against the real server: an admin sets the
weights on the rules page (the page shows their sum), enters a cadre's democratic evaluation and opinion
poll scores on 考核, and the cadres' leaderboard ranked by score shows that cadre's score and its parts."""
from __future__ import annotations

from datetime import date

import httpx
import pytest
from playwright.sync_api import Page, expect

from .admin_seed import ADMIN, AdminSeeded
from .conftest import Server
from .seed import Seeded
from .test_admin_views import api_get, go, log_in, token, wait_until

pytestmark = pytest.mark.e2e


def test_an_admin_weighs_enters_scores_and_sees_the_ranked_board(
        desktop: Page, server: Server, seeded: Seeded, admin_seeded: AdminSeeded, artifacts):
    page = desktop
    bearer = token(server, ADMIN)
    before = api_get(server, bearer, "/rules").json()
    year = str(date.today().year)
    log_in(page, ADMIN, "admin-map")
    try:
        go(page, "/admin/rules")
        expect(page.locator("body[data-usable=admin-rules]")).to_be_attached()
        page.get_by_test_id("rule-weight-evaluation").fill("60")
        page.get_by_test_id("rule-weight-poll").fill("40")
        expect(page.get_by_test_id("rule-weights-sum")).to_contain_text("100")
        page.get_by_test_id("rules-save").click()
        expect(page.get_by_test_id("rules-state")).to_be_attached()
        wait_until(lambda: api_get(server, bearer, "/rules").json()["assessment_weights"] == {
            "evaluation": 60, "poll": 40}, timeout=10)

        go(page, "/admin/assessment")
        expect(page.locator("body[data-usable=admin-assessment]")).to_be_attached()
        expect(page.get_by_test_id("assessment-weights")).to_contain_text("民主测评 60%")
        row = page.locator(f"tr[data-cadre='{seeded.cadre_id}']")
        row.get_by_test_id("score-evaluation").fill("90")
        row.get_by_test_id("score-poll").fill("80")
        row.get_by_test_id("score-save").click()
        expect(page.get_by_test_id("assessment-note")).to_be_visible()
        wait_until(lambda: api_get(server, bearer, "/assessment/entered", period=year,
                                   cadre_id=seeded.cadre_id).json()["items"] == [
            {"cadre_id": seeded.cadre_id, "evaluation": 90, "poll": 80}], timeout=20)
        page.screenshot(path=str(artifacts / "admin-assessment.png"), full_page=True)

        go(page, "/admin/leaderboards")
        expect(page.locator("body[data-usable=admin-leaderboards]")).to_be_attached()
        page.get_by_label("排序依据").select_option("score")
        board = page.get_by_test_id("lb-cadres")
        expect(board).to_contain_text("民意调查")
        cadres = api_get(server, bearer, "/cadres").json()["cadres"]
        name = next(c["name"] for c in cadres if c["id"] == seeded.cadre_id)
        first = board.locator("tbody tr").first  # (60×90 + 40×80) / 100: the only cadre with scores ranks first
        expect(first).to_contain_text(name)
        expect(first.get_by_test_id("score")).to_have_text("86.0")
        expect(first.locator("td[data-part=poll]")).to_have_text("80.0")
        page.screenshot(path=str(artifacts / "admin-leaderboard-score.png"), full_page=True)
    finally:
        restored = httpx.put(f"{server.url}/api/v1/rules", json=before, headers={"Authorization": f"Bearer {bearer}"})
        assert restored.status_code == 200
        wait_until(lambda: not api_get(server, bearer, "/rules/rejudging").json()["running"], timeout=60, every=0.2)
