"""`tocsin db upgrade` on a database that has never been migrated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from tests.cli.conftest import Run
from tests.conftest import create_postgres_schema, drop_postgres_schema
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


def test_db_upgrade_creates_the_schema_and_can_run_again(
    run_on: Callable[[str], Run], empty_url: str
) -> None:
    tocsin = run_on(empty_url)

    first = tocsin("db", "upgrade")
    second = tocsin("db", "upgrade")

    assert (first.exit_code, second.exit_code) == (0, 0), first.output
    assert first.stdout == "database at head\n"
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
