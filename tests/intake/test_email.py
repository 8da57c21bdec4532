"""The SMTP listener, spoken to with smtplib: recipients, sizes, and mail that
becomes alerts."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy import func, select

from tests.builders import make_service, make_user
from tests.e2e.harness import free_port
from tocsin.domain.access import SYSTEM
from tocsin.errors import ConfigError
from tocsin.intake.email import MailListener
from tocsin.services import inbound_mail
from tocsin.services.context import Context
from tocsin.store.models import Alert, InboundMail, Incident

DOMAIN = "alerts.example.com"


@pytest.fixture
def listener(ctx: Context) -> Iterator[MailListener]:
    ctx.settings = ctx.settings.model_copy(
        update={
            "inbound_mail_domain": DOMAIN,
            "inbound_mail_max_bytes": 64 * 1024,
        }
    )
    ann = make_user(ctx)
    make_service(ctx, "database", steps=[(5, [ann])])
    inbound_mail.add_address(ctx, SYSTEM, "db-team", service="database")
    server = MailListener(ctx, host="127.0.0.1", port=free_port())
    server.start()
    yield server
    server.stop()


def message(subject: str, body: str = "Disk at 97%.", **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "nagios@monitor.example.com"
    mail["To"] = f"db-team@{DOMAIN}"
    mail["Subject"] = subject
    mail["Message-ID"] = headers.pop("message_id", "<m1@monitor.example.com>")
    for name, value in headers.items():
        mail[name] = value
    mail.set_content(body)
    return mail


def smtp(listener: MailListener) -> smtplib.SMTP:
    return smtplib.SMTP(listener.host, listener.port, timeout=10)


def count(ctx: Context, model: type[Alert] | type[Incident] | type[InboundMail]) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_mail_sent_over_smtp_opens_an_incident(
    ctx: Context, listener: MailListener
) -> None:
    """smtplib to the listener: 250, and the mail is an alert on the service."""
    with smtp(listener) as client:
        refused = client.send_message(message("PROBLEM: disk full on db-1"))

    assert refused == {}
    with ctx.db.read() as session:
        incident = session.scalars(select(Incident)).one()
        service = incident.service.name
    assert incident.title == "PROBLEM: disk full on db-1"
    assert service == "database"


def test_unknown_recipients_are_refused_at_rcpt_with_550(
    ctx: Context, listener: MailListener
) -> None:
    """Another local part or another domain gets 550 before any body is sent."""
    with smtp(listener) as client:
        client.ehlo()
        client.mail("nagios@monitor.example.com")
        assert client.rcpt(f"nobody@{DOMAIN}")[0] == 550
        assert client.rcpt("db-team@elsewhere.test")[0] == 550
        assert client.rcpt(f"DB-Team@{DOMAIN}")[0] == 250

    assert count(ctx, InboundMail) == 0


def test_a_mail_over_the_size_limit_is_refused_and_stores_nothing(
    ctx: Context, listener: MailListener
) -> None:
    """Over TOCSIN_INBOUND_MAIL_MAX_BYTES is 552: at MAIL when the sender
    declares the size, at the end of DATA when it does not."""
    big = message("huge", ("x" * 79 + "\n") * 1024)

    with smtp(listener) as client, pytest.raises(smtplib.SMTPSenderRefused) as early:
        client.send_message(big)
    with smtp(listener) as client:
        client.ehlo()
        client.mail("nagios@monitor.example.com")
        client.rcpt(f"db-team@{DOMAIN}")
        late = client.data(big.as_bytes(policy=SMTP))

    assert early.value.smtp_code == 552
    assert late[0] == 552, late
    assert count(ctx, Alert) == 0


def test_malformed_mime_is_taken_and_the_listener_keeps_serving(
    ctx: Context, listener: MailListener
) -> None:
    """Garbage in the DATA is an alert; the next mail on the same server works."""
    garbage = (
        b"Subject: =?x-unknown?B?@@@?=\r\nContent-Type: multipart/mixed\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n\xff\xfe not base64 at all\r\n"
    )
    with smtp(listener) as client:
        client.sendmail("a@b.test", [f"db-team@{DOMAIN}"], garbage)
        client.send_message(message("second", message_id="<m2@x>"))

    assert count(ctx, InboundMail) == 2
    assert count(ctx, Alert) == 2


def test_a_reply_only_address_refuses_mail_that_threads_nowhere(
    ctx: Context, listener: MailListener
) -> None:
    """Mail to a reply address that answers no incident is refused (550)."""
    inbound_mail.add_address(ctx, SYSTEM, "tocsin", purpose="reply")
    stray = replace_to(message("hello"), f"tocsin@{DOMAIN}")

    with smtp(listener) as client, pytest.raises(smtplib.SMTPDataError) as refused:
        client.send_message(stray)

    assert refused.value.smtp_code == 550


def replace_to(mail: EmailMessage, to: str) -> EmailMessage:
    del mail["To"]
    mail["To"] = to
    return mail


def test_a_database_failure_is_a_temporary_refusal(
    ctx: Context, listener: MailListener
) -> None:
    """When the mail cannot be stored, the sender hears 451 and keeps it."""
    # Break storing: drop the table the outcome is written to.
    with ctx.db.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE inbound_mails RENAME TO inbound_gone")
    try:
        with smtp(listener) as client, pytest.raises(smtplib.SMTPDataError) as refused:
            client.send_message(message("disk full"))
    finally:
        with ctx.db.engine.begin() as connection:
            connection.exec_driver_sql(
                "ALTER TABLE inbound_gone RENAME TO inbound_mails"
            )

    assert refused.value.smtp_code == 451
    assert count(ctx, Alert) == 0


def test_a_recovery_for_no_open_alert_is_still_accepted(
    ctx: Context, listener: MailListener
) -> None:
    """An alert address answers 250 to a RECOVERY mail it has nothing open
    for: the sender did nothing wrong."""
    with smtp(listener) as client:
        refused = client.send_message(message("RECOVERY: disk full on db-1"))

    assert refused == {}
    assert count(ctx, Alert) == 0
    assert count(ctx, InboundMail) == 1


def test_a_port_in_use_is_a_configuration_error(
    ctx: Context, listener: MailListener
) -> None:
    """A second listener on the same port fails with a clear ConfigError."""
    second = MailListener(ctx, host=listener.host, port=listener.port)

    with pytest.raises(ConfigError, match=r"cannot take inbound mail on 127\.0\.0\.1"):
        second.start()
