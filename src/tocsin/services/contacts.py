"""Contact methods: the addresses a person is paged at, checked on the way in.

A person manages their own contact methods; an admin manages anyone's. Each
kind's address is checked for its form when it is added (an E.164 number, a
Slack member id, an https URL the outgoing guard accepts), so a typo shows up
now, not as a failed page at three in the morning.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.channels import registry
from tocsin.channels.webhook import new_secret
from tocsin.config import Settings
from tocsin.domain.access import Actor, Role
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.outbound import check_url
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.store.db import table_of
from tocsin.store.models import ContactMethod, OutboxMessage, User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
# E.164: a plus, a country code that does not start with 0, at most 15 digits.
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}\Z")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
# Slack member ids start with U or W; channel ids with C or G.
_SLACK_ID = re.compile(r"^[UWCG][A-Z0-9]{6,20}\Z")
# Controls, direction marks, and lone surrogates: a command-line argument that
# is not UTF-8 arrives as those, and the database cannot store them.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_OUTBOX = table_of(OutboxMessage)
MAX_ID = 2**31 - 1


class ContactMethodRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    kind: str
    address: str
    label: str
    created_at: datetime


class ContactMethodCreated(ContactMethodRead):
    signing_secret: str | None = None
    """For a webhook: the `whsec_` secret its pages are signed with, shown once."""


class TestQueued(BaseModel):
    message_id: int
    contact_method_id: int


def _email(settings: Settings, address: str) -> str:
    address = address.strip().lower()
    if not _EMAIL.match(address) or len(address) > 320:
        raise InvalidInput(f"{address!r} is not an email address")
    return address


def _phone(settings: Settings, address: str) -> str:
    number = _PHONE_SEPARATORS.sub("", address)
    if not _PHONE.match(number):
        raise InvalidInput(
            f"{address!r} is not a phone number in international form, "
            "such as +15551234567"
        )
    return number


def _url(settings: Settings, address: str) -> str:
    address = address.strip()
    if len(address) > 1000:
        raise InvalidInput("a URL may have at most 1000 characters")
    # The name is not resolved here (DNS can be down or differ from the
    # worker's); the worker's guard vets the address on every send.
    return check_url(settings, address, resolve=False)


def _slack(settings: Settings, address: str) -> str:
    address = address.strip()
    if address.startswith(("https://", "http://")):
        return _url(settings, address)
    if not _SLACK_ID.match(address):
        raise InvalidInput(
            f"{address!r} is neither a Slack member or channel id (U0123ABCD, "
            "C0123ABCD) nor an incoming webhook URL"
        )
    return address


def _apprise_target(settings: Settings, address: str) -> str:
    name = address.strip()
    if name not in settings.apprise_targets:
        known = ", ".join(sorted(settings.apprise_targets)) or "none are set up"
        raise InvalidInput(
            f"{name!r} is not an Apprise target in TOCSIN_APPRISE_TARGETS ({known})"
        )
    return name


VALIDATORS: dict[str, Callable[[Settings, str], str]] = {
    "email": _email,
    "sms": _phone,
    "voice": _phone,
    "slack": _slack,
    "teams": _url,
    "webhook": _url,
    "apprise": _apprise_target,
}


def clean_address(settings: Settings, kind: str, address: str) -> str:
    """The address in its stored form; InvalidInput when it is not one."""
    if _CONTROL.search(address):
        raise InvalidInput("an address cannot contain control characters")
    check = VALIDATORS.get(kind)
    if check is not None:
        return check(settings, address)

    if kind not in registry.kinds():
        raise InvalidInput(
            f"kind must be one of {', '.join(registry.kinds())}, not {kind!r}"
        )
    plugin_check = registry.address_validator(kind)
    address = address.strip()
    if plugin_check is not None:
        try:
            return plugin_check(address)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
    if not address or len(address) > 1000:
        raise InvalidInput("an address of 1 to 1000 characters is required")
    return address


def may_manage(actor: Actor, user_id: int) -> None:
    """A person manages their own contact methods and rules; an admin anyone's.
    Others get Forbidden: phone numbers are not for colleagues to read."""
    if actor.is_system or actor.role is Role.ADMIN or actor.user_id == user_id:
        return
    raise Forbidden("only the person themselves or an admin can do this")


def user_of(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email}")
    return user


def _contact(session: Session, user_id: int, contact_id: int) -> ContactMethod:
    # An id past the column's range is no row; the driver would raise instead.
    in_range = 1 <= contact_id <= MAX_ID
    contact = session.get(ContactMethod, contact_id) if in_range else None
    if contact is None or contact.user_id != user_id:
        raise NotFound(f"user {user_id} has no contact method {contact_id}")
    return contact


def list_contacts(ctx: Context, actor: Actor, user_id: int) -> list[ContactMethodRead]:
    may_manage(actor, user_id)
    with ctx.db.read() as session:
        user_of(session, user_id)
        rows = session.scalars(
            select(ContactMethod)
            .where(ContactMethod.user_id == user_id)
            .order_by(ContactMethod.id)
        )
        return [ContactMethodRead.model_validate(row) for row in rows]


def add_contact(
    ctx: Context,
    actor: Actor,
    user_id: int,
    *,
    kind: str,
    address: str,
    label: str = "",
) -> ContactMethodCreated:
    """Add a contact method. Raises InvalidInput for a bad address or label,
    Conflict when the user has it already."""
    may_manage(actor, user_id)
    address = clean_address(ctx.settings, kind, address)
    label = label.strip()
    if len(label) > 100 or _CONTROL.search(label):
        raise InvalidInput("a label has at most 100 characters and no control codes")

    now = ctx.clock.now()
    secret = new_secret() if kind == "webhook" else ""
    try:
        with ctx.db.write() as session:
            user_of(session, user_id)
            contact = ContactMethod(
                user_id=user_id,
                kind=kind,
                address=address,
                label=label,
                signing_secret=secret,
                created_at=now,
            )
            session.add(contact)
            session.flush()
            audit(
                session,
                actor,
                at=now,
                action="contact_method.create",
                object_type="contact_method",
                object_id=contact.id,
                user_id=user_id,
                kind=kind,
            )
            created = ContactMethodCreated.model_validate(contact)
    except IntegrityError as error:
        raise Conflict(f"user {user_id} already has this {kind} address") from error

    if secret:
        created.signing_secret = secret
    return created


def remove_contact(ctx: Context, actor: Actor, user_id: int, contact_id: int) -> None:
    """Remove a contact method and the notification rules that use it. The
    last one is kept: a person nobody can reach would be paged in vain."""
    may_manage(actor, user_id)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        # The person's row is locked first, so two removals at once take turns:
        # each would otherwise count two methods left and leave none.
        session.scalar(select(User.id).where(User.id == user_id).with_for_update())
        contact = _contact(session, user_id, contact_id)
        remaining = session.scalar(
            select(func.count())
            .select_from(ContactMethod)
            .where(ContactMethod.user_id == user_id)
        )
        if remaining == 1:
            raise Conflict(
                "this is the user's last contact method; add another one first"
            )
        session.delete(contact)
        audit(
            session,
            actor,
            at=now,
            action="contact_method.delete",
            object_type="contact_method",
            object_id=contact_id,
            user_id=user_id,
            kind=contact.kind,
        )


def send_test(ctx: Context, actor: Actor, user_id: int, contact_id: int) -> TestQueued:
    """Queue a test message to one contact method, through the worker like a
    page; its delivery (or failure) shows in the outbox like any message."""
    may_manage(actor, user_id)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        contact = _contact(session, user_id, contact_id)
        user = user_of(session, user_id)
        text = (
            f"Tocsin test notification for {user.name}: this {contact.kind} "
            "contact method works. Nothing to do."
        )
        message = OutboxMessage(
            channel=contact.kind,
            recipient=contact.address[:320],
            subject="[Tocsin] Test notification",
            body=text,
            payload={
                "kind": "test",
                "title": "Test notification",
                "address": contact.address,
                "contact_method_id": contact.id,
                "open_url": ctx.settings.base_url,
            },
            idempotency_key=uuid.uuid4().hex,
            user_id=user_id,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(message)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="contact_method.test",
            object_type="contact_method",
            object_id=contact.id,
            user_id=user_id,
        )
        queued = TestQueued(message_id=message.id, contact_method_id=contact.id)
    ctx.work_queued.set()
    return queued
