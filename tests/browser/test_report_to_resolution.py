"""The whole response in a real browser, as issue 5 describes it: a member of
staff reports a problem, a responder triages the report into an incident, the
service's on-call person is paged by real mail, acknowledges, takes the
incident commander role, sends a stakeholder update from a template, and
resolves. Screenshots of each step go to test-artifacts/browser/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, PHONE, Site
from tests.browser.test_incident_flow import assert_labelled, log_in, open_page, shoot
from tocsin.domain.access import SYSTEM
from tocsin.services import incidents, updates
from tocsin.services.updates import TemplateInput

pytestmark = pytest.mark.e2e


def test_a_staff_report_becomes_an_incident_that_is_worked_to_resolution(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    updates.create_template(
        site.ctx,
        SYSTEM,
        TemplateInput(
            name="flow-internal",
            audience="internal",
            subject="#{{ incident.number }} {{ incident.title }}",
            body="{{ incident.title }}: we are on it.",
        ),
    )
    with open_page(browser, site, DESKTOP) as (page, errors):
        # Vera, who only views, reports what she sees.
        log_in(page, "vera@example.com")
        page.goto("/reports/new")
        page.get_by_label("What is wrong?").fill("Checkout spins forever")
        page.get_by_label("Service").select_option(label="checkout")
        page.get_by_label("Details").fill("Since 10:05, every basket <times out>.")
        assert_labelled(page)
        page.get_by_role("button", name="Send for triage").click()
        expect(page.get_by_text("Checkout spins forever").first).to_be_visible()
        shoot(page, artifacts, "flow-1-reported")
        errors_as_vera = list(errors)

    with open_page(browser, site, DESKTOP) as (page, errors):
        # Ann triages: the report waits in the list; she declares it.
        log_in(page, "ann@example.com")
        page.goto("/reports")
        page.get_by_role("link", name=re.compile("Checkout spins forever")).click()
        expect(page.get_by_text("every basket <times out>.")).to_be_visible()
        page.get_by_label("Why is this an incident?").fill("Customers cannot pay")
        assert_labelled(page)
        shoot(page, artifacts, "flow-2-triage")
        page.get_by_role("button", name="Declare").click()
        expect(page).to_have_url(re.compile(r"/incidents/\d+$"))
        number = int(page.url.rsplit("/", 1)[1])

        # The checkout policy pages Ann by mail, with links that work.
        page_mail = site.mailbox.wait_for_page("ann@example.com", number)
        assert "Checkout spins forever" in page_mail.subject

        summary = page.locator("#incident-summary")
        timeline = page.locator("#timeline-entries")
        expect(timeline).to_contain_text("Customers cannot pay")
        page.get_by_role("button", name="Acknowledge").click()
        expect(summary.locator(".incident-status .status-acknowledged")).to_be_visible()
        shoot(page, artifacts, "flow-3-acknowledged")

        # Ann takes command and tells stakeholders, from a prepared template.
        roles = page.locator("#response-roles")
        roles.get_by_label("Give Incident commander to").select_option(
            label="Ann Archer (ann@example.com)"
        )
        roles.locator("#role-commander-assign").click()
        expect(page.locator("#role-commander .holder")).to_have_text("Ann Archer")
        composer = page.locator("#response-updates")
        composer.get_by_label("Template", exact=True).select_option("flow-internal")
        composer.get_by_role("button", name="Preview").click()
        expect(composer.locator("#update-body")).to_have_value(
            "Checkout spins forever: we are on it."
        )
        composer.get_by_role("button", name="Send update").click()
        expect(composer.locator(".update-list")).to_contain_text(
            f"#{number} Checkout spins forever"
        )
        expect(timeline).to_contain_text("Incident commander")
        shoot(page, artifacts, "flow-3b-commander-and-update")

        page.get_by_role("button", name="Resolve").click()
        expect(summary.locator(".incident-status .status-resolved")).to_be_visible()
        expect(timeline).to_contain_text("Resolved by ann@example.com")
        shoot(page, artifacts, "flow-4-resolved")
        assert errors_as_vera + errors == []

    with open_page(browser, site, PHONE) as (page, errors):
        log_in(page, "ann@example.com")
        page.goto(f"/incidents/{number}")
        expect(page.locator("#incident-summary")).to_be_visible()
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"the page scrolls {overflow}px sideways on a phone"
        shoot(page, artifacts, "flow-5-phone")
        assert errors == []

    resolved = incidents.get(site.ctx, SYSTEM, number)
    assert resolved.status == "resolved"
    kinds = [entry.kind for entry in resolved.timeline]
    assert "acknowledged" in kinds
    [update] = updates.list_updates(site.ctx, SYSTEM, number)
    assert update.body == "Checkout spins forever: we are on it."
