"""Two responders press "Escalate now" on the same incident, each in their own
browser: the first press pages the next step, the second is told that the
escalation moved on since their page showed it, and pages only when pressed
again. Screenshot: test-artifacts/escalate-race.png.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, Site
from tests.browser.test_incident_flow import log_in, open_number, open_page
from tests.builders import make_integration, make_service, make_user, user_by_email
from tocsin.domain.access import SYSTEM
from tocsin.services import incidents

pytestmark = pytest.mark.e2e


def _press_escalate(page: Page) -> None:
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#action-escalate").click()


def test_a_second_escalate_press_from_a_stale_page_is_refused(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    ann = user_by_email(site.ctx, "ann@example.com")
    cid = make_user(site.ctx, "cid@example.com", name="Cid Chen", teams=("Ops",))
    make_service(
        site.ctx, "search", steps=[(10, [ann]), (10, [ann]), (10, [cid])], team="Ops"
    )
    key = make_integration(site.ctx, "search")[1]
    site = dataclasses.replace(site, keys={**site.keys, "search": key})
    site.trigger("search", "index-lag", "Search index lagging")
    number = open_number(site, "Search index lagging")

    with (
        open_page(browser, site, DESKTOP) as (first, first_errors),
        open_page(browser, site, DESKTOP) as (second, second_errors),
    ):
        log_in(first, "ann@example.com")
        log_in(second, "cid@example.com")
        first.goto(f"/incidents/{number}")
        second.goto(f"/incidents/{number}")

        _press_escalate(first)
        expect(first.locator("#timeline-entries")).to_contain_text(
            "Escalated to the next step now by ann@example.com"
        )
        _press_escalate(second)
        expect(second.locator("#response-triage [role=alert]")).to_contain_text(
            "was escalated since you looked"
        )
        second.screenshot(path=str(artifacts.parent / "escalate-race.png"))
        _press_escalate(second)
        expect(second.locator("#timeline-entries")).to_contain_text(
            "Escalated to the next step now by cid@example.com"
        )

        assert first_errors == [], first_errors
        # Chromium and htmx log the refused press's 409; nothing else may show.
        others = [e for e in second_errors if "409" not in e]
        assert others == [], others

    kinds = [e.kind for e in incidents.get(site.ctx, SYSTEM, number).timeline]
    assert kinds.count("escalated_manually") == 2
