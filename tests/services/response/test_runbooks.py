"""Runbooks and their checklists on incidents, with rollback steps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.builders import actor_of, make_service, make_user
from tests.services.response.conftest import Crew, set_incident_type, timeline
from tocsin.clock import ManualClock
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import runbooks
from tocsin.services.context import Context
from tocsin.services.runbooks import RunbookInput, StepInput, parse_step
from tocsin.store.models import ChangeEvent, Service


def _runbook(ctx: Context, crew: Crew, **overrides: object) -> int:
    fields: dict[str, object] = {
        "name": "Checkout down",
        "body": "# When checkout fails\n\nLook at the **payments** dashboard.",
        "team": "Ops",
        "steps": (
            StepInput("Check the error rate"),
            parse_step("rollback: Roll back the last deploy"),
        ),
        "services": ("checkout",),
        "incident_types": ("Outage",),
    }
    fields.update(overrides)
    return runbooks.create(ctx, crew.adam, RunbookInput(**fields)).id  # type: ignore[arg-type]


def _change(ctx: Context, summary: str, minutes_ago: int) -> int:
    now = ctx.clock.now()
    with ctx.db.write() as session:
        service_id = session.scalar(
            select(Service.id).where(Service.name == "checkout")
        )
        change = ChangeEvent(
            service_id=service_id,
            kind="deploy",
            summary=summary,
            link="https://ci.example.com/42",
            version="42",
            at=now - timedelta(minutes=minutes_ago),
            source="ci",
            created_at=now,
        )
        session.add(change)
        session.flush()
        return change.id


def test_a_runbook_keeps_markdown_steps_and_attachments(
    ctx: Context, crew: Crew
) -> None:
    """The runbook reads back with sanitised HTML, steps and what it applies to."""
    runbook = runbooks.get(ctx, crew.vic, _runbook(ctx, crew))

    assert "<strong>payments</strong>" in runbook.body_html
    assert [(s.kind, s.text) for s in runbook.steps] == [
        ("check", "Check the error rate"),
        ("rollback", "Roll back the last deploy"),
    ]
    assert (runbook.services, runbook.incident_types) == (["checkout"], ["Outage"])
    assert [r.name for r in runbooks.for_incident(ctx, crew.ann, crew.number)] == [
        "Checkout down"
    ]


def test_runbook_html_cannot_carry_script(ctx: Context, crew: Crew) -> None:
    """Raw HTML in a runbook is shown as text."""
    runbook_id = _runbook(ctx, crew, body='<img src=x onerror="alert(1)">')

    html = runbooks.get(ctx, crew.ann, runbook_id).body_html
    assert "<img" not in html
    assert "&lt;img" in html


def test_a_checklist_is_copied_and_checking_is_on_the_timeline(
    ctx: Context, crew: Crew
) -> None:
    """Checking and unchecking an item are both on the timeline."""
    checklist = runbooks.start_checklist(
        ctx, crew.ann, crew.number, _runbook(ctx, crew)
    )
    first = checklist.items[0]

    checked = runbooks.check_item(
        ctx, crew.bob, crew.number, checklist.id, first.id, done=True
    )
    assert checked.items[0].done
    assert checked.items[0].done_by == "bob@example.com"
    runbooks.check_item(ctx, crew.bob, crew.number, checklist.id, first.id, done=False)

    assert len(timeline(ctx, "checklist_started")) == 1
    [entry] = timeline(ctx, "checklist_checked")
    assert "step 1: Check the error rate" in entry.message
    assert len(timeline(ctx, "checklist_unchecked")) == 1


def test_rollback_steps_link_the_latest_change_and_keep_it_once_checked(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """The open rollback step follows the newest change; checked, it keeps its own."""
    _change(ctx, "deploy 41", minutes_ago=90)
    deploy_42 = _change(ctx, "deploy 42", minutes_ago=20)
    checklist = runbooks.start_checklist(
        ctx, crew.ann, crew.number, _runbook(ctx, crew)
    )
    rollback = checklist.items[1]
    assert rollback.change is not None
    assert (rollback.change.id, rollback.change.url) == (
        deploy_42,
        "https://ci.example.com/42",
    )

    runbooks.check_item(
        ctx, crew.ann, crew.number, checklist.id, rollback.id, done=True
    )
    clock.advance(minutes=5)
    _change(ctx, "deploy 43", minutes_ago=1)

    [after] = runbooks.checklists(ctx, crew.vic, crew.number)
    assert after.items[1].change is not None
    assert after.items[1].change.summary == "deploy 42"
    [entry] = timeline(ctx, "checklist_checked")
    assert "(change: deploy 42)" in entry.message


def test_a_rollback_step_without_changes_links_nothing(
    ctx: Context, crew: Crew
) -> None:
    """No change event for the service: the link is empty, not an error."""
    checklist = runbooks.start_checklist(
        ctx, crew.ann, crew.number, _runbook(ctx, crew)
    )

    assert checklist.items[1].change is None


def test_one_checklist_per_runbook_and_incident(ctx: Context, crew: Crew) -> None:
    """Starting the same runbook twice is a Conflict."""
    runbook_id = _runbook(ctx, crew)
    runbooks.start_checklist(ctx, crew.ann, crew.number, runbook_id)

    with pytest.raises(Conflict):
        runbooks.start_checklist(ctx, crew.ann, crew.number, runbook_id)


def test_later_runbook_edits_leave_started_checklists_alone(
    ctx: Context, crew: Crew
) -> None:
    """A checklist keeps the steps it was made with."""
    runbook_id = _runbook(ctx, crew)
    runbooks.start_checklist(ctx, crew.ann, crew.number, runbook_id)

    runbooks.replace(
        ctx,
        crew.adam,
        runbook_id,
        RunbookInput(name="Checkout down", team="Ops", steps=(StepInput("New"),)),
    )

    [checklist] = runbooks.checklists(ctx, crew.ann, crew.number)
    assert [i.text for i in checklist.items] == [
        "Check the error rate",
        "Roll back the last deploy",
    ]
    assert [s.text for s in runbooks.get(ctx, crew.ann, runbook_id).steps] == ["New"]


def test_runbooks_are_for_managers_of_their_team(ctx: Context, crew: Crew) -> None:
    """Writing runbooks needs more than the responder role."""
    with pytest.raises(Forbidden):
        runbooks.create(ctx, crew.ann, RunbookInput(name="Mine", team="Ops"))


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": ""},
        {"steps": (StepInput("x", kind="teleport"),)},
        {"steps": (StepInput(""),)},
        {"services": ("no-such-service",)},
        {"team": "Nobody"},
        {"body": "nul\x00"},
    ],
)
def test_bad_runbooks_are_refused_and_nothing_is_stored(
    ctx: Context, crew: Crew, overrides: dict[str, object]
) -> None:
    """Each bad field is a 4xx error and no runbook exists afterwards."""
    with pytest.raises((InvalidInput, NotFound)):
        _runbook(ctx, crew, **overrides)

    assert runbooks.list_runbooks(ctx, crew.ann) == []


def test_list_filters_by_service_and_type(ctx: Context, crew: Crew) -> None:
    """Runbooks can be found by the service or incident type they apply to."""
    make_service(ctx, "search", team="Ops")
    _runbook(ctx, crew)
    _runbook(ctx, crew, name="Search slow", services=("search",), incident_types=())

    by_service = runbooks.list_runbooks(ctx, crew.ann, service="search")
    by_type = runbooks.list_runbooks(ctx, crew.ann, incident_type="outage")
    assert [r.name for r in by_service] == ["Search slow"]
    assert [r.name for r in by_type] == ["Checkout down"]


def test_viewers_cannot_check_items(ctx: Context, crew: Crew) -> None:
    """Checking is for responders."""
    checklist = runbooks.start_checklist(
        ctx, crew.ann, crew.number, _runbook(ctx, crew)
    )

    with pytest.raises(Forbidden):
        runbooks.check_item(
            ctx, crew.vic, crew.number, checklist.id, checklist.items[0].id, done=True
        )


def test_names_with_nul_find_nothing(ctx: Context, crew: Crew) -> None:
    """A NUL in a looked-up name is NotFound on every backend, not a crash."""
    with pytest.raises(NotFound):
        runbooks.find(ctx, crew.ann, "Checkout\x00down")
    with pytest.raises(NotFound):
        runbooks.list_runbooks(ctx, crew.ann, service="check\x00out")


def test_runbooks_follow_the_incident_type(ctx: Context, crew: Crew) -> None:
    """A runbook for a type (by name or key, any case) fits incidents of it."""
    make_service(ctx, "search", team="Ops")
    _runbook(
        ctx, crew, name="Security", services=("search",), incident_types=("SECURITY",)
    )
    assert runbooks.for_incident(ctx, crew.ann, crew.number) == []

    set_incident_type(ctx, crew.number, "Security", "sec")

    found = runbooks.for_incident(ctx, crew.ann, crew.number)
    assert [r.name for r in found] == ["Security"]


def test_a_manager_keeps_runbooks_of_their_own_team_only(
    ctx: Context, crew: Crew
) -> None:
    """Mia manages Ops: she may add an Ops runbook, not one for another team."""
    mia = actor_of(
        ctx, make_user(ctx, "mia@example.com", role="manager", password=None)
    )

    runbooks.create(ctx, mia, RunbookInput(name="Ops guide", team="Ops"))

    with pytest.raises(Forbidden):
        runbooks.create(ctx, mia, RunbookInput(name="Data guide", team="Data"))
    with pytest.raises(Forbidden):
        runbooks.create(ctx, mia, RunbookInput(name="Anyone's guide"))
