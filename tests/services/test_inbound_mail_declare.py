"""Declare addresses: a responder's mail declares an incident on the
address's service; anyone else's is refused, at DATA over SMTP."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from tests.builders import make_service, make_user
from tests.e2e.harness import free_port
from tocsin.domain.access import SYSTEM
from tocsin.errors import InvalidInput
from tocsin.intake.email import MailListener
from tocsin.services import inbound_mail, incidents
from tocsin.services.context import Context
from tocsin.store.models import InboundMail, Incident

DOMAIN = "alerts.example.com"
TO = f"declare-db@{DOMAIN}"


def mail(sender: str, subject: str, body: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = TO
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body)
    return message


@pytest.fixture
def declaring(ctx: Context) -> Context:
    ann = make_user(ctx, "ann@example.com", teams=("Ops",))
    make_user(ctx, "vera@example.com", role="viewer", teams=("Ops",))
    make_user(ctx, "pete@example.com", teams=("Payments",))
    make_service(ctx, "database", steps=[(5, [ann])], team="Ops")
    inbound_mail.add_address(
        ctx, SYSTEM, "declare-db", purpose="declare", service="database"
    )
    return ctx


def receive(ctx: Context, message: EmailMessage) -> inbound_mail.Outcome:
    [outcome] = inbound_mail.receive(ctx, [TO], message.as_bytes())
    return outcome


def incident_titles(ctx: Context) -> list[str]:
    with ctx.db.read() as session:
        return list(session.scalars(select(Incident.title)))


def test_a_responders_mail_declares_an_incident(declaring: Context) -> None:
    """Subject becomes the title, body the description, and the reason names
    the sender; a redelivery declares nothing more."""
    message = mail("ann@example.com", "Replication lag", "Lag at 40s.", "<d1@x>")

    outcome = receive(declaring, message)
    again = receive(declaring, message)

    assert outcome.result == "declared"
    assert outcome.incident_number is not None
    incident = incidents.get(declaring, SYSTEM, outcome.incident_number)
    assert incident.title == "Replication lag"
    assert incident.description == "Lag at 40s."
    with declaring.db.read() as session:
        row = session.scalars(select(Incident)).one()
        assert row.declared_reason == "declared by email from ann@example.com"
    assert again.result == "duplicate"
    assert incident_titles(declaring) == ["Replication lag"]


@pytest.mark.parametrize(
    "sender",
    ["stranger@evil.test", "vera@example.com", "pete@example.com", ""],
)
def test_others_mail_is_refused_and_recorded(declaring: Context, sender: str) -> None:
    """Strangers, viewers and other teams' responders declare nothing; the
    refusal is recorded."""
    outcome = receive(declaring, mail(sender, "Fake outage", "x", "<f@x>"))

    assert outcome.result == "refused"
    assert incident_titles(declaring) == []
    with declaring.db.read() as session:
        recorded = session.scalars(select(InboundMail.outcome)).all()
    assert recorded == ["refused"]


def test_a_declare_address_needs_a_service(declaring: Context) -> None:
    """A declare address without a service is refused when added."""
    with pytest.raises(InvalidInput, match="needs the service"):
        inbound_mail.add_address(declaring, SYSTEM, "declare-any", purpose="declare")


@pytest.fixture
def listener(declaring: Context) -> Iterator[MailListener]:
    declaring.settings = declaring.settings.model_copy(
        update={"inbound_mail_domain": DOMAIN}
    )
    server = MailListener(declaring, host="127.0.0.1", port=free_port())
    server.start()
    yield server
    server.stop()


def test_over_smtp_a_refused_declaration_is_550_at_data(
    declaring: Context, listener: MailListener
) -> None:
    """A stranger's mail gets 550 after DATA; a responder's is accepted."""
    with smtplib.SMTP(listener.host, listener.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.send_message(mail("e@evil.test", "Fake", "x", "<e@x>"))
        client.send_message(mail("ann@example.com", "Real outage", "y", "<r@x>"))

    assert refused.value.smtp_code == 550
    assert incident_titles(declaring) == ["Real outage"]
