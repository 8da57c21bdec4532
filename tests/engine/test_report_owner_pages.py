"""An untriaged report pages its triage owner as an incident pages a responder:
through the owner's own contact methods (real local Twilio, Slack and webhook
servers; email recorded), by their notification rules, throttled per contact,
until someone triages it; and the report says what was sent to whom."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from sqlalchemy import delete, select

from tests.builders import actor_of, make_user
from tests.channels.recording import Recorder
from tests.channels.servers import ProviderServer, Received, Reply, serve
from tocsin.channels import registry
from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.domain.access import SYSTEM, Actor
from tocsin.engine.worker import Worker
from tocsin.services import contacts, notification_rules, reports, triage
from tocsin.services.context import Context
from tocsin.store.models import ContactMethod, OutboxMessage, User
from tocsin.triage_schemas import OwnerPageRead

SID = "AC00000000000000000000000000000000"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"


def twilio(request: Received) -> Reply:
    return Reply.json({"sid": "SM1", "status": "queued"}, status=201)


@pytest.fixture
def phone() -> Iterator[ProviderServer]:
    yield from serve(twilio)


@pytest.fixture
def slack() -> Iterator[ProviderServer]:
    yield from serve()


@pytest.fixture
def hook() -> Iterator[ProviderServer]:
    yield from serve()


@pytest.fixture
def settings(settings: Settings, phone: ProviderServer) -> Settings:
    return settings.model_copy(
        update={
            "outbound_allowed_networks": ["127.0.0.1/32"],
            "twilio_base_url": phone.url,
            "twilio_account_sid": SID,
            "twilio_auth_token": "token",
            "twilio_from_number": "+15550000000",
            "page_throttle_limit": 2,
            "page_throttle_window_minutes": 120,
        }
    )


@pytest.fixture
def mail() -> Recorder:
    return Recorder("email")


@pytest.fixture
def worker(ctx: Context, mail: Recorder) -> Worker:
    """The worker's real channels; email is recorded (SMTP is not under test)."""
    return Worker(ctx, {**registry.load(ctx), "email": mail})


@pytest.fixture
def owner(ctx: Context) -> User:
    """The triage owner of every report."""
    user = make_user(ctx, "olga@example.com")
    triage.set_owner(ctx, SYSTEM, user_id=user.id)
    return user


def add(ctx: Context, user: User, kind: str, address: str) -> int:
    return contacts.add_contact(ctx, SYSTEM, user.id, kind=kind, address=address).id


def texts(phone: ProviderServer) -> list[str]:
    return [parse_qs(r.body.decode())["Body"][0] for r in phone.requests(MESSAGES)]


def sent(ctx: Context, actor: Actor, report_id: int) -> list[OwnerPageRead]:
    return reports.get_report(ctx, actor, report_id).owner_pages


def test_an_owner_without_rules_is_paged_on_every_contact_method(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    owner: User,
    mail: Recorder,
    phone: ProviderServer,
    slack: ProviderServer,
    hook: ProviderServer,
) -> None:
    """Email, SMS, Slack and a signed webhook each get the report once, the
    report lists all four, and once triaged nothing more is sent."""
    add(ctx, owner, "sms", "+15550001000")
    add(ctx, owner, "slack", f"{slack.url}/services/T0/B0/x")
    add(ctx, owner, "webhook", f"{hook.url}/tocsin")
    actor = actor_of(ctx, owner)
    report = reports.report_as_staff(ctx, actor, title="Checkout is slow")

    worker.run_once()

    reference = f"R-{report.id}"
    assert [m.recipient for m in mail.sent] == ["olga@example.com"]
    assert reference in mail.sent[0].subject
    [text] = texts(phone)
    assert reference in text
    assert len(text) <= 160
    [posted] = slack.requests("/services/T0/B0/x")
    assert reference in posted.json()["text"]
    [delivery] = hook.requests("/tocsin")
    assert delivery.header("webhook-signature").startswith("v1,")
    event = delivery.json()
    assert event["type"] == "report_page"
    assert event["data"]["report_id"] == report.id
    assert "address" not in event["data"]
    pages = sent(ctx, actor, report.id)
    assert sorted(p.channel for p in pages) == ["email", "slack", "sms", "webhook"]
    assert {(p.name, p.outcome, p.reminder) for p in pages} == {("Olga", "sent", 0)}

    reports.dismiss(ctx, actor, report.id, "Known, a deploy is rolling back")
    for _ in range(5):
        clock.advance(minutes=15)
        worker.run_once()

    assert len(mail.sent) == 1
    assert len(texts(phone)) == 1
    assert len(slack.requests()) == 1
    assert len(hook.requests()) == 1


