"""The channel interface. A new channel is a class with `kind` and `send`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class DeliveryError(Exception):
    """A send failed; the worker will retry with backoff.

    `timed_out` says the provider did not answer in time, rather than refusing
    this one message: the worker then holds the provider's other messages back
    for a few seconds instead of waiting out the same timeout once for each.
    """

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


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
