"""Editing an escalation policy step by step: who may, what is stored and
audited, what is refused with nothing changed, and that an edited policy
escalates as it now says."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.builders import (
    actor_of,
    make_integration,
    make_schedule,
    make_service,
    make_user,
    trigger,
)
from tests.services.escalation_helpers import RecordingChannel
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM, Actor
from tocsin.engine.worker import Worker
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.services import alerts, maintenance, preview
from tocsin.services.catalog import StepInput
from tocsin.services.catalog import policy_edits as policies
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, EscalationPolicy, EscalationStep


@pytest.fixture
def setup(ctx: Context) -> tuple[int, int, Actor]:
    """Checkout (Ops) pages Ann then Bob; returns (policy, service, Mona the
    Ops manager)."""
    ann = make_user(ctx, "ann@example.com", teams=("Ops",))
    bob = make_user(ctx, "bob@example.com", teams=("Ops",))
    service_id = make_service(ctx, "checkout", steps=[(5, [ann]), (10, [bob])])
    mona = make_user(ctx, "mona@example.com", role="manager", teams=("Ops",))
    with ctx.db.read() as session:
        policy_id = session.scalars(select(EscalationPolicy.id)).one()
    return policy_id, service_id, actor_of(ctx, mona)


def _emails(ctx: Context, policy_id: int) -> list[list[str]]:
    policy = policies.get_visible(ctx, SYSTEM, policy_id)
    return [[user.email for user in step.users] for step in policy.steps]


def test_steps_move_keeping_their_rows_and_round_robin_turn(
    ctx: Context, setup: tuple[int, int, Actor]
) -> None:
    """A moved step is the same row: its id and round-robin turn go with it."""
    policy_id, _, mona = setup
    [first, second] = policies.get_visible(ctx, SYSTEM, policy_id).steps
    with ctx.db.write() as session:
        session.execute(
            update(EscalationStep)
            .where(EscalationStep.id == second.id)
            .values(round_robin_turn=3)
        )

    moved = policies.move_step(ctx, mona, policy_id, second.id, -1)

    assert [step.id for step in moved.steps] == [second.id, first.id]
    assert [step.number for step in moved.steps] == [1, 2]
    with ctx.db.read() as session:
        assert session.get(EscalationStep, second.id).round_robin_turn == 3  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="past the end"):
        policies.move_step(ctx, mona, policy_id, second.id, -1)


def test_each_change_is_audited(ctx: Context, setup: tuple[int, int, Actor]) -> None:
    policy_id, _, mona = setup
    added = policies.add_step(
        ctx, mona, policy_id, StepInput(delay_minutes=1, emails=("ann@example.com",))
    )
    new_step = added.steps[-1].id

    policies.edit_step(
        ctx,
        mona,
        policy_id,
        new_step,
        StepInput(delay_minutes=2, emails=("bob@example.com",), round_robin=True),
    )
    policies.remove_step(ctx, mona, policy_id, new_step)
    policies.set_repeat(ctx, mona, policy_id, repeat=1, ack_timeout_minutes=None)

    with ctx.db.read() as session:
        actions = list(
            session.scalars(
                select(AuditRecord.action)
                .where(AuditRecord.object_type == "escalation_policy")
                .order_by(AuditRecord.id)
            )
        )
    assert actions == [
        "escalation_policy.add_step",
        "escalation_policy.edit_step",
        "escalation_policy.remove_step",
        "escalation_policy.set_repeat",
    ]
    assert _emails(ctx, policy_id) == [["ann@example.com"], ["bob@example.com"]]


def test_who_may_edit(ctx: Context, setup: tuple[int, int, Actor]) -> None:
    """A responder of the team may look but not change; a manager of another
    team does not see the policy at all."""
    policy_id, _, _ = setup
    ann = actor_of(ctx, make_user(ctx, "ann2@example.com", teams=("Ops",)))
    other = actor_of(
        ctx, make_user(ctx, "max@example.com", role="manager", teams=("Payments",))
    )
    step = StepInput(delay_minutes=1, emails=("ann@example.com",))

    assert policies.get_visible(ctx, ann, policy_id).may_edit is False
    with pytest.raises(Forbidden):
        policies.add_step(ctx, ann, policy_id, step)
    with pytest.raises(NotFound):
        policies.add_step(ctx, other, policy_id, step)
    with pytest.raises(NotFound):
        policies.get_visible(ctx, other, policy_id)
    assert policies.list_visible(ctx, other) == []
    assert len(_emails(ctx, policy_id)) == 2


def test_bad_steps_change_nothing(ctx: Context, setup: tuple[int, int, Actor]) -> None:
    policy_id, _, mona = setup
    [first, _] = policies.get_visible(ctx, SYSTEM, policy_id).steps

    with pytest.raises(InvalidInput, match="delay"):
        policies.add_step(ctx, mona, policy_id, StepInput(5000, ("ann@example.com",)))
    with pytest.raises(InvalidInput, match="twice"):
        policies.add_step(
            ctx, mona, policy_id, StepInput(1, ("ann@example.com", "ANN@example.com"))
        )
    with pytest.raises(NotFound, match="no schedule named"):
        policies.edit_step(
            ctx, mona, policy_id, first.id, StepInput(1, (), schedules=("Nope",))
        )
    with pytest.raises(InvalidInput, match="repeat"):
        policies.set_repeat(ctx, mona, policy_id, repeat=10, ack_timeout_minutes=None)

    assert _emails(ctx, policy_id) == [["ann@example.com"], ["bob@example.com"]]
    assert [
        s.delay_minutes for s in policies.get_visible(ctx, SYSTEM, policy_id).steps
    ] == [5, 10]


def test_the_preview_follows_an_edited_policy(
    ctx: Context, setup: tuple[int, int, Actor]
) -> None:
    """After moving Bob first, the preview pages Bob at once and Ann 10
    minutes later."""
    policy_id, service_id, mona = setup
    [_, bob_step] = policies.get_visible(ctx, SYSTEM, policy_id).steps

    policies.move_step(ctx, mona, policy_id, bob_step.id, -1)

    at = ctx.clock.now()
    pages = preview.preview(ctx, mona, service_id, at).pages
    assert [(p.at - at, [u.email for u in p.users]) for p in pages] == [
        (timedelta(0), ["bob@example.com"]),
        (timedelta(minutes=10), ["ann@example.com"]),
    ]


def test_a_schedule_knows_the_policies_paging_it(
    ctx: Context, setup: tuple[int, int, Actor]
) -> None:
    """Only policies the reader may see are named."""
    policy_id, _, mona = setup
    ann = make_user(ctx, "ann3@example.com", teams=("Ops",))
    schedule_id = make_schedule(ctx, "Ops primary", members=[ann])
    policies.add_step(
        ctx, mona, policy_id, StepInput(0, (), schedules=("Ops primary",))
    )
    outsider = actor_of(ctx, make_user(ctx, "x@example.com", teams=("Payments",)))

    named = policies.paging_schedule(ctx, mona, schedule_id)

    assert [(p.id, p.name) for p in named] == [(policy_id, "checkout policy")]
    assert policies.paging_schedule(ctx, outsider, schedule_id) == []


def test_another_teams_schedule_is_not_a_target(
    ctx: Context, setup: tuple[int, int, Actor]
) -> None:
    """A manager of Ops cannot make a step page (and the preview reveal) who
    is on call in a Payments schedule by typing its name: it is "not found",
    in the same words as a schedule that does not exist."""
    policy_id, _, mona = setup
    pete = make_user(ctx, "pete@example.com", teams=("Payments",))
    make_schedule(ctx, "Payments primary", members=[pete], team="Payments")
    [first, _] = policies.get_visible(ctx, SYSTEM, policy_id).steps
    theirs = StepInput(1, (), schedules=("Payments primary",))

    with pytest.raises(NotFound, match="no schedule named 'Payments primary'"):
        policies.add_step(ctx, mona, policy_id, theirs)
    with pytest.raises(NotFound, match="no schedule named 'Payments primary'"):
        policies.edit_step(ctx, mona, policy_id, first.id, theirs)

    assert _emails(ctx, policy_id) == [["ann@example.com"], ["bob@example.com"]]


def test_a_name_written_twice_with_spaces_is_one_target(
    ctx: Context, setup: tuple[int, int, Actor]
) -> None:
    policy_id, _, mona = setup
    ann = make_user(ctx, "ann4@example.com", teams=("Ops",))
    make_schedule(ctx, "Ops primary", members=[ann])
    twice = StepInput(1, (), schedules=("Ops primary", " Ops primary "))

    with pytest.raises(InvalidInput, match="twice"):
        policies.add_step(ctx, mona, policy_id, twice)


def _escalating(
    ctx: Context, worker: Worker, channel: RecordingChannel, repeat: int = 0
) -> tuple[int, Actor]:
    """Checkout pages Ann, then Bob 5 minutes later, then Cy 10 after that;
    an incident has just paged Ann. Returns (policy, Mona the Ops manager)."""
    ann = make_user(ctx, "ann@example.com", teams=("Ops",))
    bob = make_user(ctx, "bob@example.com", teams=("Ops",))
    cy = make_user(ctx, "cy@example.com", teams=("Ops",))
    make_service(
        ctx, "checkout", steps=[(5, [ann]), (10, [bob]), (15, [cy])], repeat=repeat
    )
    mona = make_user(ctx, "mona@example.com", role="manager", teams=("Ops",))
    integration, _ = make_integration(ctx, "checkout")
    alerts.ingest(ctx, integration, [trigger()])
    worker.run_once()
    assert channel.recipients() == ["ann@example.com"]
    with ctx.db.read() as session:
        policy_id = session.scalars(select(EscalationPolicy.id)).one()
    return policy_id, actor_of(ctx, mona)


def _step_ids(ctx: Context, policy_id: int) -> list[int]:
    return [step.id for step in policies.get_visible(ctx, SYSTEM, policy_id).steps]


def test_removing_the_step_that_paged_still_pages_the_next_one(
    ctx: Context, clock: ManualClock
) -> None:
    """Ann's step paged and is removed while the incident escalates: Bob's
    step, now first, still pages when it was due, and Cy's after it."""
    channel = RecordingChannel()
    worker = Worker(ctx, {"email": channel})
    policy_id, mona = _escalating(ctx, worker, channel)

    policies.remove_step(ctx, mona, policy_id, _step_ids(ctx, policy_id)[0])
    clock.advance(minutes=5)
    worker.run_once()
    clock.advance(minutes=10)
    worker.run_once()

    assert channel.recipients() == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
    ]


