"""End to end: `tocsin serve` with inbound mail on, real mail sent with smtplib,
and the worker running heartbeats and HTTP checks.

A mail to the demo service's address opens an incident that pages Alice (by
real SMTP to the test mailbox); her reply to that page, sent to Tocsin's reply
address, lands on the incident's timeline; unknown recipients are refused at
RCPT. A heartbeat that goes silent alerts; an HTTP check against a local
server runs and records its result.
"""

from __future__ import annotations

import secrets
import smtplib
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.e2e.harness import (
    Mailbox,
    ServerProcess,
    free_port,
    tocsin_cli,
    tocsin_env,
    wait_for,
)
from tocsin.store.db import Database
from tocsin.store.models import OutboxMessage

DOMAIN = "alerts.example.com"


@dataclass
class MailTocsin:
    server: ServerProcess
    base_url: str
    smtp_port: int
    database_url: str
    env: dict[str, str]
    workdir: Path
    api: httpx.Client

    def cli(self, *args: str) -> str:
        return tocsin_cli(self.env, self.workdir, *args)

    def send(self, mail: EmailMessage) -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as client:
            return client.send_message(mail)

    def incident(self, number: int) -> dict[str, Any]:
        response = self.api.get(f"/api/v1/incidents/{number}")
        assert response.status_code == 200, response.text
        detail: dict[str, Any] = response.json()
        return detail

    def check_if_up(self, service: str, name: str) -> dict[str, Any] | None:
        response = self.api.get(f"/api/v1/checks/{service}/{name}")
        assert response.status_code == 200, response.text
        check: dict[str, Any] = response.json()
        return check if check["status"] == "up" else None

    def email_notes(self, number: int) -> list[dict[str, Any]]:
        timeline = self.incident(number)["timeline"]
        return [entry for entry in timeline if entry["kind"] == "email_note"]


@pytest.fixture(scope="module")
def tocsin(
    backend_url: str, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MailTocsin]:
    """`tocsin serve --upgrade --demo` with the inbound mail listener on."""
    workdir = tmp_path_factory.mktemp("tocsin-mail")
    port, smtp_port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = tocsin_env(
        database_url=backend_url,
        base_url=base_url,
        smtp_port=mailbox.port,
        secret=secrets.token_urlsafe(32),
    )
    env.update(
        TOCSIN_INBOUND_MAIL_ENABLED="true",
        TOCSIN_INBOUND_MAIL_PORT=str(smtp_port),
        TOCSIN_INBOUND_MAIL_DOMAIN=DOMAIN,
        TOCSIN_MAIL_FROM=f"tocsin@{DOMAIN}",
        # The HTTP check below requests a server of this test on loopback.
        TOCSIN_OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
    )
    command = [sys.executable, "-m", "tocsin", "serve", "--upgrade", "--demo"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess("tocsin", command, env=env, workdir=workdir)
    try:
        wait_for(
            lambda: _serving(server, f"{base_url}/api/v1/openapi.json"),
            what="tocsin with inbound mail answering",
            # Migrating, loading the demo and starting the listener can take a
            # while on a busy machine.
            timeout=120,
            diagnose=server.log_tail,
        )
        token = tocsin_cli(env, workdir, "token", "create", "alice@example.com")
        api = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token.strip().splitlines()[-1]}"},
            timeout=10,
        )
        tocsin_cli(
            env, workdir, "mail", "address", "add", "payments",
            "--service", "checkout-api",
        )  # fmt: skip
        tocsin_cli(
            env, workdir, "mail", "address", "add", "tocsin", "--purpose", "reply"
        )
    except BaseException:
        server.stop()
        raise
    running = MailTocsin(server, base_url, smtp_port, backend_url, env, workdir, api)
    yield running
    api.close()
    server.stop()


