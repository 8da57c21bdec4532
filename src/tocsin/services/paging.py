"""Pages: turning "notify this person about this incident" into outbox messages."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.services import links
from tocsin.services.context import Context
from tocsin.services.records import add_timeline
from tocsin.store.models import ContactMethod, Incident, OutboxMessage, User

# Contact method kinds that have a channel today.
DELIVERABLE = ("email",)


def page_user(
    session: Session, ctx: Context, incident: Incident, user: User, *, reason: str
) -> int:
    """Queue a page to every deliverable contact method of `user`.

    Returns how many messages were queued. A user with no way to be reached is
    said on the timeline rather than skipped in silence.
    """
    now = ctx.clock.now()
    methods = session.scalars(
        select(ContactMethod)
        .where(ContactMethod.user_id == user.id)
        .where(ContactMethod.kind.in_(DELIVERABLE))
        .order_by(ContactMethod.id)
    ).all()
    if not user.active or not methods:
        add_timeline(
            session,
            incident,
            at=now,
            kind="page_skipped",
            message=f"{user.name} has no contact method that Tocsin can use",
            user_id=user.id,
        )
        return 0

    for method in methods:
        subject, body = render_page_email(ctx, incident, user, reason=reason)
        session.add(
            OutboxMessage(
                channel=method.kind,
                recipient=method.address,
                subject=subject,
                body=body,
                payload={"incident_number": incident.number, "reason": reason},
                idempotency_key=uuid.uuid4().hex,
                incident_id=incident.id,
                user_id=user.id,
                next_attempt_at=now,
                created_at=now,
            )
        )
    ctx.work_queued.set()

    return len(methods)


def action_url(ctx: Context, incident: Incident, user: User, action: str) -> str:
    token = links.sign(
        ctx.settings.effective_secret_key(),
        incident_id=incident.id,
        action=action,
        user_id=user.id,
        now=ctx.clock.now(),
        ttl=timedelta(minutes=ctx.settings.ack_link_ttl_minutes),
    )
    return f"{ctx.settings.base_url.rstrip('/')}/a/{token}"


def render_page_email(
    ctx: Context, incident: Incident, user: User, *, reason: str
) -> tuple[str, str]:
    base = ctx.settings.base_url.rstrip("/")
    subject = (
        f"[Tocsin] #{incident.number} {incident.severity.upper()} "
        f"{incident.status.upper()}: {incident.title}"
    )[:500]
    body = "\n".join(
        [
            f"Hello {user.name},",
            "",
            f"Incident #{incident.number} needs you: {incident.title}",
            f"Service:  {incident.service.name}",
            f"Severity: {incident.severity.upper()}",
            f"Status:   {incident.status}",
            f"Why you:  {reason}",
            "",
            f"Acknowledge: {action_url(ctx, incident, user, 'acknowledge')}",
            f"Resolve:     {action_url(ctx, incident, user, 'resolve')}",
            f"Open:        {base}/incidents/{incident.number}",
            "",
            f"The links are yours alone and expire in "
            f"{ctx.settings.ack_link_ttl_minutes} minutes.",
        ]
    )
    return subject, body
