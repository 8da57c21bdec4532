"""The in-process wake-up for the worker, raised only once work is committed.

A use case that queues a page or a timer wants the worker in the same process to
look at once rather than at its next poll. Raising the wake-up inside the write
transaction is too early: the worker can run its pass before the commit, find
nothing, and sleep a whole poll. So a `set()` made while this thread holds a
write transaction is kept until that transaction commits, and dropped if it
rolls back. Workers in other processes still find the work by polling.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class WorkSignal:
    """A `threading.Event` whose `set()` waits for the caller's commit."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._local = threading.local()

    def set(self) -> None:
        """Wake the worker now, or when this thread's write transaction commits."""
        if getattr(self._local, "depth", 0):
            self._local.pending = True
            return

        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until woken or `timeout` seconds pass; True when woken."""
        return self._event.wait(timeout)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold wake-ups raised inside the block until it ends without error.

        The block is expected to commit before it ends. Blocks nest: only the
        outermost one releases, so a wake-up waits for the real commit.
        """
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        if depth == 0:
            self._local.pending = False
        try:
            yield
        except BaseException:
            if depth == 0:
                self._local.pending = False
            raise
        finally:
            self._local.depth = depth

        if depth == 0 and self._local.pending:
            self._local.pending = False
            self._event.set()
