"""Status page subscribers: double opt-in by email, one-click unsubscribe, and
the mail they get.

Subscribing stores the address unconfirmed and mails a confirmation link; only
confirmed addresses get news. Links carry a token signed with the instance's
secret key that names the subscriber, the purpose and the subscription's nonce:
a confirmation link expires, an unsubscribe link does not (RFC 8058 expects it
to keep working for as long as the mail is read). Every news mail carries
`List-Unsubscribe` and `List-Unsubscribe-Post` headers, so mail clients can
offer the one-click unsubscribe themselves.

The subscribe form answers the same whether or not the address is known, so it
tells nobody who subscribes; it is limited per client address, and each
address gets at most one confirmation mail per CONFIRM_RESEND.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor, require_role
from tocsin.domain.status_page import Stage
from tocsin.errors import Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.services.status_common import MANAGE
from tocsin.store.db import table_of
from tocsin.store.models import (
    OutboxMessage,
    StatusSubscribeAttempt,
    StatusSubscriber,
)

if TYPE_CHECKING:
    from tocsin.store.models import StatusIncident, StatusMaintenance

CONFIRM_TTL = timedelta(hours=48)
CONFIRM_RESEND = timedelta(minutes=10)
RATE_WINDOW = timedelta(hours=1)
RATE_LIMIT = 5
MAX_EMAIL = 254

CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"
_PURPOSES = (CONFIRM, UNSUBSCRIBE)
_DOMAIN = b"tocsin.status-subscriber.v1"
_OUTBOX = table_of(OutboxMessage)
# Deliberately plain: one @, no spaces or controls, a dotted domain. The
# confirmation mail is the real test of an address.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\Z")
# Characters that would split or rewrite the To header (`a,b@x` names two
# mailboxes), and kinds of character a manager cannot see or that reorder the
# text around them (controls, format marks such as U+202E, separators).
_HEADER_SPECIALS = frozenset('(),:;<>[]\\"')
_HIDDEN = ("C", "Z")

VISITOR = Actor(kind="public", label="status page visitor")


class RateLimited(TocsinError):
    status_code = 429
    title = "Too many requests"
    type_slug = "rate-limited"


@dataclass(frozen=True)
class SubscriberRead:
    id: int
    email: str
    confirmed_at: datetime | None
    created_at: datetime


# Tokens ----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signature(secret: str, body: str) -> str:
    key = hmac.new(secret.encode(), _DOMAIN, hashlib.sha256).digest()
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def sign(
    secret: str,
    *,
    subscriber_id: int,
    nonce: str,
    purpose: str,
    expires_at: datetime | None,
) -> str:
    if purpose not in _PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    claim = {
        "s": subscriber_id,
        "n": nonce,
        "p": purpose,
        "e": int(expires_at.timestamp()) if expires_at else 0,
    }
    body = _b64(json.dumps(claim, separators=(",", ":")).encode())
    return f"{body}.{_signature(secret, body)}"


def verify(secret: str, token: str, *, purpose: str, now: datetime) -> tuple[int, str]:
    """The subscriber id and nonce a token for `purpose` carries. Raises
    InvalidInput when malformed, Forbidden when forged, expired or meant for
    another purpose."""
    body, _, signature = token.partition(".")
    if not body or not signature or len(token) > 1000:
        raise InvalidInput("this link is malformed")
    expected = _signature(secret, body).encode()
    if not hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
        raise Forbidden("this link is not valid")

    try:
        claim = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        subscriber_id, nonce = int(claim["s"]), str(claim["n"])
        given_purpose, expires = str(claim["p"]), int(claim["e"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidInput("this link is malformed") from error

    if given_purpose != purpose:
        raise Forbidden("this link is not valid")
    if expires and expires <= now.timestamp():
        raise Forbidden("this link has expired; subscribe again for a new one")
    return subscriber_id, nonce


def unsubscribe_url(ctx: Context, subscriber_id: int, nonce: str) -> str:
    token = sign(
        ctx.settings.effective_secret_key(),
        subscriber_id=subscriber_id,
        nonce=nonce,
        purpose=UNSUBSCRIBE,
        expires_at=None,
    )
    return f"{_page_url(ctx)}/unsubscribe?token={token}"


# The public flow -------------------------------------------------------------


def subscribe(ctx: Context, *, email: str, client: str, trap: str = "") -> None:
    """Take a subscription from the public form, from client address `client`.

    `trap` is the form's honeypot field, hidden from people: a form that fills
    it is a robot's, and is answered as if it worked. Raises InvalidInput for an
    address that cannot be one, RateLimited past RATE_LIMIT forms an hour.
    """
    address = _address(email)
    now = ctx.clock.now()
    secret = ctx.settings.effective_secret_key()
    client_key = hmac.new(
        secret.encode(), b"status-subscribe:" + client.encode(), hashlib.sha256
    ).hexdigest()[:64]

    try:
        _subscribe(ctx, address, client_key, now, trap=bool(trap))
    except IntegrityError:
        # The same address subscribed at the same moment from elsewhere; that
        # request mails the confirmation.
        return


def _subscribe(
    ctx: Context, address: str, client_key: str, now: datetime, *, trap: bool
) -> None:
    with ctx.db.write() as session:
        session.execute(
            delete(StatusSubscribeAttempt).where(
                StatusSubscribeAttempt.at < now - RATE_WINDOW
            )
        )
        recent = session.scalar(
            select(func.count()).where(StatusSubscribeAttempt.client == client_key)
        )
        if (recent or 0) >= RATE_LIMIT:
            raise RateLimited("too many subscriptions from here; try again later")
        session.add(StatusSubscribeAttempt(client=client_key, at=now))
        if trap:
            return

        # Addresses never confirmed are forgotten once their link has expired.
        session.execute(
            delete(StatusSubscriber).where(
                StatusSubscriber.confirmed_at.is_(None),
                StatusSubscriber.confirmation_sent_at < now - CONFIRM_TTL,
            )
        )
        subscriber = session.scalar(
            select(StatusSubscriber)
            .where(StatusSubscriber.email == address)
            .with_for_update()
        )
        if subscriber is not None and (
            subscriber.confirmed_at is not None
            or subscriber.confirmation_sent_at > now - CONFIRM_RESEND
        ):
            return
        if subscriber is None:
            subscriber = StatusSubscriber(
                email=address,
                nonce=secrets.token_hex(16),
                confirmation_sent_at=now,
                created_at=now,
            )
            session.add(subscriber)
            session.flush()
        subscriber.confirmation_sent_at = now
        _queue_confirmation(session, ctx, subscriber)
        audit(
            session,
            VISITOR,
            at=now,
            action="status_subscriber.subscribe",
            object_type="status_subscriber",
            object_id=subscriber.id,
        )


def confirm(ctx: Context, token: str) -> str:
    """Confirm the subscription a confirmation link names; returns the address.
    Confirming twice changes nothing."""
    now = ctx.clock.now()
    subscriber_id, nonce = verify(
        ctx.settings.effective_secret_key(), token, purpose=CONFIRM, now=now
    )
    with ctx.db.write() as session:
        subscriber = _by_token(session, subscriber_id, nonce)
        if subscriber is None:
            raise NotFound("this subscription no longer exists; subscribe again")
        if subscriber.confirmed_at is None:
            subscriber.confirmed_at = now
            audit(
                session,
                VISITOR,
                at=now,
                action="status_subscriber.confirm",
                object_type="status_subscriber",
                object_id=subscriber.id,
            )
        return subscriber.email


def unsubscribe(ctx: Context, token: str) -> None:
    """End the subscription an unsubscribe link names, forgetting the address.
    A second click finds nothing to do and succeeds."""
    now = ctx.clock.now()
    subscriber_id, nonce = verify(
        ctx.settings.effective_secret_key(), token, purpose=UNSUBSCRIBE, now=now
    )
    with ctx.db.write() as session:
        subscriber = _by_token(session, subscriber_id, nonce)
        if subscriber is None:
            return
        audit(
            session,
            VISITOR,
            at=now,
            action="status_subscriber.unsubscribe",
            object_type="status_subscriber",
            object_id=subscriber.id,
        )
        session.delete(subscriber)


# Administration --------------------------------------------------------------


def list_subscribers(ctx: Context, actor: Actor) -> list[SubscriberRead]:
    require_role(actor, MANAGE)
    with ctx.db.read() as session:
        rows = session.scalars(select(StatusSubscriber).order_by(StatusSubscriber.id))
        return [
            SubscriberRead(row.id, row.email, row.confirmed_at, row.created_at)
            for row in rows
        ]


def remove_subscriber(ctx: Context, actor: Actor, ref: int | str) -> None:
    require_role(actor, MANAGE)
    with ctx.db.write() as session:
        if isinstance(ref, int):
            subscriber = session.get(StatusSubscriber, ref) if 0 < ref < 2**31 else None
        else:
            subscriber = session.scalar(
                select(StatusSubscriber).where(
                    StatusSubscriber.email == ref.strip().lower()
                )
            )
        if subscriber is None:
            raise NotFound(f"no subscriber {ref!r}")
        audit(
            session,
            actor,
            at=ctx.clock.now(),
            action="status_subscriber.remove",
            object_type="status_subscriber",
            object_id=subscriber.id,
        )
        session.delete(subscriber)


# News ------------------------------------------------------------------------


def notify_incident(
    session: Session,
    ctx: Context,
    row: StatusIncident,
    message: str,
    stage: Stage,
    *,
    first: bool,
) -> int:
    """Queue news of a public incident's update to every confirmed subscriber."""
    heading = "New incident" if first else stage.value.capitalize()
    names = ", ".join(component.name for component in row.components)
    body = [f"{heading}: {row.title}", "", f"{stage.value.capitalize()}: {message}"]
    if names:
        body += ["", f"Affected: {names}"]
    body += ["", f"Details: {_page_url(ctx)}/incidents/{row.id}"]
    subject = f"[{ctx.settings.status_page_title}] {row.title}: {stage.value}"
    return _queue_news(session, ctx, subject, "\n".join(body), "status_incident")


