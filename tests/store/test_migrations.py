"""Migrations build the schema from empty, match the models, and go down again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from tests.conftest import create_postgres_schema, drop_postgres_schema
from tocsin.store import migrate
from tocsin.store.db import Database
from tocsin.store.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Database]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        url, schema = create_postgres_schema()
    database = Database(url)
    yield database

    database.dispose()
    if schema is not None:
        drop_postgres_schema(schema)


def test_upgrade_from_empty_matches_the_models(empty_database: Database) -> None:
    migrate.upgrade(empty_database)

    with empty_database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        counter = conn.execute(
            text("SELECT value FROM counters WHERE name = 'incident_number'")
        ).scalar()

    assert differences == []
    assert counter == 0


def test_downgrade_to_base_removes_every_table_and_upgrade_again_works(
    empty_database: Database,
) -> None:
    migrate.upgrade(empty_database)
    migrate.downgrade(empty_database, "base")

    remaining = set(inspect(empty_database.engine).get_table_names())
    assert remaining <= {"alembic_version"}

    migrate.upgrade(empty_database)
    tables = set(inspect(empty_database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
