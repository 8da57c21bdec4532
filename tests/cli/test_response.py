"""`tocsin role|responder|task|note|runbook|update|template`: the response
from a shell, acting as a user, with one `error:` line for every refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.builders import make_integration, make_service, make_user, trigger
from tests.cli.conftest import Run
from tocsin.services import alerts
from tocsin.services.context import Context
from tocsin.store.models import IncidentTask, OutboxMessage, TimelineEntry


@pytest.fixture
def number(ctx: Context) -> int:
    make_user(ctx, "ann@example.com", teams=("Ops",), password=None)
    make_user(ctx, "bob@example.com", teams=("Ops",), password=None)
    make_user(ctx, "vera@example.com", role="viewer", teams=("Ops",), password=None)
    make_service(ctx, "checkout", team="Ops")
    integration, _ = make_integration(ctx, "checkout")
    [outcome] = alerts.ingest(ctx, integration, [trigger("disk-full")])
    assert outcome.incident_number is not None
    return outcome.incident_number


def _kinds(ctx: Context) -> list[str]:
    with ctx.db.read() as session:
        return list(session.scalars(select(TimelineEntry.kind)))


def test_roles_from_the_shell(tocsin: Run, ctx: Context, number: int) -> None:
    """Assign and hand over the commander; the holder shows in `role show`."""
    first = tocsin("role", "assign", str(number), "commander", "ann@example.com")
    second = tocsin(
        "role",
        "assign",
        str(number),
        "commander",
        "bob@example.com",
        "--as",
        "ann@example.com",
    )
    shown = tocsin("role", "show", str(number))
    history = tocsin("role", "show", str(number), "--history")

    assert (first.exit_code, second.exit_code, shown.exit_code) == (0, 0, 0)
    assert "bob@example.com" in shown.stdout
    assert "ann@example.com" not in shown.stdout
    assert history.stdout.count("commander") == 2
    assert "role_handover" in _kinds(ctx)


def test_viewers_are_refused_with_one_error_line(tocsin: Run, number: int) -> None:
    """Acting as a viewer: exit 1 and a single `error:` line."""
    result = tocsin(
        "role",
        "assign",
        str(number),
        "scribe",
        "bob@example.com",
        "--as",
        "vera@example.com",
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("error: this needs the responder role")
    assert len(result.stderr.splitlines()) == 1


def test_responders_tasks_and_notes(tocsin: Run, ctx: Context, number: int) -> None:
    """Add a responder, a task with an owner and due time, and a tagged note."""
    added = tocsin("responder", "add", str(number), "--user", "bob@example.com")
    task = tocsin(
        "task",
        "add",
        str(number),
        "Fail over db-1",
        "--owner",
        "bob@example.com",
        "--due",
        "2030-01-01T10:00Z",
    )
    note = tocsin("note", "add", str(number), "Disk full", "--tag", "finding")
    edited = tocsin("note", "edit", str(number), "1", "--text", "Disk full on db-1")
    history = tocsin("note", "history", str(number), "1")

    for result in (added, task, note, edited, history):
        assert result.exit_code == 0, result.stderr
    assert "Disk full" in history.stdout
    with ctx.db.read() as session:
        [row] = session.scalars(select(IncidentTask)).all()
        pages = session.scalars(
            select(OutboxMessage.recipient).where(
                OutboxMessage.payload["kind"].as_string() == "page"
            )
        ).all()
    assert row.due_at is not None
    assert pages == ["bob@example.com"]


@pytest.mark.parametrize(
    "args",
    [
        ("task", "add", "1", "x", "--due", "tomorrow"),
        ("task", "add", "1", "x", "--due", "2030-01-01T10:00"),
        ("note", "add", "1", "x", "--tag", "idea"),
        ("responder", "add", "1"),
        ("update", "post", "1", "--audience", "board", "--subject", "s", "--body", "b"),
        ("update", "post", "1", "--audience", "internal", "--var", "novalue"),
        ("role", "assign", "1", "commander", "nobody@example.com"),
    ],
)
def test_bad_input_is_one_error_line_and_stores_nothing(
    tocsin: Run, ctx: Context, number: int, args: tuple[str, ...]
) -> None:
    """Every refusal exits 1 with `error:` and leaves no trace on the timeline."""
    before = _kinds(ctx)

    result = tocsin(*args)

    assert result.exit_code == 1, result.stdout
    assert result.stderr.startswith("error: ")
    assert _kinds(ctx) == before


def test_runbooks_templates_and_updates(
    tocsin: Run, ctx: Context, number: int, tmp_path: object
) -> None:
    """A runbook's checklist is started and checked; a template renders an update
    that reaches a subscriber."""
    added = tocsin(
        "runbook",
        "add",
        "Checkout down",
        "--team",
        "Ops",
        "--body",
        "# Steps",
        "--step",
        "Check errors",
        "--step",
        "rollback: Roll back",
        "--service",
        "checkout",
    )
    started = tocsin("runbook", "start", str(number), "Checkout down")
    checked = tocsin("runbook", "check", str(number), "1", "1")
    template = tocsin(
        "template",
        "add",
        "Internal",
        "--audience",
        "internal",
        "--subject",
        "#{{ incident.number }} {{ incident.title }}",
        "--body",
        "Impact: {{ impact }}",
    )
    subscribed = tocsin("update", "subscribe", "room@example.com", "--incident", "1")
    missing = tocsin("update", "post", str(number), "--audience", "internal")
    posted = tocsin(
        "update", "post", str(number), "--audience", "internal", "--var", "impact=slow"
    )

    for result in (added, started, checked, template, subscribed, posted):
        assert result.exit_code == 0, result.stderr
    assert missing.exit_code == 1
    assert "'impact' is undefined" in missing.stderr
    assert "sent to 1 recipients" in posted.stdout
    assert "Impact: slow" in posted.stdout
    assert {"checklist_started", "checklist_checked", "update_posted"} <= set(
        _kinds(ctx)
    )
