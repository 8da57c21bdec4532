"""Channels that record what they are given instead of sending it, for tests
about what gets paged rather than how a provider is spoken to."""

from __future__ import annotations

from dataclasses import dataclass, field

from tocsin.channels.base import Outbound
from tocsin.engine.worker import Worker
from tocsin.services.context import Context


@dataclass
class Recorder:
    kind: str
    sent: list[Outbound] = field(default_factory=list)

    def send(self, message: Outbound) -> None:
        self.sent.append(message)


@dataclass
class Phone:
    """Recorders for every kind a test pages through."""

    email: Recorder = field(default_factory=lambda: Recorder("email"))
    sms: Recorder = field(default_factory=lambda: Recorder("sms"))
    voice: Recorder = field(default_factory=lambda: Recorder("voice"))

    def worker(self, ctx: Context) -> Worker:
        return Worker(ctx, {"email": self.email, "sms": self.sms, "voice": self.voice})
