"""Fixtures shared by the suite: a migrated database per backend, a context with a
hand-moved clock, and builders for the objects most tests need.

Every database test runs on SQLite and on PostgreSQL. PostgreSQL comes from
TOCSIN_TEST_POSTGRES_URL, or the local server at 127.0.0.1:5432 (database
`test`); each run gets its own schema and drops it at the end. Where no
PostgreSQL answers, those tests are skipped, unless TOCSIN_REQUIRE_POSTGRES=1
(set by CI), which turns the skip into a failure.

The PDF export tests need WeasyPrint (the `pdf` extra, in `dev` too) and
Debian's Pango; where either is missing they are skipped, unless
TOCSIN_REQUIRE_PDF=1 (set by CI) makes that a failure as well.
"""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.services.context import Context
from tocsin.store import migrate
from tocsin.store.db import Database
from tocsin.store.models import Base

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def postgres_base_url() -> str:
    return os.environ.get("TOCSIN_TEST_POSTGRES_URL", DEFAULT_POSTGRES)


def _libpq(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def create_postgres_schema() -> tuple[str, str]:
    """A fresh schema; returns (SQLAlchemy URL using it, schema name)."""
    base = postgres_base_url()
    schema = f"tocsin_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(_libpq(base), autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as error:
        if os.environ.get("TOCSIN_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but unreachable: {error}")
        pytest.skip(f"no PostgreSQL at {base}: {error}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def drop_postgres_schema(schema: str) -> None:
    with psycopg.connect(_libpq(postgres_base_url()), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database of each backend, shared by the session."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "tocsin.db"
        url = f"sqlite:///{path}"
        schema = None
    else:
        url, schema = create_postgres_schema()

    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    yield url

    if schema is not None:
        drop_postgres_schema(schema)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The session's database, emptied after each test."""
    database = Database(database_url)
    yield database

    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.is_sqlite:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608
        else:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        conn.execute(
            text("INSERT INTO counters (name, value) VALUES ('incident_number', 0)")
        )
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        secret_key="test-secret-key-that-is-long-enough",
        base_url="http://tocsin.test",
        smtp_host="127.0.0.1",
        smtp_port=1,
        worker_poll_seconds=0.05,
    )


@pytest.fixture
def weasyprint() -> ModuleType:
    """WeasyPrint, loaded. It raises OSError, not ImportError, when Pango is
    missing, which pytest.importorskip would not turn into a skip."""
    try:
        return importlib.import_module("weasyprint")
    except (ImportError, OSError) as error:
        if os.environ.get("TOCSIN_REQUIRE_PDF") == "1":
            pytest.fail(f"WeasyPrint is required but cannot load: {error}")
        pytest.skip(f"no WeasyPrint (the pdf extra) or no Pango: {error}")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def ctx(db: Database, settings: Settings, clock: ManualClock) -> Context:
    return Context(db=db, settings=settings, clock=clock)
