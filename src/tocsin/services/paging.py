"""Pages: turning "notify this person about this incident" into outbox messages.

Paging is on the intake path (every new incident pages its first escalation
step), so it works on small value types read with plain SQL, not on ORM objects:
`IncidentBrief` says what a page tells about the incident, `Recipient` who is
paged, where, and by which notification rules. `page_user` takes ORM objects
for callers that have them.

A page follows the user's notification rules: a rule with no delay queues a
message at once; a later one writes a "notify" timer that sends only if the
incident is still unacknowledged when it fires. A user without rules is reached
on every contact method at once. Throttled kinds (SMS and voice by default) get
at most `page_throttle_limit` pages per contact per window; the rest are held
back, said on the timeline, and summed up in one message when the window ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from tocsin.domain.incidents import IncidentStatus
from tocsin.services import links, maintenance
from tocsin.services.context import Context
from tocsin.services.records import add_timeline
from tocsin.store.db import table_of
from tocsin.store.models import (
    ContactMethod,
    Incident,
    NotificationRule,
    OutboxMessage,
    Service,
    Timer,
    User,
)

NOTIFY = "notify"
NOTIFY_DIGEST = "notify_digest"

_OUTBOX = table_of(OutboxMessage)
_CONTACTS = table_of(ContactMethod)
_USERS = table_of(User)
_RULES = table_of(NotificationRule)
_TIMERS = table_of(Timer)

# Channels read a full address from the payload; the outbox column is shorter
# than a Teams workflow URL.
RECIPIENT_LENGTH = 320


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


class Contact(NamedTuple):
    """One contact method of a recipient."""

    kind: str
    address: str
    id: int


class Rule(NamedTuple):
    contact_method_id: int
    delay_minutes: int


@dataclass(frozen=True)
class Recipient:
    """A user to page, with their contact methods in the order they were added,
    and their notification rules (none: every contact method at once)."""

    user_id: int
    name: str
    active: bool
    contacts: tuple[Contact, ...]
    rules: tuple[Rule, ...] = ()

    def plan(self) -> list[tuple[Contact, int]]:
        """(contact, delay minutes) for each message this page will send."""
        if not self.rules:
            return [(contact, 0) for contact in self.contacts]

        by_id = {contact.id: contact for contact in self.contacts}
        return [
            (by_id[rule.contact_method_id], rule.delay_minutes)
            for rule in sorted(self.rules, key=lambda r: r.delay_minutes)
            if rule.contact_method_id in by_id
        ]


def deliverable_kinds() -> tuple[str, ...]:
    """Contact method kinds that have a channel: the built-in ones and those
    added through `tocsin.channels` entry points."""
    # Imported here: the registry imports channel modules, which need settings
    # only, but the services package should load without them.
    from tocsin.channels.registry import kinds

    return kinds()


# All deliverable contact methods of some users, read in one query.
_USER_CONTACTS = (
    select(
        _USERS.c.id,
        _USERS.c.name,
        _USERS.c.active,
        _CONTACTS.c.id.label("contact_id"),
        _CONTACTS.c.kind,
        _CONTACTS.c.address,
    )
    .outerjoin(
        _CONTACTS,
        (_CONTACTS.c.user_id == _USERS.c.id)
        & _CONTACTS.c.kind.in_(bindparam("kinds", expanding=True)),
    )
    .where(_USERS.c.id.in_(bindparam("user_ids", expanding=True)))
    .order_by(_USERS.c.id, _CONTACTS.c.id)
)
_USER_RULES = (
    select(_RULES.c.user_id, _RULES.c.contact_method_id, _RULES.c.delay_minutes)
    .where(_RULES.c.user_id.in_(bindparam("user_ids", expanding=True)))
    .order_by(_RULES.c.delay_minutes, _RULES.c.id)
)


def recipients(session: Session, user_ids: Iterable[int]) -> list[Recipient]:
    """The users with these ids, in the order given; unknown ids are left out."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []

    contacts: dict[int, list[Contact]] = {}
    people: dict[int, tuple[str, bool]] = {}
    rows = session.execute(
        _USER_CONTACTS, {"user_ids": wanted, "kinds": list(deliverable_kinds())}
    )
    for row in rows:
        people[row.id] = (row.name, row.active)
        found = contacts.setdefault(row.id, [])
        if row.kind is not None:
            found.append(Contact(row.kind, row.address, row.contact_id))

    rules: dict[int, list[Rule]] = {}
    for user_id, contact_id, delay in session.execute(
        _USER_RULES, {"user_ids": wanted}
    ):
        rules.setdefault(user_id, []).append(Rule(contact_id, delay))

    return [
        Recipient(
            user_id,
            people[user_id][0],
            people[user_id][1],
            tuple(contacts[user_id]),
            tuple(rules.get(user_id, ())),
        )
        for user_id in wanted
        if user_id in people
    ]


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
    """Page `recipient` by their notification rules.

    Returns how many messages were queued or scheduled. A user with no way to be
    reached is said on the timeline rather than skipped in silence.
    """
    now = ctx.clock.now()
    plan = recipient.plan() if recipient.active else []
    if not plan:
        add_timeline(
            session,
            incident,
            at=now,
            kind="page_skipped",
            message=(
                f"{recipient.name} has no contact method that Tocsin can use"
                if recipient.active
                else f"{recipient.name} is deactivated: not paged"
            ),
            user_id=recipient.user_id,
        )
        return 0

    at_once = [contact for contact, delay in plan if delay == 0]
    queue_messages(session, ctx, incident, recipient, at_once, reason=reason)

    later = [(contact, delay) for contact, delay in plan if delay > 0]
    if later:
        session.execute(
            insert(_TIMERS),
            [
                {
                    "kind": NOTIFY,
                    "due_at": now + timedelta(minutes=delay),
                    "incident_id": incident.id,
                    "payload": {
                        "user_id": recipient.user_id,
                        "contact_method_id": contact.id,
                        "delay_minutes": delay,
                        "reason": reason,
                        "started_at": now.isoformat(),
                    },
                    "attempts": 0,
                    "last_error": "",
                    "created_at": now,
                }
                for contact, delay in later
            ],
        )
        add_timeline(
            session,
            incident,
            at=now,
            kind="notification_scheduled",
            message=f"{recipient.name} will be notified by "
            + ", ".join(f"{c.kind} after {d} min" for c, d in later)
            + " if still unacknowledged",
            user_id=recipient.user_id,
        )
    return len(plan)


