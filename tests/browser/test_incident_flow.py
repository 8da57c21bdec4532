"""The web pages in a real browser (Debian's Chromium through Playwright): a
responder logs in, finds an incident, acknowledges it from the keyboard, adds
a note, sees a change made elsewhere arrive without reloading, and resolves
it; another team's incident stays out of reach; the profile makes and revokes
an API token. No page may log a script or CSP error, and every visible
control has a label. Screenshots of each page, desktop and phone, light and
dark, go to test-artifacts/browser/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, Site
from tests.builders import actor_of, user_by_email
from tests.e2e.harness import wait_for
from tocsin.domain.access import SYSTEM
from tocsin.services import incidents
from tocsin.services.incidents import IncidentFilter

pytestmark = pytest.mark.e2e

# Controls without a <label>, aria-label or aria-labelledby; hidden ones aside.
UNLABELLED = """
() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(el => el.type !== 'hidden' && !el.hidden && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby')
                && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map(el => el.outerHTML)
"""


@contextmanager
def open_page(
    browser: Browser, site: Site, viewport: dict[str, int], scheme: str = "light"
) -> Iterator[tuple[Page, list[str]]]:
    """A page in a fresh browser context, with the console errors it logs."""
    context = browser.new_context(
        base_url=site.base_url,
        viewport=viewport,
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(f"{m.text} at {m.location}") if m.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page, errors
    finally:
        context.close()


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Home")).to_be_visible()


def shoot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def assert_labelled(page: Page) -> None:
    unlabelled: Any = page.evaluate(UNLABELLED)
    assert unlabelled == [], unlabelled


def open_number(site: Site, title: str) -> int:
    """The number of the open incident with this title, once intake made it."""

    def probe() -> int | None:
        page = incidents.list_incidents(site.ctx, SYSTEM, IncidentFilter())
        found = [i.number for i in page.items if i.title == title]
        return found[0] if found else None

    return wait_for(probe, what=f"an incident titled {title!r}")


def test_a_responder_works_an_incident_from_the_browser(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    """Log in, list, open, acknowledge, note, live update, resolve."""
    site.trigger("checkout", "disk-full", "Disk full on db-1")
    number = open_number(site, "Disk full on db-1")

    with open_page(browser, site, DESKTOP) as (page, errors):
        log_in(page, "ann@example.com")
        expect(page.locator(".count-card").first).to_be_visible()
        assert_labelled(page)
        shoot(page, artifacts, "home-desktop")

        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Incidents"
        ).click()
        expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
        link = page.get_by_role("link", name=f"#{number} Disk full on db-1")
        expect(link).to_be_visible()
        assert_labelled(page)
        shoot(page, artifacts, "incidents-desktop")

        link.click()
        expect(page).to_have_url(f"{site.base_url}/incidents/{number}")
        summary = page.locator("#incident-summary")
        timeline = page.locator("#timeline-entries")
        expect(summary.locator(".incident-status .status-triggered")).to_be_visible()
        assert_labelled(page)
        shoot(page, artifacts, "incident-desktop")
        # Marks this document: a reload would lose the mark.
        page.evaluate("() => { window.tocsinTestMark = 'same page' }")

        # Acknowledge from the keyboard: the button takes focus and Enter.
        page.get_by_role("button", name="Acknowledge").focus()
        page.keyboard.press("Enter")
        expect(summary.locator(".incident-status .status-acknowledged")).to_be_visible()
        expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
        expect(timeline).to_contain_text("Acknowledged by ann@example.com")

        page.get_by_label("Add a note").fill("Rolled back the <b>deploy</b>")
        page.get_by_role("button", name="Add note").click()
        expect(timeline).to_contain_text("Rolled back the <b>deploy</b>")
        expect(page.get_by_label("Add a note")).to_have_value("")

        # A change made elsewhere (here: straight through the service layer, as
        # the API or a colleague would) arrives over the live stream.
        ann = actor_of(site.ctx, user_by_email(site.ctx, "ann@example.com"))
        incidents.add_note(site.ctx, ann, number, "Customers confirm it works")
        expect(timeline).to_contain_text("Customers confirm it works")
        assert page.evaluate("() => window.tocsinTestMark") == "same page"

        page.get_by_role("button", name="Resolve").click()
        expect(summary.locator(".incident-status .status-resolved")).to_be_visible()
        expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
        expect(timeline).to_contain_text("Resolved by ann@example.com")
        expect(summary.locator(".alert-list .status-resolved")).to_be_visible()
        shoot(page, artifacts, "incident-resolved-desktop")

        assert page.locator("li.entry").count() == len(
            incidents.get(site.ctx, SYSTEM, number).timeline
        )
        assert errors == [], errors

    assert incidents.get(site.ctx, SYSTEM, number).status == "resolved"


def test_another_teams_incident_is_not_reachable(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    """Ann (Ops) neither sees nor opens a Payments incident: it is a 404."""
    site.trigger("billing", "card-declines", "Card declines rising")
    number = open_number(site, "Card declines rising")

    with open_page(browser, site, DESKTOP) as (page, errors):
        log_in(page, "ann@example.com")

        page.goto("/incidents")
        expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
        expect(page.locator("main")).not_to_contain_text("Card declines")

        response = page.goto(f"/incidents/{number}")
        assert response is not None
        assert response.status == 404
        expect(page.locator("main")).not_to_contain_text("Card declines")
        shoot(page, artifacts, "not-found-desktop")

        stream = page.request.get(f"/incidents/{number}/events?after=0")
        assert stream.status == 404
        assert [e for e in errors if "404" not in e] == []


def test_pages_fit_a_phone_and_follow_dark_mode(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    """On a phone-sized screen nothing scrolls sideways; dark mode darkens."""
    site.trigger("checkout", "cpu-hot", "CPU hot on web-2 with a rather long title")
    number = open_number(site, "CPU hot on web-2 with a rather long title")

    for scheme in ("light", "dark"):
        with open_page(browser, site, PHONE, scheme) as (page, errors):
            log_in(page, "ann@example.com")
            for path, name in (
                ("/", "home"),
                ("/incidents", "incidents"),
                (f"/incidents/{number}", "incident"),
                ("/profile", "profile"),
            ):
                page.goto(path)
                page.wait_for_load_state("load")
                overflow = page.evaluate(
                    "() => document.documentElement.scrollWidth"
                    " - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
                shoot(page, artifacts, f"{name}-phone-{scheme}")

            background = page.evaluate(
                "() => getComputedStyle(document.body).backgroundColor"
            )
            dark = background == "rgb(21, 23, 26)"
            assert dark is (scheme == "dark"), background
            assert errors == []


def test_the_profile_makes_and_revokes_an_api_token(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    """The new token's secret is shown once and the token can be revoked."""
    with open_page(browser, site, DESKTOP) as (page, errors):
        log_in(page, "vera@example.com")
        page.get_by_role("link", name="vera@example.com").click()
        expect(page.get_by_role("heading", name="API tokens")).to_be_visible()

        page.get_by_label("Name").fill("laptop")
        page.get_by_role("button", name="Create token").click()
        secret = page.get_by_label("New token")
        expect(secret).to_have_value(re.compile(r"^tcs_"))
        assert_labelled(page)
        shoot(page, artifacts, "profile-desktop")

        page.get_by_role("button", name="Revoke token laptop").click()
        expect(page.locator("#tokens")).to_contain_text("revoked")
        expect(page.get_by_label("New token")).to_have_count(0)
        assert errors == [], errors


def test_the_login_page_is_labelled_and_the_skip_link_comes_first(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    """Every login control has a label; on a page, Tab reaches the skip link
    first, and following it moves focus past the navigation."""
    with open_page(browser, site, PHONE) as (page, errors):
        page.goto("/login")
        assert_labelled(page)
        shoot(page, artifacts, "login-phone-light")

        log_in(page, "ann@example.com")
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.textContent.trim()")
        page.keyboard.press("Enter")

        assert focused == "Skip to content"
        assert page.url.endswith("#main")
        assert errors == [], errors
