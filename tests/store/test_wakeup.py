"""The worker's wake-up is raised only once the work it announces is committed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tocsin.store.db import Database
from tocsin.store.wakeup import WorkSignal


def test_a_wake_up_outside_a_transaction_is_immediate() -> None:
    signal = WorkSignal()

    signal.set()

    assert signal.is_set()
    assert signal.wait(0)


def test_a_wake_up_inside_a_write_waits_for_the_commit(tmp_path: Path) -> None:
    """The worker must not look before the rows it is woken for are visible."""
    db = Database(f"sqlite:///{tmp_path}/wake.db")

    with db.write():
        db.work_queued.set()
        assert not db.work_queued.is_set()

    assert db.work_queued.is_set()


def test_a_rolled_back_write_wakes_nobody(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/wake.db")

    def failing_use_case() -> None:
        with db.write():
            db.work_queued.set()
            raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError):
        failing_use_case()

    assert not db.work_queued.is_set()

    with db.write():
        pass

    assert not db.work_queued.is_set(), "a dropped wake-up must not come back"


def test_nested_holds_release_at_the_outermost_only() -> None:
    signal = WorkSignal()

    with signal.held():
        with signal.held():
            signal.set()
        assert not signal.is_set()

    assert signal.is_set()


def test_a_hold_on_one_thread_does_not_delay_another() -> None:
    """Each thread's transaction is its own: the intake writer holding one must
    not swallow a wake-up raised by a request thread with none."""
    signal = WorkSignal()
    inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with signal.held():
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(5)
    signal.set()
    woken = signal.is_set()
    release.set()
    holder.join(5)

    assert woken
