"""Notification rules: contact methods are used at their delay after a page
starts, only while the incident is unacknowledged; without rules, all at once."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.builders import actor_of, make_integration, make_service, make_user
from tests.builders import trigger as alert
from tests.channels.recording import Phone
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import (
    alerts,
    contacts,
    incidents,
    maintenance,
    notification_rules,
)
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import OutboxMessage, TimelineEntry, Timer, User


@pytest.fixture
def phone() -> Phone:
    return Phone()


@pytest.fixture
def ann(ctx: Context) -> User:
    return make_user(ctx, "ann@example.com")


@pytest.fixture
def paging_ann(ctx: Context, ann: User) -> IntegrationRef:
    make_service(ctx, steps=[(30, [ann])])
    integration, _ = make_integration(ctx)
    return integration


def open_incident(ctx: Context, integration: IntegrationRef, key: str = "disk") -> int:
    [outcome] = alerts.ingest(ctx, integration, [alert(key, f"{key} full")])
    assert outcome.incident_number is not None
    return outcome.incident_number


def test_without_rules_every_contact_method_is_paged_at_once(
    ctx: Context, ann: User, paging_ann: IntegrationRef, phone: Phone
) -> None:
    """Today's behaviour stays the default: email and SMS together, at once."""
    contacts.add_contact(ctx, SYSTEM, ann.id, kind="sms", address="+15551230001")

    open_incident(ctx, paging_ann)
    phone.worker(ctx).run_once()

    assert [m.recipient for m in phone.email.sent] == ["ann@example.com"]
    assert [m.recipient for m in phone.sms.sent] == ["+15551230001"]
    assert "Reply 'ack 1'" in phone.sms.sent[0].body


def test_a_delayed_rule_pages_only_after_its_delay(
    ctx: Context,
    clock: ManualClock,
    ann: User,
    paging_ann: IntegrationRef,
    phone: Phone,
) -> None:
    """Email at 0 and SMS at 2 minutes: the SMS waits for its minute."""
    [email] = contacts.list_contacts(ctx, SYSTEM, ann.id)
    sms = contacts.add_contact(ctx, SYSTEM, ann.id, kind="sms", address="+15551230001")
    notification_rules.add_rule(
        ctx, SYSTEM, ann.id, contact_method_id=email.id, delay_minutes=0
    )
    notification_rules.add_rule(
        ctx, SYSTEM, ann.id, contact_method_id=sms.id, delay_minutes=2
    )
    worker = phone.worker(ctx)

    open_incident(ctx, paging_ann)
    worker.run_once()
    assert len(phone.email.sent) == 1
    assert phone.sms.sent == []

    clock.advance(minutes=1, seconds=59)
    worker.run_once()
    assert phone.sms.sent == []

    clock.advance(seconds=1)
    worker.run_once()
    assert [m.recipient for m in phone.sms.sent] == ["+15551230001"]
    assert len(phone.email.sent) == 1


def test_an_acknowledgement_before_the_delay_stops_the_rule(
    ctx: Context,
    clock: ManualClock,
    ann: User,
    paging_ann: IntegrationRef,
    phone: Phone,
) -> None:
    """A rule is "if still unacknowledged": after an ack it sends nothing."""
    sms = contacts.add_contact(ctx, SYSTEM, ann.id, kind="sms", address="+15551230001")
    notification_rules.add_rule(
        ctx, SYSTEM, ann.id, contact_method_id=sms.id, delay_minutes=5
    )
    worker = phone.worker(ctx)
    number = open_incident(ctx, paging_ann)
    worker.run_once()

    clock.advance(minutes=1)
    incidents.acknowledge(ctx, actor_of(ctx, ann), number)
    clock.advance(minutes=10)
    worker.run_once()

    assert phone.sms.sent == []
    with ctx.db.read() as session:
        left = session.scalars(select(Timer).where(Timer.kind == "notify")).all()
    assert left == []


