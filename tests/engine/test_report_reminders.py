"""The worker reminds a report's triage owner while nobody triages it, four
times at most, and not at all once it is triaged."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import select

from tests.builders import actor_of, make_user
from tocsin.channels.base import Outbound
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.services import reports, triage
from tocsin.services.context import Context
from tocsin.store.models import OutboxMessage


@dataclass
class Inbox:
    kind: str = "email"
    subjects: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: Outbound) -> None:
        with self.lock:
            self.subjects.append(message.subject)


def test_reminders_stop_after_four_and_after_triage(
    ctx: Context, clock: ManualClock
) -> None:
    """One notice at once and one per reminder period, four reminders in all;
    a report triaged in between is reminded no more."""
    owner = make_user(ctx, "olga@example.com")
    triage.set_owner(ctx, SYSTEM, user_id=owner.id)
    actor = actor_of(ctx, owner)
    reports.report_as_staff(ctx, actor, title="Waiting")
    triaged = reports.report_as_staff(ctx, actor, title="Triaged")
    inbox = Inbox()
    worker = Worker(ctx, {"email": inbox})

    worker.run_once()
    reports.dismiss(ctx, actor, triaged.id, "Duplicate of the other")
    for _ in range(6):
        clock.advance(minutes=15)
        worker.run_once()
        worker.run_once()

    about_waiting = [s for s in inbox.subjects if "Waiting" in s]
    about_triaged = [s for s in inbox.subjects if "Triaged" in s]
    assert len(about_waiting) == 5
    assert sum("reminder" in s for s in about_waiting) == 4
    assert len(about_triaged) == 1
    with ctx.db.read() as session:
        statuses = set(session.scalars(select(OutboxMessage.status)))
    assert statuses == {"sent"}
