"""Maintenance windows: incidents open but page nobody during a window, held
steps page when it ends, and windows recur at local wall-clock times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.builders import actor_of, make_integration, make_user, resolve, trigger
from tests.services.escalation_helpers import (
    RecordingChannel,
    make_policy,
    make_service_with,
    timeline_kinds,
)
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.errors import InvalidInput, NotFound
from tocsin.services import alerts, incidents, maintenance
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import AuditRecord, OutboxMessage, Timer


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
def worker(ctx: Context, channel: RecordingChannel) -> Worker:
    return Worker(ctx, {"email": channel})


@pytest.fixture
def integration(ctx: Context) -> IntegrationRef:
    ann = make_user(ctx, "ann@example.com")
    bob = make_user(ctx, "bob@example.com")
    policy = make_policy(ctx, "p", [(10, [("user", ann.id)]), (10, [("user", bob.id)])])
    make_service_with(ctx, "checkout", policy)
    found, _ = make_integration(ctx, "checkout")
    return found


def test_an_alert_in_a_window_opens_an_incident_that_pages_when_it_ends(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    channel: RecordingChannel,
    integration: IntegrationRef,
) -> None:
    """Recorded during the window, paged as usual once it is over."""
    now = clock.now()
    maintenance.create_window(
        ctx, SYSTEM, "checkout", starts_at=now, ends_at=now + timedelta(hours=1)
    )

    [outcome] = alerts.ingest(ctx, integration, [trigger()])
    worker.run_once()
    assert outcome.result == alerts.CREATED
    assert channel.sent == []
    assert "escalation_held" in timeline_kinds(ctx, outcome.incident_number or 0)

    clock.advance(minutes=59)
    worker.run_once()
    assert channel.sent == []

    clock.advance(minutes=1)
    worker.run_once()
    assert channel.recipients() == ["ann@example.com"]
    clock.advance(minutes=10)
    worker.run_once()
    assert channel.recipients() == ["ann@example.com", "bob@example.com"]


def test_a_window_holds_steps_already_scheduled_when_it_starts(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    channel: RecordingChannel,
    integration: IntegrationRef,
) -> None:
    """Step 2, due inside a window that began after step 1, waits for its end."""
    alerts.ingest(ctx, integration, [trigger()])
    worker.run_once()
    assert channel.recipients() == ["ann@example.com"]

    start = clock.advance(minutes=5)
    maintenance.create_window(
        ctx, SYSTEM, "checkout", starts_at=start, ends_at=start + timedelta(hours=2)
    )
    clock.advance(minutes=5)
    worker.run_once()
    assert channel.recipients() == ["ann@example.com"]

    clock.set(start + timedelta(hours=2))
    worker.run_once()
    assert channel.recipients() == ["ann@example.com", "bob@example.com"]


def test_a_page_waiting_to_be_retried_is_held_by_a_window_too(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    channel: RecordingChannel,
    integration: IntegrationRef,
) -> None:
    """Step 1's page failed once (the mail server was down) and its retry
    falls inside a window that began meanwhile: it waits for the window's
    end like any other page, without spending an attempt."""
    channel.fail = True
    alerts.ingest(ctx, integration, [trigger()])
    worker.run_once()
    start = clock.advance(seconds=1)
    maintenance.create_window(
        ctx, SYSTEM, "checkout", starts_at=start, ends_at=start + timedelta(hours=2)
    )
    channel.fail = False

    clock.advance(minutes=1)
    worker.run_once()
    assert channel.recipients() == []

    clock.set(start + timedelta(hours=2))
    worker.run_once()
    worker.run_once()
    assert sorted(channel.recipients()) == ["ann@example.com", "bob@example.com"]
    with ctx.db.read() as session:
        [page] = session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == "ann@example.com")
        ).all()
    assert (page.status, page.attempts) == ("sent", 2)


def test_alerts_that_clear_during_the_window_page_nobody_and_leave_nothing(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    channel: RecordingChannel,
    integration: IntegrationRef,
) -> None:
    """A resolved incident's held step is dropped; no timer stays behind."""
    now = clock.now()
    maintenance.create_window(
        ctx, SYSTEM, "checkout", starts_at=now, ends_at=now + timedelta(hours=1)
    )
    alerts.ingest(ctx, integration, [trigger()])
    clock.advance(minutes=30)
    alerts.ingest(ctx, integration, [resolve()])
    clock.advance(hours=2)
    worker.run_once()

    assert channel.sent == []
    with ctx.db.read() as session:
        assert session.scalars(select(Timer)).all() == []


def test_deleting_a_window_in_progress_pages_held_incidents_now(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    channel: RecordingChannel,
    integration: IntegrationRef,
) -> None:
    """Ending maintenance early releases what it held, at once."""
    now = clock.now()
    window = maintenance.create_window(
        ctx, SYSTEM, "checkout", starts_at=now, ends_at=now + timedelta(hours=4)
    )
    alerts.ingest(ctx, integration, [trigger()])
    worker.run_once()
    clock.advance(minutes=3)

    maintenance.delete_window(ctx, SYSTEM, window.id)
    worker.run_once()

    assert channel.recipients() == ["ann@example.com"]
    with ctx.db.read() as session:
        actions = session.scalars(select(AuditRecord.action)).all()
    assert "maintenance.delete" in actions
    with pytest.raises(NotFound):
        maintenance.delete_window(ctx, SYSTEM, window.id)


