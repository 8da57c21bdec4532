"""Fixtures for the browser tests: `tocsin serve` on a free port with a fresh
SQLite database, people and services set up in that database, and Debian's
Chromium driven by Playwright.

Playwright's own browser download cannot run here, so Chromium is Debian's,
launched by its path. Screenshots go to test-artifacts/browser/ (gitignored),
to be looked at by a person.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.builders import make_integration, make_service, make_user
from tests.e2e.harness import (
    Mailbox,
    ServerProcess,
    free_port,
    tocsin_env,
    wait_until_serving,
)
from tocsin.config import Settings
from tocsin.services.context import Context
from tocsin.store.db import Database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Site:
    """A running Tocsin with Ann (responder, Ops), Vera (viewer, Ops) and Pete
    (responder, Payments); checkout belongs to Ops, billing to Payments."""

    base_url: str
    ctx: Context
    keys: dict[str, str]
    server: ServerProcess
    mailbox: Mailbox

    def trigger(self, service: str, dedup_key: str, summary: str) -> None:
        """Send an Events v2 trigger to the service's integration."""
        event = {
            "routing_key": self.keys[service],
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {"summary": summary, "source": "db-1", "severity": "error"},
        }
        response = httpx.post(f"{self.base_url}/v2/enqueue", json=event, timeout=10)
        assert response.status_code == 202, response.text


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} is missing; `apt-get install -y chromium` provides it"
    # CI installs it, so there a missing browser is a broken run, not a skip.
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("tocsin")
    database_url = f"sqlite:///{workdir / 'tocsin.db'}"
    mailbox = Mailbox()
    mailbox.start()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(32)
    env = tocsin_env(
        database_url=database_url,
        base_url=base_url,
        smtp_port=mailbox.port,
        secret=secret,
    )
    command = [sys.executable, "-m", "tocsin", "serve", "--upgrade"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess("tocsin", command, env=env, workdir=workdir)
    database = Database(database_url)
    try:
        wait_until_serving(server, f"{base_url}/login")
        settings = Settings(
            database_url=database_url, base_url=base_url, secret_key=secret
        )
        ctx = Context(db=database, settings=settings)
        ann = make_user(ctx, "ann@example.com", name="Ann Archer", teams=("Ops",))
        make_user(
            ctx, "vera@example.com", name="Vera Viewer", role="viewer", teams=("Ops",)
        )
        pete = make_user(
            ctx, "pete@example.com", name="Pete Payer", teams=("Payments",)
        )
        make_service(ctx, "checkout", steps=[(5, [ann])], team="Ops")
        make_service(ctx, "billing", steps=[(5, [pete])], team="Payments")
        keys = {
            name: make_integration(ctx, name)[1] for name in ("checkout", "billing")
        }
        yield Site(
            base_url=base_url, ctx=ctx, keys=keys, server=server, mailbox=mailbox
        )
    finally:
        server.stop()
        mailbox.stop()
        database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    _require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
