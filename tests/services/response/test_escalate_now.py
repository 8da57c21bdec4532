"""Escalating by hand, the update cadence as pages read it, and the templates
that fit an incident: the service calls the incident page's response panels
are built on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.builders import actor_of, make_integration, make_service, make_user, trigger
from tests.services.response.conftest import run_worker, set_incident_type, timeline
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.errors import Conflict, Forbidden, NotFound
from tocsin.services import (
    alerts,
    cadence,
    incidents,
    manual_escalation,
    roles,
    updates,
)
from tocsin.services.context import Context
from tocsin.services.updates import TemplateInput, UpdateInput


def _incident(ctx: Context, service: str, key: str = "disk-full") -> int:
    integration, _ = make_integration(ctx, service)
    [outcome] = alerts.ingest(ctx, integration, [trigger(key)])
    assert outcome.incident_number is not None
    return outcome.incident_number


@pytest.fixture
def two_steps(ctx: Context) -> int:
    """An Ops incident whose policy pages Ann, then Bob ten minutes later."""
    ann = make_user(ctx, "ann@example.com", password=None)
    bob = make_user(ctx, "bob@example.com", password=None)
    make_service(ctx, "checkout", steps=[(10, [ann]), (10, [bob])], team="Ops")
    return _incident(ctx, "checkout")


def test_escalate_now_pages_the_next_step_at_once(ctx: Context, two_steps: int) -> None:
    """Bob is paged without waiting; no timer is left to page him again."""
    ann = actor_of(ctx, make_user(ctx, "cid@example.com", password=None))

    manual_escalation.escalate_now(ctx, ann, two_steps)

    [entry] = timeline(ctx, "escalated_manually")
    assert "cid@example.com" in entry.message
    paged = [e.message for e in timeline(ctx, "escalated")]
    assert paged[-1].startswith("Escalation step 2 of 2: paging Bob")
    run_worker(ctx)
    assert len(timeline(ctx, "escalated")) == 2


def test_escalating_an_acknowledged_incident_triggers_it_again(
    ctx: Context, two_steps: int
) -> None:
    ann = actor_of(ctx, make_user(ctx, "cid@example.com", password=None))
    incidents.acknowledge(ctx, ann, two_steps)

    escalated = manual_escalation.escalate_now(ctx, ann, two_steps)

    assert escalated.status == "triggered"
    assert escalated.acknowledged_at is None


def test_nothing_left_to_escalate_to_is_a_conflict_that_changes_nothing(
    ctx: Context, two_steps: int
) -> None:
    ann = actor_of(ctx, make_user(ctx, "cid@example.com", password=None))
    manual_escalation.escalate_now(ctx, ann, two_steps)
    incidents.acknowledge(ctx, ann, two_steps)

    with pytest.raises(Conflict, match="no further escalation step"):
        manual_escalation.escalate_now(ctx, ann, two_steps)

    assert incidents.get(ctx, ann, two_steps).status == "acknowledged"
    assert len(timeline(ctx, "escalated_manually")) == 1


def test_escalation_that_moved_on_since_it_was_seen_is_a_conflict(
    ctx: Context, clock: ManualClock, two_steps: int
) -> None:
    """Ann saw step 1; Bob's delay ran out (step 2 paged) before she pressed:
    her press is refused, nothing changes, and pressing from where it stands
    now goes on as usual."""
    ann = actor_of(ctx, make_user(ctx, "cid@example.com", password=None))
    seen = manual_escalation.position(ctx, ann, two_steps)
    clock.advance(minutes=10)
    run_worker(ctx)
    status = incidents.get(ctx, ann, two_steps).status

    with pytest.raises(Conflict, match="escalated since you looked"):
        manual_escalation.escalate_now(ctx, ann, two_steps, seen=seen)

    assert timeline(ctx, "escalated_manually") == []
    assert incidents.get(ctx, ann, two_steps).status == status
    assert manual_escalation.position(ctx, ann, two_steps) != seen


def test_escalate_now_refuses_viewers_other_teams_and_resolved_incidents(
    ctx: Context, two_steps: int
) -> None:
    viewer = actor_of(ctx, make_user(ctx, "vic@example.com", role="viewer"))
    stranger = actor_of(ctx, make_user(ctx, "olga@example.com", teams=("Data",)))

    with pytest.raises(Forbidden):
        manual_escalation.escalate_now(ctx, viewer, two_steps)
    with pytest.raises(NotFound):
        manual_escalation.escalate_now(ctx, stranger, two_steps)
    incidents.resolve(ctx, SYSTEM, two_steps)
    with pytest.raises(Conflict, match="resolved"):
        manual_escalation.escalate_now(ctx, SYSTEM, two_steps)


def test_cadence_state_owes_nothing_until_a_lead_is_named(
    ctx: Context, clock: ManualClock, two_steps: int
) -> None:
    """A SEV incident owes updates once its communications lead is named;
    late after the cadence, and no longer late once an update goes out."""
    lead = make_user(ctx, "cid@example.com", password=None)
    ann = actor_of(ctx, lead)
    every = cadence.cadence_of(ctx, incidents.get(ctx, SYSTEM, two_steps).severity)
    assert every is not None

    before = cadence.state(ctx, ann, two_steps)
    assert (before.next_due, before.overdue_since) == (None, None)

    roles.assign(ctx, ann, two_steps, "communications", lead.id)
    named_at = clock.now()
    owed = cadence.state(ctx, ann, two_steps)
    assert owed.next_due == named_at + every
    assert owed.overdue_since is None

    clock.advance(seconds=(every + timedelta(minutes=1)).total_seconds())
    run_worker(ctx)
    late = cadence.state(ctx, ann, two_steps)
    assert late.overdue_since is not None
    assert late.overdue_since > named_at

    updates.post(
        ctx,
        ann,
        two_steps,
        UpdateInput(audience="internal", subject="Still on it", body="Working."),
    )
    after = cadence.state(ctx, ann, two_steps)
    assert after.overdue_since is None
    assert after.last_update_at == clock.now()


def test_templates_for_an_incident_put_its_type_first_and_leave_other_types_out(
    ctx: Context, two_steps: int
) -> None:
    for name, kind in (("any", None), ("db", "Database"), ("net", "Network")):
        updates.create_template(
            ctx,
            SYSTEM,
            TemplateInput(name, "internal", "{{ incident.title }}", "b", kind),
        )
    set_incident_type(ctx, two_steps, "Database", "database")

    names = [t.name for t in updates.templates_for_incident(ctx, SYSTEM, two_steps)]

    assert names == ["db", "any"]
