"""Escalation steps that page teams, take turns, move past empty targets, and
restart after an acknowledgement timeout, a snooze or a reassignment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.builders import actor_of, make_integration, make_user, trigger, user_by_email
from tests.services.escalation_helpers import (
    RecordingChannel,
    make_policy,
    make_service_with,
    timeline_kinds,
    timeline_messages,
)
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import alerts, incidents
from tocsin.services.context import Context
from tocsin.store.models import EscalationStep, Incident, Timer


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
def worker(ctx: Context, channel: RecordingChannel) -> Worker:
    return Worker(ctx, {"email": channel})


def _open(ctx: Context, service: str, key: str = "disk-full") -> int:
    integration, _ = make_integration(ctx, service)
    [outcome] = alerts.ingest(ctx, integration, [trigger(key)])
    assert outcome.incident_number is not None
    return outcome.incident_number


def test_a_team_step_pages_every_active_responder_of_the_team(
    ctx: Context, worker: Worker, channel: RecordingChannel
) -> None:
    """A team target pages its members who may act, not viewers or the inactive."""
    make_user(ctx, "ann@example.com", teams=("Payments",))
    make_user(ctx, "bob@example.com", teams=("Payments",))
    make_user(ctx, "vic@example.com", role="viewer", teams=("Payments",))
    make_user(ctx, "out@example.com", teams=("Other",))
    from tests.builders import team_id

    policy = make_policy(ctx, "team", [(5, [("team", team_id(ctx, "Payments"))])])
    make_service_with(ctx, "checkout", policy)

    _open(ctx, "checkout")
    worker.run_once()

    assert sorted(channel.recipients()) == ["ann@example.com", "bob@example.com"]


def test_round_robin_pages_the_next_target_each_time_the_step_fires(
    ctx: Context, worker: Worker, channel: RecordingChannel
) -> None:
    """Each firing of a round-robin step pages the next target, across incidents."""
    ann = make_user(ctx, "ann@example.com")
    bob = make_user(ctx, "bob@example.com")
    cat = make_user(ctx, "cat@example.com")
    policy = make_policy(
        ctx,
        "rr",
        [(5, [("user", ann.id), ("user", bob.id), ("user", cat.id)])],
        round_robin=[0],
    )
    make_service_with(ctx, "checkout", policy)

    for key in ("a", "b", "c", "d"):
        _open(ctx, "checkout", key)
    worker.run_once()

    assert channel.recipients() == [
        "ann@example.com",
        "bob@example.com",
        "cat@example.com",
        "ann@example.com",
    ]
    with ctx.db.read() as session:
        turn = session.scalar(select(EscalationStep.round_robin_turn))
    assert turn == 4


def test_a_step_that_reaches_nobody_moves_on_at_once_and_says_so(
    ctx: Context, clock: ManualClock, worker: Worker, channel: RecordingChannel
) -> None:
    """An empty team step does not wait its delay: the next step pages now."""
    bob = make_user(ctx, "bob@example.com")
    from tests.builders import team_id

    with ctx.db.write() as session:
        from tocsin.services import users

        users.ensure_team(session, "Empty", clock.now())
    policy = make_policy(
        ctx,
        "skip",
        [(30, [("team", team_id(ctx, "Empty"))]), (10, [("user", bob.id)])],
    )
    make_service_with(ctx, "checkout", policy)

    number = _open(ctx, "checkout")
    worker.run_once()

    assert channel.recipients() == ["bob@example.com"]
    [skipped] = timeline_messages(ctx, number, "escalation_skipped")
    assert "step 1 of 2 reaches nobody" in skipped
    assert "team Empty has no responders" in skipped
    assert "moving on at once" in skipped
    with ctx.db.read() as session:
        incident = session.scalars(select(Incident)).one()
        assert (incident.escalation_step, incident.escalation_loop) == (1, 0)


def test_a_policy_reaching_nobody_at_all_ends_without_looping(
    ctx: Context, clock: ManualClock, worker: Worker, channel: RecordingChannel
) -> None:
    """Every step empty, repeats included: each is skipped once, then exhausted."""
    from tests.builders import team_id

    make_user(ctx, "vic@example.com", role="viewer", teams=("Viewers",))
    empty = team_id(ctx, "Viewers")
    policy = make_policy(
        ctx, "void", [(5, [("team", empty)]), (5, [("team", empty)])], repeat=2
    )
    make_service_with(ctx, "checkout", policy)

    number = _open(ctx, "checkout")
    clock.advance(hours=3)
    worker.run_once()

    kinds = timeline_kinds(ctx, number)
    assert kinds.count("escalation_skipped") == 6
    assert kinds[-1] == "escalation_exhausted"
    assert channel.sent == []


def test_acknowledgement_timeout_triggers_again_and_restarts_the_policy(
    ctx: Context, clock: ManualClock, worker: Worker, channel: RecordingChannel
) -> None:
    """After the policy's ack timeout, an acknowledged incident pages step 1 again."""
    ann = make_user(ctx, "ann@example.com")
    bob = make_user(ctx, "bob@example.com")
    policy = make_policy(
        ctx,
        "timeout",
        [(5, [("user", ann.id)]), (5, [("user", bob.id)])],
        ack_timeout_minutes=30,
    )
    make_service_with(ctx, "checkout", policy)
    number = _open(ctx, "checkout")
    clock.advance(minutes=5)
    worker.run_once()
    assert channel.recipients() == ["ann@example.com", "bob@example.com"]

    incidents.acknowledge(ctx, actor_of(ctx, bob), number)
    clock.advance(minutes=29)
    worker.run_once()
    assert incidents.get(ctx, SYSTEM, number).status == "acknowledged"

    clock.advance(minutes=1)
    worker.run_once()

    detail = incidents.get(ctx, SYSTEM, number)
    assert detail.status == "triggered"
    assert channel.recipients()[-1] == "ann@example.com"
    [why] = timeline_messages(ctx, number, "retriggered")
    assert "timed out after 30 minutes" in why
    clock.advance(minutes=5)
    worker.run_once()
    assert channel.recipients()[-1] == "bob@example.com"


