"""The escalation preview: who a service would page, and when, if it alerted
at an instant; and the misconfiguration check."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.builders import actor_of, make_user, team_id
from tests.services.escalation_helpers import make_policy, make_service_with
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.errors import InvalidInput, NotFound
from tocsin.services import (
    escalation,
    maintenance,
    misconfig,
    preview,
    schedule_edits,
)
from tocsin.services.context import Context
from tocsin.store.models import ContactMethod, EscalationStep, Timer


def _on_call_weekdays(ctx: Context, members: list[int]) -> int:
    """A schedule with someone on call only 09:00-17:00 Paris time, weekdays."""
    from datetime import time

    from tocsin.domain.schedules import Restriction

    schedule = schedule_edits.create_schedule(
        ctx, SYSTEM, name="Office hours", team="Ops", time_zone="Europe/Paris"
    )
    schedule_edits.add_layer(
        ctx,
        SYSTEM,
        schedule.id,
        schedule_edits.LayerInput(
            name="office",
            members=tuple(members),
            shift_unit="weeks",
            shift_count=1,
            start_local=datetime.fromisoformat("2026-02-02T09:00"),
            restrictions=(
                Restriction(
                    days=frozenset(range(5)), start=time(9, 0), end=time(17, 0)
                ),
            ),
        ),
    )
    return schedule.id


def test_preview_walks_the_policy_with_schedules_resolved_at_each_step(
    ctx: Context, clock: ManualClock
) -> None:
    """At 16:30 Paris the schedule step pages Ann; at 17:10 it reaches nobody
    and the next step (Bob) follows at once."""
    ann = make_user(ctx, "ann@example.com")
    bob = make_user(ctx, "bob@example.com")
    schedule = _on_call_weekdays(ctx, [ann.id])
    policy = make_policy(
        ctx,
        "p",
        [(40, [("schedule", schedule)]), (10, [("user", bob.id)])],
        repeat=1,
    )
    service = make_service_with(ctx, "checkout", policy)
    # Monday 2 March 2026, 16:30 in Paris (CET) is 15:30 UTC.
    at = datetime.fromisoformat("2026-03-02T16:30:00+01:00")

    shown = preview.preview(ctx, SYSTEM, service, at)

    assert [(p.at, p.label, [u.email for u in p.users]) for p in shown.pages] == [
        (at, "step 1 of 2, pass 1 of 2", ["ann@example.com"]),
        (at + timedelta(minutes=40), "step 2 of 2, pass 1 of 2", ["bob@example.com"]),
        (at + timedelta(minutes=50), "step 1 of 2, pass 2 of 2", []),
        (at + timedelta(minutes=50), "step 2 of 2, pass 2 of 2", ["bob@example.com"]),
    ]
    assert "nobody is on call in schedule Office hours" in shown.pages[2].notes
    # The preview writes nothing.
    with ctx.db.read() as session:
        assert (
            session.scalars(select(Timer).where(Timer.kind.in_(escalation.KINDS))).all()
            == []
        )


def test_preview_shows_maintenance_and_round_robin_turns_without_taking_them(
    ctx: Context, clock: ManualClock
) -> None:
    """A window pushes the first page to its end; round-robin continues from
    the stored turn, and previewing does not move it."""
    ann = make_user(ctx, "ann@example.com")
    bob = make_user(ctx, "bob@example.com")
    policy = make_policy(
        ctx,
        "rr",
        [(5, [("user", ann.id), ("user", bob.id)])],
        round_robin=[0],
        repeat=2,
    )
    service = make_service_with(ctx, "checkout", policy)
    now = clock.now()
    maintenance.create_window(
        ctx, SYSTEM, "checkout", starts_at=now, ends_at=now + timedelta(hours=1)
    )

    shown = preview.preview(ctx, SYSTEM, service)

    assert [p.at for p in shown.pages] == [
        now + timedelta(hours=1, minutes=5 * k) for k in range(3)
    ]
    assert [p.users[0].email for p in shown.pages] == [
        "ann@example.com",
        "bob@example.com",
        "ann@example.com",
    ]
    assert any("maintenance" in note for note in shown.pages[0].notes)
    with ctx.db.read() as session:
        assert session.scalar(select(EscalationStep.round_robin_turn)) == 0


def test_preview_of_a_service_without_policy_says_nobody_is_paged(
    ctx: Context,
) -> None:
    """No policy: no pages, and a note saying so."""
    service = make_service_with(ctx, "lonely", None)

    shown = preview.preview(ctx, SYSTEM, service)

    assert shown.pages == []
    assert shown.notes == ["the service has no escalation policy with steps"]


def test_preview_refuses_other_teams_naive_times_and_far_futures(
    ctx: Context, clock: ManualClock
) -> None:
    """NotFound for a service of another team; InvalidInput for bad instants."""
    ann = make_user(ctx, "ann@example.com")
    outsider = actor_of(ctx, make_user(ctx, "out@example.com", teams=("Other",)))
    service = make_service_with(
        ctx, "checkout", make_policy(ctx, "p", [(5, [("user", ann.id)])])
    )

    with pytest.raises(NotFound):
        preview.preview(ctx, outsider, service)
    with pytest.raises(NotFound):
        preview.preview(ctx, SYSTEM, 10**12)
    with pytest.raises(InvalidInput, match="time zone"):
        preview.preview(
            ctx, SYSTEM, service, datetime.fromisoformat("2026-03-02T09:00")
        )
    with pytest.raises(InvalidInput, match="a year"):
        preview.preview(ctx, SYSTEM, service, clock.now() + timedelta(days=400))


def test_the_check_lists_everything_that_would_page_nobody(
    ctx: Context, clock: ManualClock
) -> None:
    """One problem of each kind, each named; a sound setup shows none."""
    ann = make_user(ctx, "ann@example.com")
    ghost = make_user(ctx, "ghost@example.com")
    with ctx.db.write() as session:
        for row in session.scalars(
            select(ContactMethod).where(ContactMethod.user_id == ghost.id)
        ):
            session.delete(row)
    sound = make_policy(ctx, "sound", [(5, [("user", ann.id)])])
    make_service_with(ctx, "checkout", sound)
    make_service_with(ctx, "lonely", None)
    make_policy(ctx, "hollow", [(5, [("user", ghost.id)])])
    schedule = _on_call_weekdays(ctx, [ann.id])
    make_policy(ctx, "office", [(5, [("schedule", schedule)])])

    report = misconfig.check(ctx, SYSTEM)

    found = {(p.kind, p.name) for p in report.problems}
    assert found == {
        ("service_without_policy", "lonely"),
        ("policy_reaches_nobody", "hollow"),
        ("user_without_contact", "ghost@example.com"),
        ("schedule_gap", "Office hours"),
    }
    assert report.counts == {
        "service_without_policy": 1,
        "policy_reaches_nobody": 1,
        "user_without_contact": 1,
        "schedule_gap": 1,
    }
    [gap] = [p for p in report.problems if p.kind == "schedule_gap"]
    assert "nobody on call from 2026-03-02 16:00" in gap.detail


def test_the_check_shows_a_responder_only_their_teams_problems(
    ctx: Context,
) -> None:
    """Another team's service without policy is not listed for a responder."""
    ann = make_user(ctx, "ann@example.com")
    make_user(ctx, "zed@example.com", teams=("Other",))
    make_service_with(ctx, "theirs", None, team="Other")
    make_service_with(ctx, "ours", None)

    report = misconfig.check(ctx, actor_of(ctx, ann))

    assert [p.name for p in report.problems] == ["ours"]
    assert team_id(ctx, "Other") > 0
