"""Declaring incidents by hand, from reports and by declaration triggers:
each declared incident records why."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.builders import (
    actor_of,
    make_integration,
    make_service,
    make_user,
    trigger,
    user_by_email,
)
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM, Actor
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import (
    alerts,
    declaration,
    incident_triage,
    incidents,
    reports,
    triage,
)
from tocsin.services import declaration_triggers as triggers
from tocsin.services.context import Context
from tocsin.services.declaration import Declaration
from tocsin.services.declaration_triggers import TriggerSpec
from tocsin.store.models import Incident, OutboxMessage, TimelineEntry
from tocsin.store.models.triage import DeclarationTrigger, Report


@pytest.fixture
def ann(ctx: Context) -> Actor:
    return actor_of(ctx, make_user(ctx, "ann@example.com"))


@pytest.fixture
def service_id(ctx: Context, ann: Actor) -> int:
    return make_service(ctx, steps=[(5, [user_by_email(ctx, "ann@example.com")])])


def _incidents(ctx: Context) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(Incident)) or 0


def test_a_declared_incident_records_why_and_pages(
    ctx: Context, ann: Actor, service_id: int
) -> None:
    """Manual declaration opens an incident that is declared, investigating,
    of the type and severity asked for, and pages the service's policy."""
    triage.create_type(ctx, SYSTEM, key="security", name="Security")

    incident = declaration.declare(
        ctx,
        ann,
        Declaration(
            service_id=service_id,
            title="Leaked API key",
            reason="A customer found our key on a paste site",
            severity="sev2",
            incident_type="security",
            impact="high",
            urgency="high",
        ),
    )

    assert incident.declared is True
    assert incident.declared_reason == "A customer found our key on a paste site"
    assert incident.declared_by_label == "ann@example.com"
    assert incident.stage == "investigating"
    assert incident.severity == "sev2"
    assert incident.priority == "p1"
    assert incident.incident_type is not None
    assert incident.incident_type.key == "security"
    detail = incidents.get(ctx, ann, incident.number)
    kinds = [entry.kind for entry in detail.timeline]
    assert "declared" in kinds
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_the_type_default_severity_applies_when_none_is_given(
    ctx: Context, ann: Actor, service_id: int
) -> None:
    """A declaration without a severity takes its type's default."""
    triage.create_type(
        ctx, SYSTEM, key="data", name="Data loss", default_severity="sev1"
    )

    incident = declaration.declare(
        ctx,
        ann,
        Declaration(service_id, "Rows vanished", "Audit found gaps", None, "data"),
    )

    assert incident.severity == "sev1"


@pytest.mark.parametrize(
    "bad",
    [
        {"reason": ""},
        {"title": ""},
        {"severity": "sev0"},
        {"incident_type": "nope"},
        {"impact": "high"},
        {"service_id": 999_999},
    ],
)
def test_a_bad_declaration_stores_nothing(
    ctx: Context, ann: Actor, service_id: int, bad: dict[str, object]
) -> None:
    """Missing reason, unknown levels or service: refused, no incident."""
    fields: dict[str, object] = {
        "service_id": service_id,
        "title": "Checkout down",
        "reason": "Seen by support",
    }
    fields.update(bad)

    with pytest.raises((InvalidInput, NotFound)):
        declaration.declare(ctx, ann, Declaration(**fields))  # type: ignore[arg-type]

    assert _incidents(ctx) == 0


def test_declaring_an_alert_incident_once(
    ctx: Context, ann: Actor, service_id: int
) -> None:
    """An incident an alert opened can be declared, once."""
    integration, _ = make_integration(ctx)
    [outcome] = alerts.ingest(ctx, integration, [trigger(severity="warning")])
    assert outcome.incident_number is not None

    declared = declaration.declare_incident(
        ctx,
        ann,
        outcome.incident_number,
        reason="Worse than it looks",
        severity="sev2",
    )
    with pytest.raises(Conflict):
        declaration.declare_incident(ctx, ann, outcome.incident_number, reason="x")

    assert declared.declared is True
    assert declared.severity == "sev2"


def test_a_report_becomes_a_declared_incident(
    ctx: Context, ann: Actor, service_id: int
) -> None:
    """Declaring from a report links them and triages the report."""
    report = reports.report_as_staff(
        ctx, ann, title="Card payments fail", service_id=service_id
    )

    incident = declaration.declare_report(
        ctx, ann, report.id, reason="Confirmed by three customers", severity="sev1"
    )

    after = reports.get_report(ctx, ann, report.id)
    assert after.status == "declared"
    assert after.incident is not None
    assert after.incident.number == incident.number
    assert incident.title == "Card payments fail"
    assert incident.declared_reason == "Confirmed by three customers"
    with pytest.raises(Conflict):
        declaration.declare_report(ctx, ann, report.id, reason="again")


