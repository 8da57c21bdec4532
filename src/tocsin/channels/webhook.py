"""Pages as signed JSON to any HTTPS endpoint, per Standard Webhooks
(https://www.standardwebhooks.com): headers `webhook-id` (the message's
idempotency key, the same on every retry), `webhook-timestamp` (Unix seconds)
and `webhook-signature` (`v1,` + base64 HMAC-SHA256 over `id.timestamp.body`,
keyed with the base64 part of the contact method's `whsec_` secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tocsin.channels.base import DeliveryError, Outbound
from tocsin.channels.web import HttpSender
from tocsin.config import Settings

SECRET_PREFIX = "whsec_"  # noqa: S105 -- the public prefix of every secret

# Payload fields that are Tocsin's own bookkeeping, not the receiver's business.
_PRIVATE = ("address", "contact_method_id", "user_id")


def new_secret() -> str:
    """A fresh signing secret in the `whsec_` form receivers' libraries take."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value for one delivery."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def event(message: Outbound, now: datetime) -> dict[str, Any]:
    payload = {k: v for k, v in message.payload.items() if k not in _PRIVATE}
    kind = str(payload.pop("kind", "message"))
    return {
        "type": f"incident.{kind}" if "incident_number" in payload else kind,
        "timestamp": now.isoformat(),
        "data": {"subject": message.subject, "text": message.body, **payload},
    }


class WebhookChannel:
    kind = "webhook"

    def __init__(
        self,
        settings: Settings,
        secret_of: Callable[[int], str | None],
        now: Callable[[], datetime],
    ) -> None:
        self.http = HttpSender(settings, "Webhook")
        self.secret_of = secret_of
        self.now = now

    def send(self, message: Outbound) -> None:
        address = str(message.payload.get("address") or message.recipient)
        contact_id = message.payload.get("contact_method_id")
        secret = self.secret_of(int(contact_id)) if contact_id is not None else None
        if not secret:
            raise DeliveryError("Webhook: the contact method and its secret are gone")

        now = self.now()
        body = json.dumps(event(message, now), separators=(",", ":")).encode()
        message_id = f"msg_{message.idempotency_key}"
        timestamp = int(now.timestamp())
        self.http.post(
            address,
            content=body,
            headers={
                "Content-Type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(secret, message_id, timestamp, body),
            },
        )
