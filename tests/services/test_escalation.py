"""Escalation stepping end to end through the services and the worker, with an
injected clock and a channel that records instead of sending."""

from __future__ import annotations

from dataclasses import dataclass, field

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
from tocsin.channels.base import DeliveryError, Outbound
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.services import alerts, incidents
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import OutboxMessage


@dataclass
class RecordingChannel:
    kind: str = "email"
    sent: list[Outbound] = field(default_factory=list)
    fail: bool = False

    def send(self, message: Outbound) -> None:
        if self.fail:
            raise DeliveryError("mail server says no")
        self.sent.append(message)

    def recipients(self) -> list[str]:
        return [m.recipient for m in self.sent]


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
def worker(ctx: Context, channel: RecordingChannel) -> Worker:
    return Worker(ctx, {"email": channel})


@pytest.fixture
def two_step_service(ctx: Context) -> tuple[int, IntegrationRef]:
    ann = make_user(ctx, "ann@example.com")
    bob = make_user(ctx, "bob@example.com")
    make_service(ctx, steps=[(5, [ann]), (10, [bob])], repeat=1)
    integration, _ = make_integration(ctx)
    return ann.id, integration


def test_first_step_pages_at_once_and_next_step_after_its_delay(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    channel: RecordingChannel,
    two_step_service: tuple[int, IntegrationRef],
) -> None:
    _, integration = two_step_service
    [outcome] = alerts.ingest(ctx, integration, [trigger()])
    assert outcome.result == alerts.CREATED

    worker.run_once()
    assert channel.recipients() == ["ann@example.com"]

    clock.advance(minutes=4, seconds=59)
    worker.run_once()
    assert channel.recipients() == ["ann@example.com"]

    clock.advance(seconds=1)
    worker.run_once()
    assert channel.recipients() == ["ann@example.com", "bob@example.com"]

    # Second pass (repeat=1): step 1 again 10 minutes after step 2.
    clock.advance(minutes=10)
    worker.run_once()
    assert channel.recipients()[-1] == "ann@example.com"
    clock.advance(minutes=5)
    worker.run_once()
    assert channel.recipients()[-1] == "bob@example.com"

    # Exhausted: nothing more, however long we wait.
    clock.advance(hours=5)
    worker.run_once()
    assert len(channel.sent) == 4
    detail = incidents.get(ctx, SYSTEM, outcome.incident_number or 0)
    kinds = [e.kind for e in detail.timeline if e.kind != "page_sent"]
    assert kinds[-1] == "escalation_exhausted"


def test_acknowledgement_stops_escalation(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    channel: RecordingChannel,
    two_step_service: tuple[int, IntegrationRef],
) -> None:
    _, integration = two_step_service
    [outcome] = alerts.ingest(ctx, integration, [trigger()])
    worker.run_once()

    ann = actor_of(ctx, user_by_email(ctx, "ann@example.com"))
    incidents.acknowledge(ctx, ann, outcome.incident_number or 0)
    clock.advance(hours=1)
    worker.run_once()

    assert channel.recipients() == ["ann@example.com"]
    kinds = [e.kind for e in incidents.get(ctx, ann, 1).timeline]
    assert kinds.count("acknowledged") == 1


def test_failing_channel_retries_then_marks_failed_on_timeline(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    channel: RecordingChannel,
    two_step_service: tuple[int, IntegrationRef],
) -> None:
    _, integration = two_step_service
    channel.fail = True
    alerts.ingest(ctx, integration, [trigger()])

    for _ in range(ctx.settings.outbox_max_attempts):
        worker.run_once()
        clock.advance(minutes=20)

    with ctx.db.read() as session:
        first = session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id)
        ).first()
        assert first is not None
        assert first.status == "failed"
        assert first.attempts == ctx.settings.outbox_max_attempts
        assert len(first.delivery_attempts) == first.attempts
    timeline = incidents.get(ctx, SYSTEM, 1).timeline
    assert any(e.kind == "page_failed" for e in timeline)
