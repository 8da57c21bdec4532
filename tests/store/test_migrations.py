"""Migrations build the schema from empty, match the models, and go down again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Boolean, Integer, String, column, inspect, select, table, text

from tests.conftest import create_postgres_schema, drop_postgres_schema
from tocsin.store import migrate
from tocsin.store.db import Database
from tocsin.store.models import Base
from tocsin.store.types import JSONType, UTCDateTime


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


def test_0013_stamps_users_deactivated_before_it_from_the_audit_log(
    empty_database: Database,
) -> None:
    """An inactive user gets the instant of their latest deactivation record;
    one without such a record, and every active user, stays unstamped. The
    way down drops the column and keeps the users."""
    migrate.upgrade(empty_database, "0012")
    created = datetime(2026, 1, 1, tzinfo=UTC)
    latest = created + timedelta(days=40)
    users = table(
        "users",
        column("id", Integer),
        column("email", String),
        column("name", String),
        column("role", String),
        column("time_zone", String),
        column("active", Boolean),
        column("created_at", UTCDateTime()),
    )
    audit = table(
        "audit_records",
        column("at", UTCDateTime()),
        column("actor_type", String),
        column("actor_label", String),
        column("action", String),
        column("object_type", String),
        column("object_id", Integer),
        column("detail", JSONType),
    )
    records = [
        (created + timedelta(days=3), "user.deactivate", "user", 1),
        (created + timedelta(days=4), "user.reactivate", "user", 1),
        (latest, "user.deactivate", "user", 1),
        # User 2 has no record of its own: only another kind of object with
        # its id, and another action on it.
        (created + timedelta(days=50), "user.deactivate", "team", 2),
        (created + timedelta(days=51), "user.role", "user", 2),
        # User 3 is active again: an old record gives it no stamp.
        (created + timedelta(days=5), "user.deactivate", "user", 3),
    ]
    with empty_database.engine.begin() as conn:
        for user_id, active in ((1, False), (2, False), (3, True)):
            conn.execute(
                users.insert().values(
                    id=user_id,
                    email=f"u{user_id}@example.com",
                    name=f"U{user_id}",
                    role="responder",
                    time_zone="UTC",
                    active=active,
                    created_at=created,
                )
            )
        for at, action, object_type, object_id in records:
            conn.execute(
                audit.insert().values(
                    at=at,
                    actor_type="system",
                    actor_label="test",
                    action=action,
                    object_type=object_type,
                    object_id=object_id,
                    detail={},
                )
            )

    migrate.upgrade(empty_database, "0013")

    stamped = table(
        "users", column("id", Integer), column("deactivated_at", UTCDateTime())
    )
    with empty_database.engine.connect() as conn:
        stamps = dict(
            conn.execute(select(stamped.c.id, stamped.c.deactivated_at)).all()
        )
    assert stamps == {1: latest, 2: None, 3: None}

    migrate.downgrade(empty_database, "0012")

    columns = {c["name"] for c in inspect(empty_database.engine).get_columns("users")}
    assert "deactivated_at" not in columns
    with empty_database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 3