def test_removing_a_step_already_passed_skips_nobody(
    ctx: Context, clock: ManualClock
) -> None:
    """Bob was paged (step 2); removing Ann's step 1 must not make Cy's step,
    now number 2, count as paged."""
    channel = RecordingChannel()
    worker = Worker(ctx, {"email": channel})
    policy_id, mona = _escalating(ctx, worker, channel)
    clock.advance(minutes=5)
    worker.run_once()

    policies.remove_step(ctx, mona, policy_id, _step_ids(ctx, policy_id)[0])
    clock.advance(minutes=10)
    worker.run_once()

    assert channel.recipients()[-1] == "cy@example.com"


def test_removing_the_last_step_goes_on_to_the_next_pass(
    ctx: Context, clock: ManualClock
) -> None:
    """With one repeat, removing the step about to page (the last) makes the
    policy start its second pass when that step was due."""
    channel = RecordingChannel()
    worker = Worker(ctx, {"email": channel})
    policy_id, mona = _escalating(ctx, worker, channel, repeat=1)
    clock.advance(minutes=5)
    worker.run_once()
    ids = _step_ids(ctx, policy_id)

    policies.remove_step(ctx, mona, policy_id, ids[2])
    clock.advance(minutes=10)
    worker.run_once()

    assert channel.recipients() == [
        "ann@example.com",
        "bob@example.com",
        "ann@example.com",
    ]


