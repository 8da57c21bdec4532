"""Pages: turning "notify this person about this incident" into outbox messages.

Paging is on the intake path (every new incident pages its first escalation
step), so it works on small value types read with plain SQL, not on ORM objects:
`IncidentBrief` says what a page tells about the incident, `Recipient` who is
paged and where. `page_user` takes ORM objects for callers that have them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from tocsin.services import links
from tocsin.services.context import Context
from tocsin.services.records import add_timeline
from tocsin.store.db import table_of
from tocsin.store.models import ContactMethod, Incident, OutboxMessage, User

# Contact method kinds that have a channel today.
DELIVERABLE = ("email",)

_OUTBOX = table_of(OutboxMessage)
_CONTACTS = table_of(ContactMethod)
_USERS = table_of(User)


@dataclass(frozen=True)
class IncidentBrief:
    """The facts about an incident that a page states."""

    id: int
    number: int
    title: str
    severity: str
    status: str
    service_name: str

    @classmethod
    def of(cls, incident: Incident) -> IncidentBrief:
        return cls(
            id=incident.id,
            number=incident.number,
            title=incident.title,
            severity=incident.severity,
            status=incident.status,
            service_name=incident.service.name,
        )


@dataclass(frozen=True)
class Recipient:
    """A user to page, with the (kind, address) of each deliverable contact
    method, in the order they were added."""

    user_id: int
    name: str
    active: bool
    contacts: tuple[tuple[str, str], ...]


# All deliverable contact methods of some users, read in one query.
_USER_CONTACTS = (
    select(
        _USERS.c.id,
        _USERS.c.name,
        _USERS.c.active,
        _CONTACTS.c.kind,
        _CONTACTS.c.address,
    )
    .outerjoin(
        _CONTACTS,
        (_CONTACTS.c.user_id == _USERS.c.id) & _CONTACTS.c.kind.in_(DELIVERABLE),
    )
    .where(_USERS.c.id.in_(bindparam("user_ids", expanding=True)))
    .order_by(_USERS.c.id, _CONTACTS.c.id)
)


def recipients(session: Session, user_ids: Iterable[int]) -> list[Recipient]:
    """The users with these ids, in the order given; unknown ids are left out."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []

    found: dict[int, Recipient] = {}
    for row in session.execute(_USER_CONTACTS, {"user_ids": wanted}):
        known = found.get(row.id)
        contacts = known.contacts if known else ()
        if row.kind is not None:
            contacts = (*contacts, (row.kind, row.address))
        found[row.id] = Recipient(row.id, row.name, row.active, contacts)
    return [found[user_id] for user_id in wanted if user_id in found]


def page_user(
    session: Session, ctx: Context, incident: Incident, user: User, *, reason: str
) -> int:
    """`page` for a loaded incident and user."""
    [recipient] = recipients(session, [user.id])
    return page(session, ctx, IncidentBrief.of(incident), recipient, reason=reason)


def page(
    session: Session,
    ctx: Context,
    incident: IncidentBrief,
    recipient: Recipient,
    *,
    reason: str,
) -> int:
    """Queue a page to every deliverable contact method of `recipient`.

    Returns how many messages were queued. A user with no way to be reached is
    said on the timeline rather than skipped in silence.
    """
    now = ctx.clock.now()
    if not recipient.active or not recipient.contacts:
        add_timeline(
            session,
            incident,
            at=now,
            kind="page_skipped",
            message=f"{recipient.name} has no contact method that Tocsin can use",
            user_id=recipient.user_id,
        )
        return 0

    subject, body = render_page_email(ctx, incident, recipient, reason=reason)
    session.execute(
        insert(_OUTBOX),
        [
            {
                "channel": kind,
                "recipient": address,
                "subject": subject,
                "body": body,
                # "page" tells the worker this message is stale once someone
                # acknowledges; other kinds of message will not be.
                "payload": {
                    "kind": "page",
                    "incident_number": incident.number,
                    "reason": reason,
                },
                "idempotency_key": uuid.uuid4().hex,
                "incident_id": incident.id,
                "user_id": recipient.user_id,
                "next_attempt_at": now,
                "created_at": now,
            }
            for kind, address in recipient.contacts
        ],
    )
    ctx.work_queued.set()

    return len(recipient.contacts)


def action_url(
    ctx: Context, incident: IncidentBrief, recipient: Recipient, action: str
) -> str:
    token = links.sign(
        ctx.settings.effective_secret_key(),
        incident_id=incident.id,
        action=action,
        user_id=recipient.user_id,
        now=ctx.clock.now(),
        ttl=timedelta(minutes=ctx.settings.ack_link_ttl_minutes),
    )
    return f"{ctx.settings.base_url.rstrip('/')}/a/{token}"


def render_page_email(
    ctx: Context, incident: IncidentBrief, recipient: Recipient, *, reason: str
) -> tuple[str, str]:
    base = ctx.settings.base_url.rstrip("/")
    subject = (
        f"[Tocsin] #{incident.number} {incident.severity.upper()} "
        f"{incident.status.upper()}: {incident.title}"
    )[:500]
    body = "\n".join(
        [
            f"Hello {recipient.name},",
            "",
            f"Incident #{incident.number} needs you: {incident.title}",
            f"Service:  {incident.service_name}",
            f"Severity: {incident.severity.upper()}",
            f"Status:   {incident.status}",
            f"Why you:  {reason}",
            "",
            f"Acknowledge: {action_url(ctx, incident, recipient, 'acknowledge')}",
            f"Resolve:     {action_url(ctx, incident, recipient, 'resolve')}",
            f"Open:        {base}/incidents/{incident.number}",
            "",
            f"The links are yours alone and expire in "
            f"{ctx.settings.ack_link_ttl_minutes} minutes.",
        ]
    )
    return subject, body