def test_snooze_acknowledges_and_pages_again_when_it_runs_out(
    ctx: Context, clock: ManualClock, worker: Worker, channel: RecordingChannel
) -> None:
    """A snoozed incident is quiet for the snooze, then triggers and re-pages."""
    ann = make_user(ctx, "ann@example.com")
    policy = make_policy(ctx, "p", [(5, [("user", ann.id)])], ack_timeout_minutes=10)
    make_service_with(ctx, "checkout", policy)
    number = _open(ctx, "checkout")
    worker.run_once()

    snoozed = incidents.snooze(ctx, actor_of(ctx, ann), number, 30)
    assert snoozed.status == "acknowledged"
    # The snooze, not the shorter ack timeout, decides when paging resumes.
    clock.advance(minutes=29)
    worker.run_once()
    assert channel.recipients() == ["ann@example.com"]

    clock.advance(minutes=1)
    worker.run_once()
    assert channel.recipients() == ["ann@example.com", "ann@example.com"]
    assert incidents.get(ctx, SYSTEM, number).status == "triggered"
    assert "snoozed" in timeline_kinds(ctx, number)


def test_snooze_refuses_resolved_incidents_and_silly_lengths(
    ctx: Context, worker: Worker
) -> None:
    """Snoozing a resolved incident is a conflict; 0 minutes is invalid input."""
    ann = make_user(ctx, "ann@example.com")
    policy = make_policy(ctx, "p", [(5, [("user", ann.id)])])
    make_service_with(ctx, "checkout", policy)
    number = _open(ctx, "checkout")
    actor = actor_of(ctx, ann)

    with pytest.raises(InvalidInput):
        incidents.snooze(ctx, actor, number, 0)
    incidents.resolve(ctx, actor, number)
    with pytest.raises(Conflict):
        incidents.snooze(ctx, actor, number, 30)
    with ctx.db.read() as session:
        # Resolving invites participants to give feedback; nothing pages again.
        kinds = session.scalars(select(Timer.kind)).all()
    assert set(kinds) <= {"feedback_invite"}


def test_resolving_cancels_a_pending_snooze(
    ctx: Context, clock: ManualClock, worker: Worker, channel: RecordingChannel
) -> None:
    """A snooze that runs out on a resolved incident pages nobody."""
    ann = make_user(ctx, "ann@example.com")
    policy = make_policy(ctx, "p", [(5, [("user", ann.id)])])
    make_service_with(ctx, "checkout", policy)
    number = _open(ctx, "checkout")
    worker.run_once()
    actor = actor_of(ctx, ann)

    incidents.snooze(ctx, actor, number, 30)
    incidents.resolve(ctx, actor, number)
    clock.advance(hours=1)
    worker.run_once()

    # Ann resolved it, so she is asked how it went; she is paged only once.
    pages = [m.recipient for m in channel.sent if m.payload.get("kind") == "page"]
    assert pages == ["ann@example.com"]


