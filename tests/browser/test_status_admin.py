"""The status page administration in a real browser (Debian's Chromium through
Playwright): a manager adds a component, opens a status page incident on it,
posts an update, sees the maintenance form turn a Paris time into UTC, and
finds all of it on the public status page. No page may log a script or CSP
error, every visible control has a label, and a 375px phone scrolls only
down. Screenshots: test-artifacts/status-admin.png and
test-artifacts/status-admin-phone.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, Site
from tests.browser.test_incident_flow import assert_labelled, log_in, open_page
from tests.builders import make_user

pytestmark = pytest.mark.e2e

PHONE_375 = {"width": 375, "height": 812}
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def shoot(page: Page, artifacts: Path, name: str) -> None:
    # These two are asked for at the top of test-artifacts, not in browser/.
    page.screenshot(path=str(artifacts.parent / f"{name}.png"), full_page=True)


def test_a_manager_publishes_an_incident_on_a_new_component(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    make_user(site.ctx, "maud@example.com", name="Maud Manager", role="manager")

    with open_page(browser, site, DESKTOP) as (page, errors):
        log_in(page, "maud@example.com")
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Status page"
        ).click()
        expect(
            page.get_by_role("heading", name="Status page", exact=True)
        ).to_be_visible()

        adding = page.get_by_role("region", name="Add a component")
        adding.get_by_label("Name").fill("Checkout API")
        adding.get_by_label("Description").fill("Paying for things")
        adding.get_by_role("button", name="Add component").click()
        components = page.get_by_role("region", name="Components")
        row = components.get_by_role("listitem").filter(has_text="Checkout API")
        expect(row.locator(".sa-name")).to_have_text("Checkout API")
        expect(row.locator(".sa-state")).to_have_text("Operational")
        assert_labelled(page)

        tabs = page.get_by_role("navigation", name="Status page administration")
        tabs.get_by_role("link", name="Incidents").click()
        opening = page.get_by_role("region", name="Open a status page incident")
        opening.get_by_label("Title").fill("Payments are failing")
        opening.get_by_label("Checkout API").check()
        opening.get_by_label("Impact on those components").select_option("major_outage")
        opening.get_by_label("First update").fill("We are looking into it.")
        opening.get_by_role("button", name="Open incident").click()
        expect(page.get_by_role("heading", name="Payments are failing")).to_be_visible()

        posting = page.get_by_role("region", name="Post an update")
        posting.get_by_label("Stage").select_option("identified")
        posting.get_by_label("Message").fill("A bad deploy; rolling back.")
        posting.get_by_role("button", name="Post update").click()
        updates = page.get_by_role("region", name="Updates")
        expect(updates.get_by_text("A bad deploy; rolling back.")).to_be_visible()
        assert_labelled(page)
        shoot(page, artifacts, "status-admin")

        tabs.get_by_role("link", name="Maintenance").click()
        form = page.get_by_role("region", name="Schedule maintenance")
        form.get_by_label("Time zone of the start and end").select_option(
            "Europe/Paris"
        )
        form.get_by_label("Starts").fill("2030-01-15T10:00")
        form.get_by_label("Ends").fill("2030-01-15T12:30")
        expect(form.get_by_text("2030-01-15 09:00 UTC")).to_be_visible()
        expect(form.get_by_text("(2 h 30 min)")).to_be_visible()
        assert_labelled(page)
        shoot(page, artifacts, "status-admin-maintenance")

        page.goto("/status")
        expect(page.get_by_text("Payments are failing").first).to_be_visible()
        expect(page.get_by_text("A bad deploy; rolling back.").first).to_be_visible()
        expect(page.get_by_text("Checkout API").first).to_be_visible()
        expect(page.get_by_text("Major outage").first).to_be_visible()
        shoot(page, artifacts, "status-admin-public")
        assert errors == []

    with open_page(browser, site, PHONE_375, scheme="dark") as (page, errors):
        log_in(page, "maud@example.com")
        for path in (
            "/status-admin",
            "/status-admin/incidents",
            "/status-admin/maintenance",
            "/status-admin/subscribers",
        ):
            page.goto(path)
            assert page.evaluate(FITS), f"{path} scrolls sideways at 375px"
        page.goto("/status-admin")
        page.get_by_text("Edit or delete").first.click()
        assert page.evaluate(FITS)
        shoot(page, artifacts, "status-admin-phone")
        page.goto("/status-admin/incidents")
        shoot(page, artifacts, "status-admin-incidents-phone")
        assert errors == []