def test_a_report_without_a_service_needs_one_to_be_declared(
    ctx: Context, ann: Actor, service_id: int
) -> None:
    """A customer report names no service: declaring it asks for one, and
    leaves the report waiting."""
    token = reports.form_token(ctx)
    ctx.clock.advance(seconds=30)  # type: ignore[attr-defined]
    receipt = reports.report_as_customer(
        ctx,
        client_address="192.0.2.1",
        form_token=token,
        title="Your site is down",
        description="Since lunch",
    )
    report_id = int(receipt.reference.removeprefix("R-"))

    with pytest.raises(InvalidInput):
        declaration.declare_report(ctx, ann, report_id, reason="Real")
    incident = declaration.declare_report(
        ctx, ann, report_id, reason="Real", service_id=service_id
    )

    assert incident.service.id == service_id
    with ctx.db.read() as session:
        assert session.get(Report, report_id).status == "declared"  # type: ignore[union-attr]


# --- declaration triggers -------------------------------------------------------


def _rule(**overrides: object) -> TriggerSpec:
    fields: dict[str, object] = {
        "name": "Prod databases",
        "severity": "sev1",
        "matchers": ("env=prod", "instance=~db-.*"),
        "min_alert_severity": "error",
        "alert_count": 2,
        "window_minutes": 10,
    }
    fields.update(overrides)
    return TriggerSpec(**fields)  # type: ignore[arg-type]


def test_a_trigger_declares_when_enough_matching_alerts_arrive(
    ctx: Context, ann: Actor, service_id: int
) -> None:
    """Two matching alerts within the window declare the second one's
    incident, with the rule and the alerts as the reason."""
    triage.create_type(ctx, SYSTEM, key="outage", name="Outage")
    triggers.create_trigger(ctx, SYSTEM, _rule(incident_type="outage"))
    integration, _ = make_integration(ctx)

    [first] = alerts.ingest(
        ctx, integration, [trigger("a", env="prod", instance="db-1")]
    )
    [second] = alerts.ingest(
        ctx, integration, [trigger("b", env="prod", instance="db-2")]
    )

    one = incidents.get(ctx, ann, first.incident_number or 0)
    two = incidents.get(ctx, ann, second.incident_number or 0)
    assert one.declared is False
    assert two.declared is True
    assert two.severity == "sev1"
    assert two.stage == "investigating"
    assert two.incident_type is not None
    assert "Prod databases" in two.declared_reason
    [entry] = [e for e in two.timeline if e.kind == "declared"]
    assert entry.data["alerts"] == ["b", "a"]
    assert two.declared_by_label == "declaration trigger Prod databases"


def test_alerts_outside_the_rule_do_not_count(
    ctx: Context, ann: Actor, service_id: int, clock: ManualClock
) -> None:
    """Wrong labels, a milder severity, or an alert older than the window
    never make up the count."""
    triggers.create_trigger(ctx, SYSTEM, _rule())
    integration, _ = make_integration(ctx)

    alerts.ingest(ctx, integration, [trigger("a", env="prod", instance="db-1")])
    clock.advance(minutes=11)
    outcomes = alerts.ingest(
        ctx,
        integration,
        [
            trigger("b", env="staging", instance="db-2"),
            trigger("c", env="prod", instance="web-1"),
            trigger("d", severity="warning", env="prod", instance="db-3"),
            trigger("e", env="prod", instance="db-4"),
        ],
    )

    for outcome in outcomes:
        assert incidents.get(ctx, ann, outcome.incident_number or 0).declared is False


def test_a_disabled_or_deleted_trigger_declares_nothing(
    ctx: Context, ann: Actor, service_id: int
) -> None:
    """Only enabled rules count."""
    rule = triggers.create_trigger(ctx, SYSTEM, _rule(alert_count=1, enabled=False))
    integration, _ = make_integration(ctx)
    [outcome] = alerts.ingest(
        ctx, integration, [trigger("a", env="prod", instance="db-1")]
    )
    triggers.delete_trigger(ctx, SYSTEM, rule.id)
    [later] = alerts.ingest(
        ctx, integration, [trigger("b", env="prod", instance="db-1")]
    )

    for number in (outcome.incident_number, later.incident_number):
        assert incidents.get(ctx, ann, number or 0).declared is False


