"""The email channel builds mail any SMTP server accepts, and the same mail on
every attempt."""

from __future__ import annotations

import socket

import pytest

from tocsin.channels.base import DeliveryError, Outbound
from tocsin.channels.email import EmailChannel, one_line
from tocsin.config import Settings


def outbound(subject: str = "[Tocsin] #1 SEV1 TRIGGERED: disk") -> Outbound:
    return Outbound(
        idempotency_key="abc123",
        recipient="ann@example.com",
        subject=subject,
        body="Acknowledge: http://tocsin.test/a/x",
    )


@pytest.fixture
def channel(settings: Settings) -> EmailChannel:
    return EmailChannel(settings)


@pytest.mark.parametrize(
    "summary", ["line one\nline two", "a\r\nb", "tab\there", "x\u2028y", "v\x0bf\x0c"]
)
def test_line_breaks_in_a_title_do_not_break_the_subject(
    channel: EmailChannel, summary: str
) -> None:
    mail = channel.build(outbound(f"[Tocsin] #1 SEV1 TRIGGERED: {summary}"))

    assert "\n" not in mail["Subject"]
    assert mail["Subject"].startswith("[Tocsin] #1 SEV1 TRIGGERED: ")
    assert mail.as_bytes()


def test_every_attempt_carries_the_same_message_id(channel: EmailChannel) -> None:
    first = channel.build(outbound())["Message-ID"]
    second = channel.build(outbound())["Message-ID"]

    assert first == second == "<abc123@localhost>"


def test_one_line_folds_runs_of_breaks_into_one_space() -> None:
    assert one_line(" a\n\n\tb \x85c ") == "a b c"


def test_a_mail_server_that_never_greets_is_a_timeout_refusal_is_not(
    settings: Settings,
) -> None:
    """Silence is the server's trouble (the worker holds other mail back for a
    moment); a refused connection costs nothing to try again."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        quick = settings.model_copy(
            update={"smtp_port": silent.getsockname()[1], "smtp_timeout": 0.3}
        )
        with pytest.raises(DeliveryError) as waited:
            EmailChannel(quick).send(outbound())
    assert waited.value.timed_out

    with pytest.raises(DeliveryError) as refused:
        EmailChannel(quick).send(outbound())
    assert not refused.value.timed_out
