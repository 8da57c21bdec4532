"""The on-call pages in Chromium: a responder opens a schedule, switches
between week and month, adds an override from the calendar and sees it
there; a manager opens the checkout policy, adds a step and previews who
would be paged. No script or CSP error, every control labelled, nothing
scrolls sideways on a 375px phone. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, Site
from tests.browser.test_incident_flow import assert_labelled, log_in, open_page, shoot
from tests.builders import make_schedule, make_user, user_by_email

pytestmark = pytest.mark.e2e

PHONE_375 = {"width": 375, "height": 812}
DASH = "\N{EN DASH}"


def _no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def _schedule(site: Site) -> int:
    ann = user_by_email(site.ctx, "ann@example.com")
    vera = user_by_email(site.ctx, "vera@example.com")
    return make_schedule(
        site.ctx,
        "Ops primary",
        members=[ann, vera],
        time_zone="Europe/Berlin",
        start_local=datetime(2026, 3, 1, 9, 0),  # noqa: DTZ001
    )


def test_a_responder_overrides_a_shift_from_the_calendar(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    schedule_id = _schedule(site)
    # A Monday two weeks ahead: clear of "now", so the override is all future.
    today = datetime.now(UTC).date()
    monday = today + timedelta(days=14 - today.weekday())

    with open_page(browser, site, DESKTOP) as (page, errors):
        log_in(page, "ann@example.com")
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Schedules"
        ).click()
        page.get_by_role("link", name="Ops primary").click()
        expect(page.get_by_role("heading", name="Ops primary")).to_be_visible()
        expect(page.locator(".calendar-week .day")).to_have_count(7)
        expect(page.locator(".day-today")).to_have_count(1)
        assert_labelled(page)
        shoot(page, artifacts, "schedule-week")

        page.get_by_role("link", name="Month", exact=True).click()
        expect(page.get_by_role("heading", name=f"{today:%B %Y}")).to_be_visible()
        assert page.locator(".calendar-week .day").count() >= 28
        shoot(page, artifacts, "schedule-month")

        page.get_by_role("link", name="Week", exact=True).click()
        page.get_by_role("link", name="Next week →").click()
        page.get_by_role("link", name="Next week →").click()
        day_label = f"{monday:%a %d %b}"
        page.get_by_role("link", name=f"Add an override on {day_label}").click()
        start = page.get_by_label("Start (Europe/Berlin)")
        expect(start).to_have_value(f"{monday.isoformat()}T00:00")
        page.get_by_label("Who takes over").select_option(
            label="Vera Viewer (vera@example.com)"
        )
        start.fill(f"{monday.isoformat()}T10:00")
        page.get_by_label("End (Europe/Berlin)").fill(f"{monday.isoformat()}T14:00")
        page.get_by_role("button", name="Add override").click()

        day = page.locator(".day", has_text=day_label)
        override = day.locator(".piece", has_text=f"10:00{DASH}14:00")
        expect(override).to_contain_text("Vera Viewer")
        expect(page.locator(".override-row")).to_contain_text("Vera Viewer")
        assert errors == [], errors

    # The phone in dark mode: a second look at the colours.
    with open_page(browser, site, PHONE_375, "dark") as (page, errors):
        log_in(page, "ann@example.com")
        page.goto(f"/schedules/{schedule_id}")
        expect(page.get_by_role("heading", name="Ops primary")).to_be_visible()
        _no_sideways_scroll(page)
        shoot(page, artifacts, "schedule-week-phone-dark")
        page.goto(f"/schedules/{schedule_id}?view=month")
        _no_sideways_scroll(page)
        assert errors == [], errors


def test_a_manager_adds_a_step_and_previews_the_policy(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    make_user(
        site.ctx,
        "mona@example.com",
        name="Mona Manager",
        role="manager",
        teams=("Ops",),
    )

    with open_page(browser, site, DESKTOP) as (page, errors):
        log_in(page, "mona@example.com")
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Escalation"
        ).click()
        page.get_by_role("link", name="checkout policy").click()
        expect(page.get_by_role("heading", name="checkout policy")).to_be_visible()
        steps = page.locator("ol.steps > li")
        expect(steps).to_have_count(1)

        page.get_by_text("Add a step").click()
        page.locator("#new-step-delay").fill("10")
        page.locator("#new-step-users").select_option(
            label="Vera Viewer (vera@example.com)"
        )
        page.get_by_role("button", name="Add step").click()

        expect(steps).to_have_count(2)
        expect(steps.nth(1)).to_contain_text("Vera Viewer")
        preview = page.locator("ol.preview > li")
        expect(preview).to_have_count(2)
        expect(preview.nth(0)).to_contain_text("Ann Archer")
        assert_labelled(page)
        shoot(page, artifacts, "escalation-policy")
        assert errors == [], errors

    with open_page(browser, site, PHONE_375) as (page, errors):
        log_in(page, "mona@example.com")
        page.goto("/escalation")
        page.get_by_role("link", name="checkout policy").click()
        _no_sideways_scroll(page)
        shoot(page, artifacts, "escalation-policy-phone")
        assert errors == [], errors
