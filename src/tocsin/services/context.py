"""What every use case needs: the database, the clock and the settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from tocsin.clock import Clock, system_clock
from tocsin.config import Settings, get_settings
from tocsin.store.db import Database
from tocsin.store.wakeup import WorkSignal


@dataclass
class Context:
    db: Database
    settings: Settings = field(default_factory=get_settings)
    clock: Clock = system_clock
    # Set when a transaction queues work, so an in-process worker wakes as soon
    # as it commits instead of at its next poll. It belongs to the database, so
    # contexts sharing one wake the same worker.
    work_queued: WorkSignal = field(init=False)

    def __post_init__(self) -> None:
        self.work_queued = self.db.work_queued

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Context:
        settings = settings or get_settings()
        return cls(db=Database(settings.database_url), settings=settings)
