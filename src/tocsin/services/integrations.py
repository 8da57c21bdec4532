"""Integrations: creating ingest keys and knowing which integration sent what."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.errors import InvalidInput, NotFound, Unauthenticated
from tocsin.services.context import Context
from tocsin.store.db import Database
from tocsin.store.models import Integration, Service

KINDS = ("alertmanager", "events_v2", "grafana", "generic")

# Known keys are remembered for a few seconds: a storm then costs no key lookup per
# event. Disabling an integration takes effect within this time in every process.
KEY_CACHE_SECONDS = 5.0
# Per database handle, so two databases in one process (tests) never mix keys.
_RECENT_MAX = 4096
_recent_by_db: WeakKeyDictionary[Database, dict[str, tuple[IntegrationRef, float]]]
_recent_by_db = WeakKeyDictionary()


@dataclass(frozen=True)
class IntegrationRef:
    id: int
    service_id: int
    kind: str
    name: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    # Events v2 routing keys are 32 characters; ours fit the same fields.
    return secrets.token_hex(16)


def create(
    ctx: Context, service_name: str, kind: str, name: str = "", key: str | None = None
) -> tuple[IntegrationRef, str]:
    """Create an integration; returns it and its key, which is shown only now."""
    if kind not in KINDS:
        raise InvalidInput(f"integration kind must be one of {', '.join(KINDS)}")

    key = key or new_key()
    with ctx.db.write() as session:
        service = session.scalar(select(Service).where(Service.name == service_name))
        if service is None:
            raise NotFound(f"no service named {service_name!r}")
        integration = add(session, service.id, kind, name or kind, key, ctx.clock.now())
        return _ref(integration), key


def add(
    session: Session, service_id: int, kind: str, name: str, key: str, now: datetime
) -> Integration:
    """Insert an integration in the caller's transaction; its id is set."""
    integration = Integration(
        service_id=service_id, name=name, kind=kind, created_at=now
    )
    set_key(integration, key)
    session.add(integration)
    session.flush()
    return integration


def set_key(integration: Integration, key: str) -> None:
    """Give the integration a new key; only its hash and prefix are kept."""
    integration.key_hash = hash_key(key)
    integration.key_prefix = key[:6]


def authenticate(ctx: Context, key: str | None, kind: str) -> IntegrationRef:
    """The integration a key belongs to. Raises Unauthenticated when unknown.

    A key made for one payload format is refused by another format's endpoint, so
    a misconfigured sender gets a clear error instead of half-parsed alerts.
    """
    if not key or len(key) > 200:
        raise Unauthenticated("an integration key is required")

    digest = hash_key(key)
    recent = _recent_by_db.setdefault(ctx.db, {})
    cached = recent.get(digest)
    if cached is not None and cached[1] > time.monotonic():
        return _checked(cached[0], kind)

    with ctx.db.read() as session:
        integration = session.scalar(
            select(Integration).where(Integration.key_hash == digest)
        )
        # The index finds the row; the constant-time compare keeps the check
        # honest should the lookup ever become a scan.
        if integration is None or not hmac.compare_digest(integration.key_hash, digest):
            raise Unauthenticated("unknown integration key")
        if integration.disabled:
            raise Unauthenticated("this integration is disabled")
        ref = _ref(integration)

    if len(recent) >= _RECENT_MAX:
        recent.clear()
    recent[digest] = (ref, time.monotonic() + KEY_CACHE_SECONDS)
    return _checked(ref, kind)


def forget_cached_keys(ctx: Context) -> None:
    """Drop remembered keys at once (after disabling an integration, in tests)."""
    _recent_by_db.pop(ctx.db, None)


def _checked(ref: IntegrationRef, kind: str) -> IntegrationRef:
    if ref.kind != kind:
        raise InvalidInput(f"this key belongs to a {ref.kind} integration, not {kind}")
    return ref


def _ref(integration: Integration) -> IntegrationRef:
    return IntegrationRef(
        id=integration.id,
        service_id=integration.service_id,
        kind=integration.kind,
        name=integration.name,
    )
