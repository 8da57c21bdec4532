"""The worker: leases, several workers at once, and at-least-once delivery."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from tests.builders import make_integration, make_service, make_user, trigger
from tocsin.channels.base import Outbound
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import LEASE, Worker
from tocsin.services import alerts, incidents
from tocsin.services.context import Context
from tocsin.store.models import DeliveryAttempt, OutboxMessage


@dataclass
class CountingChannel:
    kind: str = "email"
    sent: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: Outbound) -> None:
        with self.lock:
            self.sent.append(message.idempotency_key)


def queue_pages(ctx: Context, incidents: int) -> None:
    """`incidents` incidents, each paging three people by email."""
    people = [make_user(ctx, f"p{i}@example.com") for i in range(3)]
    make_service(ctx, steps=[(5, people)])
    integration, _ = make_integration(ctx)
    alerts.ingest(ctx, integration, [trigger(f"k{i}") for i in range(incidents)])


def test_two_workers_share_the_outbox_without_sending_twice(ctx: Context) -> None:
    queue_pages(ctx, incidents=20)
    channel = CountingChannel()
    workers = [Worker(ctx, {"email": channel}) for _ in range(2)]

    threads = [threading.Thread(target=w.run_once) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(channel.sent) == 60
    assert len(set(channel.sent)) == 60
    with ctx.db.read() as session:
        statuses = session.scalars(select(OutboxMessage.status)).all()
        attempts = session.scalar(select(func.count(DeliveryAttempt.id)))
    assert set(statuses) == {"sent"}
    assert attempts == 60


def test_a_message_claimed_by_a_dead_worker_is_sent_after_its_lease(
    ctx: Context, clock: ManualClock
) -> None:
    queue_pages(ctx, incidents=1)
    channel = CountingChannel()
    worker = Worker(ctx, {"email": channel})

    # A worker that claims and then dies before sending anything.
    claimed = worker._claim_messages()
    assert len(claimed) == 3
    worker.run_once()
    assert channel.sent == []

    clock.advance(seconds=LEASE.total_seconds() + 1)
    worker.run_once()
    assert len(channel.sent) == 3


def test_a_message_without_a_channel_is_retried_not_dropped(
    ctx: Context, clock: ManualClock
) -> None:
    queue_pages(ctx, incidents=1)
    worker = Worker(ctx, {})

    worker.run_once()
    clock.advance(minutes=1)

    with ctx.db.read() as session:
        message = session.scalars(select(OutboxMessage)).first()
        assert message is not None
        assert message.status == "pending"
        assert message.attempts == 1
        assert "no channel" in message.last_error
        assert message.next_attempt_at > ctx.clock.now() - timedelta(minutes=1)


def test_a_page_queued_before_an_acknowledgement_is_not_sent(ctx: Context) -> None:
    queue_pages(ctx, incidents=1)
    incidents.acknowledge(ctx, SYSTEM, 1)
    channel = CountingChannel()

    Worker(ctx, {"email": channel}).run_once()

    assert channel.sent == []
    with ctx.db.read() as session:
        rows = session.execute(select(OutboxMessage.status, OutboxMessage.last_error))
        assert {tuple(row) for row in rows} == {
            ("cancelled", "not sent: incident is acknowledged")
        }
    cancelled = [
        e.message
        for e in incidents.get(ctx, SYSTEM, 1).timeline
        if e.kind == "page_cancelled"
    ]
    assert len(cancelled) == 3
    assert cancelled[0].endswith("not sent: incident is acknowledged")


def test_a_sent_page_is_on_the_timeline(ctx: Context) -> None:
    queue_pages(ctx, incidents=1)

    Worker(ctx, {"email": CountingChannel()}).run_once()

    sent = [e for e in incidents.get(ctx, SYSTEM, 1).timeline if e.kind == "page_sent"]
    assert sorted(e.message for e in sent) == [
        f"Page sent to p{i}@example.com by email" for i in range(3)
    ]


def test_a_wake_up_before_the_commit_is_not_lost(ctx: Context) -> None:
    """A page queued by a transaction that commits after waking the worker is
    sent at once, not after the next poll (here a minute away)."""
    slow_poll = Context(
        db=ctx.db,
        settings=ctx.settings.model_copy(update={"worker_poll_seconds": 60}),
        clock=ctx.clock,
    )
    channel = CountingChannel()
    stop = threading.Event()
    worker = threading.Thread(
        target=Worker(slow_poll, {"email": channel}).run_forever, args=(stop,)
    )
    worker.start()
    try:
        with slow_poll.db.write() as session:
            session.add(
                OutboxMessage(
                    channel="email",
                    recipient="ann@example.com",
                    idempotency_key="late-commit",
                    next_attempt_at=ctx.clock.now(),
                    created_at=ctx.clock.now(),
                )
            )
            session.flush()
            slow_poll.work_queued.set()
            # Let the worker run its pass before this transaction commits.
            time.sleep(0.1)

        delivered = threading.Event()
        for _ in range(200):
            if channel.sent:
                delivered.set()
                break
            time.sleep(0.05)
    finally:
        stop.set()
        slow_poll.work_queued.set()
        worker.join(timeout=30)

    assert delivered.is_set()
    assert channel.sent == ["late-commit"]


def test_a_message_whose_lease_ran_out_mid_batch_is_left_to_its_new_claimer(
    ctx: Context, clock: ManualClock
) -> None:
    """A batch that outlasts its lease (slow providers): another worker claims
    what is left of it, and the first one must not send those pages as well."""
    queue_pages(ctx, incidents=1)
    other = Worker(ctx, {"email": CountingChannel()})
    taken: list[int] = []

    @dataclass
    class SlowChannel(CountingChannel):
        def send(self, message: Outbound) -> None:
            super().send(message)
            if len(self.sent) == 1:
                # The first page took longer than the lease; meanwhile the
                # other worker claimed the rest of the batch.
                clock.advance(seconds=LEASE.total_seconds() + 1)
                taken.extend(other._claim_messages())

    slow = SlowChannel()
    Worker(ctx, {"email": slow})._run_outbox()

    assert len(taken) == 3
    assert len(slow.sent) == 1
