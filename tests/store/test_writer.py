"""The writer thread: units queued together commit together, a unit's result is
known only once it is durable, and a failing unit fails alone."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tocsin.errors import Unavailable
from tocsin.store.db import Database
from tocsin.store.models import Counter
from tocsin.store.writer import Writer

WAIT = 10  # seconds; a bound on waiting for the writer thread, never a sleep


@pytest.fixture
def writer(db: Database) -> Iterator[Writer]:
    writer = Writer(db)
    yield writer
    writer.close()


def keep(name: str, value: int = 1) -> Callable[[Session], int]:
    """A unit that stores a counter row and returns its value."""

    def unit(session: Session) -> int:
        session.execute(insert(Counter).values(name=name, value=value))
        return value

    return unit


def stored(db: Database) -> dict[str, int]:
    with db.read() as session:
        rows = session.execute(select(Counter.name, Counter.value))
        return {name: value for name, value in rows if name != "incident_number"}


class Gate:
    """A unit that holds the writer until opened, so that the units submitted
    meanwhile are waiting together when it lets go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def __call__(self, session: Session) -> None:
        self.entered.set()
        if not self.opened.wait(WAIT):
            raise TimeoutError("the gate was never opened")

    def hold(self, writer: Writer) -> Future[None]:
        future = writer.submit(self)
        assert self.entered.wait(WAIT)
        return future


def test_a_units_result_comes_once_its_writes_are_committed(
    db: Database, writer: Writer
) -> None:
    future = writer.submit(keep("a", 42))

    assert future.result(WAIT) == 42
    # Read through another connection: visible means committed.
    assert stored(db) == {"a": 42}


def test_units_waiting_together_share_one_transaction(writer: Writer) -> None:
    gate = Gate()
    sessions: list[Session] = []

    def note(session: Session) -> None:
        sessions.append(session)

    held = gate.hold(writer)
    waiting = [writer.submit(note) for _ in range(3)]
    gate.opened.set()

    held.result(WAIT)
    for future in waiting:
        future.result(WAIT)
    assert len(sessions) == 3
    assert sessions[0] is sessions[1] is sessions[2]


def test_a_failing_unit_fails_alone_and_leaves_nothing_behind(
    db: Database, writer: Writer
) -> None:
    gate = Gate()

    def half_done(session: Session) -> None:
        keep("broken")(session)
        raise ValueError("changed my mind")

    held = gate.hold(writer)
    before = writer.submit(keep("before"))
    failing = writer.submit(half_done)
    after = writer.submit(keep("after"))
    gate.opened.set()

    held.result(WAIT)
    assert (before.result(WAIT), after.result(WAIT)) == (1, 1)
    with pytest.raises(ValueError, match="changed my mind"):
        failing.result(WAIT)
    assert stored(db) == {"before": 1, "after": 1}


def test_a_unit_cancelled_before_it_ran_is_skipped(
    db: Database, writer: Writer
) -> None:
    gate = Gate()
    held = gate.hold(writer)
    cancelled = writer.submit(keep("cancelled"))
    kept = writer.submit(keep("kept"))

    assert cancelled.cancel()
    gate.opened.set()

    held.result(WAIT)
    kept.result(WAIT)
    assert stored(db) == {"kept": 1}


def test_closing_finishes_the_queued_units_and_refuses_new_ones(
    db: Database,
) -> None:
    writer = Writer(db)
    gate = Gate()
    held = gate.hold(writer)
    queued = writer.submit(keep("queued"))
    closing = threading.Thread(target=writer.close)
    closing.start()

    gate.opened.set()
    closing.join(WAIT)

    assert not closing.is_alive()
    held.result(0)
    assert queued.result(0) == 1
    assert stored(db) == {"queued": 1}
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(keep("late"))


def test_when_the_transaction_cannot_begin_every_unit_fails(tmp_path: Path) -> None:
    nowhere = Database(f"sqlite:///{tmp_path / 'missing' / 'tocsin.db'}")
    writer = Writer(nowhere)
    try:
        futures = [writer.submit(keep(name)) for name in ("a", "b")]

        for future in futures:
            with pytest.raises(OperationalError):
                future.result(WAIT)
    finally:
        writer.close()
        nowhere.dispose()


class _LockedSession:
    def connection(self) -> None:
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))


class _LockedDatabase:
    """A database whose write transaction cannot begin: another process holds
    the SQLite lock past the busy timeout."""

    @contextmanager
    def write(self) -> Iterator[_LockedSession]:
        yield _LockedSession()


def test_a_transaction_that_cannot_begin_fails_every_unit_as_unavailable() -> None:
    writer = Writer(_LockedDatabase())  # type: ignore[arg-type]
    ran: list[str] = []

    def unit(session: Session) -> None:
        ran.append("ran")

    try:
        futures = [writer.submit(unit) for _ in range(3)]
        for future in futures:
            with pytest.raises(Unavailable, match="busy"):
                future.result(WAIT)
    finally:
        writer.close()

    assert ran == []
