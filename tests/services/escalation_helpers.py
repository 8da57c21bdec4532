"""What the escalation tests share: a channel that records, a worker that uses
it, and a builder for policies with any kind of target."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from tocsin.channels.base import DeliveryError, Outbound
from tocsin.services import users
from tocsin.services.context import Context
from tocsin.store.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Service,
    TimelineEntry,
)

# A target as tests write it: ("user" | "schedule" | "team", id).
TargetSpec = tuple[str, int]


@dataclass
class RecordingChannel:
    kind: str = "email"
    sent: list[Outbound] = field(default_factory=list)
    fail: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: Outbound) -> None:
        if self.fail:
            raise DeliveryError("mail server says no")
        with self.lock:
            self.sent.append(message)

    def recipients(self) -> list[str]:
        return [m.recipient for m in self.sent]


def make_policy(
    ctx: Context,
    name: str,
    steps: Sequence[tuple[int, Sequence[TargetSpec]]],
    *,
    repeat: int = 0,
    round_robin: Sequence[int] = (),
    ack_timeout_minutes: int | None = None,
    team: str = "Ops",
) -> int:
    """A policy; `round_robin` lists the (0-based) steps that take turns."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        owner = users.ensure_team(session, team, now)
        policy = EscalationPolicy(
            name=name,
            team_id=owner.id,
            repeat=repeat,
            ack_timeout_minutes=ack_timeout_minutes,
            created_at=now,
        )
        policy.steps = [
            EscalationStep(
                position=i,
                delay_minutes=delay,
                round_robin=i in round_robin,
                targets=[
                    EscalationTarget(target_type=kind, **{f"{kind}_id": target_id})
                    for kind, target_id in targets
                ],
            )
            for i, (delay, targets) in enumerate(steps)
        ]
        session.add(policy)
        session.flush()
        return policy.id


def make_service_with(
    ctx: Context, name: str, policy_id: int | None, team: str = "Ops"
) -> int:
    now = ctx.clock.now()
    with ctx.db.write() as session:
        owner = users.ensure_team(session, team, now)
        service = Service(
            name=name, team_id=owner.id, escalation_policy_id=policy_id, created_at=now
        )
        session.add(service)
        session.flush()
        return service.id


def timeline_kinds(ctx: Context, incident_number: int) -> list[str]:
    with ctx.db.read() as session:
        from tocsin.store.models import Incident

        incident_id = session.scalar(
            select(Incident.id).where(Incident.number == incident_number)
        )
        return list(
            session.scalars(
                select(TimelineEntry.kind)
                .where(TimelineEntry.incident_id == incident_id)
                .order_by(TimelineEntry.id)
            )
        )


def timeline_messages(ctx: Context, incident_number: int, kind: str) -> list[str]:
    with ctx.db.read() as session:
        from tocsin.store.models import Incident

        incident_id = session.scalar(
            select(Incident.id).where(Incident.number == incident_number)
        )
        return list(
            session.scalars(
                select(TimelineEntry.message)
                .where(
                    TimelineEntry.incident_id == incident_id,
                    TimelineEntry.kind == kind,
                )
                .order_by(TimelineEntry.id)
            )
        )
