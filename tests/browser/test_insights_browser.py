"""The insights page in Chromium over a generated year of incidents: it renders
its SVG charts without a script or CSP error, within a few seconds, and leaves
a screenshot in test-artifacts/browser/ for a person to look at."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ViewportSize, expect

from tests.browser.conftest import DESKTOP, Site
from tocsin.services import demo, demo_year

pytestmark = pytest.mark.e2e


def test_a_year_of_insights_renders_quickly(
    browser: Browser, site: Site, artifacts: Path
) -> None:
    """An admin opens a year of insights: four cards, three charts, no errors."""
    made = demo_year.load_year(site.ctx)
    assert made.incidents > 500

    desktop = ViewportSize(width=DESKTOP["width"], height=DESKTOP["height"])
    context = browser.new_context(base_url=site.base_url, viewport=desktop)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/login")
        page.get_by_label("Email").fill(demo.PEOPLE[0][0])
        page.get_by_label("Password").fill(demo.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Home")).to_be_visible()

        started = time.perf_counter()
        response = page.goto("/insights?period=365d")
        took = time.perf_counter() - started
        assert response is not None
        assert response.status == 200
        expect(page.get_by_role("heading", name="Insights")).to_be_visible()
        expect(page.locator("svg.chart")).to_have_count(3)
        expect(page.get_by_text(f"{made.incidents} incidents opened")).to_be_visible()
        page.screenshot(path=str(artifacts / "insights-year.png"), full_page=True)
        print(f"insights page over {made.incidents} incidents: {took:.2f}s")
        assert errors == []
    finally:
        context.close()
