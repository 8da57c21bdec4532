"""`tocsin db upgrade` on a database that has never been migrated, and what
`db upgrade` and `serve` refuse."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from tests.cli.conftest import Run
from tests.conftest import create_postgres_schema, drop_postgres_schema
from tocsin.store import migrate
from tocsin.store.db import Database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables; SQLite's sits in folders that do not exist yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/not/yet/tocsin.db"
        return

    url, schema = create_postgres_schema()
    yield url
    drop_postgres_schema(schema)


def migrated_to(url: str) -> str | None:
    database = Database(url)
    try:
        return migrate.current(database)
    finally:
        database.dispose()


def test_db_upgrade_creates_the_schema_and_can_run_again(
    run_on: Callable[[str], Run], empty_url: str
) -> None:
    tocsin = run_on(empty_url)

    first = tocsin("db", "upgrade")
    second = tocsin("db", "upgrade")

    assert (first.exit_code, second.exit_code) == (0, 0), first.output
    head = migrate.head(Database(empty_url))
    assert first.stdout == second.stdout == f"database at {head} (head)\n"
    database = Database(empty_url)
    try:
        tables = set(inspect(database.engine).get_table_names())
        with database.engine.connect() as conn:
            counter = conn.execute(
                text("SELECT value FROM counters WHERE name = 'incident_number'")
            ).scalar_one()
    finally:
        database.dispose()
    assert {"incidents", "users", "api_tokens", "alembic_version"} <= tables
    assert counter == 0


def test_db_upgrade_prints_the_revision_the_database_reached(
    run_on: Callable[[str], Run], empty_url: str
) -> None:
    tocsin = run_on(empty_url)

    result = tocsin("db", "upgrade", "base")

    assert result.exit_code == 0, result.output
    assert result.stdout == "database at base\n"
    assert migrated_to(empty_url) is None


@pytest.mark.parametrize("revision", ["base", "-1", "head-1"])
def test_db_upgrade_to_a_lower_revision_is_refused_as_a_downgrade(
    run_on: Callable[[str], Run], empty_url: str, revision: str
) -> None:
    tocsin = run_on(empty_url)
    tocsin("db", "upgrade")
    head = migrated_to(empty_url)

    result = tocsin("db", "upgrade", "--", revision)

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {revision} is below the database's revision {head}: going down "
        "is a downgrade, which `tocsin db upgrade` does not do\n"
    )
    assert migrated_to(empty_url) == head


def test_db_upgrade_to_an_unknown_revision_is_refused(
    run_on: Callable[[str], Run], empty_url: str
) -> None:
    result = run_on(empty_url)("db", "upgrade", "9999")

    assert result.exit_code == 1
    assert result.stderr == "error: Can't locate revision identified by '9999'\n"


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_serve_refuses_a_port_out_of_range(tocsin: Run, port: str) -> None:
    result = tocsin("serve", "--port", port)

    assert result.exit_code == 2
    assert "--port" in result.stderr