MAINTENANCE_NEWS = {
    "scheduled": "Scheduled maintenance",
    "started": "Maintenance started",
    "completed": "Maintenance completed",
    "cancelled": "Maintenance cancelled",
    "rescheduled": "Maintenance rescheduled",
}


def notify_maintenance(
    session: Session, ctx: Context, row: StatusMaintenance, *, news: str
) -> int:
    """Queue news of maintenance to confirmed subscribers: `news` is one of
    MAINTENANCE_NEWS (scheduled, started, completed, cancelled,
    rescheduled)."""
    heading = MAINTENANCE_NEWS[news]
    when = f"{row.starts_at:%Y-%m-%d %H:%M} to {row.ends_at:%Y-%m-%d %H:%M} UTC"
    names = ", ".join(component.name for component in row.components)
    body = [f"{heading}: {row.title}", "", f"When: {when}", f"Affected: {names}"]
    if row.description:
        body += ["", row.description]
    body += ["", f"Status page: {_page_url(ctx)}"]
    subject = f"[{ctx.settings.status_page_title}] {heading}: {row.title}"
    return _queue_news(session, ctx, subject, "\n".join(body), "status_maintenance")


def _queue_news(
    session: Session, ctx: Context, subject: str, body: str, topic: str
) -> int:
    subscribers = session.execute(
        select(StatusSubscriber.id, StatusSubscriber.email, StatusSubscriber.nonce)
        .where(StatusSubscriber.confirmed_at.is_not(None))
        .order_by(StatusSubscriber.id)
    ).all()
    if not subscribers:
        return 0

    now = ctx.clock.now()
    rows = []
    for subscriber_id, address, nonce in subscribers:
        leave = unsubscribe_url(ctx, subscriber_id, nonce)
        rows.append(
            {
                "channel": "email",
                "recipient": address,
                "subject": subject[:500],
                "body": f"{body}\n\n--\nYou subscribed to {_page_url(ctx)}.\n"
                f"Unsubscribe: {leave}\n",
                "payload": {
                    "kind": "status_notice",
                    "topic": topic,
                    # RFC 2369 and RFC 8058: mail clients unsubscribe with one
                    # POST of `List-Unsubscribe=One-Click` to this URL.
                    "headers": {
                        "List-Unsubscribe": f"<{leave}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    },
                },
                "idempotency_key": uuid.uuid4().hex,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    session.execute(insert(_OUTBOX), rows)
    ctx.work_queued.set()
    return len(rows)


def _queue_confirmation(
    session: Session, ctx: Context, subscriber: StatusSubscriber
) -> None:
    now = ctx.clock.now()
    token = sign(
        ctx.settings.effective_secret_key(),
        subscriber_id=subscriber.id,
        nonce=subscriber.nonce,
        purpose=CONFIRM,
        expires_at=now + CONFIRM_TTL,
    )
    title = ctx.settings.status_page_title
    link = f"{_page_url(ctx)}/subscribe/confirm?token={token}"
    body = (
        f"Someone, hopefully you, asked for news of {title} at {_page_url(ctx)}.\n\n"
        f"To confirm, open this link within {CONFIRM_TTL.days * 24} hours:\n"
        f"{link}\n\n"
        "If it was not you, ignore this mail: nothing more will be sent.\n"
    )
    session.execute(
        insert(_OUTBOX),
        {
            "channel": "email",
            "recipient": subscriber.email,
            "subject": f"[{title}] Confirm your subscription",
            "body": body,
            "payload": {"kind": "status_notice", "topic": "status_confirm"},
            "idempotency_key": uuid.uuid4().hex,
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    ctx.work_queued.set()


def _by_token(
    session: Session, subscriber_id: int, nonce: str
) -> StatusSubscriber | None:
    if not 0 < subscriber_id < 2**31:
        return None
    subscriber = session.scalar(
        select(StatusSubscriber)
        .where(StatusSubscriber.id == subscriber_id)
        .with_for_update()
    )
    if subscriber is None or not hmac.compare_digest(
        subscriber.nonce.encode(), nonce.encode("utf-8", "replace")
    ):
        return None
    return subscriber


def _address(email: str) -> str:
    address = email.strip()
    if not address:
        raise InvalidInput("enter an email address")
    local = address.rpartition("@")[0]
    if (
        len(address) > MAX_EMAIL
        or not _EMAIL.match(address)
        or any(
            char in _HEADER_SPECIALS or unicodedata.category(char)[0] in _HIDDEN
            for char in local
        )
    ):
        raise InvalidInput("that does not look like an email address")
    return address.lower()


def _page_url(ctx: Context) -> str:
    return ctx.settings.base_url.rstrip("/") + "/status"
