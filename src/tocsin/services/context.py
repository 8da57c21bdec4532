"""What every use case needs: the database, the clock and the settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tocsin.clock import Clock, system_clock
from tocsin.config import Settings, get_settings
from tocsin.store.db import Database


@dataclass
class Context:
    db: Database
    settings: Settings = field(default_factory=get_settings)
    clock: Clock = system_clock
    # Set after a transaction queues work, so an in-process worker wakes at once
    # instead of at its next poll. Other processes still find it by polling.
    work_queued: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Context:
        settings = settings or get_settings()
        return cls(db=Database(settings.database_url), settings=settings)