def test_a_weekly_window_recurs_at_the_same_local_time_across_dst(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    channel: RecordingChannel,
    integration: IntegrationRef,
) -> None:
    """Sundays 02:00-04:00 Berlin: CET before 29 March 2026, CEST after."""
    first = datetime(2026, 3, 22, 1, 0, tzinfo=UTC)  # 02:00 CET
    maintenance.create_window(
        ctx,
        SYSTEM,
        "checkout",
        starts_at=first,
        ends_at=first + timedelta(hours=2),
        recurrence="weekly",
        time_zone="Europe/Berlin",
    )

    # Sunday 5 April, 02:30 CEST is 00:30 UTC: inside the window.
    clock.set(datetime(2026, 4, 5, 0, 30, tzinfo=UTC))
    [outcome] = alerts.ingest(ctx, integration, [trigger("a")])
    worker.run_once()
    assert channel.sent == []
    # The occurrence ends at 04:00 CEST, 02:00 UTC, not 03:00 UTC.
    clock.set(datetime(2026, 4, 5, 1, 59, tzinfo=UTC))
    worker.run_once()
    assert channel.sent == []
    clock.set(datetime(2026, 4, 5, 2, 0, tzinfo=UTC))
    worker.run_once()
    assert channel.recipients() == ["ann@example.com"]

    # 02:30 UTC on that Sunday is 04:30 local: outside, pages at once.
    incidents.resolve(ctx, SYSTEM, outcome.incident_number or 0)
    clock.set(datetime(2026, 4, 5, 2, 30, tzinfo=UTC))
    alerts.ingest(ctx, integration, [trigger("b")])
    worker.run_once()
    assert channel.recipients() == ["ann@example.com", "ann@example.com"]


def test_windows_list_by_service_and_show_the_next_occurrence(
    ctx: Context, clock: ManualClock, integration: IntegrationRef
) -> None:
    """A daily window lists its next occurrence; a past one-off is left out."""
    now = clock.now()
    maintenance.create_window(
        ctx,
        SYSTEM,
        "checkout",
        starts_at=now - timedelta(days=2),
        ends_at=now - timedelta(days=2) + timedelta(hours=1),
    )
    daily = maintenance.create_window(
        ctx,
        SYSTEM,
        "checkout",
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
        recurrence="daily",
        time_zone="America/New_York",
        description="nightly backup",
    )

    clock.advance(days=3)
    [shown] = maintenance.list_windows(ctx, SYSTEM, "checkout")

    assert shown.id == daily.id
    assert shown.description == "nightly backup"
    assert shown.current_or_next_start == now + timedelta(days=3, hours=1)
    assert not shown.active


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ends_at": -1}, "end after it starts"),
        ({"recurrence": "hourly"}, "recurrence is one of"),
        ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"recurrence": "daily", "ends_at": 25}, "shorter than its period"),
        ({"naive": True}, "time zone offset"),
    ],
)
def test_bad_windows_are_refused_and_nothing_is_stored(
    ctx: Context,
    clock: ManualClock,
    integration: IntegrationRef,
    change: dict[str, object],
    message: str,
) -> None:
    """Each malformed window is InvalidInput with a clear message."""
    now = clock.now()
    starts = now.replace(tzinfo=None) if change.get("naive") else now
    hours = change.get("ends_at", 1)
    assert isinstance(hours, int)
    with pytest.raises(InvalidInput, match=message):
        maintenance.create_window(
            ctx,
            SYSTEM,
            "checkout",
            starts_at=starts,
            ends_at=now + timedelta(hours=hours),
            recurrence=str(change.get("recurrence", "once")),
            time_zone=str(change.get("time_zone", "UTC")),
        )
    assert maintenance.list_windows(ctx, SYSTEM) == []


@pytest.mark.parametrize(
    ("starts_at", "recurrence"),
    [
        # The year 10000 in UTC, and the year 0 in UTC.
        (datetime.fromisoformat("9999-12-31T20:00:00-05:00"), "once"),
        (datetime.fromisoformat("0001-01-01T01:00:00+14:00"), "daily"),
        # Instants in range, but a wall clock no rota reads.
        (datetime(9999, 12, 30, 20, tzinfo=UTC), "weekly"),
        (datetime(1900, 1, 1, tzinfo=UTC), "daily"),
    ],
)
def test_a_window_off_the_calendar_is_refused_not_an_error(
    ctx: Context, integration: IntegrationRef, starts_at: datetime, recurrence: str
) -> None:
    """Times that overflow in UTC, or lie far outside any real plan, are
    InvalidInput (a 400), never an OverflowError (a 500)."""
    with pytest.raises(InvalidInput, match="between 1970 and 2199"):
        maintenance.create_window(
            ctx,
            SYSTEM,
            "checkout",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            recurrence=recurrence,
            time_zone="Pacific/Kiritimati",
        )
    assert maintenance.list_windows(ctx, SYSTEM) == []


def test_only_the_owning_team_sees_and_changes_windows(
    ctx: Context, clock: ManualClock, integration: IntegrationRef
) -> None:
    """A responder of another team finds no such service or window."""
    outsider = actor_of(ctx, make_user(ctx, "out@example.com", teams=("Other",)))
    now = clock.now()
    window = maintenance.create_window(
        ctx, SYSTEM, "checkout", starts_at=now, ends_at=now + timedelta(hours=1)
    )

    with pytest.raises(NotFound):
        maintenance.create_window(
            ctx, outsider, "checkout", starts_at=now, ends_at=now + timedelta(hours=1)
        )
    with pytest.raises(NotFound):
        maintenance.delete_window(ctx, outsider, window.id)
    assert maintenance.list_windows(ctx, outsider) == []
