"""The monthly review page (一月一议) in Chromium: the agenda's item gets a decision (routed to the
department with the deadline), the minutes are saved, and on paper only the pack shows (no bars,
forms or buttons)."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .admin_seed import ADMIN, AdminSeeded
from .test_admin_views import go, log_in

pytestmark = pytest.mark.e2e


def test_a_decision_and_the_minutes_fill_the_printable_pack(desktop: Page, admin_seeded: AdminSeeded, artifacts):
    page = desktop
    log_in(page, ADMIN, "admin-map")
    go(page, "/admin/review")
    expect(page.locator("body[data-usable=admin-review]")).to_be_attached()
    review = admin_seeded.issues["review"]
    item = page.locator(f"[data-testid=review-item][data-issue='{review}']")
    expect(item).to_be_visible()
    expect(page.get_by_test_id("review-figures")).to_be_visible()

    item.get_by_test_id("decision-department").fill("县教育局")  # this county lists no departments: typed
    item.get_by_test_id("decision-text").fill("教育局牵头两周内解决")
    item.get_by_test_id("decision-submit").click()
    expect(item.get_by_test_id("review-decision")).to_contain_text("县教育局")
    expect(item.get_by_test_id("review-decision")).to_contain_text("教育局牵头两周内解决")

    page.get_by_test_id("minutes-text").fill("会议研究了饮水问题。")
    page.get_by_test_id("minutes-save").click()
    expect(page.get_by_test_id("review-minutes-text")).to_have_text("会议研究了饮水问题。")
    page.screenshot(path=str(artifacts / "admin-review.png"), full_page=True)

    page.emulate_media(media="print")
    expect(page.locator(".admin-bar")).to_be_hidden()
    expect(page.get_by_test_id("review-print")).to_be_hidden()
    expect(page.get_by_test_id("minutes-save")).to_be_hidden()
    expect(item.get_by_test_id("review-decision")).to_be_visible()
    page.pdf(path=str(artifacts / "admin-review.pdf"))
