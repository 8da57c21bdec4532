"""Fixtures that start real servers for the end-to-end tests.

Per test module and per database backend: an SMTP server that keeps what it
receives, Tocsin as a subprocess (`serve --upgrade --demo`, worker included)
on a fresh database, and, where a test asks for it, Debian's Alertmanager
sending to Tocsin's webhook. Each is stopped when the module is done.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import create_postgres_schema, drop_postgres_schema
from tests.e2e.harness import (
    ALERTMANAGER,
    Alertmanager,
    Mailbox,
    Tocsin,
    start_alertmanager,
    start_tocsin,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database for one Tocsin process; `serve --upgrade` migrates it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'tocsin.db'}"
        return

    url, schema = create_postgres_schema()
    yield url
    drop_postgres_schema(schema)


@pytest.fixture(scope="module")
def mailbox(backend_url: str) -> Iterator[Mailbox]:
    """One mailbox per Tocsin process: incident numbers restart with each."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def tocsin(
    backend_url: str, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tocsin]:
    server = start_tocsin(
        tmp_path_factory.mktemp("tocsin"),
        database_url=backend_url,
        smtp_port=mailbox.port,
        secret=secrets.token_urlsafe(32),
    )
    yield server
    server.close()


@pytest.fixture(scope="module")
def alertmanager(
    tocsin: Tocsin, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Alertmanager]:
    """Alertmanager whose one receiver is Tocsin's alertmanager intake."""
    if not Path(ALERTMANAGER).exists():
        message = (
            f"{ALERTMANAGER} is missing; "
            "`apt-get install -y prometheus-alertmanager` provides it"
        )
        # CI installs it, so there a missing binary is a broken run, not a skip.
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)

    server = start_alertmanager(
        tmp_path_factory.mktemp("alertmanager"), tocsin.intake_url("alertmanager")
    )
    yield server
    server.close()
