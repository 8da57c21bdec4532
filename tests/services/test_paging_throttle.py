"""Per-contact throttling: a storm of incidents cannot flood a phone. Pages past
the limit are held back, said on the timeline, and summed up in one message."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.builders import make_integration, make_service, make_user
from tests.builders import trigger as alert
from tests.services.test_notification_rules import Phone
from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.domain.access import SYSTEM
from tocsin.services import alerts, contacts
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import TimelineEntry, User


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
