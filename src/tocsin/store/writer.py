"""One thread that runs a process's queued write transactions, several to a
commit.

SQLite lets one transaction write at a time. Threads that each begin their own
wait for the lock in SQLite's busy handler, which sleeps and polls (1 ms, 2 ms,
up to 100 ms between tries): under load much of their time is sleep, and the
order in which they get the lock is luck. And with `synchronous=FULL` every
commit waits for a flush to disk.

A `Writer` takes write units (functions of a session) from a queue on a thread
of its own. It begins one transaction, runs every unit waiting at that moment
(up to `batch`), commits once and only then reports each unit's result. Waiting
units share one disk flush, and no thread of this process sleeps in the busy
handler. A unit's caller learns the outcome from a Future, set only after the
commit has returned, so an answer never promises what a crash could still take
back.

A unit that raises must not take the others down with it. A savepoint around
each unit would do that, but costs more in SQLAlchemy's bookkeeping (0.3 ms)
than a new incident's own statements, and units rarely raise (their input was
checked before they were queued). So the writer runs a batch without
savepoints; when a unit raises, it rolls the whole transaction back, hands that
unit its error, and runs the others again in a new transaction. Units must
therefore be safe to run again: they read the state they change, as a
transaction does anyway.

Units must not commit, and must not keep ORM objects past their return: the
session belongs to the transaction and closes after it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tocsin.errors import Unavailable
from tocsin.store.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")

# Units per transaction. A bound keeps one slow batch from holding the lock (and
# every caller in it) for long; 64 units of intake work take a few milliseconds.
BATCH = 64


@dataclass
class _Job:
    unit: Callable[[Session], Any]
    future: Future[Any] = field(default_factory=Future)
    value: Any = None


_STOP = object()


class Writer:
    """Runs submitted write units on one thread, group-committed."""

    def __init__(self, db: Database, *, batch: int = BATCH, name: str = "") -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.db = db
        self.batch = batch
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._run, name=name or "tocsin-writer", daemon=True
        )
        self._thread.start()

    def submit(self, unit: Callable[[Session], T]) -> Future[T]:
        """Queue `unit`; the Future holds its return value (or what it raised)
        once the transaction it ran in has committed. A unit whose Future was
        cancelled before it started is skipped."""
        job = _Job(unit)
        with self._lock:
            if self._closed:
                raise RuntimeError("the writer is closed")
            self._queue.put(job)
        return job.future

    def close(self, timeout: float = 30.0) -> None:
        """Stop taking units, finish the ones queued, and end the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("writer did not finish in time", extra={"timeout": timeout})

    def _run(self) -> None:
        stopping = False
        while not stopping:
            jobs: list[_Job] = []
            item = self._queue.get()
            # Take what is already waiting, without waiting for more: under load
            # the queue fills while the previous transaction commits.
            while True:
                if item is _STOP:
                    stopping = True
                    break
                if (
                    isinstance(item, _Job)
                    and item.future.set_running_or_notify_cancel()
                ):
                    jobs.append(item)
                if len(jobs) >= self.batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if jobs:
                self._commit(jobs)

    def _commit(self, jobs: list[_Job]) -> None:
        while jobs:
            failed = self._try(jobs)
            if failed is None:
                return
            jobs = [job for job in jobs if job is not failed]

    def _try(self, jobs: list[_Job]) -> _Job | None:
        """Run `jobs` in one transaction and settle their Futures; or, when one
        of them raises, settle only that one and return it, having committed
        nothing."""
        running: _Job | None = None
        try:
            with self.db.write() as session:
                _begin(session)
                for job in jobs:
                    running = job
                    job.value = job.unit(session)
                running = None
        except BaseException as error:
            if running is not None and isinstance(error, Exception):
                running.future.set_exception(error)
                return running
            # The transaction itself failed (to begin or to commit): nothing is
            # durable, so no unit may report success.
            log.exception("write batch failed", extra={"units": len(jobs)})
            for job in jobs:
                job.future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return None

        for job in jobs:
            job.future.set_result(job.value)
        return None


def _begin(session: Session) -> None:
    """Start the write transaction before any unit runs, so a database that
    stays locked fails the whole batch as unavailable, not its first unit."""
    try:
        session.connection()
    except OperationalError as error:
        if "locked" in str(error.orig) or "busy" in str(error.orig):
            raise Unavailable("the database is busy; try again shortly") from error
        raise
