"""Signed, expiring, single-purpose action links for pages.

A link carries the incident, the action, the paged user and an expiry, signed
with HMAC-SHA256 under the instance's secret key. An acknowledge link cannot
resolve, and a link for one incident cannot touch another: the signature covers
all of it. Links work without login because the signature is the credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from tocsin.errors import Forbidden, InvalidInput

ACTIONS = ("acknowledge", "resolve")
_DOMAIN = b"tocsin.action-link.v1"


@dataclass(frozen=True)
class ActionClaim:
    incident_id: int
    action: str
    user_id: int
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, body: str) -> str:
    key = hmac.new(secret.encode(), _DOMAIN, hashlib.sha256).digest()
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def sign(
    secret: str,
    *,
    incident_id: int,
    action: str,
    user_id: int,
    now: datetime,
    ttl: timedelta,
) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown link action {action!r}")

    expires = int((now + ttl).timestamp())
    claim = {"i": incident_id, "a": action, "u": user_id, "e": expires}
    body = _b64(json.dumps(claim, separators=(",", ":")).encode())

    return f"{body}.{_signature(secret, body)}"


def verify(secret: str, token: str, *, now: datetime) -> ActionClaim:
    """The claim a token carries. Raises Forbidden when forged or expired."""
    body, _, signature = token.partition(".")
    if not body or not signature:
        raise InvalidInput("this link is malformed")
    # Compare bytes: a link edited to hold non-ASCII text must fail the check,
    # not crash it (compare_digest refuses non-ASCII str).
    expected = _signature(secret, body).encode()
    if not hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
        raise Forbidden("this link is not valid")

    try:
        claim = json.loads(_unb64(body))
        result = ActionClaim(
            incident_id=int(claim["i"]),
            action=str(claim["a"]),
            user_id=int(claim["u"]),
            expires_at=datetime.fromtimestamp(int(claim["e"]), tz=now.tzinfo),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidInput("this link is malformed") from error

    if result.action not in ACTIONS:
        raise InvalidInput("this link is malformed")
    if result.expires_at <= now:
        raise Forbidden("this link has expired; open the incident in Tocsin instead")

    return result
