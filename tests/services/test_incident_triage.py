"""Severity, priority, impact and stage changes: on the timeline with who and
why, audited, and refused cleanly when the input is bad."""

from __future__ import annotations

import pytest
from sqlalchemy import select

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
from tocsin.domain.triage import Level, Scale
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import alerts, declaration, incident_triage, incidents, triage
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, TimelineEntry


@pytest.fixture
def ann(ctx: Context) -> Actor:
    return actor_of(ctx, make_user(ctx, "ann@example.com"))


@pytest.fixture
def opened(ctx: Context, ann: Actor) -> int:
    make_service(ctx, steps=[(5, [user_by_email(ctx, "ann@example.com")])])
    integration, _ = make_integration(ctx)
    [outcome] = alerts.ingest(ctx, integration, [trigger(severity="warning")])
    assert outcome.incident_number is not None
    return outcome.incident_number


def _timeline(ctx: Context, kind: str) -> list[TimelineEntry]:
    with ctx.db.read() as session:
        return list(
            session.scalars(select(TimelineEntry).where(TimelineEntry.kind == kind))
        )


def _audited(ctx: Context, action: str) -> int:
    with ctx.db.read() as session:
        return len(
            session.scalars(
                select(AuditRecord).where(AuditRecord.action == action)
            ).all()
        )


def test_severity_change_is_on_the_timeline_with_who_and_why(
    ctx: Context, ann: Actor, opened: int
) -> None:
    """Changing severity records the previous and new level, the person and
    the reason, and audits it."""
    changed = incident_triage.set_severity(
        ctx, ann, opened, "sev1", "Checkout is down for everyone"
    )

    [entry] = _timeline(ctx, "severity_changed")
    assert changed.severity == "sev1"
    assert entry.actor_label == "ann@example.com"
    assert entry.data["previous"] == "sev3"
    assert entry.data["reason"] == "Checkout is down for everyone"
    assert "SEV3 to SEV1" in entry.message
    assert _audited(ctx, "incident.severity") == 1


def test_severity_change_needs_a_known_level_and_a_reason(
    ctx: Context, ann: Actor, opened: int
) -> None:
    """No reason, or a severity that is not on the scale, changes nothing."""
    with pytest.raises(InvalidInput):
        incident_triage.set_severity(ctx, ann, opened, "sev1", "   ")
    with pytest.raises(InvalidInput):
        incident_triage.set_severity(ctx, ann, opened, "sev9", "why not")

    assert incidents.get(ctx, ann, opened).severity == "sev3"
    assert _timeline(ctx, "severity_changed") == []


def test_the_same_severity_again_adds_nothing(
    ctx: Context, ann: Actor, opened: int
) -> None:
    """Setting the severity it already has is not a change."""
    incident_triage.set_severity(ctx, ann, opened, "sev3", "still minor")

    assert _timeline(ctx, "severity_changed") == []


def test_priority_comes_from_the_matrix(ctx: Context, ann: Actor, opened: int) -> None:
    """High impact and medium urgency make P2 under the default matrix, and
    the timeline says so with the reason."""
    changed = incident_triage.set_priority(
        ctx, ann, opened, "high", "medium", "All EU customers, slowly worsening"
    )

    [entry] = _timeline(ctx, "priority_changed")
    assert (changed.impact, changed.urgency, changed.priority) == (
        "high",
        "medium",
        "p2",
    )
    assert entry.data["priority"] == "p2"
    assert "All EU customers" in entry.message
    assert _audited(ctx, "incident.priority") == 1


def test_an_edited_matrix_changes_the_priority_it_yields(
    ctx: Context, ann: Actor, opened: int
) -> None:
    """After an admin maps high x medium to P1, that pair yields P1."""
    current = triage.scales(ctx)
    levels = {
        scale: [Level(**level.model_dump()) for level in getattr(current, scale)]
        for scale in Scale
    }
    matrix = {(c.impact, c.urgency): c.priority for c in current.matrix}
    matrix[("high", "medium")] = "p1"
    triage.replace_scales(ctx, SYSTEM, levels, matrix)

    changed = incident_triage.set_priority(ctx, ann, opened, "high", "medium", "x")

    assert changed.priority == "p1"


def test_unknown_impact_or_urgency_is_refused(
    ctx: Context, ann: Actor, opened: int
) -> None:
    """An impact that is not on its scale is a 400 naming the choices."""
    with pytest.raises(InvalidInput, match="high, medium, low"):
        incident_triage.set_priority(ctx, ann, opened, "huge", "high", "x")


