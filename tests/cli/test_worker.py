"""`tocsin worker` as its own process: SIGTERM or SIGINT ends it cleanly, after
the pass under way, with "worker stopped" logged and exit status 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from tocsin.store import migrate
from tocsin.store.db import Database

STARTUP = 20.0
SHUTDOWN = 10.0


class Lines:
    """The lines a child writes to one pipe, read by a thread so that waiting
    for a line never blocks past its deadline."""

    def __init__(self, pipe: IO[str]) -> None:
        self.lines: list[str] = []
        self._arrived = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[str]) -> None:
        for line in pipe:
            with self._arrived:
                self.lines.append(line)
                self._arrived.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not any(text in line for line in self.lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
        return True

    def text(self) -> str:
        with self._arrived:
            return "".join(self.lines)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/tocsin.db"
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    return url


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_worker_cleanly(
    sqlite_url: str, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("TOCSIN")
    }
    env |= {
        "TOCSIN_DATABASE_URL": sqlite_url,
        "TOCSIN_SECRET_KEY": "worker-test-secret-key-long-enough",
        # A long poll: stopping must not wait for the next one.
        "TOCSIN_WORKER_POLL_SECONDS": "60",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tocsin", "worker"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        log = Lines(process.stderr)
        assert log.wait_for("worker started", STARTUP), log.text()

        process.send_signal(stop_signal)
        code = process.wait(timeout=SHUTDOWN)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert code == 0, log.text()
    assert log.wait_for("worker stopped", 1.0), log.text()
    assert "Traceback" not in log.text()
