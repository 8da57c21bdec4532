"""`tocsin status ...`: the status page run from a shell; refusals are one
`error:` line with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import Result

from tests.cli.conftest import Run
from tocsin.services import status_subscribers
from tocsin.services.context import Context
from tocsin.store.models import (
    AuditRecord,
    StatusComponent,
    StatusIncident,
    StatusMaintenance,
    StatusSubscriber,
)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def refused(result: Result) -> str:
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def count(ctx: Context, model: type[object]) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def components(tocsin: Run) -> None:
    ok(tocsin("status", "group", "add", "Core"))
    ok(tocsin("status", "component", "add", "API", "--group", "Core"))
    ok(tocsin("status", "component", "add", "Website"))


def test_an_incident_moves_a_component_and_resolving_frees_it(
    tocsin: Run, components: None
) -> None:
    """Open a public incident on a component, see its state, resolve it."""
    opened = ok(
        tocsin(
            "status", "incident", "open", "Errors on the API",
            "--impact", "major_outage", "--component", "API",
            "--message", "Calls fail.",
        )
    )  # fmt: skip
    assert "public incident 1: Errors on the API" in opened
    listed = ok(tocsin("status", "component", "list"))
    assert "major_outage" in listed

    ok(
        tocsin(
            "status",
            "incident",
            "update",
            "1",
            "--message",
            "ok",
            "--stage",
            "resolved",
        )
    )
    assert "major_outage" not in ok(tocsin("status", "component", "list"))
    shown = ok(tocsin("status", "incident", "show", "1"))
    assert "resolved" in shown
    assert "Calls fail." in shown


def test_setting_a_state_by_hand_and_back(tocsin: Run, components: None) -> None:
    """`set` holds a state; `set auto` follows incidents again."""
    assert "Website is degraded (by hand)" in ok(
        tocsin("status", "component", "set", "Website", "degraded")
    )
    assert "Website is operational (following its incidents)" in ok(
        tocsin("status", "component", "set", "Website", "auto")
    )


def test_maintenance_add_list_cancel(tocsin: Run, components: None) -> None:
    """Maintenance in the future is upcoming until cancelled."""
    # The command runs on the system clock: a month from now is upcoming.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    added = ok(
        tocsin(
            "status", "maintenance", "add", "Database upgrade",
            "--start", start.isoformat(),
            "--end", (start + timedelta(hours=2)).isoformat(),
            "--component", "API",
        )
    )  # fmt: skip
    assert "upcoming" in added
    assert "cancelled" in ok(tocsin("status", "maintenance", "cancel", "1"))
    assert "cancelled" in ok(tocsin("status", "maintenance", "list"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("component", "add", "API"), "already a component"),
        (("component", "add", "X", "--group", "Nope"), "no group"),
        (("component", "set", "API", "on-fire"), "state must be one of"),
        (("component", "remove", "Nope"), "no component"),
        (
            ("incident", "open", "T", "--impact", "bad", "--message", "m"),
            "impact must be one of",
        ),
        (
            ("incident", "update", "9", "--message", "m", "--stage", "resolved"),
            "no status",
        ),
        (
            ("maintenance", "add", "T", "--start", "2099-01-01T10:00",
             "--end", "2099-01-01T12:00+00:00", "--component", "API"),
            "add a UTC offset",
        ),
        (
            ("maintenance", "add", "T", "--start", "soon",
             "--end", "2099-01-01T12:00+00:00", "--component", "API"),
            "not an ISO 8601 time",
        ),
        (("subscribers", "remove", "nobody@example.com"), "no subscriber"),
    ],
)  # fmt: skip
def test_refusals_are_one_line_and_write_nothing(
    tocsin: Run,
    ctx: Context,
    components: None,
    args: tuple[str, ...],
    message: str,
) -> None:
    """Each bad command prints one error line, exits 1, and leaves the store and
    the audit log as they were."""
    before = [count(ctx, m) for m in (StatusComponent, StatusIncident, AuditRecord)]

    line = refused(tocsin("status", *args))

    assert message in line
    assert [count(ctx, m) for m in (StatusComponent, StatusIncident, AuditRecord)] == (
        before
    )
    assert count(ctx, StatusMaintenance) == 0


def test_subscribers_list_and_remove(tocsin: Run, ctx: Context) -> None:
    """The operator sees who subscribed and can remove an address."""
    status_subscribers.subscribe(ctx, email="reader@example.com", client="127.0.0.1")

    listed = ok(tocsin("status", "subscribers", "list"))
    assert "reader@example.com" in listed
    assert "0 confirmed of 1" in listed
    ok(tocsin("status", "subscribers", "remove", "reader@example.com"))
    assert count(ctx, StatusSubscriber) == 0


def test_names_with_terminal_controls_are_refused(tocsin: Run, ctx: Context) -> None:
    """A name that would drive the terminal never gets stored."""
    refused(tocsin("status", "component", "add", "evil\x1b]0;x\x07"))
    assert count(ctx, StatusComponent) == 0
