"""Reliability proof on PostgreSQL: a worker process killed with SIGKILL in
the middle of escalating 30 incidents, then started again. No step is lost,
none fires twice, steps that came due while it was dead fire as soon as the
new worker runs (at most one lease later, for steps the dead one had
claimed), and every page reaches the SMTP server.

The worker processes share a clock that runs 20 times faster than the wall
clock (tests/engine/fast_worker.py), so one-minute steps take three seconds.
Times asserted are that clock's, as recorded in the database.
"""

from __future__ import annotations

import itertools
import os
import secrets
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.builders import make_integration, make_user, trigger
from tests.e2e.harness import Mailbox, ServerProcess, tocsin_env, wait_for
from tests.engine.fast_worker import FastClock
from tests.services.escalation_helpers import make_policy, make_service_with
from tocsin.engine.worker import LEASE
from tocsin.services import alerts
from tocsin.services.context import Context
from tocsin.store.db import Database
from tocsin.store.models import Incident, OutboxMessage, TimelineEntry

INCIDENTS = 30
STEPS = 3
PASSES = 2
SPEED = 20.0
# Scheduling of two processes on a busy machine, in the fast clock's seconds:
# 9 s of wall clock. 4.5 s was once exceeded by a step of the first worker,
# still alive, on a machine at load 9; a lost step would be minutes late.
SLACK = timedelta(seconds=180)
ROOT = Path(__file__).resolve().parents[2]


def _escalated(db: Database) -> list[tuple[int, datetime, int, int]]:
    """(incident id, at, step, pass) of every escalation step that paged."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(TimelineEntry.incident_id, TimelineEntry.at, TimelineEntry.data)
            .where(TimelineEntry.kind == "escalated")
            .order_by(TimelineEntry.id)
        ).all()
    return [(i, at, data["step"], data["loop"]) for i, at, data in rows]


def _start_worker(
    env: dict[str, str], workdir: Path, clock: FastClock, name: str
) -> ServerProcess:
    args = [clock.epoch.isoformat(), repr(clock.origin), repr(clock.speed)]
    command = [sys.executable, "-m", "tests.engine.fast_worker", *args]
    return ServerProcess(name, command, env=env, workdir=workdir)


def test_a_worker_killed_mid_escalation_loses_no_step(
    db: Database, ctx: Context, tmp_path: Path
) -> None:
    """SIGKILL mid-escalation, restart: every step fires once, overdue steps
    fire at once, and every page is delivered."""
    if db.is_sqlite:
        pytest.skip("a separate worker process runs against PostgreSQL")

    clock = FastClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), time.time(), SPEED)
    fast = Context(db=db, settings=ctx.settings, clock=clock)
    people = [make_user(fast, f"{name}@example.com") for name in ("ann", "bob", "cat")]
    policy = make_policy(
        fast, "p", [(1, [("user", p.id)]) for p in people], repeat=PASSES - 1
    )
    make_service_with(fast, "checkout", policy)
    integration, _ = make_integration(fast, "checkout")

    mailbox = Mailbox()
    mailbox.start()
    env = tocsin_env(
        database_url=db.url.render_as_string(hide_password=False),
        base_url="http://tocsin.test",
        smtp_port=mailbox.port,
        secret=secrets.token_urlsafe(32),
    )
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["TOCSIN_WORKER_POLL_SECONDS"] = "0.1"
    total = INCIDENTS * STEPS * PASSES

    first = _start_worker(env, tmp_path, clock, "first")
    second: ServerProcess | None = None
    try:
        alerts.ingest(fast, integration, [trigger(f"a-{i}") for i in range(INCIDENTS)])
        # Mid-escalation: some second steps have paged, most steps are ahead.
        wait_for(
            lambda: len(_escalated(db)) > INCIDENTS,
            what="the first worker to start the second steps",
            diagnose=first.log_tail,
        )
        first.process.kill()
        first.process.wait(timeout=10)
        killed_at = clock.now()
        fired_before = len(_escalated(db))
        assert fired_before < total

        # Dead for two of the fast clock's minutes: steps come due meanwhile.
        time.sleep(120 / SPEED)
        second = _start_worker(env, tmp_path, clock, "second")
        wait_for(
            lambda: "worker started" in second.log() if second else False,
            what="the second worker to start",
        )
        restarted_at = clock.now()
        wait_for(
            lambda: len(_escalated(db)) >= total and _all_sent(db),
            what="every step fired and every page sent",
            timeout=120,
            diagnose=second.log_tail,
        )
        time.sleep(1)
    finally:
        first.stop()
        if second is not None:
            second.stop()
        mailbox.stop()

    fired = _escalated(db)
    per_step = Counter((incident, step, loop) for incident, _, step, loop in fired)
    assert len(per_step) == total
    assert set(per_step.values()) == {1}

    # Each step fires when due, or at once after the restart if it came due
    # while no worker ran; a step the killed worker had claimed waits out its
    # lease at most.
    by_incident: dict[int, list[datetime]] = {}
    for incident, at, _, _ in fired:
        by_incident.setdefault(incident, []).append(at)
    late = []
    for times in by_incident.values():
        for before, at in itertools.pairwise(times):
            due = before + timedelta(minutes=1)
            if at <= killed_at:
                bound = due + SLACK
            else:
                bound = max(due, restarted_at) + LEASE + SLACK
            if at > bound:
                late.append((due, at, killed_at, restarted_at))
    assert late == []

    # Every page reached the mail server; SIGKILL between a send and its
    # record can repeat at most the one message in flight.
    with db.engine.connect() as conn:
        messages = conn.execute(
            select(
                OutboxMessage.recipient, Incident.number, OutboxMessage.payload
            ).join(Incident, Incident.id == OutboxMessage.incident_id)
        ).all()
    assert len(messages) == total
    received = Counter(
        (recipient, mail.subject.split()[1])
        for mail in mailbox.mails()
        for recipient in mail.recipients
    )
    wanted = Counter((r, f"#{number}") for r, number, _ in messages)
    assert all(received[key] >= count for key, count in wanted.items())
    assert sum(received.values()) - total <= 1


def _all_sent(db: Database) -> bool:
    with db.engine.connect() as conn:
        waiting = conn.execute(
            select(func.count()).where(OutboxMessage.status != "sent")
        ).scalar()
    return waiting == 0
