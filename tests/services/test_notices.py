"""Notices reach people by email and are not cancelled by an acknowledgement."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from tests.builders import make_user
from tocsin.services.context import Context
from tocsin.services.notices import notify
from tocsin.store.models import ContactMethod, OutboxMessage, User


def test_notice_goes_to_email_contacts_or_login_address(ctx: Context) -> None:
    """A user gets one notice per email contact method, a user without any gets
    it at the address they log in with, and an inactive user gets none."""
    ada = make_user(ctx, "ada@example.com")
    bob = make_user(ctx, "bob@example.com")
    cy = make_user(ctx, "cy@example.com")
    with ctx.db.write() as session:
        session.add(
            ContactMethod(
                user_id=ada.id,
                kind="email",
                address="ada@pager.example",
                created_at=ctx.clock.now(),
            )
        )
        session.execute(delete(ContactMethod).where(ContactMethod.user_id == bob.id))
        session.execute(update(User).where(User.id == cy.id).values(active=False))

    with ctx.db.write() as session:
        queued = notify(
            session,
            ctx,
            [ada.id, bob.id, cy.id],
            subject="You are the incident commander",
            body="Incident #1",
            topic="role_assigned",
        )

    with ctx.db.read() as session:
        messages = session.scalars(select(OutboxMessage)).all()
        sent_to = sorted(message.recipient for message in messages)
        kinds = {message.payload["kind"] for message in messages}
    assert queued == len(messages) == 3
    assert sent_to == ["ada@example.com", "ada@pager.example", "bob@example.com"]
    assert kinds == {"notice"}
