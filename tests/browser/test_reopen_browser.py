"""Reopening in a real browser: the Reopen form on a resolved incident swaps
the summary in place through htmx, the timeline shows who reopened it and why,
and the form fits a phone. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, PHONE, Site
from tests.browser.test_incident_flow import (
    assert_labelled,
    log_in,
    open_number,
    open_page,
    shoot,
)
from tocsin.domain.access import SYSTEM
from tocsin.services import incidents

pytestmark = pytest.mark.e2e


def test_a_responder_reopens_a_resolved_incident_in_place(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    site.trigger("checkout", "queue-stuck", "Queue stuck on worker-3")
    number = open_number(site, "Queue stuck on worker-3")
    incidents.resolve(site.ctx, SYSTEM, number)

    with open_page(browser, site, DESKTOP) as (page, errors):
        log_in(page, "ann@example.com")
        page.goto(f"/incidents/{number}")
        summary = page.locator("#incident-summary")
        timeline = page.locator("#timeline-entries")
        expect(summary.locator(".incident-status .status-resolved")).to_be_visible()
        assert_labelled(page)
        shoot(page, artifacts, "incident-reopen-form-desktop")
        page.evaluate("() => { window.tocsinTestMark = 'same page' }")

        page.get_by_label("Reason (optional)").fill("Jobs <piling> up again")
        page.get_by_role("button", name="Reopen").click()

        expect(summary.locator(".incident-status .status-triggered")).to_be_visible()
        expect(page.get_by_role("button", name="Reopen")).to_have_count(0)
        expect(page.get_by_role("button", name="Acknowledge")).to_be_visible()
        expect(summary).to_contain_text("First resolved")
        expect(timeline).to_contain_text(
            "Reopened by ann@example.com: Jobs <piling> up again"
        )
        assert page.evaluate("() => window.tocsinTestMark") == "same page"
        shoot(page, artifacts, "incident-reopened-desktop")
        assert errors == [], errors

    assert incidents.get(site.ctx, SYSTEM, number).status == "triggered"


def test_the_reopen_form_fits_a_phone(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    site.trigger("checkout", "cache-cold", "Cache cold on edge-1")
    number = open_number(site, "Cache cold on edge-1")
    incidents.resolve(site.ctx, SYSTEM, number)

    with open_page(browser, site, PHONE) as (page, errors):
        log_in(page, "ann@example.com")
        page.goto(f"/incidents/{number}")
        expect(page.get_by_role("button", name="Reopen")).to_be_visible()
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth"
            " - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        shoot(page, artifacts, "incident-reopen-form-phone")
        assert errors == [], errors
