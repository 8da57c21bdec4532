"""What each notification channel is set up with, for admins to check.

Channel settings come from configuration (`TOCSIN_*` variables or the TOML
file) and are read-only here. Secrets are never shown: only whether they are
set. A channel is *configured* when the settings it needs globally are there
(Slack needs its bot token; SMS and voice the Twilio account); webhooks and
Teams carry their URLs in each contact method, so they need none. It is
*enabled* when the worker can start it, which is what decides whether its
messages are sent or fail visibly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, select

from tocsin.channels import registry
from tocsin.config import Settings
from tocsin.domain.access import Actor, Role, require_role
from tocsin.services.context import Context
from tocsin.store.models import ContactMethod

log = logging.getLogger(__name__)

SET = "set"
NOT_SET = "not set"


@dataclass(frozen=True)
class ChannelSetting:
    name: str
    value: str
    secret: bool = False


@dataclass(frozen=True)
class ChannelStatus:
    kind: str
    built_in: bool
    configured: bool
    enabled: bool
    note: str
    settings: tuple[ChannelSetting, ...]
    contact_methods: int


def _secret(name: str, value: str) -> ChannelSetting:
    return ChannelSetting(name, SET if value else NOT_SET, secret=True)


def _plain(name: str, value: object) -> ChannelSetting:
    return ChannelSetting(name, str(value) if value != "" else NOT_SET)


def _url(name: str, value: str) -> ChannelSetting:
    """A URL, with any user and password in it masked."""
    parts = urlsplit(value)
    if parts.username is None and parts.password is None:
        return _plain(name, value)
    host = parts.netloc.rpartition("@")[2]
    return ChannelSetting(name, urlunsplit(parts._replace(netloc=f"***@{host}")))


def _built_in(kind: str, settings: Settings) -> tuple[bool, str, list[ChannelSetting]]:
    """Whether `kind` has what it needs, a note saying so, and its settings."""
    if kind == "email":
        return (
            bool(settings.smtp_host),
            "Pages go through the SMTP server below.",
            [
                _plain("smtp_host", settings.smtp_host),
                _plain("smtp_port", settings.smtp_port),
                _plain("smtp_tls", settings.smtp_tls),
                _plain("smtp_username", settings.smtp_username),
                _secret("smtp_password", settings.smtp_password),
                _plain("mail_from", settings.mail_from),
            ],
        )
    if kind == "slack":
        ready = bool(settings.slack_bot_token)
        return (
            ready,
            "Posts with the bot token." if ready else "Needs slack_bot_token.",
            [
                _secret("slack_bot_token", settings.slack_bot_token),
                _secret("slack_signing_secret", settings.slack_signing_secret),
                _url("slack_api_url", settings.slack_api_url),
            ],
        )
    if kind in ("sms", "voice"):
        needed = {
            "twilio_account_sid": settings.twilio_account_sid,
            "twilio_auth_token": settings.twilio_auth_token,
            "twilio_from_number": settings.twilio_from_number,
        }
        missing = [name for name, value in needed.items() if not value]
        note = (
            "Sends through the Twilio-compatible API."
            if not missing
            else f"Needs {', '.join(missing)}."
        )
        return (
            not missing,
            note,
            [
                _plain("twilio_account_sid", settings.twilio_account_sid),
                _secret("twilio_auth_token", settings.twilio_auth_token),
                _plain("twilio_from_number", settings.twilio_from_number),
                _url("twilio_base_url", settings.twilio_base_url),
            ],
        )
    if kind == "apprise":
        targets = sorted(settings.apprise_targets)
        # An Apprise URL carries the service's credentials: names only.
        return (
            bool(targets),
            "Named targets: " + ", ".join(targets)
            if targets
            else "Needs apprise_targets.",
            [_secret(f"apprise_targets.{name}", "x") for name in targets],
        )
    # webhook and teams: the URL (and a webhook's signing secret) is per
    # contact method.
    return (True, "Each contact method holds its own URL.", [])


def overview(ctx: Context, actor: Actor) -> list[ChannelStatus]:
    """Every channel kind, built-in first, with its state and settings (secrets
    as set or not set). Admins only."""
    require_role(actor, Role.ADMIN)
    with ctx.db.read() as session:
        counts = dict(
            session.execute(
                select(ContactMethod.kind, func.count()).group_by(ContactMethod.kind)
            ).all()
        )

    found = []
    for kind, factory in registry.factories().items():
        try:
            factory(ctx)
            enabled = True
        except Exception:
            log.exception("channel failed to start", extra={"kind": kind})
            enabled = False
        if kind in registry.BUILT_IN:
            configured, note, settings = _built_in(kind, ctx.settings)
        else:
            configured, note, settings = True, "Added by an installed package.", []
        found.append(
            ChannelStatus(
                kind=kind,
                built_in=kind in registry.BUILT_IN,
                configured=configured,
                enabled=enabled,
                note=note,
                settings=tuple(settings),
                contact_methods=int(counts.get(kind, 0)),
            )
        )
    return found
