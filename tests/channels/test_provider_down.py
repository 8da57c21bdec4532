"""Reliability: an SMS provider down for a while (its local server refusing
connections), then back: every page is delivered afterwards, a working channel
is never held up by the broken one, and a provider that never returns leaves
failed messages that are on the timeline and counted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from tests.builders import make_integration, make_service, make_user
from tests.builders import trigger as alert
from tests.channels.recording import Recorder
from tests.channels.servers import ProviderServer, Received, Reply, serve
from tocsin.channels import registry
from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.services import alerts, contacts, deliveries
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import OutboxMessage, TimelineEntry

SID = "AC00000000000000000000000000000000"
INCIDENTS = 8
PEOPLE = 3


def twilio(request: Received) -> Reply:
    return Reply.json({"sid": "SM1", "status": "queued"}, status=201)


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    yield from serve(twilio)


@pytest.fixture
def slack() -> Iterator[ProviderServer]:
    yield from serve()


@pytest.fixture
def settings(settings: Settings, provider: ProviderServer) -> Settings:
    return settings.model_copy(
        update={
            "outbound_allowed_networks": ["127.0.0.1/32"],
            "twilio_base_url": provider.url,
            "twilio_account_sid": SID,
            "twilio_auth_token": "token",
            "twilio_from_number": "+15550000000",
            # Throttling is proven elsewhere; here every page must go out.
            "page_throttle_limit": 100,
        }
    )


@pytest.fixture
def worker(ctx: Context) -> Worker:
    """The worker's real channels; email is recorded (SMTP is not under test)."""
    return Worker(ctx, {**registry.load(ctx), "email": Recorder("email")})


@pytest.fixture
def on_call(ctx: Context, slack: ProviderServer) -> IntegrationRef:
    """Three people with phones; the first also has a Slack webhook."""
    people = []
    for n in range(PEOPLE):
        person = make_user(ctx, f"p{n}@example.com")
        contacts.add_contact(
            ctx, SYSTEM, person.id, kind="sms", address=f"+1555000100{n}"
        )
        people.append(person)
    contacts.add_contact(
        ctx, SYSTEM, people[0].id, kind="slack", address=f"{slack.url}/services/x"
    )
    make_service(ctx, steps=[(60, people)])
    integration, _ = make_integration(ctx)
    return integration


def sms_keys(ctx: Context) -> set[str]:
    with ctx.db.read() as session:
        return set(
            session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.channel == "sms"
                )
            )
        )


def statuses(ctx: Context, channel: str) -> list[str]:
    with ctx.db.read() as session:
        return list(
            session.scalars(
                select(OutboxMessage.status).where(OutboxMessage.channel == channel)
            )
        )


def test_every_page_is_delivered_once_the_provider_is_back(
    ctx: Context,
    clock: ManualClock,
    worker: Worker,
    provider: ProviderServer,
    slack: ProviderServer,
    on_call: IntegrationRef,
) -> None:
    """Down for ten minutes, then up: all 24 texts arrive, Slack never waited."""
    provider.stop()
    for n in range(INCIDENTS):
        alerts.ingest(ctx, on_call, [alert(f"disk-{n}", f"disk {n} full")])

    worker.run_once()
    assert len(slack.requests("/services/x")) == INCIDENTS
    for _ in range(10):
        clock.advance(minutes=1)
        worker.run_once()
    assert provider.requests() == []
    assert set(statuses(ctx, "sms")) == {"pending"}

    provider.start()
    clock.advance(minutes=16)
    worker.run_once()

    received = provider.requests(f"/2010-04-01/Accounts/{SID}/Messages.json")
    keys = {request.header("idempotency-key") for request in received}
    assert keys == sms_keys(ctx)
    assert len(keys) == INCIDENTS * PEOPLE
    numbers = {parse_qs(r.body.decode())["To"][0] for r in received}
    assert numbers == {f"+1555000100{n}" for n in range(PEOPLE)}
    assert set(statuses(ctx, "sms")) == {"sent"}
    with ctx.db.read() as session:
        attempts = session.scalars(
            select(OutboxMessage.attempts).where(OutboxMessage.channel == "sms")
        ).all()
    assert min(attempts) > 1


def test_a_provider_that_never_returns_leaves_failed_pages_on_record(
    ctx: Context,
    clock: ManualClock,
    provider: ProviderServer,
    on_call: IntegrationRef,
) -> None:
    """After the last attempt a page is failed, on the timeline and counted."""
    ctx.settings = ctx.settings.model_copy(update={"outbox_max_attempts": 3})
    worker = Worker(ctx, {**registry.load(ctx), "email": Recorder("email")})
    provider.stop()
    alerts.ingest(ctx, on_call, [alert("disk", "disk full")])

    for _ in range(5):
        worker.run_once()
        clock.advance(minutes=15)

    assert statuses(ctx, "sms") == ["failed"] * PEOPLE
    with ctx.db.read() as session:
        failures = session.scalars(
            select(TimelineEntry.message).where(TimelineEntry.kind == "page_failed")
        ).all()
    assert len(failures) == PEOPLE
    assert all("failed after 3 attempts" in message for message in failures)
    report = deliveries.report(ctx, SYSTEM)
    assert report.failed_total == PEOPLE
    [sms] = [row for row in report.channels if row.channel == "sms"]
    assert sms.failed == PEOPLE
    assert "Twilio" in report.recent_failures[0].last_error


def test_a_provider_that_hangs_costs_one_timeout_per_pass_not_one_per_page(
    ctx: Context,
    clock: ManualClock,
    provider: ProviderServer,
    slack: ProviderServer,
    on_call: IntegrationRef,
) -> None:
    """An SMS API that takes every request and never answers in time: the
    first text waits out the timeout, the others wait for its retry instead of
    each waiting out their own, so Slack and email go out at once, and every
    text is still sent when the provider answers again."""
    ctx.settings = ctx.settings.model_copy(update={"outbound_timeout": 0.5})
    email = Recorder("email")
    worker = Worker(ctx, {**registry.load(ctx), "email": email})
    hanging = True

    def slow(request: Received) -> Reply:
        if hanging:
            time.sleep(2)
        return twilio(request)

    provider.respond = slow
    for n in range(INCIDENTS):
        alerts.ingest(ctx, on_call, [alert(f"disk-{n}", f"disk {n} full")])

    started = time.monotonic()
    worker.run_once()
    took = time.monotonic() - started

    assert len(slack.requests("/services/x")) == INCIDENTS
    assert len(email.sent) == INCIDENTS * PEOPLE
    assert took < 10 * 0.5, f"the pass took {took:.1f} s"
    with ctx.db.read() as session:
        tried = session.scalars(
            select(OutboxMessage.attempts).where(OutboxMessage.channel == "sms")
        ).all()
    assert sorted(tried) == [0] * (INCIDENTS * PEOPLE - 1) + [1]

    hanging = False
    for _ in range(3):
        clock.advance(minutes=1)
        worker.run_once()
    assert set(statuses(ctx, "sms")) == {"sent"}
    keys = {r.header("idempotency-key") for r in provider.requests()}
    assert keys == sms_keys(ctx)
