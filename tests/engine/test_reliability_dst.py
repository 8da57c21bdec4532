"""Reliability proof with an injected clock: escalation steps fire exactly on
time across daylight saving changes, and a schedule target pages whoever is on
call at the instant the step fires (handoffs at local wall-clock time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.builders import make_integration, make_user, trigger
from tests.services.escalation_helpers import (
    RecordingChannel,
    make_policy,
    make_service_with,
)
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.services import alerts, escalation, schedule_edits
from tocsin.services.context import Context
from tocsin.store.models import Timer

NEW_YORK = "America/New_York"


def _daily_schedule(ctx: Context, members: list[int]) -> int:
    """Members take turns a day at a time, handing off at 08:00 New York time."""
    schedule = schedule_edits.create_schedule(
        ctx, SYSTEM, name="Primary", team="Ops", time_zone=NEW_YORK
    )
    schedule_edits.add_layer(
        ctx,
        SYSTEM,
        schedule.id,
        schedule_edits.LayerInput(
            name="daily",
            members=tuple(members),
            shift_unit="days",
            shift_count=1,
            start_local=datetime.fromisoformat("2026-03-01T08:00"),
        ),
    )
    return schedule.id


def _next_due(ctx: Context) -> datetime | None:
    with ctx.db.read() as session:
        return session.scalar(
            select(func.min(Timer.due_at)).where(Timer.kind == escalation.ESCALATE)
        )


def _paged(channel: RecordingChannel) -> list[str]:
    """Recipients of pages, leaving out notices such as shift reminders."""
    return [m.recipient for m in channel.sent if m.payload.get("kind") == "page"]


@pytest.mark.parametrize(
    ("opened", "handoff"),
    [
        # Spring forward on 8 March 2026: 08:00 EDT is 12:00 UTC (13:00 before).
        (
            datetime(2026, 3, 8, 5, 30, tzinfo=UTC),
            datetime(2026, 3, 8, 12, 0, tzinfo=UTC),
        ),
        # Fall back on 1 November 2026: 08:00 EST is 13:00 UTC (12:00 before).
        (
            datetime(2026, 11, 1, 4, 30, tzinfo=UTC),
            datetime(2026, 11, 1, 13, 0, tzinfo=UTC),
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_steps_fire_on_time_across_dst_and_page_who_is_on_call_then(
    ctx: Context,
    clock: ManualClock,
    opened: datetime,
    handoff: datetime,
) -> None:
    """Every step pages exactly 45 elapsed minutes after the one before it, not
    a second early; the person paged changes at the local 08:00 handoff."""
    clock.set(opened - timedelta(days=10))
    ann = make_user(ctx, "ann@example.com")
    bob = make_user(ctx, "bob@example.com")
    schedule = _daily_schedule(ctx, [ann.id, bob.id])
    policy = make_policy(
        ctx,
        "follow the sun",
        [(45, [("schedule", schedule)]), (45, [("schedule", schedule)])],
        repeat=7,
    )
    make_service_with(ctx, "checkout", policy)
    integration, _ = make_integration(ctx, "checkout")
    channel = RecordingChannel()
    worker = Worker(ctx, {"email": channel})

    clock.set(opened)
    alerts.ingest(ctx, integration, [trigger()])
    worker.run_once()
    fired = [(clock.now(), _paged(channel)[-1])]

    while (due := _next_due(ctx)) is not None:
        clock.set(due - timedelta(seconds=1))
        worker.run_once()
        assert len(_paged(channel)) == len(fired), "a step fired early"
        clock.set(due)
        worker.run_once()
        assert len(_paged(channel)) == len(fired) + 1, "a step was late"
        fired.append((due, _paged(channel)[-1]))

    assert len(fired) == 16
    assert [at for at, _ in fired] == [
        opened + timedelta(minutes=45 * k) for k in range(16)
    ]
    before = {who for at, who in fired if at < handoff}
    after = {who for at, who in fired if at >= handoff}
    assert len(before) == 1
    assert len(after) == 1
    assert before != after
