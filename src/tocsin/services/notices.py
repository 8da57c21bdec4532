"""Notices: telling people something that does not ask them to act.

A role assignment, a task reminder, an overdue update: these go to the person
by email, like a page, but they are not pages. Their payload kind is "notice",
so an acknowledgement does not cancel them, and escalation never follows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tocsin.services.context import Context
from tocsin.store.db import table_of
from tocsin.store.models import ContactMethod, OutboxMessage, User

_OUTBOX = table_of(OutboxMessage)


def notify(
    session: Session,
    ctx: Context,
    user_ids: Iterable[int],
    *,
    subject: str,
    body: str,
    topic: str,
    incident_id: int | None = None,
) -> int:
    """Queue a notice to each active user's email contact methods, or to the
    address they log in with when they have none. Returns how many were queued.

    `topic` names what the notice is about ("role_assigned", "task_overdue",
    ...) so a reader of the outbox can tell notices apart.
    """
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return 0

    users = session.execute(
        select(User.id, User.email).where(User.id.in_(wanted), User.active)
    ).all()
    contacts: dict[int, list[str]] = {user_id: [] for user_id, _ in users}
    for user_id, address in session.execute(
        select(ContactMethod.user_id, ContactMethod.address)
        .where(ContactMethod.user_id.in_(wanted), ContactMethod.kind == "email")
        .order_by(ContactMethod.id)
    ):
        if user_id in contacts:
            contacts[user_id].append(address)

    now = ctx.clock.now()
    rows = [
        {
            "channel": "email",
            "recipient": address,
            "subject": subject[:500],
            "body": body,
            "payload": {"kind": "notice", "topic": topic},
            "idempotency_key": uuid.uuid4().hex,
            "incident_id": incident_id,
            "user_id": user_id,
            "next_attempt_at": now,
            "created_at": now,
        }
        for user_id, login_address in users
        for address in (contacts[user_id] or [login_address])
    ]
    if rows:
        session.execute(insert(_OUTBOX), rows)
        ctx.work_queued.set()
    return len(rows)
