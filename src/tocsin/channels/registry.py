"""Which channel sends each kind of contact method, built-in or added.

A channel is an object with a `kind` and a `send(Outbound)` (channels.base).
Tocsin builds its own here; another package adds one by declaring an entry
point in the `tocsin.channels` group, named after the contact method kind,
that points at a factory taking the worker's Context:

    [project.entry-points."tocsin.channels"]
    pushover = "tocsin_pushover:make_channel"

The factory may also carry a `validate_address(address: str) -> str` attribute
that contact methods of its kind are checked with (return the cleaned address,
raise ValueError with a message). See docs/channels.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tocsin.channels.apprise import AppriseChannel
from tocsin.channels.base import Channel
from tocsin.channels.email import EmailChannel
from tocsin.channels.slack import SlackChannel
from tocsin.channels.teams import TeamsChannel
from tocsin.channels.twilio import TwilioSmsChannel, TwilioVoiceChannel
from tocsin.channels.webhook import WebhookChannel

if TYPE_CHECKING:
    from tocsin.services.context import Context

log = logging.getLogger(__name__)

GROUP = "tocsin.channels"
Factory = Callable[["Context"], Channel]


def _webhook(ctx: Context) -> Channel:
    # The signing secret stays in its contact method row, not in every queued
    # message; the channel reads it when it sends.
    from tocsin.store.models import ContactMethod

    def secret_of(contact_id: int) -> str | None:
        with ctx.db.read() as session:
            return session.scalar(
                select(ContactMethod.signing_secret).where(
                    ContactMethod.id == contact_id
                )
            )

    return WebhookChannel(ctx.settings, secret_of, ctx.clock.now)


BUILT_IN: dict[str, Factory] = {
    "email": lambda ctx: EmailChannel(ctx.settings),
    "slack": lambda ctx: SlackChannel(ctx.settings),
    "teams": lambda ctx: TeamsChannel(ctx.settings),
    "webhook": _webhook,
    "sms": lambda ctx: TwilioSmsChannel(ctx.settings),
    "voice": lambda ctx: TwilioVoiceChannel(ctx.settings),
    "apprise": lambda ctx: AppriseChannel(ctx.settings),
}


@lru_cache(maxsize=1)
def added() -> dict[str, Factory]:
    """Factories from installed packages' entry points, by kind. A name that
    clashes with a built-in kind, or that fails to load, is logged and left out:
    one broken plugin must not stop paging."""
    found: dict[str, Factory] = {}
    for point in entry_points(group=GROUP):
        if point.name in BUILT_IN:
            log.warning(
                "channel plugin shadows a built-in kind; ignored",
                extra={"kind": point.name, "value": point.value},
            )
            continue
        try:
            factory = point.load()
        except Exception:
            log.exception(
                "channel plugin failed to load",
                extra={"kind": point.name, "value": point.value},
            )
            continue
        found[point.name] = factory
    return found


def factories() -> dict[str, Factory]:
    return {**BUILT_IN, **added()}


def kinds() -> tuple[str, ...]:
    """Every contact method kind a channel exists for."""
    return tuple(factories())


def address_validator(kind: str) -> Callable[[str], str] | None:
    """A plugin's own address check, if it has one."""
    check: Any = getattr(added().get(kind), "validate_address", None)
    return check if callable(check) else None


def load(ctx: Context) -> dict[str, Channel]:
    """One channel per kind, for a worker. A factory that raises is logged and
    its kind left out; its messages then fail visibly instead of the worker
    not starting."""
    channels: dict[str, Channel] = {}
    for kind, factory in factories().items():
        try:
            channels[kind] = factory(ctx)
        except Exception:
            log.exception("channel failed to start", extra={"kind": kind})
    return channels
