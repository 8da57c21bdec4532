"""Running an incident's response in a real browser: a responder names the
incident commander, adds a task, checks a checklist step, sends a stakeholder
update from a template after previewing and editing it, and raises the
severity, each without a reload. The page must log no script or CSP error,
label every control and fit a 375px phone. Screenshots go to
test-artifacts/incident-response.png and incident-response-phone.png.
"""

from __future__ import annotations

from pathlib import Path

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
from tocsin.services import incidents, runbooks, tasks, triage, updates
from tocsin.services.runbooks import RunbookInput, StepInput
from tocsin.services.updates import TemplateInput

pytestmark = pytest.mark.e2e

PHONE_375 = {"width": 375, "height": 812}


def test_a_responder_runs_the_response_from_the_incident_page(
    site: Site, browser: Browser, artifacts: Path
) -> None:
    runbooks.create(
        site.ctx,
        SYSTEM,
        RunbookInput(
            name="Checkout failing",
            team="Ops",
            steps=(StepInput("Check the payment provider's status"),),
            services=("checkout",),
        ),
    )
    updates.create_template(
        site.ctx,
        SYSTEM,
        TemplateInput(
            name="internal-investigating",
            audience="internal",
            subject="#{{ incident.number }} investigating: {{ incident.title }}",
            body="We are investigating. Impact: {{ impact }}.",
        ),
    )
    site.trigger("checkout", "pay-fail", "Payments failing at checkout")
    number = open_number(site, "Payments failing at checkout")
    current = incidents.get(site.ctx, SYSTEM, number).severity
    other = next(
        level for level in triage.scales(site.ctx).severity if level.key != current
    )

    with open_page(browser, site, DESKTOP) as (page, errors):
        log_in(page, "ann@example.com")
        page.goto(f"/incidents/{number}")
        page.evaluate("() => { window.tocsinTestMark = 'same page' }")

        roles = page.locator("#response-roles")
        roles.get_by_label("Give Incident commander to").select_option(
            label="Ann Archer (ann@example.com)"
        )
        roles.locator("#role-commander-assign").click()
        expect(page.locator("#role-commander .holder")).to_have_text("Ann Archer")
        # Another panel catches up through the live stream: Ann now takes part.
        expect(page.locator("#responders-list")).to_contain_text("Ann Archer")

        task_panel = page.locator("#response-tasks")
        task_panel.get_by_label("New task").fill("Call the <payment> provider")
        ann = "Ann Archer (ann@example.com)"
        task_panel.get_by_label("Owner").select_option(label=ann)
        task_panel.get_by_label("Due (UTC)").fill("2030-01-02T03:04")
        task_panel.get_by_role("button", name="Add task").click()
        expect(task_panel.locator(".task-title")).to_contain_text(
            "Call the <payment> provider"
        )
        expect(task_panel.get_by_label("New task")).to_have_value("")

        checklist = page.locator("#response-checklists")
        checklist.get_by_role("button", name="Start checklist").click()
        checklist.get_by_role(
            "button", name="Check: Check the payment provider's status"
        ).click()
        expect(checklist).to_contain_text("1 of 1 done")

        composer = page.locator("#response-updates")
        template = composer.get_by_label("Template", exact=True)
        template.select_option("internal-investigating")
        composer.get_by_label("Variables").fill("impact = card payments fail")
        composer.get_by_role("button", name="Preview").click()
        body = composer.locator("#update-body")
        expect(body).to_have_value("We are investigating. Impact: card payments fail.")
        body.fill("We are investigating. Impact: card payments fail. Next in 30 min.")
        composer.get_by_role("button", name="Send update").click()
        expect(composer.locator(".update-list")).to_contain_text(
            f"#{number} investigating: Payments failing at checkout"
        )
        expect(composer).to_contain_text("Next update due by")

        triage_panel = page.locator("#response-triage")
        triage_panel.get_by_text("Change severity or priority").click()
        triage_panel.get_by_label("Severity", exact=True).select_option(other.key)
        triage_panel.locator("#severity-reason").fill("Every card payment fails")
        triage_panel.get_by_role("button", name="Change severity").click()
        expect(page.locator("#timeline-entries")).to_contain_text(
            "Every card payment fails"
        )
        expect(page.locator("#incident-summary .incident-status")).to_contain_text(
            other.key.upper()
        )

        assert page.evaluate("() => window.tocsinTestMark") == "same page"
        assert_labelled(page)
        page.screenshot(
            path=str(artifacts.parent / "incident-response.png"), full_page=True
        )
        assert errors == [], errors

    with open_page(browser, site, PHONE_375) as (page, errors):
        log_in(page, "ann@example.com")
        page.goto(f"/incidents/{number}")
        expect(page.locator("#response-updates")).to_be_visible()
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth"
            " - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the incident page scrolls sideways by {overflow}px"
        page.screenshot(
            path=str(artifacts.parent / "incident-response-phone.png"),
            full_page=True,
        )
        assert errors == [], errors

    incident = incidents.get(site.ctx, SYSTEM, number)
    assert incident.severity == other.key
    assert [t.title for t in tasks.list_tasks(site.ctx, SYSTEM, number)] == [
        "Call the <payment> provider"
    ]
    [update] = updates.list_updates(site.ctx, SYSTEM, number)
    assert update.body.endswith("Next in 30 min.")
