"""The database handle: engines, sessions and the transaction discipline.

Writes on SQLite start with `BEGIN IMMEDIATE`, so two writers never both read and
then collide at commit; reads start a plain deferred transaction and never block
writers (WAL). On PostgreSQL writes take row locks (`FOR UPDATE`) where they
change shared state.

A read of one statement (`read_once`) needs no transaction at all: SQLite runs a
lone statement against one snapshot of its own, and the explicit `BEGIN` it
would otherwise send costs about as much as an indexed lookup.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, Executable, Row, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

_WRITE_OPTION = "tocsin_write"
_NO_BEGIN_OPTION = "tocsin_no_begin"


class Database:
    """Engines and session factories for one database URL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = _create_engine(url, echo=echo)
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._once_engine = self.engine.execution_options(**{_NO_BEGIN_OPTION: True})
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._write_engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a write transaction, committed on success."""
        with self._write_sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads. Closing it rolls its transaction back without
        expiring the objects it loaded, so they stay readable afterwards."""
        session = self._read_sessions()
        try:
            yield session
        finally:
            session.close()

    def read_once(
        self, statement: Executable, parameters: Mapping[str, Any]
    ) -> Sequence[Row[Any]]:
        """The rows of one read-only statement, read outside any explicit
        transaction (a single statement sees one consistent snapshot)."""
        with self._once_engine.connect() as connection:
            return connection.execute(statement, parameters).all()

    def dispose(self) -> None:
        self.engine.dispose()


def table_of(model: type[Any]) -> Table:
    """The Table of a mapped class, for plain SQL statements on the hot paths
    (the declarative base types `__table__` as any FROM clause)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def _create_engine(url: str, *, echo: bool) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10)

    database = parsed.database or ""
    connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": 30}
    pool_args: dict[str, Any] = {}
    if database in ("", ":memory:"):
        # An in-memory database lives in one connection; a pool would give each
        # session its own empty database.
        raise ValueError("use a file-backed SQLite database, not :memory:")
    if parsed.query.get("nullpool"):
        pool_args["poolclass"] = NullPool
    else:
        pool_args["pool_size"] = 16
        pool_args["max_overflow"] = 16

    engine = create_engine(url, echo=echo, connect_args=connect_args, **pool_args)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk when it returns; an acknowledged alert is
        # never lost to a power cut.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get(_WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif not options.get(_NO_BEGIN_OPTION):
            connection.exec_driver_sql("BEGIN")

    return engine
