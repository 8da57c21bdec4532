"""The database handle: engines, sessions and the transaction discipline.

Writes on SQLite start with `BEGIN IMMEDIATE`, so two writers never both read and
then collide at commit; reads start a plain deferred transaction and never block
writers (WAL). On PostgreSQL writes take row locks (`FOR UPDATE`) where they
change shared state.

A read of one statement (`read_once`) needs no transaction at all: SQLite runs a
lone statement against one snapshot of its own, and the explicit `BEGIN` it
would otherwise send costs about as much as an indexed lookup. It is the read
that answers every repeat of an alert storm, so it also skips SQLAlchemy's
execution machinery where it safely can (see `_Plain`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVarTuple

from sqlalchemy import Dialect, Engine, Select, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeEngine

from tocsin.store.wakeup import WorkSignal

_WRITE_OPTION = "tocsin_write"
_NO_BEGIN_OPTION = "tocsin_no_begin"

Ts = TypeVarTuple("Ts")
AnySelect = Select[*tuple[Any, ...]]


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
        self._plain: dict[AnySelect, _Plain] = {}
        # One wake-up per database, so every context on it wakes the same worker.
        self.work_queued = WorkSignal()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a write transaction, committed on success. Wake-ups
        raised inside it reach the worker only after the commit."""
        with self.work_queued.held(), self._write_sessions.begin() as session:
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
        self, statement: Select[*Ts], parameters: Mapping[str, Any]
    ) -> list[tuple[*Ts]]:
        """The rows of one read-only statement, read outside any explicit
        transaction (a single statement sees one consistent snapshot).

        Build `statement` once (a module constant): its compiled form is kept
        for the life of this handle. On the bare cursor, database errors come
        as the driver raises them, not wrapped by SQLAlchemy.
        """
        plain = self._plain.get(statement)
        if plain is None:
            plain = self._plain[statement] = _Plain.compile(statement, self.engine)
        if not plain.sql:
            with self._once_engine.connect() as connection:
                return list(connection.execute(statement, parameters))

        # The driver's own cursor, on a pooled connection: on SQLite it runs in
        # autocommit, on PostgreSQL the pool rolls back when it takes it back.
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(plain.sql, plain.arguments(parameters))
                rows: list[tuple[*Ts]] = list(cursor.fetchall())
                return rows
            finally:
                cursor.close()
        finally:
            raw.close()

    def dispose(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class _Plain:
    """A select compiled once to the driver's SQL, to run on a bare cursor.

    SQLAlchemy spends about ten times as long preparing a statement and its
    result as SQLite spends on an indexed lookup. Skipping it is only sound when
    nothing needs converting between Python and the database: every parameter
    and every column must be of a type the driver handles itself (text,
    numbers), and no parameter may expand (`IN` over a list). Otherwise `sql`
    is empty and the statement goes through SQLAlchemy.
    """

    sql: str = ""
    # Parameter names in the order of the placeholders (drivers that number or
    # order them), or None where the driver takes them by name.
    order: tuple[str, ...] | None = None
    # Values fixed in the statement itself, such as `status = 'firing'`.
    fixed: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def compile(cls, statement: AnySelect, engine: Engine) -> _Plain:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        binds = compiled.binds.values()
        if any(bind.expanding for bind in binds):
            return cls()
        if any(_converts_binds(bind.type, dialect) for bind in binds):
            return cls()
        if any(_converts_results(c.type, dialect) for c in statement.selected_columns):
            return cls()

        fixed = {
            name: bind.value
            for bind, name in compiled.bind_names.items()
            if not bind.required
        }
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        return cls(compiled.string, order, fixed)

    def arguments(self, parameters: Mapping[str, Any]) -> Any:
        values = {**self.fixed, **parameters}
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)


def _converts_binds(type_: TypeEngine[Any], dialect: Dialect) -> bool:
    return type_.dialect_impl(dialect).bind_processor(dialect) is not None


def _converts_results(type_: TypeEngine[Any], dialect: Dialect) -> bool:
    impl = type_.dialect_impl(dialect)
    return impl.result_processor(dialect, None) is not None


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
        return create_engine(
            url,
            echo=echo,
            pool_pre_ping=True,
            pool_size=10,
            hide_parameters=True,
        )

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
        # Enough for every thread that can hold a connection at once: the 40 of
        # the thread pool that runs sync handlers, the event loop's reads, the
        # intake writer and the worker. The event loop must never wait here.
        pool_args["pool_size"] = 16
        pool_args["max_overflow"] = 32

    # hide_parameters: an error message must not carry what a user typed (a
    # password, an alert's text) into the logs.
    engine = create_engine(
        url,
        echo=echo,
        connect_args=connect_args,
        hide_parameters=True,
        **pool_args,
    )

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
