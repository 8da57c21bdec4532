"""Whatever is wrong with the settings or the database, a command says so in one
`error:` line per problem on stderr and exits 1, before doing any work; only a
bug shows a traceback."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.cli.conftest import Run
from tests.conftest import create_postgres_schema, drop_postgres_schema
from tocsin.cli import app
from tocsin.config import Settings, get_settings
from tocsin.services import incidents
from tocsin.store import migrate
from tocsin.store.db import Database


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Run]:
    """Runs `tocsin ...` in an empty folder with no TOCSIN_ setting but those the
    test sets, as on a fresh shell away from the checkout."""
    for name in [*Settings.model_fields, "config"]:
        monkeypatch.delenv(f"TOCSIN_{name.upper()}", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str) -> Result:
        get_settings.cache_clear()
        return runner.invoke(app, list(args))

    yield run
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL schema of this module's own."""
    url, schema = create_postgres_schema()
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    yield url
    drop_postgres_schema(schema)


def assert_refused(result: Result, *lines: str) -> None:
    """Exit 1, nothing on stdout, and exactly these `error:` lines (a line given
    as a prefix ending in `...` matches any line that starts with it)."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    printed = result.stderr.splitlines()
    assert len(printed) == len(lines), result.stderr
    for line, expected in zip(printed, lines, strict=True):
        if expected.endswith("..."):
            assert line.startswith(f"error: {expected[:-3]}"), line
        else:
            assert line == f"error: {expected}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_bad_settings_are_one_line_each_naming_the_variable(
    bare: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_PORT", "abc")
    monkeypatch.setenv("TOCSIN_LOG_LEVEL", "loud")

    result = bare("incident", "list")

    assert_refused(result, "TOCSIN_PORT: ...", "TOCSIN_LOG_LEVEL: ...")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("garbage", "TOCSIN_DATABASE_URL: not a database URL"),
        ("mysql://x", "TOCSIN_DATABASE_URL: Tocsin runs on sqlite or postgresql, ..."),
    ],
)
def test_a_database_url_tocsin_cannot_use_is_refused(
    bare: Run, monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.setenv("TOCSIN_DATABASE_URL", url)

    assert_refused(bare("incident", "list"), message)


def test_a_toml_file_that_does_not_parse_is_refused(
    bare: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "tocsin.toml").write_text("port = \n")
    monkeypatch.setenv("TOCSIN_CONFIG", "tocsin.toml")

    assert_refused(bare("demo", "load"), "TOCSIN_CONFIG tocsin.toml is not valid ...")


def test_a_toml_file_that_is_not_there_is_refused(
    bare: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_CONFIG", "/etc/tocsin/nowhere.toml")

    result = bare("db", "upgrade")

    assert_refused(result, "TOCSIN_CONFIG names /etc/tocsin/nowhere.toml, not a file")


def test_away_from_the_checkout_the_default_database_is_missing_not_made(
    bare: Run, tmp_path: Path
) -> None:
    result = bare("incident", "list")

    assert_refused(result, f"no database at {tmp_path / 'var' / 'tocsin.db'}: ...")
    assert list(tmp_path.iterdir()) == []


def test_a_database_without_the_schema_says_to_upgrade(
    bare: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sqlite3.connect(tmp_path / "empty.db").close()
    monkeypatch.setenv("TOCSIN_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")

    result = bare("user", "add", "ann@example.com", "--name", "Ann")

    assert_refused(
        result,
        f"the database sqlite:///{tmp_path}/empty.db has no schema: "
        "run `tocsin db upgrade`",
    )


def test_a_database_that_does_not_answer_is_refused_without_its_password(
    bare: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql+psycopg://tocsin:hunter2@127.0.0.1:{free_port()}/tocsin"
    monkeypatch.setenv("TOCSIN_DATABASE_URL", url)

    result = bare("incident", "list")

    assert_refused(
        result, "cannot open the database postgresql+psycopg://tocsin:***@127.0.0.1..."
    )
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize(
    "command", [("serve", "--no-worker"), ("worker",), ("demo", "load")]
)
def test_commands_that_sign_links_refuse_postgresql_without_a_secret_key(
    bare: Run,
    monkeypatch: pytest.MonkeyPatch,
    postgres_url: str,
    command: tuple[str, ...],
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("started without a secret key")

    # Were the refusal missing, the test would fail rather than serve forever.
    monkeypatch.setattr("tocsin.cli.server.uvicorn.run", never)
    monkeypatch.setattr("tocsin.cli.server.Worker.run_forever", never)
    monkeypatch.setenv("TOCSIN_DATABASE_URL", postgres_url)

    result = bare(*command)

    assert_refused(result, "set TOCSIN_SECRET_KEY: ...")


def test_a_bug_keeps_its_traceback(
    run_on: Callable[[str], Run],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(incidents, "list_incidents", broken)

    result = run_on(database_url)("incident", "list")

    assert isinstance(result.exception, ValueError)


def test_an_argument_that_is_not_utf8_is_refused_before_any_command(
    bare: Run,
) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates; they are one
    `error:` line and exit 1, not a traceback from the database."""
    result = bare("user", "add", "u\udcff@example.com", "--name", "U")

    assert_refused(result, "an argument is not valid UTF-8: ...")
