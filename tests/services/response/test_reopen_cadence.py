"""A reopened incident owes its stakeholders updates again, on the cadence of
its severity, when it owed them before it was resolved."""

from __future__ import annotations

from sqlalchemy import select

from tests.services.response.conftest import Crew, outbox, run_worker
from tocsin.clock import ManualClock
from tocsin.services import incidents, roles
from tocsin.services.context import Context
from tocsin.store.models import Timer


def test_the_lead_is_reminded_a_cadence_after_the_reopen(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """SEV1's cadence is 30 minutes, counted from the reopen."""
    roles.assign(ctx, crew.ann, crew.number, "communications", crew.bob_user.id)
    incidents.resolve(ctx, crew.ann, crew.number)
    clock.advance(hours=2)
    run_worker(ctx)

    incidents.reopen(ctx, crew.ann, crew.number, "back again")
    clock.advance(minutes=29)
    run_worker(ctx)
    assert outbox(ctx, "update_overdue") == []

    clock.advance(minutes=1)
    run_worker(ctx)
    [reminder] = outbox(ctx, "update_overdue")
    assert reminder.recipient == "bob@example.com"


def test_an_incident_that_owed_nothing_owes_nothing_after_a_reopen(
    ctx: Context, crew: Crew
) -> None:
    incidents.resolve(ctx, crew.ann, crew.number)

    incidents.reopen(ctx, crew.ann, crew.number)

    with ctx.db.read() as session:
        due = session.scalars(select(Timer).where(Timer.kind == "update_due")).all()
    assert due == []
