"""Per-contact throttling: a storm of incidents cannot flood a phone. Pages past
the limit are held back, said on the timeline, and summed up in one message."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from tests.builders import make_integration, make_service, make_user
from tests.builders import trigger as alert
from tests.channels.recording import Phone
from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.domain.access import SYSTEM
from tocsin.services import alerts, contacts
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.services.paging import IncidentBrief, page, recipients
from tocsin.store.models import Incident, OutboxMessage, TimelineEntry, User


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"page_throttle_limit": 2, "page_throttle_window_minutes": 10}
    )


@pytest.fixture
def ann(ctx: Context) -> User:
    user = make_user(ctx, "ann@example.com")
    contacts.add_contact(ctx, SYSTEM, user.id, kind="sms", address="+15551230001")
    return user


@pytest.fixture
def integration(ctx: Context, ann: User) -> IntegrationRef:
    make_service(ctx, steps=[(30, [ann])])
    integration, _ = make_integration(ctx)
    return integration


def storm(
    ctx: Context, integration: IntegrationRef, count: int, start: int = 0
) -> None:
    for n in range(start, start + count):
        alerts.ingest(ctx, integration, [alert(f"disk-{n}", f"disk {n} full")])


def test_a_storm_pages_a_phone_at_most_the_limit_per_window(
    ctx: Context, integration: IntegrationRef, phone: Phone
) -> None:
    """Five incidents, limit two: two texts; email is not throttled."""
    storm(ctx, integration, 5)
    phone.worker(ctx).run_once()

    assert len(phone.sms.sent) == 2
    assert len(phone.email.sent) == 5
    with ctx.db.read() as session:
        held = session.scalars(
            select(TimelineEntry.message).where(TimelineEntry.kind == "page_throttled")
        ).all()
    assert len(held) == 3
    assert all("held back" in message for message in held)


def test_held_back_pages_are_summed_up_when_the_window_ends(
    ctx: Context, clock: ManualClock, integration: IntegrationRef, phone: Phone
) -> None:
    """One summary says how many were held back, then counting starts afresh."""
    worker = phone.worker(ctx)
    storm(ctx, integration, 5)
    worker.run_once()

    clock.advance(minutes=10)
    worker.run_once()

    assert len(phone.sms.sent) == 3
    summary = phone.sms.sent[-1]
    assert summary.payload["kind"] == "digest"
    assert "3 more pages held back" in summary.body

    storm(ctx, integration, 2, start=5)
    worker.run_once()
    assert len(phone.sms.sent) == 5


def test_a_summary_comes_only_when_something_was_held_back(
    ctx: Context, clock: ManualClock, integration: IntegrationRef, phone: Phone
) -> None:
    """Under the limit nothing is held back and no summary follows."""
    worker = phone.worker(ctx)
    storm(ctx, integration, 2)
    worker.run_once()

    clock.advance(minutes=30)
    worker.run_once()

    assert [m.payload["kind"] for m in phone.sms.sent] == ["page", "page"]


@pytest.fixture
def phone() -> Phone:
    return Phone()


def test_concurrent_pages_to_one_phone_respect_the_limit(
    ctx: Context, clock: ManualClock, ann: User, integration: IntegrationRef
) -> None:
    """Eight pages to one phone from eight transactions at once (as several
    workers firing escalation steps): two texts in the window, no more."""
    if ctx.db.is_sqlite:
        pytest.skip("SQLite has one writer: transactions cannot overlap there")
    storm(ctx, integration, 8)
    clock.advance(minutes=10)
    with ctx.db.read() as session:
        incident_ids = session.scalars(select(Incident.id)).all()
    barrier = threading.Barrier(len(incident_ids))
    errors: list[BaseException] = []

    def page_again(incident_id: int) -> None:
        try:
            with ctx.db.write() as session:
                brief = IncidentBrief.of(session.get_one(Incident, incident_id))
                [recipient] = recipients(session, [ann.id])
                barrier.wait(timeout=10)
                page(session, ctx, brief, recipient, reason="again")
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=page_again, args=(i,)) for i in incident_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    with ctx.db.read() as session:
        texts = session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.channel == "sms")
        ).all()
    # Two from the storm's window, two from this one.
    assert len(texts) == 4
