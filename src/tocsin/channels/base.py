"""The channel interface. A new channel is a class with `kind` and `send`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class DeliveryError(Exception):
    """A send failed; the worker will retry with backoff."""


@dataclass(frozen=True)
class Outbound:
    """What a channel gets to send, detached from the database."""

    idempotency_key: str
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    kind: str

    def send(self, message: Outbound) -> None:
        """Deliver or raise DeliveryError. Must be safe to call twice for one key."""
        ...
