"""Fixtures for CLI tests: the `tocsin` command run in-process against the test
database, with the settings cache emptied so it reads this test's environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tocsin.cli import app
from tocsin.config import get_settings
from tocsin.store.db import Database

Run = Callable[..., Result]


@pytest.fixture
def run_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[str], Run]]:
    """`run_on(url)("incident", "list")` runs `tocsin incident list` on `url`."""
    # Anything a command writes under ./var stays in this test's folder.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOCSIN_SECRET_KEY", "cli-test-secret-key-long-enough")
    runner = CliRunner()

    def on(url: str) -> Run:
        def run(*args: str, input: str | None = None) -> Result:
            monkeypatch.setenv("TOCSIN_DATABASE_URL", url)
            get_settings.cache_clear()
            return runner.invoke(app, list(args), input=input)

        return run

    yield on
    get_settings.cache_clear()


@pytest.fixture
def tocsin(run_on: Callable[[str], Run], db: Database) -> Run:
    """Runs `tocsin ...` on the test database (emptied after the test)."""
    return run_on(db.url.render_as_string(hide_password=False))
