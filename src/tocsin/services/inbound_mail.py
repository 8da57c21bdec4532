"""Inbound mail: addresses per service, and what a received mail becomes.

An address (its local part) has a purpose:

- `alert`: a mail raises an alert on the address's service. Its dedup key is
  the subject, normalised (reply and state prefixes such as `Re:`, `PROBLEM:`
  or `[FIRING]` dropped), so repeats of one problem join one alert; a subject
  marked `RESOLVED`/`RECOVERY` resolves it.
- `report`: a mail files a report that waits for triage.
- `reply`: a mail only threads into an incident; anything else is refused.
- `declare`: a mail declares an incident on the address's service (subject as
  title, body as description) when its sender is an active user who may
  respond on that service; anyone else's mail is refused.

Whatever the purpose, a mail that answers one Tocsin sent (a page) or
received (In-Reply-To or References naming its Message-ID), or whose subject
carries an incident's tag (`[#123]`, or the `#123` of a page's subject),
becomes a note on that incident's timeline. A tag alone is weak proof, so it
threads only into the address's own service's incidents, or, on a reply
address, when the sender is a user who may see the incident.

The same Message-ID received twice on one address is handled once.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import parseaddr
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor, Role, can_see_team
from tocsin.domain.alerts import AlertAction, AlertEvent
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import alerts, users
from tocsin.services.context import Context
from tocsin.services.records import add_timeline, audit
from tocsin.services.signal_sources import (
    EMAIL,
    add_own_integration,
    integration_ref,
    require_manager,
    retire_own_integration,
    visible_service,
)
from tocsin.store.models import (
    InboundMail,
    Incident,
    MailAddress,
    OutboxMessage,
    Service,
    User,
)

log = logging.getLogger(__name__)

PURPOSES = ("alert", "report", "reply", "declare")
MAX_NOTE_BODY = 4000
MAX_REFERENCES = 50
_RACE_RETRIES = 3

_LOCAL_PART = re.compile(r"[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?")
_TAG = re.compile(r"\[#([0-9]{1,9})\]|\[Tocsin\]\s*#([0-9]{1,9})\b", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|sv|wg)\s*:\s*)+", re.IGNORECASE)
_STATE_PREFIX = re.compile(
    r"^\s*\[?\s*(problem|firing|alert|alarm|resolved|recovery|recovered|ok)\s*\]?"
    r"\s*[:-]?\s*",
    re.IGNORECASE,
)
_CLEARED = ("resolved", "recovery", "recovered", "ok")
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,998})>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class AddressRead:
    id: int
    local_part: str
    purpose: str
    service: str | None


@dataclass(frozen=True)
class Outcome:
    """What one mail became on one address."""

    address: str
    # alert | resolved | note | report | duplicate | ignored (an alert address
    # clearing an alert that is not open) | unthreaded (a reply address's mail
    # that answers nothing) | declared | refused (a declare address's mail
    # from someone who may not declare there)
    result: str
    incident_number: int | None = None
    report_id: int | None = None


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    sender: str
    subject: str
    body: str
    references: tuple[str, ...]


# Addresses --------------------------------------------------------------------


def add_address(
    ctx: Context,
    actor: Actor,
    local_part: str,
    *,
    purpose: str = "alert",
    service: str | None = None,
) -> AddressRead:
    """Accept mail for `local_part`. Alert addresses need a service; report
    addresses may name one. Raises InvalidInput, NotFound or Conflict."""
    require_manager(actor)
    local = local_part.strip().lower()
    if not _LOCAL_PART.fullmatch(local):
        raise InvalidInput(
            "a mail address's local part is 1 to 64 of a-z, 0-9 and . _ + - "
            "(not starting or ending with punctuation)"
        )
    if purpose not in PURPOSES:
        raise InvalidInput(f"purpose must be one of {', '.join(PURPOSES)}")
    if purpose == "alert" and service is None:
        raise InvalidInput("an alert address needs the service its alerts are on")
    if purpose == "declare" and service is None:
        raise InvalidInput("a declare address needs the service it declares on")
    if purpose == "reply" and service is not None:
        raise InvalidInput("a reply address threads into any incident: no service")

    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            if session.scalar(
                select(MailAddress.id).where(MailAddress.local_part == local)
            ):
                raise _taken(local)
            owner = (
                None if service is None else visible_service(session, actor, service)
            )
            address = MailAddress(
                local_part=local, purpose=purpose, created_at=now, service=owner
            )
            if owner is not None and purpose == "alert":
                address.integration = add_own_integration(
                    session, owner, EMAIL, local, now
                )
            session.add(address)
            session.flush()
            audit(
                session,
                actor,
                at=now,
                action="mail_address.create",
                object_type="mail_address",
                object_id=address.id,
                local_part=local,
                purpose=purpose,
                service=owner.name if owner else None,
            )
            return _address_read(address)
    except IntegrityError as error:
        raise _taken(local) from error


def list_addresses(ctx: Context) -> list[AddressRead]:
    with ctx.db.read() as session:
        rows = session.scalars(select(MailAddress).order_by(MailAddress.local_part))
        return [_address_read(row) for row in rows]


def remove_address(ctx: Context, actor: Actor, local_part: str) -> None:
    """Stop accepting mail for `local_part`. Raises NotFound."""
    require_manager(actor)
    local = local_part.strip().lower()
    with ctx.db.write() as session:
        address = session.scalar(
            select(MailAddress).where(MailAddress.local_part == local)
        )
        if address is None:
            raise NotFound(f"no mail address {local!r}")
        if address.integration_id is not None:
            retire_own_integration(session, address.integration_id)
        audit(
            session,
            actor,
            at=ctx.clock.now(),
            action="mail_address.remove",
            object_type="mail_address",
            object_id=address.id,
            local_part=local,
        )
        session.delete(address)


def accepts(ctx: Context, recipient: str) -> bool:
    """Whether Tocsin takes mail for `recipient` (asked at RCPT time)."""
    local = local_part_of(ctx, recipient)
    if local is None:
        return False

    with ctx.db.read() as session:
        found = session.scalar(
            select(MailAddress.id).where(MailAddress.local_part == local)
        )
        return found is not None


def local_part_of(ctx: Context, recipient: str) -> str | None:
    """The local part of `recipient` when its domain is ours, lower case."""
    local, at, domain = recipient.strip().strip("<>").rpartition("@")
    if not at or not local or len(local) > 64:
        return None
    wanted = ctx.settings.inbound_mail_domain.strip().lower()
    if wanted and domain.lower().rstrip(".") != wanted.rstrip("."):
        return None
    return local.lower()


# Receiving --------------------------------------------------------------------


def parse(raw: bytes) -> ParsedMail:
    """The parts of a mail Tocsin uses. Never raises on malformed MIME: what
    cannot be read is left empty, and a missing Message-ID is replaced by a
    digest of the whole message, so a redelivery is still recognised."""
    try:
        message: Message = email.message_from_bytes(raw, policy=email.policy.default)
        sender = _header(message, "From")
        subject = _header(message, "Subject")
    except Exception:
        # The modern policy parses headers eagerly and can trip on broken ones;
        # the compat32 policy keeps them as raw strings.
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        sender = _header(message, "From")
        subject = _header(message, "Subject")

    ids = _MESSAGE_ID.findall(_header(message, "Message-ID"))
    message_id = ids[0] if ids else "sha256:" + hashlib.sha256(raw).hexdigest()
    references = _MESSAGE_ID.findall(
        _header(message, "In-Reply-To") + " " + _header(message, "References")
    )
    return ParsedMail(
        message_id=_stored_id(message_id),
        sender=parseaddr(sender)[1][:320] or sender[:320],
        subject=_one_line(subject)[:500],
        body=_text_of(message),
        references=tuple(_stored_id(ref) for ref in references[-MAX_REFERENCES:]),
    )


def receive(ctx: Context, recipients: list[str], raw: bytes) -> list[Outcome]:
    """Handle one mail for each of our `recipients`, each in its own
    transaction (a duplicate on one address does not hide it from another)."""
    mail = parse(raw)
    outcomes = []
    for recipient in dict.fromkeys(recipients):
        local = local_part_of(ctx, recipient)
        if local is None:
            continue
        outcomes.append(_receive_once(ctx, local, mail))
    return outcomes


def _receive_once(ctx: Context, local: str, mail: ParsedMail) -> Outcome:
    for _attempt in range(_RACE_RETRIES):
        try:
            with ctx.db.write() as session:
                return _handle(session, ctx, local, mail)
        except IntegrityError:
            # The same message arrived twice at once (PostgreSQL only): the
            # retry finds the first one and calls this a duplicate.
            log.info("inbound mail race lost, retrying")
    raise RuntimeError("inbound mail kept losing races")


def _handle(session: Session, ctx: Context, local: str, mail: ParsedMail) -> Outcome:
    address = session.scalar(select(MailAddress).where(MailAddress.local_part == local))
    if address is None:
        return Outcome(local, "ignored")

    seen = session.scalar(
        select(InboundMail).where(
            InboundMail.address_id == address.id,
            InboundMail.message_id == mail.message_id,
        )
    )
    if seen is not None:
        return Outcome(local, "duplicate", _number(session, seen.incident_id))

    actor = Actor(
        kind="integration",
        label=f"email from {mail.sender or 'unknown'}"[:200],
        role=Role.RESPONDER,
    )
    incident = _thread(session, address, mail)
    if incident is not None:
        outcome = _note(session, ctx, actor, address, incident, mail)
    elif address.purpose == "alert":
        outcome = _alert(session, ctx, address, mail)
    elif address.purpose == "report":
        outcome = _report(session, ctx, actor, address, mail)
    elif address.purpose == "declare":
        outcome = _declare(session, ctx, address, mail)
    else:
        outcome = Outcome(local, "unthreaded")

    incident_id = None
    if outcome.incident_number is not None:
        incident_id = session.scalar(
            select(Incident.id).where(Incident.number == outcome.incident_number)
        )
    session.add(
        InboundMail(
            address_id=address.id,
            message_id=mail.message_id,
            received_at=ctx.clock.now(),
            sender=mail.sender,
            subject=mail.subject,
            outcome=outcome.result,
            incident_id=incident_id,
            report_id=outcome.report_id,
        )
    )
    session.flush()
    return outcome


def _thread(
    session: Session, address: MailAddress, mail: ParsedMail
) -> Incident | None:
    """The incident this mail answers, if it may thread into it."""
    if mail.references:
        received = session.scalar(
            select(InboundMail.incident_id)
            .where(
                InboundMail.message_id.in_(mail.references),
                InboundMail.incident_id.is_not(None),
            )
            .order_by(InboundMail.id.desc())
            .limit(1)
        )
        # Tocsin's own mails carry `<idempotency key@domain>` (channels.email).
        keys = [ref.partition("@")[0][:100] for ref in mail.references]
        sent = session.scalar(
            select(OutboxMessage.incident_id)
            .where(
                OutboxMessage.idempotency_key.in_(keys),
                OutboxMessage.incident_id.is_not(None),
            )
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        found = received or sent
        if found is not None:
            return session.get(Incident, found, with_for_update=True)

    tag = _TAG.search(mail.subject)
    if tag is None:
        return None
    number = int(tag[1] or tag[2])
    incident = session.scalar(
        select(Incident).where(Incident.number == number).with_for_update()
    )
    if incident is None:
        return None
    if address.service_id is not None:
        return incident if incident.service_id == address.service_id else None
    return incident if _sender_may_see(session, mail.sender, incident) else None


def _sender_may_see(session: Session, sender: str, incident: Incident) -> bool:
    user = session.scalar(
        select(User).where(User.email == sender.strip().lower(), User.active)
    )
    if user is None or user.role == Role.VIEWER:
        return False
    actor = users.actor_for(session, user, kind="user")
    service = session.get(Service, incident.service_id)
    return service is not None and can_see_team(actor, service.team_id)


def _note(
    session: Session,
    ctx: Context,
    actor: Actor,
    address: MailAddress,
    incident: Incident,
    mail: ParsedMail,
) -> Outcome:
    now = ctx.clock.now()
    body = mail.body.strip()
    if len(body) > MAX_NOTE_BODY:
        body = body[:MAX_NOTE_BODY] + "\n[... cut]"
    message = f"Email from {mail.sender or 'unknown'}: {mail.subject or '(no subject)'}"
    if body:
        message += f"\n\n{body}"
    incident.updated_at = now
    add_timeline(
        session,
        incident,
        at=now,
        kind="email_note",
        message=message,
        actor=actor,
        message_id=mail.message_id,
    )
    audit(
        session,
        actor,
        at=now,
        action="incident.email_note",
        object_type="incident",
        object_id=incident.id,
        number=incident.number,
        address=address.local_part,
    )
    return Outcome(address.local_part, "note", incident.number)


def _alert(
    session: Session, ctx: Context, address: MailAddress, mail: ParsedMail
) -> Outcome:
    if address.integration_id is None:
        return Outcome(address.local_part, "ignored")

    state, topic = alert_topic(mail.subject)
    action = AlertAction.RESOLVE if state in _CLEARED else AlertAction.TRIGGER
    event = AlertEvent(
        action=action,
        dedup_key="mail-" + hashlib.sha256(topic.encode()).hexdigest()[:40],
        summary=(mail.subject or "(no subject)")[:1024],
        source=mail.sender[:255],
        severity="error",
        labels={"email_to": address.local_part},
        raw={"message_id": mail.message_id, "from": mail.sender},
        details=mail.body[:MAX_NOTE_BODY],
    )
    ref = integration_ref(session, address.integration_id)
    [result] = alerts.apply(session, ctx, ref, [event])
    kind = "resolved" if action is AlertAction.RESOLVE else "alert"
    if result.result == alerts.IGNORED:
        kind = "ignored"
    return Outcome(address.local_part, kind, result.incident_number)


def _report(
    session: Session,
    ctx: Context,
    actor: Actor,
    address: MailAddress,
    mail: ParsedMail,
) -> Outcome:
    # Imported here: reports belong to triage, which loads after intake.
    from tocsin.services import reports

    # Mail is whatever a sender typed: control characters are dropped rather
    # than refused, so a stray escape or bell never loses the report.
    title = _printable(mail.subject).strip() or "(no subject)"
    title = title[: reports.MAX_TITLE]
    body = _printable(mail.body.replace("\r\n", "\n"), keep="\n\t")
    description = body.strip()[: reports.MAX_DESCRIPTION]
    fields: dict[str, Any] = {
        "actor": actor,
        "source": "email",
        "title": title,
        "description": description,
        "service_id": address.service_id,
        "reporter_email": mail.sender,
        "details": {"message_id": mail.message_id, "to": address.local_part},
    }
    try:
        report = reports.create_report(session, ctx, **fields)
    except InvalidInput:
        # A From header that is no usable address must not lose the report.
        report = reports.create_report(session, ctx, **{**fields, "reporter_email": ""})
    return Outcome(address.local_part, "report", report_id=report.id)


def _declare(
    session: Session, ctx: Context, address: MailAddress, mail: ParsedMail
) -> Outcome:
    """Declare an incident on the address's service as the sender, who must
    be an active user allowed to respond there; otherwise a refusal."""
    # Imported here: declaration belongs to triage, which loads after intake.
    from tocsin.services import declaration

    refused = Outcome(address.local_part, "refused")
    user = session.scalar(
        select(User).where(User.email == mail.sender.strip().lower(), User.active)
    )
    service = session.get(Service, address.service_id or 0)
    if user is None or service is None:
        return refused
    actor = users.actor_for(session, user, kind="user")
    if actor.role == Role.VIEWER or not can_see_team(actor, service.team_id):
        return refused

    title = _printable(mail.subject).strip() or "(no subject)"
    body = _printable(mail.body.replace("\r\n", "\n"), keep="\n\t").strip()
    declared = declaration.Declaration(
        service_id=service.id,
        title=title[: declaration.MAX_TITLE],
        reason=f"declared by email from {user.email}",
        description=body[: declaration.MAX_DESCRIPTION],
    )
    try:
        incident = declaration.declare_in(session, ctx, actor, declared)
    except InvalidInput:
        # Checked before anything is written, so nothing is half-stored.
        return refused
    return Outcome(address.local_part, "declared", incident.number)


def alert_topic(subject: str) -> tuple[str, str]:
    """The state word a subject starts with (`resolved`, `problem`, or "")
    and the rest of it normalised: what tells one problem from another."""
    rest = _REPLY_PREFIX.sub("", subject)
    state = ""
    found = _STATE_PREFIX.match(rest)
    if found is not None:
        state = found[1].lower()
        rest = rest[found.end() :]
    return state, " ".join(rest.lower().split())


# Helpers ----------------------------------------------------------------------


def _header(message: Message, name: str) -> str:
    try:
        value: Any = message.get(name)
        return "" if value is None else _one_line(str(value))
    except Exception:
        # A header whose encoded words or structure the parser cannot read.
        return ""


def _text_of(message: Message) -> str:
    """The text of the mail: its plain part, else its HTML part as text, else
    nothing. Control characters (but newlines and tabs) are dropped."""
    text = ""
    try:
        if isinstance(message, EmailMessage):
            part = message.get_body(preferencelist=("plain", "html"))
            if part is not None:
                content = part.get_content()
                if isinstance(content, str):
                    html = part.get_content_subtype() == "html"
                    text = _HtmlText.of(content) if html else content
        else:
            payload = message.get_payload(decode=True)
            if isinstance(payload, bytes):
                text = payload.decode("utf-8", "replace")
    except Exception:
        log.info("unreadable mail body")
    return _CONTROL.sub("", text.replace("\x00", ""))


class _HtmlText(HTMLParser):
    """The words of an HTML mail, without its markup, scripts or styles: a
    note is text, and the web escapes it again when it shows it."""

    _BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        parser.close()
        lines = "".join(parser.parts).splitlines()
        return "\n".join(" ".join(line.split()) for line in lines if line.strip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._hidden += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._hidden = max(self._hidden - 1, 0)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _one_line(text: str) -> str:
    # Headers end up in titles shown on terminals and pages: no control
    # characters (escapes, bells) survive, only single spaces.
    return _printable(" ".join(text.split()))


def _printable(text: str, keep: str = "") -> str:
    """`text` without C0 control characters (but those in `keep`) and DEL."""
    return "".join(c for c in text if c in keep or not (ord(c) < 0x20 or c == "\x7f"))


def _stored_id(message_id: str) -> str:
    """A Message-ID as stored: as sent when it fits, else a digest of it."""
    if len(message_id) <= 255:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()


def _number(session: Session, incident_id: int | None) -> int | None:
    if incident_id is None:
        return None
    return session.scalar(select(Incident.number).where(Incident.id == incident_id))


def _address_read(address: MailAddress) -> AddressRead:
    return AddressRead(
        id=address.id,
        local_part=address.local_part,
        purpose=address.purpose,
        service=address.service.name if address.service else None,
    )


def _taken(local: str) -> Conflict:
    return Conflict(f"the mail address {local!r} is taken")
