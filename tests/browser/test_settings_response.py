"""The response settings in Chromium: an admin changes a cell of the priority
matrix, adds an incident type, and writes a stakeholder update template while
its preview follows the typing; on a 375px phone the pages do not scroll
sideways. No page may log a script or CSP error, and every control has a
label. Screenshots go to test-artifacts/browser/settings-*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, Site
from tests.browser.test_incident_flow import assert_labelled, log_in, open_page, shoot
from tests.builders import make_user
from tocsin.domain.access import SYSTEM
from tocsin.services import triage, updates

pytestmark = pytest.mark.e2e

PHONE_375 = {"width": 375, "height": 812}
ADMIN = "adam@example.com"
SIDEWAYS = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture(scope="module")
def admin(site: Site) -> str:
    make_user(site.ctx, ADMIN, name="Adam Admin", role="admin", teams=())
    return ADMIN


def priority_of(site: Site, impact: str, urgency: str) -> str:
    for cell in triage.scales(site.ctx).matrix:
        if (cell.impact, cell.urgency) == (impact, urgency):
            return cell.priority
    raise AssertionError("no such cell")


def test_an_admin_edits_the_matrix_adds_a_type_and_writes_a_template(
    site: Site, browser: Browser, artifacts: Path, admin: str
) -> None:
    with open_page(browser, site, DESKTOP) as (page, errors):
        log_in(page, admin)
        page.goto("/settings")
        page.get_by_role("link", name="Severity and priority").click()
        expect(
            page.get_by_role("heading", name="Severity and priority")
        ).to_be_visible()
        assert_labelled(page)

        cell = page.get_by_label("Priority for High impact and Low urgency")
        expect(cell).to_have_value("p3")
        cell.select_option("p2")
        page.get_by_role("button", name="Save the matrix").click()
        expect(page).to_have_url(f"{site.base_url}/settings/severity#matrix")
        expect(cell).to_have_value("p2")
        assert priority_of(site, "high", "low") == "p2"
        shoot(page, artifacts, "settings-severity")

        page.goto("/settings/incident-types")
        page.get_by_label("Key").fill("security")
        page.get_by_label("Name").fill("Security breach")
        page.get_by_label("Default severity").select_option("sev1")
        page.get_by_role("button", name="Add the type").click()
        expect(page.locator(".rs-items")).to_contain_text("Security breach")
        assert_labelled(page)
        assert [t.key for t in triage.list_types(site.ctx)] == ["security"]

        write_a_template(page)
        assert_labelled(page)
        shoot(page, artifacts, "settings-templates")
        page.get_by_role("button", name="Save the template").click()
        expect(page).to_have_url(f"{site.base_url}/settings/templates")
        expect(page.locator("main")).to_contain_text("Security customers")
        assert errors == [], errors

    [saved] = updates.list_templates(site.ctx, SYSTEM)
    assert (saved.audience, saved.incident_type) == ("customers", "Security breach")


def write_a_template(page: Page) -> None:
    """Open a new template; the preview follows each change, and says why a
    broken template would be refused."""
    page.goto("/settings/templates")
    page.get_by_role("link", name="Write a new update template").click()
    preview = page.locator("#template-preview")
    expect(preview).to_contain_text("#42 SEV2: Checkout is slow for some customers")

    page.get_by_label("Name").fill("Security customers")
    page.get_by_label("Audience").select_option("customers")
    page.get_by_label("Incident type").select_option("Security breach")
    body = page.get_by_label("Body")
    body.fill("We are looking into {{ incident.type")
    expect(preview.get_by_role("alert")).to_contain_text("the body")

    body.fill(
        "<b>{{ incident.type }}</b> affects {{ incident.service }}.\n"
        "Next update: {{ eta or 'within the hour' }}. {{ region }}"
    )
    expect(preview).to_contain_text(
        "<b>Security breach</b> affects checkout.\nNext update: within the hour."
    )
    expect(preview).to_contain_text("The sender fills in: region")
    expect(preview.get_by_role("alert")).to_have_count(0)


def test_the_settings_pages_fit_a_375px_phone(
    site: Site, browser: Browser, artifacts: Path, admin: str
) -> None:
    for scheme in ("light", "dark"):
        with open_page(browser, site, PHONE_375, scheme) as (page, errors):
            log_in(page, admin)
            for path, name in (
                ("/settings/severity", "severity"),
                ("/settings/incident-types", "types"),
                ("/settings/roles", "roles"),
                ("/settings/templates/new", "templates"),
                ("/settings/channels", "channels"),
            ):
                page.goto(path)
                expect(page.locator("h1")).to_be_visible()
                if name == "templates":
                    preview = page.locator("#template-preview")
                    expect(preview).to_contain_text("#42")
                assert page.evaluate(SIDEWAYS) <= 0, path
                assert_labelled(page)
                shoot(page, artifacts, f"settings-{name}-phone-{scheme}")
            assert errors == [], errors