def _serving(server: ServerProcess, url: str) -> bool:
    if not server.alive():
        raise AssertionError(f"tocsin exited early\n{server.log_tail()}")
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def alert_mail(subject: str, message_id: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "monitor@example.net"
    mail["To"] = f"payments@{DOMAIN}"
    mail["Subject"] = subject
    mail["Message-ID"] = message_id
    mail.set_content("Card authorisations failing: 40% errors.")
    return mail


def page_message_id(database_url: str, recipient: str) -> str:
    """The Message-ID Tocsin gave its page to `recipient` (channels.email)."""
    database = Database(database_url)
    try:
        with database.read() as session:
            key = session.scalars(
                select(OutboxMessage.idempotency_key)
                .where(OutboxMessage.recipient == recipient)
                .order_by(OutboxMessage.id)
            ).first()
    finally:
        database.dispose()
    assert key is not None
    return f"<{key}@{DOMAIN}>"


def test_a_mail_pages_and_the_reply_to_the_page_is_on_the_timeline(
    tocsin: MailTocsin, mailbox: Mailbox
) -> None:
    """Mail in, page out, reply in: one incident with the reply as a note."""
    assert tocsin.send(alert_mail("PROBLEM: card errors", "<a1@example.net>")) == {}
    page = mailbox.wait_for_page("alice@example.com", 1)
    assert "card errors" in page.subject

    reply = EmailMessage()
    reply["From"] = "alice@example.com"
    reply["To"] = f"tocsin@{DOMAIN}"
    reply["Subject"] = f"Re: {page.subject}"
    reply["Message-ID"] = "<reply-1@example.com>"
    reply["In-Reply-To"] = page_message_id(tocsin.database_url, "alice@example.com")
    reply.set_content("Rolling back the 09:40 deploy now.")
    assert tocsin.send(reply) == {}

    [note] = wait_for(
        lambda: tocsin.email_notes(1),
        what="the reply on incident #1's timeline",
        diagnose=tocsin.server.log_tail,
    )
    assert "Rolling back the 09:40 deploy" in note["message"]
    assert tocsin.incident(1)["title"] == "PROBLEM: card errors"


def test_unknown_recipients_are_refused_by_the_running_server(
    tocsin: MailTocsin,
) -> None:
    """A recipient with no address gets 550 at RCPT; the message is not taken."""
    mail = alert_mail("to nobody", "<n1@example.net>")
    mail.replace_header("To", f"nobody@{DOMAIN}")

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        tocsin.send(mail)

    [(code, _)] = refused.value.recipients.values()
    assert code == 550


def test_a_heartbeat_url_takes_a_ping_from_curl_like_clients(
    tocsin: MailTocsin,
) -> None:
    """The ping URL printed by `heartbeat add` answers a plain POST."""
    output = tocsin.cli(
        "heartbeat", "add", "checkout-api", "nightly", "--interval", "1d"
    )
    url = next(word for word in output.split() if "/hb/" in word)

    response = httpx.post(url, timeout=10)

    assert response.status_code == 200
    assert response.text == "ok up\n"


def test_a_silent_heartbeat_alerts_on_the_running_server(tocsin: MailTocsin) -> None:
    """Pinged once, then silent past its 10 s interval: an incident opens."""
    output = tocsin.cli(
        "heartbeat", "add", "checkout-api", "every-10s", "--interval", "10"
    )
    url = next(word for word in output.split() if "/hb/" in word)
    assert httpx.post(url, timeout=10).status_code == 200

    found = wait_for(
        lambda: [
            item
            for item in tocsin.api.get("/api/v1/incidents").json()["items"]
            if "every-10s" in item["title"]
        ],
        what="the silent heartbeat's incident",
        diagnose=tocsin.server.log_tail,
    )
    assert found[0]["status"] == "triggered"


def test_an_http_check_runs_in_the_worker(tocsin: MailTocsin) -> None:
    """The worker requests a local server and records an up result."""
    hits: list[str] = []

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet: no access log in the test output."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/health"
        tocsin.cli(
            "check-http", "add", "checkout-api", "health", url, "--expect", "204"
        )
        check = wait_for(
            lambda: tocsin.check_if_up("checkout-api", "health"),
            what="the HTTP check's first result",
            diagnose=tocsin.server.log_tail,
        )
    finally:
        server.shutdown()
        server.server_close()

    assert hits[0] == "/health"
    assert check["results"][0]["status_code"] == 204