def test_reminders_follow_the_rules_and_stop_after_four(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    owner: User,
    mail: Recorder,
    phone: ProviderServer,
    slack: ProviderServer,
) -> None:
    """SMS at once and Slack five minutes later, for the first page and each of
    the four reminders; a report triaged before a delayed rule is due gets no
    more, and the email address with no rule is not used."""
    sms = add(ctx, owner, "sms", "+15550001000")
    chat = add(ctx, owner, "slack", f"{slack.url}/services/T0/B0/x")
    for contact_id, delay in ((sms, 0), (chat, 5)):
        notification_rules.add_rule(
            ctx, SYSTEM, owner.id, contact_method_id=contact_id, delay_minutes=delay
        )
    ctx.settings.page_throttle_limit = 100
    actor = actor_of(ctx, owner)
    waiting = reports.report_as_staff(ctx, actor, title="Waiting")
    triaged = reports.report_as_staff(ctx, actor, title="Triaged")

    worker.run_once()
    assert len(texts(phone)) == 2
    assert slack.requests() == []

    reports.dismiss(ctx, actor, triaged.id, "Duplicate of the other")
    for _ in range(12):
        clock.advance(minutes=5)
        worker.run_once()
    clock.advance(minutes=60)
    worker.run_once()

    assert sum("Waiting" in t for t in texts(phone)) == 5
    assert sum("Triaged" in t for t in texts(phone)) == 1
    posts = [r.json()["text"] for r in slack.requests()]
    assert len(posts) == 5
    assert all("Waiting" in post for post in posts)
    assert sum("(reminder)" in post for post in posts) == 4
    assert mail.sent == []
    pages = sent(ctx, actor, waiting.id)
    assert [p.reminder for p in pages if p.channel == "sms"] == [0, 1, 2, 3, 4]
    assert [p.outcome for p in pages if p.channel == "slack"][:2] == [
        "scheduled after 5 min if still untriaged",
        "sent",
    ]
    assert [p.channel for p in sent(ctx, actor, triaged.id)] == ["sms", "slack"]


def test_sms_to_the_owner_is_throttled_as_pages_are(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    owner: User,
    phone: ProviderServer,
) -> None:
    """Two texts per window: the other three reminders are held back, said on
    the report, and summed up in one text when the window ends."""
    add(ctx, owner, "sms", "+15550001000")
    actor = actor_of(ctx, owner)
    report = reports.report_as_staff(ctx, actor, title="Disk is filling")

    worker.run_once()
    for _ in range(4):
        clock.advance(minutes=15)
        worker.run_once()

    assert len(texts(phone)) == 2
    outcomes = [p.outcome for p in sent(ctx, actor, report.id) if p.channel == "sms"]
    assert outcomes[:2] == ["sent", "sent"]
    assert len(outcomes) == 5
    assert all(o.startswith("held back: 2 pages") for o in outcomes[2:])

    clock.advance(minutes=120)
    worker.run_once()

    *_, summary = texts(phone)
    assert "3 more pages held back" in summary


def test_a_page_queued_before_triage_is_not_sent_after_it(
    ctx: Context, worker: Worker, owner: User, phone: ProviderServer
) -> None:
    """Triaged between queueing and delivery: the text is cancelled, not sent."""
    add(ctx, owner, "sms", "+15550001000")
    actor = actor_of(ctx, owner)
    report = reports.report_as_staff(ctx, actor, title="Disk is filling")
    reports.dismiss(ctx, actor, report.id, "Cleaned up already")

    worker.run_once()

    assert phone.requests() == []
    with ctx.db.read() as session:
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "sms")
        ).one()
    assert message.status == "cancelled"
    assert "dismissed" in message.last_error
    [page] = [p for p in sent(ctx, actor, report.id) if p.channel == "sms"]
    assert page.outcome == "not sent: report is dismissed"


def test_a_report_title_cannot_ping_a_slack_channel(
    ctx: Context, worker: Worker, owner: User, slack: ProviderServer
) -> None:
    """The title is the reporter's text: Slack gets it escaped, in the fallback
    text and in the blocks alike."""
    add(ctx, owner, "slack", f"{slack.url}/services/T0/B0/x")
    reports.report_as_staff(ctx, actor_of(ctx, owner), title="<!channel> & co")

    worker.run_once()

    [posted] = slack.requests("/services/T0/B0/x")
    assert "<!channel>" not in posted.body.decode()
    assert "&lt;!channel&gt; &amp; co" in posted.json()["text"]


def test_an_owner_without_contact_methods_is_emailed_at_the_login_address(
    ctx: Context, worker: Worker, owner: User, mail: Recorder
) -> None:
    """A profile without a usable contact method (Tocsin refuses to remove the
    last one, so this is older or imported data) does not leave a report
    unseen: the login address gets the email, and the report says so."""
    with ctx.db.write() as session:
        session.execute(delete(ContactMethod).where(ContactMethod.user_id == owner.id))
    actor = actor_of(ctx, owner)
    report = reports.report_as_staff(ctx, actor, title="Nobody to tell")

    worker.run_once()

    assert [m.recipient for m in mail.sent] == ["olga@example.com"]
    [page] = sent(ctx, actor, report.id)
    assert page.channel == "email (login address: no contact method)"
    assert page.outcome == "sent"
