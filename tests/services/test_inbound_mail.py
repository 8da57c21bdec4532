"""Inbound mail: what a received mail becomes on each kind of address."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from tests.builders import make_service, make_user
from tocsin.domain.access import SYSTEM
from tocsin.errors import Conflict, InvalidInput
from tocsin.services import inbound_mail, incidents
from tocsin.services.context import Context
from tocsin.store.models import Alert, Incident, OutboxMessage, TimelineEntry
from tocsin.store.models.triage import Report


def mail(
    subject: str,
    body: str = "Disk at 97%.",
    *,
    message_id: str | None = "<m1@monitor.example.com>",
    sender: str = "nagios@monitor.example.com",
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "db-team@alerts.example.com"
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


@pytest.fixture
def db_team(ctx: Context) -> Context:
    ann = make_user(ctx)
    make_service(ctx, "database", steps=[(5, [ann])])
    inbound_mail.add_address(ctx, SYSTEM, "db-team", service="database")
    return ctx


def receive(ctx: Context, raw: bytes, to: str = "db-team@alerts.example.com") -> str:
    [outcome] = inbound_mail.receive(ctx, [to], raw)
    return outcome.result


def timeline_kinds(ctx: Context, number: int) -> list[str]:
    return [entry.kind for entry in incidents.get(ctx, SYSTEM, number).timeline]


def test_a_mail_opens_an_incident_and_a_redelivery_changes_nothing(
    db_team: Context,
) -> None:
    """The same Message-ID twice is one alert with one event."""
    assert receive(db_team, mail("PROBLEM: disk full on db-1")) == "alert"
    assert receive(db_team, mail("PROBLEM: disk full on db-1")) == "duplicate"

    with db_team.db.read() as session:
        alert = session.scalars(select(Alert)).one()
        incident = session.scalars(select(Incident)).one()
    assert alert.event_count == 1
    assert incident.title == "PROBLEM: disk full on db-1"
    assert incident.description == "Disk at 97%.\n"


def test_mails_with_one_subject_join_one_alert_and_a_recovery_resolves_it(
    db_team: Context,
) -> None:
    """Dedup by subject: repeats count on the alert; RECOVERY resolves it."""
    receive(db_team, mail("PROBLEM: disk full on db-1", message_id="<a@x>"))
    receive(db_team, mail("Re: PROBLEM: Disk full  on db-1", message_id="<b@x>"))
    assert receive(
        db_team, mail("RECOVERY: disk full on db-1", message_id="<c@x>")
    ) == ("resolved")

    with db_team.db.read() as session:
        alert = session.scalars(select(Alert)).one()
        statuses = session.scalars(select(Incident.status)).all()
    assert alert.event_count == 2
    assert statuses == ["resolved"]


def test_a_reply_to_a_received_mail_threads_into_its_incident(
    db_team: Context,
) -> None:
    """In-Reply-To naming a mail Tocsin received adds a note, not an alert."""
    receive(db_team, mail("disk full on db-1", message_id="<first@x>"))
    reply = mail(
        "Re: disk full on db-1",
        "Freed 40 GB; watching.",
        message_id="<second@x>",
        sender="ann@example.com",
        In_Reply_To="<first@x>",
    )

    assert receive(db_team, reply) == "note"
    with db_team.db.read() as session:
        assert session.scalar(select(func.count(Incident.id))) == 1
        note = session.scalars(
            select(TimelineEntry).where(TimelineEntry.kind == "email_note")
        ).one()
    assert "Freed 40 GB" in note.message
    assert note.actor_label == "email from ann@example.com"


def test_a_reply_to_a_page_threads_by_its_message_id(db_team: Context) -> None:
    """A page's Message-ID is its outbox key; a reply to it finds the incident."""
    receive(db_team, mail("disk full", message_id="<first@x>"))
    with db_team.db.read() as session:
        key = session.scalars(select(OutboxMessage.idempotency_key)).first()
    inbound_mail.add_address(db_team, SYSTEM, "tocsin", purpose="reply")
    reply = mail(
        "Re: [Tocsin] page",
        "On it.",
        message_id="<r@x>",
        References=f"<other@x> <{key}@localhost>",
    )

    assert receive(db_team, reply, "tocsin@alerts.example.com") == "note"
    assert "email_note" in timeline_kinds(db_team, 1)


def test_a_subject_tag_threads_only_within_the_address_service(
    db_team: Context,
) -> None:
    """`[#1]` threads into incident 1 of the address's service, not another's."""
    receive(db_team, mail("disk full", message_id="<first@x>"))
    make_service(db_team, "web")
    inbound_mail.add_address(db_team, SYSTEM, "web-team", service="web")

    tagged = mail("Update [#1]", "Still full.", message_id="<t1@x>")
    assert receive(db_team, tagged) == "note"
    elsewhere = mail("Update [#1]", "Hi", message_id="<t2@x>")
    assert receive(db_team, elsewhere, "web-team@alerts.example.com") == "alert"


