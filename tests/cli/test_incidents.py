"""`tocsin incident list|show|ack|resolve`: output, acting as a user, and one
clear line on stderr with a non-zero exit for every refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import Result

from tests.builders import make_integration, make_service, make_user, trigger
from tests.cli.conftest import Run
from tocsin.domain.access import SYSTEM
from tocsin.services import alerts, incidents
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import AuditRecord, Incident, User


@pytest.fixture
def checkout(ctx: Context) -> IntegrationRef:
    make_service(ctx, "checkout", team="Ops")
    integration, _ = make_integration(ctx, "checkout")
    return integration


@pytest.fixture
def people(ctx: Context) -> None:
    make_user(ctx, "ann@example.com", role="responder", teams=("Ops",), password=None)
    make_user(ctx, "vera@example.com", role="viewer", teams=("Ops",), password=None)
    make_user(ctx, "pete@example.com", teams=("Payments",), password=None)


def open_incident(ctx: Context, integration: IntegrationRef, key: str) -> int:
    [outcome] = alerts.ingest(ctx, integration, [trigger(key, f"{key} on db-1")])
    assert outcome.incident_number is not None
    return outcome.incident_number


def incident_row(ctx: Context, number: int) -> Incident:
    with ctx.db.read() as session:
        return session.scalars(select(Incident).where(Incident.number == number)).one()


def audit_actors(ctx: Context) -> list[tuple[str, str, str]]:
    with ctx.db.read() as session:
        return [
            (record.action, record.actor_type, record.actor_label)
            for record in session.scalars(
                select(AuditRecord)
                .where(AuditRecord.object_type == "incident")
                .order_by(AuditRecord.id)
            )
        ]


def user_id(ctx: Context, email: str) -> int:
    with ctx.db.read() as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


def assert_refused(result: Result, message: str) -> None:
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"error: {message}\n"


def test_list_shows_incidents_newest_first_with_a_count(
    tocsin: Run, ctx: Context, checkout: IntegrationRef
) -> None:
    open_incident(ctx, checkout, "disk")
    open_incident(ctx, checkout, "cpu")

    result = tocsin("incident", "list")

    assert result.exit_code == 0, result.output
    assert result.stdout.index("cpu") < result.stdout.index("disk")
    assert result.stdout.rstrip().endswith("2 of 2")


def test_list_filters_by_status_and_limits_the_rows(
    tocsin: Run, ctx: Context, checkout: IntegrationRef
) -> None:
    for key in ("a1", "b2", "c3"):
        open_incident(ctx, checkout, key)
    incidents.resolve(ctx, SYSTEM, 3)

    triggered = tocsin("incident", "list", "--status", "triggered", "--limit", "1")
    resolved = tocsin("incident", "list", "--status", "resolved")

    assert "b2" in triggered.stdout
    assert "a1" not in triggered.stdout
    assert triggered.stdout.rstrip().endswith("1 of 2")
    assert "c3" in resolved.stdout
    assert resolved.stdout.rstrip().endswith("1 of 1")


def test_list_as_a_user_shows_only_their_teams_incidents(
    tocsin: Run, ctx: Context, checkout: IntegrationRef, people: None
) -> None:
    open_incident(ctx, checkout, "disk")

    theirs = tocsin("incident", "list", "--as", "ann@example.com")
    others = tocsin("incident", "list", "--as", "pete@example.com")

    assert "disk" in theirs.stdout
    assert others.stdout == "no incidents\n"


def test_show_prints_state_alerts_and_timeline(
    tocsin: Run, ctx: Context, checkout: IntegrationRef, people: None
) -> None:
    number = open_incident(ctx, checkout, "disk")
    tocsin("incident", "ack", str(number), "--as", "ann@example.com")

    result = tocsin("incident", "show", str(number))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"#{number} disk on db-1"
    assert any(line.split() == ["status", "acknowledged"] for line in lines)
    assert "by ann@example.com" in result.stdout
    assert "Alerts" in result.stdout
    assert "Timeline" in result.stdout
    assert "Acknowledged by" in result.stdout


def test_ack_as_a_user_acts_with_their_name(
    tocsin: Run, ctx: Context, checkout: IntegrationRef, people: None
) -> None:
    number = open_incident(ctx, checkout, "disk")

    result = tocsin("incident", "ack", str(number), "--as", "Ann@Example.com")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"incident #{number} is acknowledged\n"
    assert incident_row(ctx, number).acknowledged_by_id == user_id(
        ctx, "ann@example.com"
    )
    assert audit_actors(ctx) == [
        ("incident.acknowledge", "cli", "ann@example.com (cli)")
    ]


def test_ack_and_resolve_without_as_act_as_the_operator(
    tocsin: Run, ctx: Context, checkout: IntegrationRef
) -> None:
    number = open_incident(ctx, checkout, "disk")

    acked = tocsin("incident", "ack", str(number))
    resolved = tocsin("incident", "resolve", str(number))

    assert (acked.exit_code, resolved.exit_code) == (0, 0)
    assert resolved.stdout == f"incident #{number} is resolved\n"
    assert incident_row(ctx, number).status == "resolved"
    assert audit_actors(ctx) == [
        ("incident.acknowledge", "system", "cli"),
        ("incident.resolve", "system", "cli"),
    ]


def test_a_viewer_cannot_ack_or_resolve(
    tocsin: Run, ctx: Context, checkout: IntegrationRef, people: None
) -> None:
    number = open_incident(ctx, checkout, "disk")

    for verb in ("ack", "resolve"):
        result = tocsin("incident", verb, str(number), "--as", "vera@example.com")
        assert_refused(result, "this needs the responder role; you are viewer")

    assert incident_row(ctx, number).status == "triggered"
    assert audit_actors(ctx) == []


def test_another_teams_incident_is_not_found_for_a_user(
    tocsin: Run, ctx: Context, checkout: IntegrationRef, people: None
) -> None:
    number = open_incident(ctx, checkout, "disk")

    for verb in ("show", "ack", "resolve"):
        result = tocsin("incident", verb, str(number), "--as", "pete@example.com")
        assert_refused(result, f"no incident #{number}")


def test_acting_as_an_unknown_user_is_refused(
    tocsin: Run, ctx: Context, checkout: IntegrationRef
) -> None:
    number = open_incident(ctx, checkout, "disk")

    result = tocsin("incident", "ack", str(number), "--as", "who@example.com")

    assert_refused(result, "no user with email who@example.com")


def test_acknowledging_a_resolved_incident_is_refused(
    tocsin: Run, ctx: Context, checkout: IntegrationRef
) -> None:
    number = open_incident(ctx, checkout, "disk")
    tocsin("incident", "resolve", str(number))

    result = tocsin("incident", "ack", str(number))

    assert_refused(result, "cannot acknowledge an incident that is resolved")


def test_an_unknown_incident_is_refused(tocsin: Run) -> None:
    assert_refused(tocsin("incident", "show", "9"), "no incident #9")


@pytest.mark.parametrize("number", ["0", "2147483648", "nine"])
def test_an_impossible_number_is_a_usage_error(tocsin: Run, number: str) -> None:
    result = tocsin("incident", "show", number)

    assert result.exit_code == 2
    assert result.stdout == ""
