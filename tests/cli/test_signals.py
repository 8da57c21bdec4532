"""`tocsin heartbeat|change|mail`: set up from the shell, refusals are one
`error:` line with nothing written, and incidents show recent changes."""

from __future__ import annotations

import os
import smtplib
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import Result

from tests.builders import make_integration, make_service, trigger
from tests.cli.conftest import Run
from tests.e2e.harness import ServerProcess, free_port, wait_for
from tocsin.app import create_app
from tocsin.domain.access import SYSTEM
from tocsin.services import alerts, inbound_mail
from tocsin.services.context import Context
from tocsin.store.models import Alert, ChangeEvent, Heartbeat, MailAddress


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def refused(result: Result) -> str:
    assert result.exit_code == 1, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line


@pytest.fixture
def checkout(ctx: Context, tocsin: Run) -> None:
    make_service(ctx, "checkout", team="Ops")


def count(ctx: Context, model: type[object]) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_heartbeat_added_from_the_shell_takes_pings(
    ctx: Context, tocsin: Run, checkout: None
) -> None:
    """`heartbeat add` prints a ping URL that works against the server."""
    output = ok(
        tocsin(
            "heartbeat", "add", "checkout", "backup", "--interval", "1h",
            "--grace", "5m",
        )
    )  # fmt: skip
    url = next(word for word in output.split() if "/hb/" in word)
    with TestClient(create_app(ctx)) as client:
        path = "/hb/" + url.rsplit("/hb/", 1)[1]
        assert client.post(path).status_code == 200

    listing = ok(tocsin("heartbeat", "list"))
    assert "backup" in listing
    assert "1h+5m" in listing
    assert " up " in listing


@pytest.mark.parametrize(
    "args",
    [
        ("heartbeat", "add", "checkout", "b", "--interval", "soon"),
        ("heartbeat", "add", "checkout", "b", "--interval", "5"),
        ("heartbeat", "add", "nowhere", "b", "--interval", "1h"),
        ("heartbeat", "remove", "checkout", "never-added"),
    ],
)
def test_heartbeat_refusals_are_one_line_and_write_nothing(
    ctx: Context, tocsin: Run, checkout: None, args: tuple[str, ...]
) -> None:
    """Bad durations, bounds and names fail with one error line."""
    refused(tocsin(*args))
    assert count(ctx, Heartbeat) == 0


def test_a_change_recorded_from_the_shell_shows_on_the_incident(
    ctx: Context, tocsin: Run, checkout: None
) -> None:
    """`change add` then an incident: `incident show` lists the change.

    The incident opens at the test clock's 09:00; the change is half an hour
    before it."""
    ok(
        tocsin(
            "change", "add", "checkout", "--kind", "deploy",
            "--summary", "Deploy 2.14.0", "--version", "2.14.0",
            "--at", "2026-03-02T08:30:00Z",
        )
    )  # fmt: skip
    integration, _ = make_integration(ctx, "checkout")
    alerts.ingest(ctx, integration, [trigger()])

    shown = ok(tocsin("incident", "show", "1"))
    assert "Recent changes" in shown
    assert "Deploy 2.14.0" in shown
    assert "Deploy 2.14.0" in ok(tocsin("change", "list", "checkout"))


@pytest.mark.parametrize(
    "args",
    [
        ("--kind", "rollback", "--summary", "x"),
        ("--kind", "deploy", "--summary", "x", "--at", "yesterday"),
        ("--kind", "deploy", "--summary", "x", "--at", "2026-03-02T09:00:00"),
        ("--kind", "deploy", "--summary", "x", "--as", "nobody@example.com"),
    ],
)
def test_change_refusals_are_one_line_and_write_nothing(
    ctx: Context, tocsin: Run, checkout: None, args: tuple[str, ...]
) -> None:
    """Unknown kinds, bad times and unknown users are refused."""
    refused(tocsin("change", "add", "checkout", *args))
    assert count(ctx, ChangeEvent) == 0


def test_mail_addresses_are_added_listed_and_removed(
    ctx: Context, tocsin: Run, checkout: None
) -> None:
    """`mail address add|list|remove` manage what Tocsin takes mail for."""
    ok(tocsin("mail", "address", "add", "Checkout-Alerts", "--service", "checkout"))
    ok(tocsin("mail", "address", "add", "reports", "--purpose", "report"))
    refused(tocsin("mail", "address", "add", "x y", "--service", "checkout"))
    refused(tocsin("mail", "address", "add", "lost", "--purpose", "alert"))

    listing = ok(tocsin("mail", "address", "list"))
    assert "checkout-alerts" in listing
    assert "report" in listing
    ok(tocsin("mail", "address", "remove", "reports"))
    assert count(ctx, MailAddress) == 1


def test_http_checks_from_the_shell(ctx: Context, tocsin: Run, checkout: None) -> None:
    """`check-http add|list|show|remove`, and the guard refusing loopback."""
    ok(
        tocsin(
            "check-http", "add", "checkout", "home", "https://example.com/",
            "--interval", "5m", "--failures", "3",
        )
    )  # fmt: skip
    line = refused(tocsin("check-http", "add", "checkout", "x", "http://127.0.0.1/"))
    assert "loopback" in line

    listing = ok(tocsin("check-http", "list"))
    assert "home" in listing
    assert "pending" in listing
    shown = ok(tocsin("check-http", "show", "checkout", "home"))
    assert "GET https://example.com/" in shown
    ok(tocsin("check-http", "remove", "checkout", "home"))
    assert "no HTTP checks" in ok(tocsin("check-http", "list"))


def test_mail_serve_takes_mail_until_stopped(
    ctx: Context, checkout: None, tmp_path: Path
) -> None:
    """`tocsin mail serve` alone turns a mail into an alert; SIGTERM ends it."""
    inbound_mail.add_address(ctx, SYSTEM, "shop", service="checkout")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(
        TOCSIN_DATABASE_URL=ctx.db.url.render_as_string(hide_password=False),
        TOCSIN_SECRET_KEY="cli-test-secret-key-long-enough",
    )
    command = [sys.executable, "-m", "tocsin", "mail", "serve", "--port", str(port)]
    server = ServerProcess("mail", command, env=env, workdir=tmp_path)
    try:
        wait_for(lambda: _smtp_answers(port), what="mail serve listening")
        mail = EmailMessage()
        mail["From"] = "monitor@example.net"
        mail["To"] = "shop@example.com"
        mail["Subject"] = "PROBLEM: checkout slow"
        mail.set_content("p99 at 4 s")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            assert client.send_message(mail) == {}
    finally:
        server.stop()

    assert server.process.returncode == 0, server.log()
    assert count(ctx, Alert) == 1


def _smtp_answers(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
            return client.noop()[0] == 250
    except OSError:
        return False