def test_a_reply_address_takes_tags_only_from_users_who_see_the_incident(
    db_team: Context,
) -> None:
    """On a reply address a tag counts only when a responder sent it."""
    receive(db_team, mail("disk full", message_id="<first@x>"))
    inbound_mail.add_address(db_team, SYSTEM, "tocsin", purpose="reply")
    to = "tocsin@alerts.example.com"

    stranger = mail(
        "Re: [Tocsin] #1 SEV2", "x", message_id="<s@x>", sender="e@evil.test"
    )
    assert receive(db_team, stranger, to) == "unthreaded"
    ann = mail(
        "Re: [Tocsin] #1 SEV2", "y", message_id="<a@x>", sender="ann@example.com"
    )
    assert receive(db_team, ann, to) == "note"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage without headers",
        b"Subject: =?utf-8?q?broken=ZZ?=\r\nFrom: <<<\r\n\r\nbody",
        b"Content-Type: multipart/mixed; boundary=x\r\nSubject: parts\r\n\r\n--x\r\n",
        b"Subject: nul \x00 inside\r\nMessage-ID: <" + b"a" * 2000 + b">\r\n\r\n\x00",
        b"Content-Transfer-Encoding: base64\r\nSubject: b64\r\n\r\n!!!not base64",
    ],
)
def test_malformed_mail_never_raises(db_team: Context, raw: bytes) -> None:
    """Broken MIME becomes an alert with what could be read, never an error."""
    assert receive(db_team, raw) == "alert"


def test_unknown_addresses_and_other_domains_are_not_accepted(
    db_team: Context,
) -> None:
    """Recipients are matched by local part, within the configured domain."""
    db_team.settings.inbound_mail_domain = "alerts.example.com"

    assert inbound_mail.accepts(db_team, "DB-Team@Alerts.Example.com")
    assert not inbound_mail.accepts(db_team, "nobody@alerts.example.com")
    assert not inbound_mail.accepts(db_team, "db-team@elsewhere.test")
    assert not inbound_mail.accepts(db_team, "no-at-sign")


def test_address_rules_are_checked(db_team: Context) -> None:
    """Bad local parts, purposes and duplicates are refused."""
    for local in ("", "-x", "a b", "x" * 65, "a@b"):
        with pytest.raises(InvalidInput):
            inbound_mail.add_address(db_team, SYSTEM, local, service="database")
    with pytest.raises(InvalidInput):
        inbound_mail.add_address(db_team, SYSTEM, "alerts2")  # alert needs a service
    with pytest.raises(Conflict):
        inbound_mail.add_address(db_team, SYSTEM, "DB-TEAM", service="database")

    assert [a.local_part for a in inbound_mail.list_addresses(db_team)] == ["db-team"]


def test_alert_topic_drops_reply_and_state_prefixes() -> None:
    """What tells one problem from another ignores Re:, PROBLEM: and case."""
    assert inbound_mail.alert_topic("Re: Fwd: [FIRING] Disk  Full") == (
        "firing",
        "disk full",
    )
    assert inbound_mail.alert_topic("RESOLVED - disk full") == ("resolved", "disk full")
    assert inbound_mail.alert_topic("disk full") == ("", "disk full")


def test_a_mail_to_a_report_address_files_a_report(db_team: Context) -> None:
    """A report address makes an untriaged report from the mail, once."""
    inbound_mail.add_address(db_team, SYSTEM, "help", purpose="report")
    raw = mail("Checkout page is blank", "Since 09:00, for all customers.")

    [outcome] = inbound_mail.receive(db_team, ["help@alerts.example.com"], raw)
    assert outcome.result == "report"
    assert receive(db_team, raw, "help@alerts.example.com") == "duplicate"

    with db_team.db.read() as session:
        report = session.scalars(select(Report)).one()
    assert report.id == outcome.report_id
    assert report.source == "email"
    assert report.title == "Checkout page is blank"
    assert report.reporter_email == "nagios@monitor.example.com"
    assert "for all customers" in report.description


def test_an_html_only_mail_gives_its_text_without_markup(db_team: Context) -> None:
    """Monitoring tools that send HTML alone still give the incident words."""
    message = EmailMessage()
    message["From"] = "grafana@example.com"
    message["Subject"] = "CPU high"
    message["Message-ID"] = "<html@x>"
    message.set_content(
        "<html><head><style>p {}</style></head><body><p>CPU at <b>98%</b></p>"
        "<script>alert(1)</script><p>on db-1 &amp; db-2</p></body></html>",
        subtype="html",
    )

    receive(db_team, message.as_bytes())

    with db_team.db.read() as session:
        incident = session.scalars(select(Incident)).one()
    assert incident.description == "CPU at 98%\non db-1 & db-2"


def test_control_characters_in_a_reported_mail_are_dropped_not_refused(
    db_team: Context,
) -> None:
    """A report mail whose subject or body holds control characters is filed."""
    inbound_mail.add_address(db_team, SYSTEM, "help", purpose="report")
    raw = (
        b"From: someone@example.com\r\nSubject: Login \x1b[31mbroken\x07\x7f\r\n"
        b"Message-ID: <ctl@x>\r\n\r\nIt \x01fails\tfor all\x0b users.\r\nsince 9\r\n"
    )

    [outcome] = inbound_mail.receive(db_team, ["help@alerts.example.com"], raw)

    assert outcome.result == "report"
    with db_team.db.read() as session:
        report = session.scalars(select(Report)).one()
    assert report.title == "Login [31mbroken"
    assert report.description == "It fails\tfor all users.\nsince 9"


def test_control_characters_never_reach_an_alert_mail_incident_title(
    db_team: Context,
) -> None:
    """Terminal escapes in an alert mail's subject are dropped from the title."""
    receive(db_team, mail("PROBLEM: disk \x1b[2J full\x07"))

    with db_team.db.read() as session:
        incident = session.scalars(select(Incident)).one()
    assert incident.title == "PROBLEM: disk [2J full"
