"""Shift reminders: a notice to whoever's shift is about to start.

Each schedule has at most one planned reminder, a `shift_reminder` timer due
`TOCSIN_SHIFT_REMINDER_MINUTES` before the next start of someone's span on the
final timeline (after layers and overrides). When it fires it reminds that
person and plans the next one; every change to the schedule replans it. A
shift that starts sooner than the lead time (an override made at short
notice) is reminded at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tocsin.domain import schedules as rules
from tocsin.services import notices
from tocsin.services.context import Context
from tocsin.services.schedules import load
from tocsin.store.models import Incident, Schedule, Timer

SHIFT_REMINDER = "shift_reminder"
# How far ahead a plan looks for the next shift; with none in sight, the
# schedule is looked at again half-way through.
HORIZON = timedelta(days=35)


def replan(session: Session, ctx: Context, schedule_id: int) -> None:
    """Forget the schedule's planned reminder and plan the next one, as the
    schedule now stands. Runs in the caller's transaction."""
    planned = session.execute(
        select(Timer.id, Timer.payload).where(Timer.kind == SHIFT_REMINDER)
    )
    stale = [row[0] for row in planned if row[1].get("schedule_id") == schedule_id]
    if stale:
        # A bulk delete: a worker may have fired and deleted one meanwhile,
        # which must not fail the change that replans.
        session.execute(delete(Timer).where(Timer.id.in_(stale)))

    _plan(session, ctx, schedule_id, after=ctx.clock.now())


def fire(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """The timer handler: remind the person whose shift starts at the planned
    instant, if it still does and is not over yet, then plan the next
    reminder. Safe to run twice: the worker deletes the timer in the same
    transaction."""
    schedule_id = int(timer.payload["schedule_id"])
    row = session.get(Schedule, schedule_id)
    if row is None:
        return

    planned = timer.payload.get("shift_start")
    if planned is None:
        _plan(session, ctx, schedule_id, after=ctx.clock.now())
        return

    start = datetime.fromisoformat(planned)
    schedule = load(session, schedule_id, start - timedelta(seconds=1), start + HORIZON)
    spans = rules.render(schedule, start - timedelta(seconds=1), start + HORIZON)
    shift = next((s for s in spans if s.start == start and s.user_id), None)
    now = ctx.clock.now()
    # A worker that was down finds reminders of shifts long over: they are
    # not sent, and the plan goes on from now rather than through each one.
    if shift is not None and shift.user_id is not None and shift.end > now:
        _remind(session, ctx, row, shift)
    _plan(session, ctx, schedule_id, after=max(start, now))


def _remind(session: Session, ctx: Context, row: Schedule, shift: rules.Span) -> None:
    zone = rules.zone_named(row.time_zone)
    begins = _local(shift.start, zone)
    ends = _local(shift.end, zone)
    notices.notify(
        session,
        ctx,
        [shift.user_id] if shift.user_id is not None else [],
        subject=f"On call for {row.name} from {begins}",
        body=(
            f"You are on call for the schedule {row.name} from {begins} "
            f"until at least {ends} ({row.time_zone}).\n"
        ),
        topic="shift_reminder",
    )


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")


def _plan(session: Session, ctx: Context, schedule_id: int, *, after: datetime) -> None:
    lead = timedelta(minutes=ctx.settings.shift_reminder_minutes)
    if not lead or session.get(Schedule, schedule_id) is None:
        return

    now = ctx.clock.now()
    end = after + HORIZON
    spans = rules.render(load(session, schedule_id, after, end), after, end)
    # The first span begins where the render does, not at a handoff.
    upcoming = next((s for s in spans[1:] if s.user_id is not None), None)
    payload: dict[str, Any] = {"schedule_id": schedule_id}
    if upcoming is None:
        due = after + HORIZON / 2
    else:
        due = upcoming.start - lead
        payload["shift_start"] = upcoming.start.isoformat()

    session.add(
        Timer(
            kind=SHIFT_REMINDER,
            due_at=max(due, now),
            payload=payload,
            created_at=now,
        )
    )
    ctx.work_queued.set()
