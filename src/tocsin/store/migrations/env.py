"""Alembic environment. Run through `tocsin db upgrade` (tocsin.store.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tocsin.store.models import Base

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through tocsin.store.migrate")
run_migrations(connection)
