"""Reopening a resolved incident: who may, what it restarts, what it keeps, and
how the metrics count it afterwards."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

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
from tests.services.escalation_helpers import timeline_kinds
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM, Actor
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import alerts, incident_triage, incidents, insights, maintenance
from tocsin.services import declaration as declaring
from tocsin.services.context import Context
from tocsin.services.insights import InsightFilter
from tocsin.store.models import AuditRecord, Incident, TimelineEntry


@pytest.fixture
def ann(ctx: Context) -> Actor:
    person = make_user(ctx, "ann@example.com")
    make_service(ctx, steps=[(5, [person])])
    return actor_of(ctx, user_by_email(ctx, "ann@example.com"))


def _open(ctx: Context, key: str = "disk-full") -> int:
    integration, _ = make_integration(ctx)
    [outcome] = alerts.ingest(ctx, integration, [trigger(key)])
    assert outcome.incident_number is not None
    return outcome.incident_number


def _row(ctx: Context, number: int) -> Incident:
    with ctx.db.read() as session:
        incident = session.scalars(
            select(Incident).where(Incident.number == number)
        ).one()
        session.expunge(incident)
        return incident


def _entries(ctx: Context, number: int, kind: str) -> list[TimelineEntry]:
    with ctx.db.read() as session:
        rows = session.scalars(
            select(TimelineEntry)
            .join(Incident, Incident.id == TimelineEntry.incident_id)
            .where(Incident.number == number, TimelineEntry.kind == kind)
            .order_by(TimelineEntry.id)
        ).all()
        session.expunge_all()
        return list(rows)


def test_reopen_triggers_again_and_pages_from_the_first_step(
    ctx: Context, clock: ManualClock, ann: Actor
) -> None:
    number = _open(ctx)
    incidents.acknowledge(ctx, ann, number)
    clock.advance(minutes=10)
    incidents.resolve(ctx, ann, number)
    clock.advance(minutes=10)

    result = incidents.reopen(ctx, ann, number, "  errors are back  ")

    assert result.status == "triggered"
    kinds = timeline_kinds(ctx, number)
    after = kinds[kinds.index("reopened") :]
    assert after[:3] == ["reopened", "escalated", "paged"]
    [entry] = _entries(ctx, number, "reopened")
    assert entry.actor_label == "ann@example.com"
    assert entry.message == "Reopened by ann@example.com: errors are back"
    assert entry.data["reason"] == "errors are back"
    assert entry.at == clock.now()
    row = _row(ctx, number)
    assert (row.escalation_step, row.escalation_loop) == (0, 0)


def test_reopen_is_audited_with_who_and_why(ctx: Context, ann: Actor) -> None:
    number = _open(ctx)
    incidents.resolve(ctx, ann, number)

    incidents.reopen(ctx, ann, number, "customer still sees errors")

    with ctx.db.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "incident.reopen")
        ).one()
    assert record.actor_label == "ann@example.com"
    assert record.detail["number"] == number
    assert record.detail["reason"] == "customer still sees errors"


def test_the_first_acknowledgement_and_resolution_stay_stamped(
    ctx: Context, clock: ManualClock, ann: Actor
) -> None:
    """Reopening, acknowledging and resolving again never overwrite them."""
    bob = actor_of(ctx, make_user(ctx, "bob@example.com"))
    number = _open(ctx)
    clock.advance(minutes=4)
    first_ack = clock.now()
    incidents.acknowledge(ctx, ann, number)
    clock.advance(minutes=26)
    first_resolution = clock.now()
    incidents.resolve(ctx, ann, number)

    clock.advance(minutes=10)
    reopened = incidents.reopen(ctx, bob, number)
    assert reopened.acknowledged_at == first_ack
    assert reopened.resolved_at == first_resolution

    clock.advance(minutes=5)
    incidents.acknowledge(ctx, bob, number)
    clock.advance(minutes=5)
    again = incidents.resolve(ctx, bob, number)

    assert again.status == "resolved"
    assert (again.acknowledged_at, again.acknowledged_by) == (
        first_ack,
        reopened.acknowledged_by,
    )
    assert again.acknowledged_by is not None
    assert again.acknowledged_by.email == "ann@example.com"
    assert again.resolved_at == first_resolution
    assert again.resolved_by is not None
    assert again.resolved_by.email == "ann@example.com"
    assert timeline_kinds(ctx, number).count("resolved") == 2


@pytest.mark.parametrize("how", ["triggered", "acknowledged"])
def test_reopening_an_open_incident_is_a_conflict_and_changes_nothing(
    ctx: Context, ann: Actor, how: str
) -> None:
    number = _open(ctx)
    if how == "acknowledged":
        incidents.acknowledge(ctx, ann, number)
    before = timeline_kinds(ctx, number)

    with pytest.raises(Conflict, match=how):
        incidents.reopen(ctx, ann, number)

    assert timeline_kinds(ctx, number) == before
    assert _row(ctx, number).status == how


def test_viewers_and_other_teams_cannot_reopen(ctx: Context, ann: Actor) -> None:
    number = _open(ctx)
    incidents.resolve(ctx, ann, number)
    viewer = actor_of(ctx, make_user(ctx, "vic@example.com", role="viewer"))
    outsider = actor_of(ctx, make_user(ctx, "out@example.com", teams=("Data",)))

    with pytest.raises(Forbidden):
        incidents.reopen(ctx, viewer, number)
    with pytest.raises(NotFound):
        incidents.reopen(ctx, outsider, number)
    with pytest.raises(NotFound):
        incidents.reopen(ctx, ann, 2**31)

    assert _row(ctx, number).status == "resolved"


@pytest.mark.parametrize("reason", ["x" * 2001, "bell\x07", "nul\x00"])
def test_a_bad_reason_is_refused_before_anything_changes(
    ctx: Context, ann: Actor, reason: str
) -> None:
    number = _open(ctx)
    incidents.resolve(ctx, ann, number)

    with pytest.raises(InvalidInput, match="reason"):
        incidents.reopen(ctx, ann, number, reason)

    assert _row(ctx, number).status == "resolved"
    assert "reopened" not in timeline_kinds(ctx, number)


def test_a_declared_incident_is_investigated_again(
    ctx: Context, clock: ManualClock, ann: Actor
) -> None:
    number = _open(ctx)
    declaring.declare_incident(ctx, ann, number, reason="customers affected")
    clock.advance(minutes=10)
    incident_triage.set_stage(ctx, ann, number, "monitoring")
    monitoring_at = clock.now()
    clock.advance(minutes=10)
    incident_triage.set_stage(ctx, ann, number, "resolved")
    clock.advance(minutes=10)

    result = incidents.reopen(ctx, ann, number)

    assert (result.status, result.stage) == ("triggered", "investigating")
    assert _row(ctx, number).monitoring_at == monitoring_at
    [entry] = _entries(ctx, number, "reopened")
    assert entry.data["stage"] == "investigating"


def test_in_maintenance_the_reopened_incident_pages_nobody_like_a_new_one(
    ctx: Context, clock: ManualClock, ann: Actor
) -> None:
    """Intake opens an incident in a window and holds its first step; a
    reopen does the same."""
    number = _open(ctx)
    incidents.resolve(ctx, ann, number)
    now = clock.now()
    maintenance.create_window(
        ctx, SYSTEM, "checkout", starts_at=now, ends_at=now + timedelta(hours=1)
    )
    paged_before = timeline_kinds(ctx, number).count("paged")

    incidents.reopen(ctx, ann, number)

    kinds = timeline_kinds(ctx, number)
    assert kinds[kinds.index("reopened") :] == ["reopened", "escalation_held"]
    assert kinds.count("paged") == paged_before


def test_simultaneous_reopens_reopen_once(ctx: Context, ann: Actor) -> None:
    number = _open(ctx)
    incidents.resolve(ctx, ann, number)

    def attempt(_: int) -> str:
        try:
            incidents.reopen(ctx, ann, number)
        except Conflict:
            return "conflict"
        return "reopened"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(attempt, range(6)))

    assert sorted(outcomes) == ["conflict"] * 5 + ["reopened"]
    kinds = timeline_kinds(ctx, number)
    assert kinds.count("reopened") == 1
    assert kinds.count("escalated") == 2


def test_a_new_alert_after_resolve_still_opens_a_new_incident(
    ctx: Context, ann: Actor
) -> None:
    """Reopening is a person's decision; intake never reopens, even when the
    resolved incident was reopened since."""
    number = _open(ctx)
    incidents.resolve(ctx, ann, number)
    incidents.reopen(ctx, ann, number)

    again = _open(ctx)

    assert again != number
    assert timeline_kinds(ctx, number).count("reopened") == 1


def test_metrics_count_a_real_reopen_as_the_rule_says(
    ctx: Context, clock: ManualClock, ann: Actor
) -> None:
    """Acked at 4, resolved at 30, reopened at 40, resolved again at 70: one
    incident, one reopen, TTA 4, TTM 30, no TTR while reopened, TTR 70 after."""
    number = _open(ctx)
    clock.advance(minutes=4)
    incidents.acknowledge(ctx, ann, number)
    clock.advance(minutes=26)
    incidents.resolve(ctx, ann, number)
    clock.advance(minutes=10)
    incidents.reopen(ctx, ann, number, "came back")

    def report() -> insights.Insights:
        now = clock.now()
        period = InsightFilter(since=now - timedelta(days=1), until=now)
        return insights.compute(ctx, SYSTEM, period)

    while_reopened = report()
    [row] = while_reopened.rows
    assert (while_reopened.incidents, while_reopened.reopened) == (1, 1)
    assert (row.reopens, row.minutes_to_resolve) == (1, None)
    assert while_reopened.resolve.count == 0

    clock.advance(minutes=20)
    incidents.acknowledge(ctx, ann, number)
    clock.advance(minutes=10)
    incidents.resolve(ctx, ann, number)

    final = report()
    [row] = final.rows
    assert (final.incidents, final.reopened, row.reopens) == (1, 1, 1)
    assert row.minutes_to_acknowledge == 4
    assert row.minutes_to_mitigate == 30
    assert row.minutes_to_resolve == 70
    assert final.resolve.mean_minutes == 70
