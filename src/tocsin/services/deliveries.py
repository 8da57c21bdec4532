"""What happened to queued messages: counts by channel and status, and the
failures, so a broken channel is seen before someone misses a page."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select

from tocsin.domain.access import Actor, Role, require_role
from tocsin.services.context import Context
from tocsin.store.models import Incident, OutboxMessage


class ChannelCounts(BaseModel):
    channel: str
    pending: int = 0
    sent: int = 0
    failed: int = 0
    cancelled: int = 0


class FailedMessage(BaseModel):
    id: int
    channel: str
    recipient: str
    incident_number: int | None
    attempts: int
    last_error: str
    created_at: datetime


class DeliveryReport(BaseModel):
    failed_total: int
    channels: list[ChannelCounts]
    recent_failures: list[FailedMessage]


def report(ctx: Context, actor: Actor, *, limit: int = 20) -> DeliveryReport:
    """Counts of every message by channel and status, and the latest failures.

    Needs the responder role: recipients are colleagues' addresses."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.read() as session:
        counts: dict[str, ChannelCounts] = {}
        for channel, status, count in session.execute(
            select(OutboxMessage.channel, OutboxMessage.status, func.count())
            .group_by(OutboxMessage.channel, OutboxMessage.status)
            .order_by(OutboxMessage.channel)
        ):
            row = counts.setdefault(channel, ChannelCounts(channel=channel))
            if status in ("pending", "sent", "failed", "cancelled"):
                setattr(row, status, count)

        failures = [
            FailedMessage(
                id=message.id,
                channel=message.channel,
                recipient=message.recipient,
                incident_number=number,
                attempts=message.attempts,
                last_error=message.last_error,
                created_at=message.created_at,
            )
            for message, number in session.execute(
                select(OutboxMessage, Incident.number)
                .outerjoin(Incident, Incident.id == OutboxMessage.incident_id)
                .where(OutboxMessage.status == "failed")
                .order_by(OutboxMessage.id.desc())
                .limit(limit)
            )
        ]
    return DeliveryReport(
        failed_total=sum(row.failed for row in counts.values()),
        channels=list(counts.values()),
        recent_failures=failures,
    )
