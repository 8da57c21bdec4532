"""Drafts: the template draft, and an OpenAI-compatible endpoint on
127.0.0.1 that writes instead, sent only the allowed fields, with a timeout,
an error, a bad answer or a refused host all falling back to the template."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.builders import actor_of, make_integration, make_service, make_user, trigger
from tests.channels.servers import ProviderServer, Received, Reply, serve
from tocsin.domain.access import Actor
from tocsin.errors import InvalidInput
from tocsin.services import alerts, drafts, incidents
from tocsin.services.context import Context
from tocsin.services.records import add_timeline
from tocsin.store.models import Incident

ANSWER = {"choices": [{"message": {"role": "assistant", "content": "All good."}}]}


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    yield from serve(lambda _request: Reply.json(ANSWER))


@pytest.fixture
def ann(ctx: Context) -> Actor:
    return actor_of(ctx, make_user(ctx, "ann@example.com"))


@pytest.fixture
def number(ctx: Context, ann: Actor) -> int:
    make_service(ctx, "checkout")
    integration, _ = make_integration(ctx)
    event = trigger("k", "Checkout is slow", severity="warning")
    [outcome] = alerts.ingest(ctx, integration, [event])
    assert outcome.incident_number is not None
    with ctx.db.write() as session:
        incident = session.scalars(
            select(Incident).where(Incident.number == outcome.incident_number)
        ).one()
        incident.description = "Customer ACME cannot pay"
    incidents.add_note(ctx, ann, outcome.incident_number, "rolled back deploy 41")
    return outcome.incident_number


def _use(ctx: Context, server: ProviderServer, **extra: object) -> None:
    ctx.settings.ai_draft_url = f"{server.url}/v1"
    ctx.settings.ai_draft_api_key = "sk-local"
    ctx.settings.outbound_allowed_networks = ["127.0.0.1/32"]
    for name, value in extra.items():
        setattr(ctx.settings, name, value)


def test_without_an_endpoint_the_template_drafts(
    ctx: Context, ann: Actor, number: int
) -> None:
    """Every kind is drafted from the incident and its timeline."""
    for kind in ("update", "summary", "postmortem"):
        written = drafts.write(ctx, ann, number, kind)
        assert written.source == "template"
        assert "Checkout is slow" in written.text
        assert "rolled back deploy 41" in written.text

    with pytest.raises(InvalidInput):
        drafts.write(ctx, ann, number, "poem")


def test_a_long_timeline_drafts_from_its_latest_entries(
    ctx: Context, ann: Actor, number: int
) -> None:
    """Past the entries a draft reads, the newest are kept, not the oldest:
    the update's "Latest" is what happened last."""
    with ctx.db.write() as session:
        incident = session.scalars(
            select(Incident).where(Incident.number == number)
        ).one()
        for step in range(drafts.MAX_ENTRIES + 5):
            add_timeline(
                session,
                incident,
                at=ctx.clock.now(),
                kind="note",
                message=f"step {step}",
            )

    written = drafts.write(ctx, ann, number, "update")

    assert f"step {drafts.MAX_ENTRIES + 4}" in written.text
    assert written.text.index("step 200") < written.text.index("step 204")


def test_the_endpoint_writes_from_the_allowed_fields_only(
    ctx: Context, ann: Actor, number: int, server: ProviderServer
) -> None:
    """The endpoint's text is used; the request carries the key and the
    allowed fields, not the description or the timeline."""
    _use(ctx, server)

    written = drafts.write(ctx, ann, number, "update")

    assert (written.source, written.text) == ("endpoint", "All good.")
    [request] = server.requests("/v1/chat/completions")
    assert request.header("authorization") == "Bearer sk-local"
    sent = request.json()["messages"][1]["content"]
    assert "Checkout is slow" in sent
    assert "ACME" not in sent
    assert "rolled back" not in sent


def test_allowing_the_timeline_sends_it(
    ctx: Context, ann: Actor, number: int, server: ProviderServer
) -> None:
    """An administrator who allows the timeline lets it leave."""
    _use(ctx, server, ai_draft_fields=["title", "timeline"])

    drafts.write(ctx, ann, number, "summary")

    [request] = server.requests()
    assert "rolled back deploy 41" in request.json()["messages"][1]["content"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(500, b"boom"), "answered 500"),
        (Reply.json({"choices": []}), "has no text"),
        (Reply(200, b"not json", "application/json"), "has no text"),
        # Nested past Python's recursion limit: json raises RecursionError.
        (Reply(200, b"[" * 100_000, "application/json"), "has no text"),
    ],
)
def test_errors_fall_back_to_the_template(
    ctx: Context,
    ann: Actor,
    number: int,
    server: ProviderServer,
    reply: Reply,
    reason: str,
) -> None:
    """An error status or an answer without text gives the template draft."""
    _use(ctx, server)
    server.respond = lambda _request: reply

    written = drafts.write(ctx, ann, number, "update")

    assert written.source == "template"
    assert reason in written.fallback_reason
    assert "Checkout is slow" in written.text


def test_a_timeout_falls_back_to_the_template(
    ctx: Context, ann: Actor, number: int, server: ProviderServer
) -> None:
    """An endpoint slower than the timeout is given up on."""
    release = threading.Event()

    def stall(_request: Received) -> Reply:
        release.wait(5)
        return Reply.json(ANSWER)

    _use(ctx, server, ai_draft_timeout=0.2)
    server.respond = stall
    try:
        written = drafts.write(ctx, ann, number, "update")
    finally:
        release.set()

    assert written.source == "template"
    assert "failed" in written.fallback_reason


@pytest.fixture
def trickle() -> Iterator[str]:
    """An endpoint on 127.0.0.1 that answers at once, then sends its body a
    byte every 0.2 s: no single read waits long, the whole answer does."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve_one() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            body = json.dumps(ANSWER).encode()
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body)
            )
            for byte in body:
                if done.wait(0.2):
                    return
                connection.sendall(bytes([byte]))

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    done.set()
    thread.join(timeout=5)
    listener.close()


def test_the_timeout_bounds_the_whole_answer_not_each_read(
    ctx: Context, ann: Actor, number: int, trickle: str
) -> None:
    ctx.settings.ai_draft_url = f"{trickle}/v1"
    ctx.settings.outbound_allowed_networks = ["127.0.0.1/32"]
    ctx.settings.ai_draft_timeout = 1

    started = time.monotonic()
    written = drafts.write(ctx, ann, number, "update")

    assert time.monotonic() - started < 3
    assert written.source == "template"
    assert "took longer than" in written.fallback_reason


def test_a_host_the_guard_refuses_is_not_reached(
    ctx: Context, ann: Actor, number: int, server: ProviderServer
) -> None:
    """Loopback not allowed: no request leaves, the template drafts."""
    _use(ctx, server, outbound_allowed_networks=[])

    written = drafts.write(ctx, ann, number, "update")

    assert written.source == "template"
    assert server.requests() == []
