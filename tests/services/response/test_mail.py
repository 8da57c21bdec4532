"""Response mail through a real SMTP server on 127.0.0.1: a role notice and a
stakeholder update arrive as their recipients would read them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.harness import free_port
from tests.services.response.conftest import Crew
from tests.services.test_status_mail import Inbox, body_of
from tocsin.engine.worker import Worker
from tocsin.services import roles, update_subscriptions, updates
from tocsin.services.context import Context
from tocsin.services.updates import UpdateInput


@pytest.fixture
def inbox(ctx: Context) -> Iterator[tuple[Context, Inbox]]:
    """The test context with its mail sent to a local SMTP server."""
    received = Inbox()
    port = free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    mailing = Context(
        db=ctx.db,
        settings=ctx.settings.model_copy(update={"smtp_port": port}),
        clock=ctx.clock,
    )
    yield mailing, received
    controller.stop()


def test_role_notice_and_update_arrive_by_smtp(
    crew: Crew, inbox: tuple[Context, Inbox]
) -> None:
    """Bob reads that he is commander; the war room reads the update and ETA."""
    ctx, received = inbox
    roles.assign(ctx, crew.ann, crew.number, "commander", crew.bob_user.id)
    update_subscriptions.subscribe(
        ctx, crew.ann, "war-room@example.com", number=crew.number
    )
    updates.post(
        ctx,
        crew.ann,
        crew.number,
        UpdateInput(
            audience="internal",
            subject="Checkout degraded",
            body="Card payments fail for some customers.",
            eta=ctx.clock.now().replace(hour=11, minute=30),
        ),
    )

    Worker(ctx).run_once()

    by_recipient = {message["To"]: message for message in received.messages()}
    notice = by_recipient["bob@example.com"]
    assert "you are Incident commander" in notice["Subject"]
    assert "ann@example.com made you Incident commander" in body_of(notice)
    update = by_recipient["war-room@example.com"]
    assert update["Subject"] == f"[Tocsin] #{crew.number} Checkout degraded"
    assert body_of(update).splitlines()[0] == "Card payments fail for some customers."
    assert "ETA: 2026-03-02 11:30 UTC" in body_of(update)
