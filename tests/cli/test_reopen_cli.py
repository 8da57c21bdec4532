"""`tocsin incident reopen N [--reason ...]`: the state it leaves, who it acts
as, and one `error:` line with a non-zero exit for every refusal."""

from __future__ import annotations

from typer.testing import Result

from tests.cli.conftest import Run
from tests.cli.test_incidents import (
    audit_actors,
    checkout,
    incident_row,
    open_incident,
    people,
)
from tocsin.domain.access import SYSTEM
from tocsin.services import incidents
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef

__all__ = ["checkout", "people"]  # fixtures, shared with the other CLI tests


def _refused(result: Result, message: str) -> None:
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"error: {message}\n"


def test_reopen_with_a_reason_as_a_user(
    tocsin: Run, ctx: Context, checkout: IntegrationRef, people: None
) -> None:
    number = open_incident(ctx, checkout, "disk")
    tocsin("incident", "resolve", str(number))

    result = tocsin(
        "incident", "reopen", str(number), "--reason", "still failing",
        "--as", "ann@example.com",
    )  # fmt: skip

    assert result.exit_code == 0
    assert result.stdout == f"incident #{number} is triggered\n"
    assert incident_row(ctx, number).status == "triggered"
    assert audit_actors(ctx)[-1] == (
        "incident.reopen",
        "cli",
        "ann@example.com (cli)",
    )
    timeline = incidents.get(ctx, SYSTEM, number).timeline
    assert [e.message for e in timeline if e.kind == "reopened"] == [
        "Reopened by ann@example.com (cli): still failing"
    ]


def test_reopening_an_open_incident_is_refused(
    tocsin: Run, ctx: Context, checkout: IntegrationRef
) -> None:
    number = open_incident(ctx, checkout, "disk")

    result = tocsin("incident", "reopen", str(number))

    _refused(result, "cannot reopen an incident that is triggered")
    assert audit_actors(ctx) == []


def test_a_viewer_or_another_team_cannot_reopen(
    tocsin: Run, ctx: Context, checkout: IntegrationRef, people: None
) -> None:
    number = open_incident(ctx, checkout, "disk")
    tocsin("incident", "resolve", str(number))

    viewer = tocsin("incident", "reopen", str(number), "--as", "vera@example.com")
    outsider = tocsin("incident", "reopen", str(number), "--as", "pete@example.com")

    _refused(viewer, "this needs the responder role; you are viewer")
    _refused(outsider, f"no incident #{number}")
    assert incident_row(ctx, number).status == "resolved"


def test_a_reason_with_control_characters_is_refused(
    tocsin: Run, ctx: Context, checkout: IntegrationRef
) -> None:
    number = open_incident(ctx, checkout, "disk")
    tocsin("incident", "resolve", str(number))

    result = tocsin("incident", "reopen", str(number), "--reason", "bell\x07")

    _refused(result, "a reason cannot contain control characters")
    assert incident_row(ctx, number).status == "resolved"