def test_a_trigger_never_lowers_severity(
    ctx: Context, ann: Actor, service_id: int
) -> None:
    """A SEV3 rule declaring a SEV1 incident leaves it SEV1."""
    triggers.create_trigger(ctx, SYSTEM, _rule(alert_count=1, severity="sev3"))
    integration, _ = make_integration(ctx)

    [outcome] = alerts.ingest(
        ctx, integration, [trigger("a", env="prod", instance="db-1")]
    )

    incident = incidents.get(ctx, ann, outcome.incident_number or 0)
    assert incident.declared is True
    assert incident.severity == "sev1"


@pytest.mark.parametrize(
    "bad",
    [
        {"matchers": ("env",)},
        {"matchers": ("host=~(",)},
        {"severity": "sev9"},
        {"alert_count": 0},
        {"window_minutes": 0},
        {"min_alert_severity": "loud"},
        {"name": ""},
        {"service_id": 999_999},
        {"incident_type": "nope"},
    ],
)
def test_a_bad_trigger_is_refused(ctx: Context, bad: dict[str, object]) -> None:
    """Each malformed rule is a 400 and none is stored."""
    with pytest.raises(InvalidInput):
        triggers.create_trigger(ctx, SYSTEM, _rule(**bad))

    assert triggers.list_triggers(ctx, SYSTEM) == []


def test_only_admins_write_triggers(ctx: Context, ann: Actor) -> None:
    """A responder may read the rules but not add one."""
    from tocsin.errors import Forbidden

    with pytest.raises(Forbidden):
        triggers.create_trigger(ctx, ann, _rule())
    assert triggers.list_triggers(ctx, ann) == []


def test_timeline_of_a_trigger_declaration_names_the_trigger(
    ctx: Context, service_id: int
) -> None:
    """The timeline entry's author is the trigger, not a person."""
    triggers.create_trigger(ctx, SYSTEM, _rule(alert_count=1))
    integration, _ = make_integration(ctx)
    alerts.ingest(ctx, integration, [trigger("a", env="prod", instance="db-1")])

    with ctx.db.read() as session:
        entry = session.scalars(
            select(TimelineEntry).where(TimelineEntry.kind == "declared")
        ).one()
    assert entry.actor_label == "trigger Prod databases"
    assert entry.actor_user_id is None


def test_lifecycle_stamps_are_never_overwritten(
    ctx: Context, ann: Actor, service_id: int, clock: ManualClock
) -> None:
    """Acknowledged, declared, identified and monitoring times keep their
    first value through later declarations, stage moves and edits."""
    integration, _ = make_integration(ctx)
    [outcome] = alerts.ingest(ctx, integration, [trigger(severity="warning")])
    number = outcome.incident_number or 0
    acknowledged = incidents.acknowledge(ctx, ann, number).acknowledged_at
    clock.advance(minutes=1)
    declared = declaration.declare_incident(ctx, ann, number, reason="Real")
    clock.advance(minutes=1)
    identified = incident_triage.set_stage(ctx, ann, number, "identified")
    clock.advance(minutes=1)
    monitoring = incident_triage.set_stage(ctx, ann, number, "monitoring")
    clock.advance(minutes=1)
    incident_triage.set_stage(ctx, ann, number, "investigating")
    incident_triage.set_severity(ctx, ann, number, "sev1", "Worse")
    incident_triage.update_impact(ctx, ann, number, {"customers_affected": 10})
    clock.advance(minutes=1)
    final = incident_triage.set_stage(ctx, ann, number, "monitoring")

    assert final.acknowledged_at == acknowledged
    assert final.declared_at == declared.declared_at
    assert final.identified_at == identified.identified_at
    assert final.monitoring_at == monitoring.monitoring_at
    assert final.monitoring_at is not None
    assert final.monitoring_at < clock.now()


def test_a_rule_broken_in_the_database_does_not_stop_intake(
    ctx: Context, ann: Actor, service_id: int
) -> None:
    """A stored matcher that no longer parses skips its rule; alerts still
    come in and the other rules still declare."""
    broken = triggers.create_trigger(ctx, SYSTEM, _rule(name="Broken", alert_count=1))
    triggers.create_trigger(ctx, SYSTEM, _rule(name="Good", alert_count=1))
    with ctx.db.write() as session:
        row = session.get(DeclarationTrigger, broken.id)
        assert row is not None
        row.matchers = ["env=~("]
    triggers.forget_cached_rules(ctx)
    integration, _ = make_integration(ctx)

    [outcome] = alerts.ingest(
        ctx, integration, [trigger("a", env="prod", instance="db-1")]
    )

    incident = incidents.get(ctx, ann, outcome.incident_number or 0)
    assert incident.declared_by_label == "declaration trigger Good"
