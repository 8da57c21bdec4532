"""People settings in a real browser (Debian's Chromium through Playwright): an
admin adds a user, creates a team, puts the user in it, and finds all three
changes in the audit log. The pages are labelled, log no script or CSP error
and fit a 375px phone. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PASSWORD, Site
from tests.browser.test_incident_flow import assert_labelled, log_in, open_page, shoot
from tests.builders import make_user

pytestmark = pytest.mark.e2e

PHONE_375 = {"width": 375, "height": 812}


@pytest.fixture(scope="module")
def admin_email(site: Site) -> str:
    make_user(site.ctx, "ada@example.com", name="Ada Admin", role="admin", teams=())
    return "ada@example.com"


def _fits(page: Page, width: int) -> None:
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways: {scroll}px"


def test_an_admin_adds_a_user_and_a_team_and_finds_both_in_the_audit_log(
    site: Site, browser: Browser, artifacts: Path, admin_email: str
) -> None:
    with open_page(browser, site, DESKTOP) as (page, errors):
        log_in(page, admin_email)
        page.get_by_role("link", name="Settings").click()
        page.get_by_role("link", name="People").click()
        expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()

        page.get_by_label("Name").fill("Nora Newcomer")
        page.get_by_label("Email").fill("nora@example.com")
        page.get_by_label("Role").select_option("responder")
        page.get_by_label("With a password I set now").check()
        page.get_by_label("First password").fill(PASSWORD)
        page.get_by_role("button", name="Add user").click()
        expect(page.locator(".flash-ok")).to_contain_text("The user is created.")
        users = page.get_by_role("list", name="Users")
        expect(users).to_contain_text("nora@example.com")
        assert_labelled(page)
        shoot(page, artifacts, "settings-users")

        users.get_by_role("link", name="Nora Newcomer").click()
        page.get_by_label("New role").select_option("manager")
        page.get_by_role("button", name="Change role").click()
        expect(page.locator(".flash-ok")).to_contain_text("The role is changed")
        expect(page.locator(".facts")).to_contain_text("manager")
        assert_labelled(page)
        shoot(page, artifacts, "settings-user")

        page.goto("/settings/teams")
        page.get_by_label("Name").fill("Platform")
        page.get_by_role("button", name="Create team").click()
        expect(page.locator(".flash-ok")).to_contain_text("The team is created.")
        platform = page.get_by_role("region", name="Platform")
        platform.get_by_label("Add").select_option(
            label="Nora Newcomer (nora@example.com)"
        )
        platform.get_by_role("button", name="Add to Platform").click()
        expect(page.locator(".flash-ok")).to_contain_text("The member is added.")
        expect(
            platform.get_by_role("button", name="Remove Nora Newcomer from Platform")
        ).to_be_visible()
        assert_labelled(page)
        shoot(page, artifacts, "settings-teams")

        page.goto("/settings")
        page.get_by_role("link", name="Audit log").click()
        records = page.get_by_role("list", name="Audit records, newest first")
        expect(records.locator(".audit-entry").first).to_contain_text("team.member_add")
        expect(records).to_contain_text("nora@example.com")
        expect(records).to_contain_text("Platform")

        page.get_by_text("Filter by actor, action, kind and day").click()
        page.get_by_label("Actor").fill(admin_email)
        page.get_by_role("button", name="Filter").click()
        expect(records.locator(".audit-action")).to_have_text(
            [
                "team.member_add",
                "team.create",
                "user.role_change",
                "user.create",
                "session.login",
            ]
        )
        page.get_by_label("Action").select_option("team.create")
        page.get_by_role("button", name="Filter").click()
        expect(records.locator(".audit-entry")).to_have_count(1)
        expect(records).to_contain_text("Platform")
        assert_labelled(page)

        page.goto("/settings/audit")
        shoot(page, artifacts, "audit-log")
        assert errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_people_pages_fit_a_phone(
    site: Site, browser: Browser, artifacts: Path, admin_email: str, scheme: str
) -> None:
    with open_page(browser, site, PHONE_375, scheme) as (page, errors):
        log_in(page, admin_email)
        for path, name in (
            ("/settings/users", "settings-users"),
            ("/settings/teams", "settings-teams"),
            ("/settings/audit", "audit-log"),
        ):
            page.goto(path)
            _fits(page, PHONE_375["width"])
            shoot(page, artifacts, f"{name}-phone-{scheme}")
        assert errors == []
