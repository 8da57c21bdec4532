"""Shift reminders: the person whose shift starts soon gets a notice, the
next reminder is planned, and changes to the schedule replan it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.builders import make_schedule, make_user
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.services import schedule_edits
from tocsin.services.context import Context
from tocsin.services.schedule_reminders import SHIFT_REMINDER
from tocsin.store.models import OutboxMessage, Timer


def _reminders(ctx: Context) -> list[tuple[datetime, str | None]]:
    with ctx.db.read() as session:
        timers = session.scalars(
            select(Timer).where(Timer.kind == SHIFT_REMINDER).order_by(Timer.id)
        ).all()
        return [(t.due_at, t.payload.get("shift_start")) for t in timers]


def _notices(ctx: Context) -> list[tuple[int | None, str]]:
    with ctx.db.read() as session:
        messages = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [
            (m.user_id, m.subject)
            for m in messages
            if m.payload.get("topic") == "shift_reminder"
        ]


def test_the_next_shift_is_reminded_an_hour_ahead_and_the_one_after_planned(
    ctx: Context, clock: ManualClock
) -> None:
    """At 08:00 Ann hears her 09:00 shift is coming; Bob's is planned next."""
    ann, bob = make_user(ctx, "ann@example.com"), make_user(ctx, "bob@example.com")
    make_schedule(ctx, members=[ann, bob])
    tomorrow = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)

    assert _reminders(ctx) == [(tomorrow - timedelta(hours=1), tomorrow.isoformat())]

    clock.set(tomorrow - timedelta(hours=1))
    Worker(ctx, channels={}).run_once()

    [(user_id, subject)] = _notices(ctx)
    assert user_id == ann.id
    assert subject == "On call for Ops primary from Tue 03 Mar 2026 09:00 UTC"
    after = tomorrow + timedelta(days=1)
    assert _reminders(ctx) == [(after - timedelta(hours=1), after.isoformat())]

    Worker(ctx, channels={}).run_once()
    assert len(_notices(ctx)) == 1


def test_an_override_at_short_notice_is_reminded_at_once(
    ctx: Context, clock: ManualClock
) -> None:
    """An override starting in ten minutes replans the reminder to now."""
    ann, carol = make_user(ctx, "ann@example.com"), make_user(ctx, "carol@example.com")
    schedule_id = make_schedule(ctx, members=[ann])
    soon = clock.now() + timedelta(minutes=10)

    schedule_edits.add_override(
        ctx,
        SYSTEM,
        schedule_id,
        user_id=carol.id,
        start=soon,
        end=soon + timedelta(hours=2),
    )
    Worker(ctx, channels={}).run_once()

    assert [user_id for user_id, _ in _notices(ctx)] == [carol.id]
    assert len(_reminders(ctx)) == 1


def test_a_lead_time_of_zero_plans_no_reminders(ctx: Context) -> None:
    """TOCSIN_SHIFT_REMINDER_MINUTES=0 turns reminders off."""
    ctx.settings.shift_reminder_minutes = 0
    ann = make_user(ctx, "ann@example.com")

    make_schedule(ctx, members=[ann])

    assert _reminders(ctx) == []


def test_deleting_a_schedule_drops_its_reminder(ctx: Context) -> None:
    """A deleted schedule reminds nobody."""
    ann = make_user(ctx, "ann@example.com")
    schedule_id = make_schedule(ctx, members=[ann])

    schedule_edits.delete_schedule(ctx, SYSTEM, schedule_id)

    assert _reminders(ctx) == []


def test_a_worker_back_after_days_reminds_no_shift_that_is_over(
    ctx: Context, clock: ManualClock
) -> None:
    """No worker ran for three days: the shifts that ended meanwhile are not
    reminded one after another; the next shift to come is planned as usual."""
    ann, bob = make_user(ctx, "ann@example.com"), make_user(ctx, "bob@example.com")
    make_schedule(ctx, members=[ann, bob])
    back = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)

    clock.set(back)
    for _ in range(5):
        Worker(ctx, channels={}).run_once()

    assert _notices(ctx) == []
    following = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)
    assert _reminders(ctx) == [(following - timedelta(hours=1), following.isoformat())]
