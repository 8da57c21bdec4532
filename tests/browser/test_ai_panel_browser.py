"""The suggestions panel in a real browser: accepting a suggested type
reloads the page to show the incident's new type, and agreeing with a
suggested service changes only the panel, which says the incident stays put.
No script or CSP error; every control labelled."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, Site
from tests.browser.test_incident_flow import (
    assert_labelled,
    log_in,
    open_number,
    open_page,
)
from tocsin.domain.access import SYSTEM
from tocsin.services import incidents, triage

pytestmark = pytest.mark.e2e


def test_accepting_a_type_and_agreeing_with_a_service(
    site: Site, browser: Browser
) -> None:
    triage.create_type(site.ctx, SYSTEM, key="outage", name="Outage")
    site.trigger("checkout", "ai-panel", "Checkout is down, billing too")
    number = open_number(site, "Checkout is down, billing too")

    with open_page(browser, site, DESKTOP) as (page, errors):
        log_in(page, "ann@example.com")
        page.goto(f"/incidents/{number}")
        panel = page.locator("#ai-suggestions")
        expect(panel).to_contain_text("Suggestions come from the rules")
        assert_labelled(page)
        page.evaluate("() => { window.tocsinTestMark = 'same page' }")

        kind = panel.locator("li", has_text="incident type")
        kind.get_by_role("button", name="Accept").click()
        # The reload drops the mark; the page then shows the new type.
        page.wait_for_function("() => window.tocsinTestMark === undefined")
        expect(page.locator("#timeline-entries")).to_contain_text(
            "type Outage: accepted suggestion"
        )
        expect(page.locator("dt:text-is('Type') + dd")).to_have_text("Outage")
        panel = page.locator("#ai-suggestions")
        expect(panel.locator("li", has_text="incident type")).to_contain_text(
            "Accepted."
        )

        page.evaluate("() => { window.tocsinTestMark = 'same page' }")
        service = panel.locator("li", has_text="service")
        expect(service).to_contain_text("This is advice")
        service.get_by_role("button", name="Agree").click()
        expect(panel).to_contain_text("Agreed; the incident stays on checkout.")
        assert page.evaluate("() => window.tocsinTestMark") == "same page"
        assert errors == []

    assert incidents.get(site.ctx, SYSTEM, number).service.name == "checkout"
