"""Status page mail through a real SMTP server: the confirmation arrives, news
arrives only once confirmed, and its List-Unsubscribe header works as sent."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.e2e.harness import free_port
from tocsin.app import create_app
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.services import status_page, status_subscribers
from tocsin.services.context import Context
from tocsin.store.models import StatusSubscriber


class Inbox:
    """An aiosmtpd handler that keeps every raw message it accepts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.raw.append(envelope.content)
        return "250 OK"

    def messages(self) -> list[email.message.EmailMessage]:
        with self.lock:
            raw = list(self.raw)
        return [
            email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[misc]
            for data in raw
        ]


@pytest.fixture
def mailed(ctx: Context) -> Iterator[tuple[Context, Inbox]]:
    """A context whose mail goes to a local SMTP server, and that server's inbox."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings = ctx.settings.model_copy(update={"smtp_port": port})
    yield Context(db=ctx.db, settings=settings, clock=ctx.clock), inbox
    controller.stop()


def body_of(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def test_subscriber_mail_over_smtp(mailed: tuple[Context, Inbox]) -> None:
    """Confirm from the mailed link, get news with an unfolded List-Unsubscribe
    header, and leave with a one-click POST to it."""
    ctx, inbox = mailed
    worker = Worker(ctx)
    status_subscribers.subscribe(ctx, email="reader@example.com", client="192.0.2.1")
    worker.run_once()
    [confirmation] = inbox.messages()
    assert confirmation["To"] == "reader@example.com"
    link = re.search(
        r"http://tocsin\.test(/status/subscribe/confirm\S+)", body_of(confirmation)
    )
    assert link is not None

    with TestClient(create_app(ctx), follow_redirects=False) as client:
        token = link.group(1).split("token=", 1)[1]
        confirmed = client.post("/status/subscribe/confirm", data={"token": token})
        assert confirmed.status_code == 200

        status_page.create_incident(
            ctx,
            SYSTEM,
            title="Slow checkout",
            impact="degraded",
            components=[],
            message="We are looking into slow checkouts.",
        )
        worker.run_once()
        news = inbox.messages()[-1]
        raw = inbox.raw[-1].decode()
        assert "Slow checkout" in str(news["Subject"])
        assert "We are looking into slow checkouts." in body_of(news)
        assert news["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        header = re.search(r"^List-Unsubscribe: <(http://\S+)>\r?$", raw, re.M)
        assert header is not None, raw

        leave = header.group(1).removeprefix("http://tocsin.test")
        one_click = client.post(
            leave,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert one_click.status_code == 200

    with ctx.db.read() as session:
        assert session.scalars(select(StatusSubscriber)).all() == []
