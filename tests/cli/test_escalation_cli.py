"""Escalation from the shell: policies with schedule and team targets, the
preview, `check` and its exit status, snooze, set-policy and maintenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.cli.conftest import Run
from tocsin.store.db import Database
from tocsin.store.models import ContactMethod, EscalationTarget, MaintenanceWindow


def _set_up(tocsin: Run) -> None:
    for args in (
        ("team", "add", "Payments"),
        ("user", "add", "dana@example.com", "--name", "Dana", "--team", "Payments"),
        ("user", "add", "erin@example.com", "--name", "Erin", "--team", "Payments"),
        (
            "policy",
            "add",
            "Payments default",
            "--team",
            "Payments",
            "--step",
            "5:dana@example.com,erin@example.com",
            "--step",
            "10:team:Payments",
            "--round-robin",
            "1",
            "--ack-timeout",
            "45",
        ),
        (
            "service",
            "add",
            "checkout",
            "--team",
            "Payments",
            "--policy",
            "Payments default",
        ),
    ):
        result = tocsin(*args)
        assert result.exit_code == 0, result.output


def test_a_policy_with_team_targets_and_round_robin_reads_back(
    tocsin: Run, db: Database
) -> None:
    """`policy show` names the team step, the round-robin and the ack timeout."""
    _set_up(tocsin)

    shown = tocsin("policy", "show", "Payments default")

    assert shown.exit_code == 0
    assert "one in turn of: Dana" in shown.output
    assert "team Payments" in shown.output
    assert "45 min" in shown.output
    with db.engine.connect() as conn:
        kinds = conn.execute(select(EscalationTarget.target_type)).scalars().all()
    assert sorted(kinds) == ["team", "user", "user"]


def test_preview_prints_each_step_with_who_it_pages(tocsin: Run) -> None:
    """The preview at a given instant lists steps, times and people."""
    _set_up(tocsin)

    result = tocsin("service", "preview", "checkout", "--at", "2026-03-02T09:00+01:00")

    assert result.exit_code == 0, result.output
    assert "2026-03-02 08:00" in result.output
    assert "2026-03-02 08:05" in result.output
    assert "alerting at 2026-03-02 08:00 UTC" in result.output
    assert "dana@example.com" in result.output
    assert "erin@example.com" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("service", "preview", "checkout", "--at", "2026-03-02T09:00"), "UTC offset"),
        (("service", "preview", "nope"), "no service named 'nope'"),
        (("incident", "snooze", "1", "--for", "soon"), "a duration is like"),
        (("maintenance", "remove", "7"), "no maintenance window 7"),
    ],
)
def test_bad_escalation_commands_say_one_error_line(
    tocsin: Run, args: tuple[str, ...], message: str
) -> None:
    """Each refusal is one `error:` line and exit status 1."""
    _set_up(tocsin)

    result = tocsin(*args)

    assert result.exit_code == 1
    assert message in result.output
    assert result.output.count("error:") == 1


def test_check_exits_1_with_problems_and_0_without(tocsin: Run, db: Database) -> None:
    """A user without contact methods and a policy-less service fail the check."""
    _set_up(tocsin)
    assert tocsin("check").exit_code == 0

    with db.engine.begin() as conn:
        conn.execute(ContactMethod.__table__.delete())
    assert tocsin("service", "add", "lonely", "--team", "Payments").exit_code == 0

    result = tocsin("check")

    assert result.exit_code == 1
    assert "service_without_policy" in result.output
    assert "user_without_contact" in result.output
    assert "policy_reaches_nobody" in result.output


def test_snooze_and_set_policy_from_the_shell(tocsin: Run, db: Database) -> None:
    """An incident opened by intake is snoozed, then handed to another policy."""
    from fastapi.testclient import TestClient

    from tocsin.app import create_app
    from tocsin.services.context import Context

    _set_up(tocsin)
    assert (
        tocsin(
            "policy",
            "add",
            "Backup",
            "--team",
            "Payments",
            "--step",
            "5:erin@example.com",
        ).exit_code
        == 0
    )
    added = tocsin("integration", "add", "checkout", "--kind", "events_v2")
    key = next(
        line.split()[1] for line in added.output.splitlines() if line.startswith("key ")
    )
    with TestClient(create_app(Context(db=db))) as client:
        response = client.post(
            "/v2/enqueue",
            json={
                "routing_key": key,
                "event_action": "trigger",
                "dedup_key": "disk",
                "payload": {"summary": "Disk", "source": "db", "severity": "critical"},
            },
        )
        assert response.status_code == 202

    snoozed = tocsin("incident", "snooze", "1", "--for", "30m")
    assert snoozed.exit_code == 0, snoozed.output
    assert "snoozed for 30 min" in snoozed.output
    moved = tocsin("incident", "set-policy", "1", "Backup")
    assert moved.exit_code == 0, moved.output
    assert "escalates through Backup" in moved.output
    shown = tocsin("incident", "show", "1")
    assert "triggered" in shown.output


def test_maintenance_windows_from_the_shell(tocsin: Run, db: Database) -> None:
    """Add a weekly window, see it listed as in progress, remove it."""
    _set_up(tocsin)
    now = datetime.now(UTC).replace(microsecond=0)

    added = tocsin(
        "maintenance",
        "add",
        "checkout",
        "--start",
        (now - timedelta(minutes=1)).isoformat(),
        "--end",
        (now + timedelta(hours=1)).isoformat(),
        "--every",
        "weekly",
        "--zone",
        "Europe/Berlin",
        "--description",
        "kernel upgrades",
    )
    assert added.exit_code == 0, added.output
    listed = tocsin("maintenance", "list")
    assert "in progress" in listed.output
    assert "kernel" in listed.output

    with db.engine.connect() as conn:
        [window_id] = conn.execute(select(MaintenanceWindow.id)).scalars().all()
    removed = tocsin("maintenance", "remove", str(window_id))
    assert removed.exit_code == 0
    assert tocsin("maintenance", "list").output.strip() == "no maintenance windows"
