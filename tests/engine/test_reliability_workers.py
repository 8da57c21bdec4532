"""Reliability proof on PostgreSQL: four workers, each with its own database
connection pool, share 200 simultaneous incidents' escalations. Every step
fires exactly once and no page is sent twice for the same step."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.builders import make_integration, make_user, trigger
from tests.services.escalation_helpers import (
    RecordingChannel,
    make_policy,
    make_service_with,
)
from tocsin.clock import ManualClock
from tocsin.engine.worker import Worker
from tocsin.services import alerts, escalation
from tocsin.services.context import Context
from tocsin.store.db import Database
from tocsin.store.models import OutboxMessage, TimelineEntry, Timer

INCIDENTS = 200
WORKERS = 4
STEPS = 3
PASSES = 2


def _run_together(workers: list[Worker], handled: Counter[int]) -> None:
    """Every worker drains what is due, all at once, until none finds work;
    `handled` counts the timers and messages each one did."""
    start = threading.Barrier(len(workers))
    failures: list[BaseException] = []

    def drain(worker: Worker) -> None:
        try:
            start.wait()
            while done := worker.run_once():
                handled[id(worker)] += done
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_four_workers_fire_every_step_of_200_incidents_exactly_once(
    ctx: Context, clock: ManualClock, db: Database
) -> None:
    """1,200 steps, 1,200 pages, each (incident, step, pass) exactly once."""
    if db.is_sqlite:
        pytest.skip("several workers share work on PostgreSQL only")

    people = [make_user(ctx, f"{name}@example.com") for name in ("ann", "bob", "cat")]
    policy = make_policy(
        ctx,
        "p",
        [(2, [("user", person.id)]) for person in people],
        repeat=PASSES - 1,
    )
    make_service_with(ctx, "checkout", policy)
    integration, _ = make_integration(ctx, "checkout")
    alerts.ingest(ctx, integration, [trigger(f"alert-{i}") for i in range(INCIDENTS)])

    channel = RecordingChannel()
    databases = [
        Database(db.url.render_as_string(hide_password=False)) for _ in range(WORKERS)
    ]
    workers = [
        Worker(
            Context(db=database, settings=ctx.settings, clock=clock), {"email": channel}
        )
        for database in databases
    ]
    handled: Counter[int] = Counter()
    try:
        for _ in range(STEPS * PASSES + 1):
            _run_together(workers, handled)
            clock.advance(minutes=2)
    finally:
        for database in databases:
            database.dispose()

    pages = [m for m in channel.sent if m.payload.get("kind") == "page"]
    per_step = Counter(
        (m.payload["incident_number"], m.payload["reason"], m.recipient) for m in pages
    )
    # The work really was shared.
    assert len(handled) == WORKERS
    assert len(pages) == INCIDENTS * STEPS * PASSES
    assert set(per_step.values()) == {1}
    assert len({m.idempotency_key for m in pages}) == len(pages)

    with ctx.db.read() as session:
        escalated = Counter(
            session.scalars(
                select(TimelineEntry.incident_id).where(
                    TimelineEntry.kind == "escalated"
                )
            )
        )
        outbox = session.scalar(select(func.count()).select_from(OutboxMessage))
        unsent = session.scalar(
            select(func.count()).where(OutboxMessage.status != "sent")
        )
        left = session.scalar(
            select(func.count()).where(Timer.kind.in_(escalation.KINDS))
        )
    assert len(escalated) == INCIDENTS
    assert set(escalated.values()) == {STEPS * PASSES}
    assert outbox == INCIDENTS * STEPS * PASSES
    assert unsent == 0
    assert left == 0
