"""Heartbeats: a job pings a secret URL; silence past its interval alerts.

A heartbeat expects its next ping by `expires_at` (the last ping, or its
creation, plus the interval and the grace). One timer per heartbeat is pending
while it is waiting or up: when it fires before `expires_at` (a ping moved the
deadline), it sets itself again for the new deadline; when it fires after,
the heartbeat goes down and raises an alert through the normal intake. The
next ping resolves that alert and starts a new timer. Both paths lock the
heartbeat's row, so a ping and a firing timer never cross.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor
from tocsin.domain.alerts import AlertAction, AlertEvent
from tocsin.errors import Conflict, NotFound
from tocsin.services import alerts
from tocsin.services.catalog.common import checked_name
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.services.signal_sources import (
    HEARTBEAT,
    add_own_integration,
    check_bounds,
    integration_ref,
    require_manager,
    retire_own_integration,
    visible_of_service,
    visible_service,
)
from tocsin.store.models import Heartbeat, Incident, Timer

TIMER_KIND = HEARTBEAT
MIN_INTERVAL = 10
MAX_INTERVAL = 31 * 86400
MAX_GRACE = 7 * 86400

_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,100}")


class HeartbeatRead(BaseModel):
    id: int
    service: str
    name: str
    interval_seconds: int
    grace_seconds: int
    status: str
    last_ping_at: datetime | None
    expires_at: datetime
    token_prefix: str
    created_at: datetime


class HeartbeatCreated(BaseModel):
    """A new heartbeat and the URL its job pings, which is shown only now."""

    heartbeat: HeartbeatRead
    ping_url: str


def _read(heartbeat: Heartbeat) -> HeartbeatRead:
    return HeartbeatRead(
        id=heartbeat.id,
        service=heartbeat.service.name,
        name=heartbeat.name,
        interval_seconds=heartbeat.interval_seconds,
        grace_seconds=heartbeat.grace_seconds,
        status=heartbeat.status,
        last_ping_at=heartbeat.last_ping_at,
        expires_at=heartbeat.expires_at,
        token_prefix=heartbeat.token_prefix,
        created_at=heartbeat.created_at,
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ping_url(ctx: Context, token: str) -> str:
    return f"{ctx.settings.base_url.rstrip('/')}/hb/{token}"


def create(
    ctx: Context,
    actor: Actor,
    *,
    service: str,
    name: str,
    interval_seconds: int,
    grace_seconds: int = 0,
) -> HeartbeatCreated:
    """A heartbeat on `service`, expecting its first ping within the interval
    and grace from now. Raises InvalidInput, NotFound, Forbidden or Conflict."""
    require_manager(actor)
    name = checked_name(name, "heartbeat")
    check_bounds(interval_seconds, "the interval (seconds)", MIN_INTERVAL, MAX_INTERVAL)
    check_bounds(grace_seconds, "the grace (seconds)", 0, MAX_GRACE)

    token = secrets.token_urlsafe(24)
    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            owner = visible_service(session, actor, service, lock=True)
            taken = select(Heartbeat.id).where(
                Heartbeat.service_id == owner.id, Heartbeat.name == name
            )
            if session.scalar(taken) is not None:
                raise _taken(owner.name, name)

            integration = add_own_integration(session, owner, HEARTBEAT, name, now)
            heartbeat = Heartbeat(
                service_id=owner.id,
                integration_id=integration.id,
                name=name,
                token_hash=_digest(token),
                token_prefix=token[:6],
                interval_seconds=interval_seconds,
                grace_seconds=grace_seconds,
                status="waiting",
                expires_at=now + _allowance(interval_seconds, grace_seconds),
                created_at=now,
                service=owner,
            )
            session.add(heartbeat)
            session.flush()
            _schedule(session, ctx, heartbeat)
            audit(
                session,
                actor,
                at=now,
                action="heartbeat.create",
                object_type="heartbeat",
                object_id=heartbeat.id,
                service=owner.name,
                name=name,
                interval_seconds=interval_seconds,
                grace_seconds=grace_seconds,
                token_prefix=heartbeat.token_prefix,
            )
            created = HeartbeatCreated(
                heartbeat=_read(heartbeat), ping_url=ping_url(ctx, token)
            )
    except IntegrityError as error:
        raise _taken(service, name) from error

    ctx.work_queued.set()
    return created


def list_heartbeats(
    ctx: Context, actor: Actor, service: str | None = None
) -> list[HeartbeatRead]:
    """The heartbeats of `service` (or of every service the actor may see)."""
    with ctx.db.read() as session:
        rows = visible_of_service(session, actor, Heartbeat, service)
        return [_read(row) for row in rows]


def remove(ctx: Context, actor: Actor, *, service: str, name: str) -> None:
    """Delete a heartbeat; its open alert, if any, resolves. Raises NotFound."""
    require_manager(actor)
    name = checked_name(name, "heartbeat")

    with ctx.db.write() as session:
        heartbeat = _named(session, actor, service, name)
        ref = integration_ref(session, heartbeat.integration_id)
        alerts.apply(session, ctx, ref, [_event(heartbeat, AlertAction.RESOLVE)])
        retire_own_integration(session, heartbeat.integration_id)
        audit(
            session,
            actor,
            at=ctx.clock.now(),
            action="heartbeat.remove",
            object_type="heartbeat",
            object_id=heartbeat.id,
            service=heartbeat.service.name,
            name=name,
        )
        session.delete(heartbeat)


def ping(ctx: Context, token: str) -> HeartbeatRead:
    """Record a ping: the deadline moves on, and a heartbeat that was down
    resolves its alert. Raises NotFound for a token no heartbeat has."""
    if not _TOKEN.fullmatch(token):
        raise NotFound("no heartbeat has this URL")

    digest = _digest(token)
    with ctx.db.write() as session:
        heartbeat = session.scalar(
            select(Heartbeat).where(Heartbeat.token_hash == digest).with_for_update()
        )
        # The index finds the row; comparing in constant time keeps the check
        # honest should the lookup ever become a scan.
        if heartbeat is None or not hmac.compare_digest(heartbeat.token_hash, digest):
            raise NotFound("no heartbeat has this URL")

        now = ctx.clock.now()
        was = heartbeat.status
        heartbeat.last_ping_at = now
        heartbeat.expires_at = now + _allowance(
            heartbeat.interval_seconds, heartbeat.grace_seconds
        )
        heartbeat.status = "up"
        if was == "down":
            ref = integration_ref(session, heartbeat.integration_id)
            alerts.apply(session, ctx, ref, [_event(heartbeat, AlertAction.RESOLVE)])
            # The timer chain ended when the heartbeat went down.
            _schedule(session, ctx, heartbeat)
        return _read(heartbeat)


def on_timer(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """The worker's handler for a heartbeat timer (which has no incident).
    Idempotent: a heartbeat that is gone or already down is left alone."""
    heartbeat = session.scalar(
        select(Heartbeat)
        .where(Heartbeat.id == int(timer.payload.get("heartbeat_id", 0)))
        .with_for_update()
    )
    if heartbeat is None or heartbeat.status == "down":
        return

    now = ctx.clock.now()
    if now < heartbeat.expires_at:
        # Pinged since this timer was set: wait for the new deadline.
        _schedule(session, ctx, heartbeat)
        return

    heartbeat.status = "down"
    ref = integration_ref(session, heartbeat.integration_id)
    alerts.apply(session, ctx, ref, [_event(heartbeat, AlertAction.TRIGGER)])


def _schedule(session: Session, ctx: Context, heartbeat: Heartbeat) -> None:
    session.add(
        Timer(
            kind=HEARTBEAT,
            due_at=heartbeat.expires_at,
            payload={"heartbeat_id": heartbeat.id},
            created_at=ctx.clock.now(),
        )
    )


def _event(heartbeat: Heartbeat, action: AlertAction) -> AlertEvent:
    last = heartbeat.last_ping_at
    since = (
        f"no ping since {last:%Y-%m-%d %H:%M:%S} UTC"
        if last is not None
        else "no ping since it was set up"
    )
    return AlertEvent(
        action=action,
        dedup_key=f"heartbeat-{heartbeat.id}",
        summary=f"Heartbeat {heartbeat.name} is silent: {since}",
        source="tocsin heartbeat",
        severity="error",
        labels={"heartbeat": heartbeat.name},
    )


def _allowance(interval_seconds: int, grace_seconds: int) -> timedelta:
    return timedelta(seconds=interval_seconds + grace_seconds)


def _named(session: Session, actor: Actor, service: str, name: str) -> Heartbeat:
    owner = visible_service(session, actor, service)
    heartbeat = session.scalar(
        select(Heartbeat)
        .where(Heartbeat.service_id == owner.id, Heartbeat.name == name)
        .with_for_update()
    )
    if heartbeat is None:
        raise NotFound(f"service {owner.name!r} has no heartbeat {name!r}")
    return heartbeat


def _taken(service: str, name: str) -> Conflict:
    return Conflict(f"service {service!r} already has a heartbeat {name!r}")
