"""Pages through Apprise, for the long tail of providers (Telegram, ntfy,
Pushover, Matrix, Discord, ...), as the optional extra `tocsin[apprise]`.

Apprise URLs can name any host, and Apprise sends through its own HTTP stack,
which the outgoing guard (tocsin.outbound) cannot vet. So people never type an
Apprise URL: the operator names targets in TOCSIN_APPRISE_TARGETS
(`{"ops-telegram": "tgram://TOKEN/CHAT"}`), and an `apprise` contact method's
address is one of those names.
"""

from __future__ import annotations

import logging
from typing import Any

from tocsin.channels.base import DeliveryError, Outbound
from tocsin.config import Settings


def _library() -> Any:
    try:
        import apprise
    except ImportError:
        raise DeliveryError(
            "Apprise is not installed: pip install 'tocsin[apprise]'"
        ) from None
    return apprise


class AppriseChannel:
    kind = "apprise"

    def __init__(self, settings: Settings) -> None:
        self.targets = settings.apprise_targets

    def send(self, message: Outbound) -> None:
        name = str(message.payload.get("address") or message.recipient)
        url = self.targets.get(name)
        if url is None:
            raise DeliveryError(
                f"Apprise: no target {name!r} in TOCSIN_APPRISE_TARGETS"
            )

        apprise = _library()
        notifier = apprise.Apprise()
        if not notifier.add(url):
            raise DeliveryError(f"Apprise does not understand target {name!r}")

        result = notifier.notify(
            title=message.subject[:250], body=message.body, log_level=logging.WARNING
        )
        if not result:
            # Apprise's own log says why; the URL may hold a token, so the
            # target is named, never shown.
            reasons = "; ".join(entry.message for entry in result.logs())
            raise DeliveryError(
                f"Apprise could not deliver to {name!r}: "
                f"{reasons[:300] or 'no reason given'}"
            )