def test_impact_fields_are_updated_and_summarised_on_the_timeline(
    ctx: Context, ann: Actor, opened: int
) -> None:
    """Affected services, customers, business impact and type are stored and
    the timeline lists what changed."""
    other = make_service(ctx, "search")
    first = make_service(ctx, "api")
    triage.create_type(ctx, SYSTEM, key="outage", name="Outage")

    changed = incident_triage.update_impact(
        ctx,
        ann,
        opened,
        {
            "affected_service_ids": [other, first, other],
            "customers_affected": 1200,
            "customers_affected_estimated": True,
            "business_impact": "Orders lost during the outage",
            "impact_financial": True,
            "impact_legal": True,
            "incident_type": "outage",
        },
    )

    assert [s.name for s in changed.affected_services] == ["api", "search"]
    assert changed.customers_affected == 1200
    assert changed.customers_affected_estimated is True
    assert (changed.impact_financial, changed.impact_reputational) == (True, False)
    assert changed.impact_legal is True
    assert changed.incident_type is not None
    assert changed.incident_type.key == "outage"
    [entry] = _timeline(ctx, "impact_updated")
    assert "affected services api, search" in entry.message
    assert "customers affected 1200" in entry.message


def test_another_teams_service_is_unknown_as_an_affected_service(
    ctx: Context, ann: Actor, opened: int
) -> None:
    """Naming it would tell its name back (in the answer and the timeline), so
    it is refused as if it did not exist; an admin may name any."""
    ledger = make_service(ctx, "ledger", team="Payments")

    with pytest.raises(InvalidInput, match=f"no service with id {ledger}"):
        incident_triage.update_impact(
            ctx, ann, opened, {"affected_service_ids": [ledger]}
        )
    assert incidents.get(ctx, ann, opened).affected_services == []

    changed = incident_triage.update_impact(
        ctx, SYSTEM, opened, {"affected_service_ids": [ledger]}
    )
    assert [s.name for s in changed.affected_services] == ["ledger"]


def test_bad_impact_input_changes_nothing(
    ctx: Context, ann: Actor, opened: int
) -> None:
    """An unknown service among good changes leaves every field as it was."""
    with pytest.raises(InvalidInput):
        incident_triage.update_impact(
            ctx,
            ann,
            opened,
            {"customers_affected": 5, "affected_service_ids": [424242]},
        )
    with pytest.raises(InvalidInput):
        incident_triage.update_impact(ctx, ann, opened, {"colour": "red"})
    with pytest.raises(InvalidInput):
        incident_triage.update_impact(ctx, ann, opened, {"customers_affected": -1})

    after = incidents.get(ctx, ann, opened)
    assert after.customers_affected is None
    assert after.affected_services == []
    assert _timeline(ctx, "impact_updated") == []


def test_stage_needs_a_declared_incident_and_stamps_once(
    ctx: Context, ann: Actor, opened: int, clock: ManualClock
) -> None:
    """Stages apply to declared incidents; the first time identified is
    reached stays, and resolved resolves the incident."""
    with pytest.raises(Conflict):
        incident_triage.set_stage(ctx, ann, opened, "identified")
    declaration.declare_incident(ctx, ann, opened, reason="Customers noticed")

    first = incident_triage.set_stage(ctx, ann, opened, "identified")
    clock.advance(minutes=5)
    incident_triage.set_stage(ctx, ann, opened, "investigating")
    incident_triage.set_stage(ctx, ann, opened, "identified")
    clock.advance(minutes=5)
    done = incident_triage.set_stage(ctx, ann, opened, "resolved", "Fixed")

    assert done.identified_at == first.identified_at
    assert done.status == "resolved"
    assert done.stage == "resolved"
    assert done.declared_at is not None
    assert done.declared_at <= first.identified_at  # type: ignore[operator]
    with pytest.raises(InvalidInput):
        incident_triage.set_stage(ctx, ann, opened, "panicking")


def test_resolving_a_declared_incident_moves_its_stage_to_resolved(
    ctx: Context, ann: Actor, opened: int, clock: ManualClock
) -> None:
    """Resolving by the usual action also ends the stage; stamps stay."""
    declaration.declare_incident(ctx, ann, opened, reason="Customers noticed")
    first = incident_triage.set_stage(ctx, ann, opened, "identified")
    clock.advance(minutes=5)
    incidents.acknowledge(ctx, ann, opened)

    done = incidents.resolve(ctx, ann, opened)

    assert done.status == "resolved"
    assert done.stage == "resolved"
    assert done.identified_at == first.identified_at


def test_a_resolved_incident_cannot_go_back_to_an_open_stage(
    ctx: Context, ann: Actor, opened: int
) -> None:
    """Once resolved, an incident's stage stays resolved: no open stage on it."""
    declaration.declare_incident(ctx, ann, opened, reason="Customers noticed")
    incident_triage.set_stage(ctx, ann, opened, "resolved")

    with pytest.raises(Conflict):
        incident_triage.set_stage(ctx, ann, opened, "monitoring")

    assert incidents.get(ctx, ann, opened).stage == "resolved"


def test_viewers_and_other_teams_cannot_triage(ctx: Context, opened: int) -> None:
    """A viewer is forbidden; a responder of another team does not see it."""
    viewer = actor_of(ctx, make_user(ctx, "vic@example.com", role="viewer"))
    outsider = actor_of(ctx, make_user(ctx, "out@example.com", teams=("Data",)))

    with pytest.raises(Forbidden):
        incident_triage.set_severity(ctx, viewer, opened, "sev1", "x")
    with pytest.raises(NotFound):
        incident_triage.set_severity(ctx, outsider, opened, "sev1", "x")