def queue_messages(
    session: Session,
    ctx: Context,
    incident: IncidentBrief,
    recipient: Recipient,
    contacts: Sequence[Contact],
    *,
    reason: str,
) -> int:
    """Queue a page to each of `contacts` now, unless throttling holds it back.

    Returns how many messages were queued."""
    now = ctx.clock.now()
    allowed = _pass_throttle(session, ctx, incident, recipient, contacts, now)
    if not allowed:
        return 0

    rows = [
        _page_row(ctx, incident, recipient, contact, reason=reason, now=now)
        for contact in allowed
    ]
    session.execute(insert(_OUTBOX), rows)
    ctx.work_queued.set()

    return len(rows)


def _page_row(
    ctx: Context,
    incident: IncidentBrief,
    recipient: Recipient,
    contact: Contact,
    *,
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    subject, body = render_page(ctx, incident, recipient, contact.kind, reason=reason)
    base = ctx.settings.base_url.rstrip("/")
    return {
        "channel": contact.kind,
        "recipient": contact.address[:RECIPIENT_LENGTH],
        "subject": subject,
        "body": body,
        # "page" tells the worker this message is stale once someone
        # acknowledges; other kinds of message will not be. The rest is what
        # chat and webhook channels build their own message from.
        "payload": {
            "kind": "page",
            "incident_number": incident.number,
            "incident_id": incident.id,
            "title": incident.title,
            "severity": incident.severity,
            "status": incident.status,
            "service": incident.service_name,
            "reason": reason,
            "user_id": recipient.user_id,
            "contact_method_id": contact.id,
            "address": contact.address,
            "open_url": f"{base}/incidents/{incident.number}",
            "ack_url": action_url(ctx, incident, recipient, "acknowledge"),
        },
        "idempotency_key": uuid.uuid4().hex,
        "incident_id": incident.id,
        "user_id": recipient.user_id,
        "next_attempt_at": now,
        "created_at": now,
    }


def _pass_throttle(
    session: Session,
    ctx: Context,
    incident: IncidentBrief,
    recipient: Recipient,
    contacts: Sequence[Contact],
    now: datetime,
) -> list[Contact]:
    """The contacts that may be paged now; each one held back is said on the
    incident's timeline."""
    allowed, held = throttle(session, ctx, contacts, now)
    for contact, sent in held:
        add_timeline(
            session,
            incident,
            at=now,
            kind="page_throttled",
            message=(
                f"Page to {recipient.name} by {contact.kind} held back: "
                f"{sent} pages in {ctx.settings.page_throttle_window_minutes} "
                "minutes already; one summary follows when the window ends"
            ),
            user_id=recipient.user_id,
            contact_method_id=contact.id,
        )
    return allowed


def throttle(
    session: Session, ctx: Context, contacts: Sequence[Contact], now: datetime
) -> tuple[list[Contact], list[tuple[Contact, int]]]:
    """Split `contacts` into those that may be paged now and those held back
    (each with how many pages it had in the window), and count both.

    The count is per contact method, whatever the page is about, so a phone
    gets at most `page_throttle_limit` messages per window in all. The contact
    rows are locked, so concurrent pages to one phone (two workers, two
    incidents) count one after the other. The first contact held back in a
    window sets the summary that follows when the window ends.
    """
    settings = ctx.settings
    throttled = [c for c in contacts if c.kind in settings.page_throttle_kinds]
    if not throttled:
        return list(contacts), []

    window = timedelta(minutes=settings.page_throttle_window_minutes)
    states = {
        row.id: row
        for row in session.execute(
            select(
                ContactMethod.id,
                ContactMethod.throttle_started_at,
                ContactMethod.throttle_sent,
                ContactMethod.throttle_folded,
            )
            .where(ContactMethod.id.in_([c.id for c in throttled]))
            .order_by(ContactMethod.id)
            .with_for_update()
        )
    }

    allowed: list[Contact] = []
    held: list[tuple[Contact, int]] = []
    for contact in contacts:
        state = states.get(contact.id)
        if state is None:
            allowed.append(contact)
            continue

        started, sent, folded = (
            state.throttle_started_at,
            state.throttle_sent,
            state.throttle_folded,
        )
        if started is None or now >= started + window:
            started, sent = now, 0
        if sent < settings.page_throttle_limit:
            allowed.append(contact)
            sent += 1
        else:
            if folded == 0:
                _schedule_digest(session, contact, started + window, now)
            folded += 1
            held.append((contact, sent))
        session.execute(
            update(ContactMethod)
            .where(ContactMethod.id == contact.id)
            .values(
                throttle_started_at=started,
                throttle_sent=sent,
                throttle_folded=folded,
            )
        )
    return allowed, held


def _schedule_digest(
    session: Session, contact: Contact, due_at: datetime, now: datetime
) -> None:
    session.execute(
        insert(_TIMERS),
        {
            "kind": NOTIFY_DIGEST,
            "due_at": due_at,
            "incident_id": None,
            "payload": {"contact_method_id": contact.id},
            "attempts": 0,
            "last_error": "",
            "created_at": now,
        },
    )


def fire_notify(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """A delayed notification rule is due: page that contact method while the
    incident is still triggered. An acknowledgement deletes these timers (see
    escalation.acknowledged), so one of an answered page never fires.

    Safe to run twice: the worker deletes the timer in the same transaction."""
    if incident is None or incident.status != IncidentStatus.TRIGGERED:
        return

    now = ctx.clock.now()
    until = maintenance.held_until(session, incident.id, now)
    if until is not None:
        # A maintenance window began after the page: nothing pages during one.
        # The rule waits for its end, when it goes out if the page still stands
        # (this handler runs again and checks the acknowledgement then).
        add_timeline(
            session,
            incident,
            at=now,
            kind="page_held",
            message="Delayed notification held: maintenance until "
            f"{until:%Y-%m-%d %H:%M} UTC",
            user_id=timer.payload.get("user_id"),
        )
        session.execute(
            insert(_TIMERS),
            {
                "kind": maintenance.NOTIFY_HELD,
                "due_at": until,
                "incident_id": incident.id,
                "payload": timer.payload,
                "attempts": 0,
                "last_error": "",
                "created_at": now,
            },
        )
        return

    contact_id = int(timer.payload["contact_method_id"])
    found = recipients(session, [int(timer.payload["user_id"])])
    if not found or not found[0].active:
        return

    recipient = found[0]
    contact = next((c for c in recipient.contacts if c.id == contact_id), None)
    if contact is None:
        # Removed since the page started; the other rules still run.
        return

    service_name = session.scalar(
        select(Service.name).where(Service.id == incident.service_id)
    )
    brief = IncidentBrief(
        id=incident.id,
        number=incident.number,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        service_name=service_name or "",
    )
    delay = int(timer.payload.get("delay_minutes", 0))
    reason = str(timer.payload.get("reason", ""))
    if queue_messages(session, ctx, brief, recipient, [contact], reason=reason):
        add_timeline(
            session,
            incident,
            at=now,
            kind="paged",
            message=f"Page queued for {recipient.name} by {contact.kind} "
            f"(notification rule: after {delay} min)",
            user_id=recipient.user_id,
        )


def fire_digest(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """A throttling window ended with pages held back: send one message that
    says how many, and start counting afresh."""
    contact = session.scalar(
        select(ContactMethod)
        .where(ContactMethod.id == int(timer.payload["contact_method_id"]))
        .with_for_update()
    )
    if contact is None or contact.throttle_folded == 0:
        return

    folded = contact.throttle_folded
    contact.throttle_folded = 0
    now = ctx.clock.now()
    base = ctx.settings.base_url.rstrip("/")
    text = (
        f"Tocsin: {folded} more page{'s' if folded != 1 else ''} held back in the "
        f"last {ctx.settings.page_throttle_window_minutes} min. "
        f"Open incidents: {base}/incidents"
    )
    session.execute(
        insert(_OUTBOX),
        {
            "channel": contact.kind,
            "recipient": contact.address[:RECIPIENT_LENGTH],
            "subject": f"[Tocsin] {folded} more incidents",
            "body": text,
            "payload": {
                "kind": "digest",
                "folded": folded,
                "title": f"{folded} more incidents",
                "address": contact.address,
                "contact_method_id": contact.id,
                "open_url": f"{base}/incidents",
            },
            "idempotency_key": uuid.uuid4().hex,
            "incident_id": None,
            "user_id": contact.user_id,
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    ctx.work_queued.set()


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


def render_page(
    ctx: Context,
    incident: IncidentBrief,
    recipient: Recipient,
    kind: str,
    *,
    reason: str,
) -> tuple[str, str]:
    """Subject and text of a page for a contact method of `kind`.

    Phones get a short text that fits one SMS and says how to acknowledge by
    reply; everything else gets the email text, whose links chat and webhook
    channels also carry in their own format."""
    if kind == "sms":
        title = incident.title[:90]
        text = (
            f"Tocsin #{incident.number} {incident.severity.upper()} "
            f"{incident.service_name}: {title}. "
            f"Reply 'ack {incident.number}' to acknowledge."
        )
        return text[:160], text
    if kind == "voice":
        text = (
            f"This is Tocsin. Incident {incident.number}, severity "
            f"{incident.severity}, on {incident.service_name}: {incident.title[:200]}. "
            "Acknowledge it in Tocsin."
        )
        return f"Tocsin incident {incident.number}", text
    return render_page_email(ctx, incident, recipient, reason=reason)


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