def test_reassigning_to_a_policy_starts_it_from_its_first_step(
    ctx: Context, clock: ManualClock, worker: Worker, channel: RecordingChannel
) -> None:
    """The new policy pages its step 1 at once; the old policy's steps are gone."""
    ann = make_user(ctx, "ann@example.com")
    bob = make_user(ctx, "bob@example.com")
    cat = make_user(ctx, "cat@example.com")
    first = make_policy(
        ctx, "first", [(5, [("user", ann.id)]), (5, [("user", bob.id)])]
    )
    second = make_policy(ctx, "second", [(10, [("user", cat.id)])])
    make_service_with(ctx, "checkout", first)
    number = _open(ctx, "checkout")
    worker.run_once()
    incidents.acknowledge(ctx, actor_of(ctx, ann), number)

    moved = incidents.reassign_policy(ctx, actor_of(ctx, ann), number, second)
    worker.run_once()
    clock.advance(hours=1)
    worker.run_once()

    assert moved.status == "triggered"
    assert channel.recipients() == ["ann@example.com", "cat@example.com"]
    with pytest.raises(NotFound):
        incidents.reassign_policy(ctx, actor_of(ctx, ann), number, 999)


def test_a_viewer_cannot_snooze_or_reassign_to_a_policy(
    ctx: Context, worker: Worker
) -> None:
    """Snooze and policy reassignment need the responder role."""
    from tocsin.errors import Forbidden

    ann = make_user(ctx, "ann@example.com")
    make_user(ctx, "vic@example.com", role="viewer")
    policy = make_policy(ctx, "p", [(5, [("user", ann.id)])])
    make_service_with(ctx, "checkout", policy)
    number = _open(ctx, "checkout")
    viewer = actor_of(ctx, user_by_email(ctx, "vic@example.com"))

    with pytest.raises(Forbidden):
        incidents.snooze(ctx, viewer, number, 30)
    with pytest.raises(Forbidden):
        incidents.reassign_policy(ctx, viewer, number, policy)


def test_a_schedule_with_nobody_on_call_moves_on_at_once(
    ctx: Context, worker: Worker, channel: RecordingChannel
) -> None:
    """An empty schedule step names the schedule on the timeline and moves on."""
    from tocsin.services import schedule_edits

    bob = make_user(ctx, "bob@example.com")
    empty = schedule_edits.create_schedule(
        ctx, SYSTEM, name="Primary", team="Ops", time_zone="Europe/Paris"
    )
    policy = make_policy(
        ctx, "p", [(30, [("schedule", empty.id)]), (5, [("user", bob.id)])]
    )
    make_service_with(ctx, "checkout", policy)

    number = _open(ctx, "checkout")
    worker.run_once()

    [skipped] = timeline_messages(ctx, number, "escalation_skipped")
    assert "nobody is on call in schedule Primary" in skipped
    assert [m.recipient for m in channel.sent if m.payload["kind"] == "page"] == [
        "bob@example.com"
    ]


def test_an_incident_can_go_to_another_teams_policy(
    ctx: Context, worker: Worker, channel: RecordingChannel
) -> None:
    """Handing an incident to the team that can fix it pages that team's step 1."""
    ann = make_user(ctx, "ann@example.com")
    dba = make_user(ctx, "dba@example.com", teams=("Databases",))
    ours = make_policy(ctx, "ours", [(5, [("user", ann.id)])])
    theirs = make_policy(ctx, "theirs", [(5, [("user", dba.id)])], team="Databases")
    make_service_with(ctx, "checkout", ours)
    number = _open(ctx, "checkout")

    incidents.reassign_policy(ctx, actor_of(ctx, ann), number, theirs)
    worker.run_once()

    pages = [m.recipient for m in channel.sent if m.payload["kind"] == "page"]
    assert pages == ["ann@example.com", "dba@example.com"]


def test_a_deactivated_user_step_says_they_are_deactivated(
    ctx: Context, worker: Worker, channel: RecordingChannel
) -> None:
    """A policy still naming someone deactivated in /settings skips them, and
    the timeline gives that reason, not a missing contact method they have."""
    from tocsin.services import people

    bob = make_user(ctx, "bob@example.com")
    admin = actor_of(ctx, make_user(ctx, "root@example.com", role="admin"))
    people.set_active(ctx, admin, bob.id, False)
    make_service_with(ctx, "checkout", make_policy(ctx, "p", [(5, [("user", bob.id)])]))

    number = _open(ctx, "checkout")
    worker.run_once()

    assert channel.recipients() == []
    [skipped] = timeline_messages(ctx, number, "page_skipped")
    assert skipped == "Bob is deactivated: not paged"
