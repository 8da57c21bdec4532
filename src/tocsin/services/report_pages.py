"""Report pages: reaching a report's triage owner the way a page reaches a
responder, while the report waits for triage.

The owner is paged through their own contact methods as their notification
rules say: a rule with no delay sends at once, a later one writes a timer that
sends only if the report still waits when it fires (the report's triage plays
the part an acknowledgement plays for an incident). A user without rules is
reached on every contact method at once, and one without any contact method
Tocsin can use gets an email at the address they log in with, as before.
Throttled kinds (SMS and voice by default) share the per-contact count with
incident pages, so a phone never gets more than the limit in all.

Each message, scheduled rule and held-back page is recorded in the audit log
against the report (`report.owner_paged`); `sent_to_owners` reads it back, so
the report says what was sent to whom.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tocsin.domain.access import SYSTEM
from tocsin.domain.triage import ReportStatus
from tocsin.services import paging
from tocsin.services.context import Context
from tocsin.services.paging import Contact, Recipient
from tocsin.services.records import audit
from tocsin.store.db import table_of
from tocsin.store.models import AuditRecord, Incident, OutboxMessage, Timer, User
from tocsin.store.models.triage import Report
from tocsin.triage_schemas import OwnerPageRead

REPORT_NOTIFY = "report_notify"
PAGED = "report.owner_paged"
KIND = "report_page"
QUEUED = "queued"

_OUTBOX = table_of(OutboxMessage)


@dataclass(frozen=True)
class Message:
    """What a report page says: the email text, and the reminder number."""

    subject: str
    body: str
    reminder: int


def page_owners(
    session: Session,
    ctx: Context,
    report: Report,
    user_ids: list[int],
    message: Message,
) -> int:
    """Page each of `user_ids` about `report` by their notification rules, in
    the caller's transaction. Returns how many messages were queued now or
    scheduled for later; inactive users are skipped."""
    now = ctx.clock.now()
    count = 0
    for recipient in paging.recipients(session, user_ids):
        if not recipient.active:
            continue

        plan = recipient.plan()
        if not plan:
            count += _email_login(session, ctx, report, recipient, message, now)
            continue

        at_once = [contact for contact, delay in plan if delay == 0]
        count += queue(session, ctx, report, recipient, at_once, message, now)

        for contact, delay in plan:
            if delay == 0:
                continue
            session.add(
                Timer(
                    kind=REPORT_NOTIFY,
                    due_at=now + timedelta(minutes=delay),
                    payload={
                        "report_id": report.id,
                        "user_id": recipient.user_id,
                        "contact_method_id": contact.id,
                        "delay_minutes": delay,
                        "reminder": message.reminder,
                    },
                    created_at=now,
                )
            )
            _record(
                session,
                report,
                recipient,
                contact.kind,
                f"scheduled after {delay} min if still untriaged",
                message.reminder,
                now,
            )
            count += 1
    return count


def queue(
    session: Session,
    ctx: Context,
    report: Report,
    recipient: Recipient,
    contacts: list[Contact],
    message: Message,
    now: datetime,
) -> int:
    """Queue the page to each of `contacts` now, unless throttling holds it
    back; both are recorded. Returns how many were queued."""
    allowed, held = paging.throttle(session, ctx, contacts, now)
    for contact, sent in held:
        _record(
            session,
            report,
            recipient,
            contact.kind,
            f"held back: {sent} pages to it in "
            f"{ctx.settings.page_throttle_window_minutes} min already",
            message.reminder,
            now,
        )
    if not allowed:
        return 0

    rows = [
        _row(ctx, report, recipient, contact.kind, contact, message, now)
        for contact in allowed
    ]
    session.execute(insert(_OUTBOX), rows)
    ctx.work_queued.set()
    for contact, row in zip(allowed, rows, strict=True):
        _record(
            session,
            report,
            recipient,
            contact.kind,
            QUEUED,
            message.reminder,
            now,
            message_key=row["idempotency_key"],
        )
    return len(rows)


def fire_notify(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """A delayed notification rule of a report page is due: send it if the
    report still waits for triage and the contact method is still there.
    Safe to run twice: the worker deletes the timer in the same transaction."""
    report = session.scalar(
        select(Report)
        .where(Report.id == int(timer.payload.get("report_id", 0)))
        .with_for_update()
    )
    if report is None or report.status != ReportStatus.UNTRIAGED:
        return

    found = paging.recipients(session, [int(timer.payload.get("user_id", 0))])
    if not found or not found[0].active:
        return

    recipient = found[0]
    contact_id = int(timer.payload.get("contact_method_id", 0))
    contact = next((c for c in recipient.contacts if c.id == contact_id), None)
    if contact is None:
        # Removed since the page started; the other rules still run.
        return

    # Imported here: reports imports this module to page its owners.
    from tocsin.services.reports import owner_message

    message = owner_message(ctx, session, report, int(timer.payload.get("reminder", 0)))
    queue(session, ctx, report, recipient, [contact], message, ctx.clock.now())


def sent_to_owners(session: Session, report_id: int) -> list[OwnerPageRead]:
    """What was sent to whom about the report, oldest first. A queued message
    says what became of it since: sent, failed (and why) or not sent."""
    rows = session.execute(
        select(AuditRecord.at, AuditRecord.detail)
        .where(
            AuditRecord.object_type == "report",
            AuditRecord.object_id == report_id,
            AuditRecord.action == PAGED,
        )
        .order_by(AuditRecord.id)
    ).all()
    keys = [str(d["message_key"]) for _, d in rows if d.get("message_key")]
    delivery = {
        key: _delivery(status, error)
        for key, status, error in session.execute(
            select(
                OutboxMessage.idempotency_key,
                OutboxMessage.status,
                OutboxMessage.last_error,
            ).where(OutboxMessage.idempotency_key.in_(keys))
        )
    }
    return [
        OwnerPageRead(
            at=at,
            name=str(detail.get("name", "")),
            channel=str(detail.get("channel", "")),
            outcome=delivery.get(
                str(detail.get("message_key", "")), str(detail.get("outcome", ""))
            ),
            reminder=int(detail.get("reminder", 0)),
        )
        for at, detail in rows
    ]


def _delivery(status: str, error: str) -> str:
    if status == "pending":
        return QUEUED
    if status == "sent":
        return "sent"
    if status == "cancelled":
        return error or "not sent"
    return f"{status}: {error[:200]}" if error else status


def _email_login(
    session: Session,
    ctx: Context,
    report: Report,
    recipient: Recipient,
    message: Message,
    now: datetime,
) -> int:
    """An owner with no usable contact method is emailed at their login
    address: a report must not wait unseen because a profile is empty."""
    address = session.scalar(select(User.email).where(User.id == recipient.user_id))
    if not address:
        return 0

    login = Contact("email", address, 0)
    row = _row(ctx, report, recipient, "email", login, message, now)
    session.execute(insert(_OUTBOX), row)
    ctx.work_queued.set()
    _record(
        session,
        report,
        recipient,
        "email (login address: no contact method)",
        QUEUED,
        message.reminder,
        now,
        message_key=row["idempotency_key"],
    )
    return 1


def _row(
    ctx: Context,
    report: Report,
    recipient: Recipient,
    kind: str,
    contact: Contact,
    message: Message,
    now: datetime,
) -> dict[str, Any]:
    subject, body = _render(ctx, report, kind, message)
    base = ctx.settings.base_url.rstrip("/")
    payload: dict[str, Any] = {
        # Not "page": that kind is tied to an incident's acknowledgement. The
        # worker drops a report page whose report was triaged meanwhile.
        "kind": KIND,
        "report_id": report.id,
        "reference": f"R-{report.id}",
        "title": report.title,
        "reminder": message.reminder,
        "user_id": recipient.user_id,
        "address": contact.address,
        "open_url": f"{base}/reports/{report.id}",
    }
    if contact.id:
        payload["contact_method_id"] = contact.id
    return {
        "channel": kind,
        "recipient": contact.address[: paging.RECIPIENT_LENGTH],
        "subject": subject[:500],
        "body": body,
        "payload": payload,
        "idempotency_key": uuid.uuid4().hex,
        "incident_id": None,
        "user_id": recipient.user_id,
        "next_attempt_at": now,
        "created_at": now,
    }


def _render(
    ctx: Context, report: Report, kind: str, message: Message
) -> tuple[str, str]:
    """Phones get a text that fits one SMS or a short call; every other kind
    gets the email text, which chat and webhook channels carry as it is."""
    again = " (reminder)" if message.reminder else ""
    if kind == "sms":
        base = ctx.settings.base_url.rstrip("/")
        text = (
            f"Tocsin report R-{report.id} waits for triage{again}: "
            f"{report.title[:60]} {base}/reports/{report.id}"
        )
        return text[:160], text[:320]
    if kind == "voice":
        text = (
            f"This is Tocsin. Report R-{report.id} waits for triage: "
            f"{report.title[:200]}. Triage it in Tocsin."
        )
        return f"Tocsin report R-{report.id}", text
    return message.subject, message.body


def _record(
    session: Session,
    report: Report,
    recipient: Recipient,
    channel: str,
    outcome: str,
    reminder: int,
    now: datetime,
    *,
    message_key: str = "",
) -> None:
    audit(
        session,
        SYSTEM,
        at=now,
        action=PAGED,
        object_type="report",
        object_id=report.id,
        user_id=recipient.user_id,
        name=recipient.name,
        channel=channel,
        outcome=outcome,
        reminder=reminder,
        message_key=message_key,
    )