def test_a_rule_whose_contact_was_removed_sends_nothing(
    ctx: Context,
    clock: ManualClock,
    ann: User,
    paging_ann: IntegrationRef,
    phone: Phone,
) -> None:
    """Removing a contact method takes its pending notifications with it."""
    [email] = contacts.list_contacts(ctx, SYSTEM, ann.id)
    sms = contacts.add_contact(ctx, SYSTEM, ann.id, kind="sms", address="+15551230001")
    notification_rules.add_rule(
        ctx, SYSTEM, ann.id, contact_method_id=email.id, delay_minutes=0
    )
    notification_rules.add_rule(
        ctx, SYSTEM, ann.id, contact_method_id=sms.id, delay_minutes=3
    )
    worker = phone.worker(ctx)
    open_incident(ctx, paging_ann)
    worker.run_once()

    contacts.remove_contact(ctx, SYSTEM, ann.id, sms.id)
    clock.advance(minutes=5)
    worker.run_once()

    assert phone.sms.sent == []
    assert len(phone.email.sent) == 1


def test_removing_two_contact_methods_at_once_keeps_one(
    ctx: Context, ann: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two removals at the same moment cannot take a person's last method: the
    second waits for the first and then finds one left."""
    [email] = contacts.list_contacts(ctx, SYSTEM, ann.id)
    sms = contacts.add_contact(ctx, SYSTEM, ann.id, kind="sms", address="+15551230001")
    # Both removals meet after their count and before their commit, when the
    # database lets them run side by side; a removal that waits for the other
    # gives up meeting and goes on.
    meeting = threading.Barrier(2)
    audit = contacts.audit

    def audit_after_meeting(*args: Any, **kwargs: Any) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            meeting.wait(timeout=2)
        audit(*args, **kwargs)

    monkeypatch.setattr(contacts, "audit", audit_after_meeting)
    outcomes: list[str] = []

    def remove(contact_id: int) -> None:
        try:
            contacts.remove_contact(ctx, SYSTEM, ann.id, contact_id)
            outcomes.append("removed")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=remove, args=(c,)) for c in (email.id, sms.id)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["refused", "removed"]
    assert len(contacts.list_contacts(ctx, SYSTEM, ann.id)) == 1


def test_the_timeline_says_when_the_later_rules_will_fire(
    ctx: Context, ann: User, paging_ann: IntegrationRef
) -> None:
    """A delayed notification is announced on the incident, not silent."""
    sms = contacts.add_contact(ctx, SYSTEM, ann.id, kind="sms", address="+15551230001")
    notification_rules.add_rule(
        ctx, SYSTEM, ann.id, contact_method_id=sms.id, delay_minutes=2
    )

    open_incident(ctx, paging_ann)

    with ctx.db.read() as session:
        messages = session.scalars(
            select(TimelineEntry.message).where(
                TimelineEntry.kind == "notification_scheduled"
            )
        ).all()
    assert messages == [
        "Ann will be notified by sms after 2 min if still unacknowledged"
    ]


def test_rules_check_their_input(ctx: Context, ann: User) -> None:
    """Delays are bounded, the contact must be the user's, duplicates conflict."""
    bob = make_user(ctx, "bob@example.com")
    [email] = contacts.list_contacts(ctx, SYSTEM, ann.id)
    [bobs] = contacts.list_contacts(ctx, SYSTEM, bob.id)

    with pytest.raises(InvalidInput, match="0 to 1440"):
        notification_rules.add_rule(
            ctx, SYSTEM, ann.id, contact_method_id=email.id, delay_minutes=-1
        )
    with pytest.raises(NotFound):
        notification_rules.add_rule(
            ctx, SYSTEM, ann.id, contact_method_id=bobs.id, delay_minutes=0
        )
    notification_rules.add_rule(
        ctx, SYSTEM, ann.id, contact_method_id=email.id, delay_minutes=0
    )
    with pytest.raises(Conflict):
        notification_rules.add_rule(
            ctx, SYSTEM, ann.id, contact_method_id=email.id, delay_minutes=0
        )


def test_only_the_person_or_an_admin_manages_rules(ctx: Context, ann: User) -> None:
    """A colleague can neither read nor change someone's rules."""
    bob = make_user(ctx, "bob@example.com")
    [email] = contacts.list_contacts(ctx, SYSTEM, ann.id)

    with pytest.raises(Forbidden):
        notification_rules.list_rules(ctx, actor_of(ctx, bob), ann.id)
    with pytest.raises(Forbidden):
        notification_rules.add_rule(
            ctx, actor_of(ctx, bob), ann.id, contact_method_id=email.id, delay_minutes=0
        )
    rule = notification_rules.add_rule(
        ctx, actor_of(ctx, ann), ann.id, contact_method_id=email.id, delay_minutes=0
    )
    with ctx.db.read() as session:
        queued = session.scalars(select(OutboxMessage)).all()

    assert rule.kind == "email"
    assert queued == []


def test_a_maintenance_window_holds_back_a_delayed_rule(
    ctx: Context,
    clock: ManualClock,
    ann: User,
    paging_ann: IntegrationRef,
    phone: Phone,
) -> None:
    """A window that starts after the page holds its later notifications too,
    until it ends: then they go out if the incident is still unacknowledged."""
    sms = contacts.add_contact(ctx, SYSTEM, ann.id, kind="sms", address="+15551230001")
    notification_rules.add_rule(
        ctx, SYSTEM, ann.id, contact_method_id=sms.id, delay_minutes=5
    )
    worker = phone.worker(ctx)
    open_incident(ctx, paging_ann)
    worker.run_once()

    maintenance.create_window(
        ctx,
        SYSTEM,
        "checkout",
        starts_at=clock.now() + timedelta(minutes=1),
        ends_at=clock.now() + timedelta(hours=1),
    )
    clock.advance(minutes=5)
    worker.run_once()

    assert phone.sms.sent == []
    with ctx.db.read() as session:
        held = session.scalars(
            select(TimelineEntry.message).where(TimelineEntry.kind == "page_held")
        ).all()
    ends = (clock.now() + timedelta(minutes=55)).strftime("%Y-%m-%d %H:%M")
    assert held == [f"Delayed notification held: maintenance until {ends} UTC"]

    clock.advance(minutes=55)
    worker.run_once()
    worker.run_once()

    assert len(phone.sms.sent) == 1


def test_a_delayed_rule_held_by_a_window_is_dropped_once_acknowledged(
    ctx: Context,
    clock: ManualClock,
    ann: User,
    paging_ann: IntegrationRef,
    phone: Phone,
) -> None:
    """Acknowledging during the window settles the page: nothing goes out at
    its end; removing a window early lets a held notification out at once."""
    sms = contacts.add_contact(ctx, SYSTEM, ann.id, kind="sms", address="+15551230001")
    notification_rules.add_rule(
        ctx, SYSTEM, ann.id, contact_method_id=sms.id, delay_minutes=5
    )
    worker = phone.worker(ctx)
    acked = open_incident(ctx, paging_ann, "disk")
    pending = open_incident(ctx, paging_ann, "cpu")
    worker.run_once()
    window = maintenance.create_window(
        ctx,
        SYSTEM,
        "checkout",
        starts_at=clock.now() + timedelta(minutes=1),
        ends_at=clock.now() + timedelta(hours=1),
    )
    clock.advance(minutes=5)
    worker.run_once()

    incidents.acknowledge(ctx, actor_of(ctx, ann), acked)
    clock.advance(minutes=10)
    maintenance.delete_window(ctx, SYSTEM, window.id)
    worker.run_once()
    worker.run_once()

    [sent] = phone.sms.sent
    assert sent.payload["incident_number"] == pending


def test_a_delayed_rule_of_a_page_settled_by_an_acknowledgement_stays_quiet(
    ctx: Context,
    clock: ManualClock,
    ann: User,
    paging_ann: IntegrationRef,
    phone: Phone,
) -> None:
    """Ann acknowledges with a short snooze; when it runs out the incident
    triggers again and pages her afresh, rules and all. The SMS of the first
    page, due in between, belonged to a page she had answered: one SMS in
    all, at the new page's delay."""
    sms = contacts.add_contact(ctx, SYSTEM, ann.id, kind="sms", address="+15551230001")
    notification_rules.add_rule(
        ctx, SYSTEM, ann.id, contact_method_id=sms.id, delay_minutes=5
    )
    worker = phone.worker(ctx)
    number = open_incident(ctx, paging_ann)
    worker.run_once()

    clock.advance(minutes=1)
    incidents.snooze(ctx, actor_of(ctx, ann), number, minutes=2)
    clock.advance(minutes=2)
    worker.run_once()
    clock.advance(minutes=2)
    worker.run_once()
    worker.run_once()
    assert phone.sms.sent == []

    clock.advance(minutes=3)
    worker.run_once()
    worker.run_once()
    assert len(phone.sms.sent) == 1
