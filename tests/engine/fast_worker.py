"""A worker process whose clock runs faster than the wall clock, for tests
that kill a worker with SIGKILL and start another.

    python -m tests.engine.fast_worker EPOCH ORIGIN SPEED

The clock reads EPOCH + (time.time() - ORIGIN) * SPEED, so every process
started with the same arguments shares one timeline, across restarts. The
rest (database, SMTP server) comes from the TOCSIN_ environment, as for
`tocsin worker`.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime, timedelta

from tocsin.config import get_settings
from tocsin.engine.worker import Worker
from tocsin.services.context import Context
from tocsin.store.db import Database


class FastClock:
    def __init__(self, epoch: datetime, origin: float, speed: float) -> None:
        self.epoch = epoch
        self.origin = origin
        self.speed = speed

    def now(self) -> datetime:
        elapsed = (time.time() - self.origin) * self.speed
        return self.epoch + timedelta(seconds=elapsed)


def main(argv: list[str]) -> None:
    epoch, origin, speed = (
        datetime.fromisoformat(argv[0]),
        float(argv[1]),
        float(argv[2]),
    )
    settings = get_settings()
    ctx = Context(
        db=Database(settings.database_url),
        settings=settings,
        clock=FastClock(epoch, origin, speed),
    )
    print("worker started", flush=True)
    Worker(ctx).run_forever(threading.Event())


if __name__ == "__main__":
    main(sys.argv[1:])