def test_a_schedule_an_admin_set_stays_when_its_step_is_edited(
    ctx: Context, setup: tuple[int, int, Actor]
) -> None:
    """An admin made Ann's step page a Payments schedule too: Mona, who
    cannot see that schedule, may still change the step's delay."""
    policy_id, _, mona = setup
    pete = make_user(ctx, "pete@example.com", teams=("Payments",))
    make_schedule(ctx, "Payments primary", members=[pete], team="Payments")
    [first, _] = policies.get_visible(ctx, SYSTEM, policy_id).steps
    both = StepInput(1, ("ann@example.com",), schedules=("Payments primary",))
    policies.edit_step(ctx, SYSTEM, policy_id, first.id, both)

    policies.edit_step(ctx, mona, policy_id, first.id, replace(both, delay_minutes=3))

    [edited, _] = policies.get_visible(ctx, SYSTEM, policy_id).steps
    assert edited.delay_minutes == 3
    assert [s.name for s in edited.schedules] == ["Payments primary"]


def test_removing_a_step_held_by_maintenance_holds_the_next_one(
    ctx: Context, clock: ManualClock
) -> None:
    """A window held Ann's step; once it is removed, Bob's step (now first)
    pages when the window ends."""
    channel = RecordingChannel()
    worker = Worker(ctx, {"email": channel})
    now = ctx.clock.now()
    ann = make_user(ctx, "ann@example.com", teams=("Ops",))
    bob = make_user(ctx, "bob@example.com", teams=("Ops",))
    make_service(ctx, "checkout", steps=[(5, [ann]), (10, [bob])])
    maintenance.create_window(
        ctx, SYSTEM, "checkout", starts_at=now, ends_at=now + timedelta(hours=1)
    )
    mona = make_user(ctx, "mona@example.com", role="manager", teams=("Ops",))
    integration, _ = make_integration(ctx, "checkout")
    alerts.ingest(ctx, integration, [trigger()])
    worker.run_once()
    assert channel.recipients() == []
    with ctx.db.read() as session:
        policy_id = session.scalars(select(EscalationPolicy.id)).one()

    policies.remove_step(
        ctx, actor_of(ctx, mona), policy_id, _step_ids(ctx, policy_id)[0]
    )
    clock.advance(hours=1)
    worker.run_once()

    assert channel.recipients() == ["bob@example.com"]


def test_moving_the_next_step_up_pages_it_next(
    ctx: Context, clock: ManualClock
) -> None:
    """Ann was paged and does not answer; Mona moves Bob's step first. Bob is
    paged when his turn was due, not Ann a second time in his place, and
    Ann's step, now second, follows him."""
    channel = RecordingChannel()
    worker = Worker(ctx, {"email": channel})
    policy_id, mona = _escalating(ctx, worker, channel)

    policies.move_step(ctx, mona, policy_id, _step_ids(ctx, policy_id)[1], -1)
    clock.advance(minutes=5)
    worker.run_once()
    clock.advance(minutes=10)
    worker.run_once()
    clock.advance(minutes=5)
    worker.run_once()

    assert channel.recipients() == [
        "ann@example.com",
        "bob@example.com",
        "ann@example.com",
        "cy@example.com",
    ]
