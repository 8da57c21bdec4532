"""Change events: deploys, configuration changes and feature flag flips per
service, and the recent ones an incident shows to support a rollback decision.

A change is recorded by a user with an API token (a responder of the service's
team), or by a deploy pipeline with one of the service's integration keys,
which names the service by itself.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.domain.access import Actor, Role
from tocsin.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from tocsin.schemas import ChangeRead
from tocsin.services import integrations
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.services.records import audit
from tocsin.services.signal_sources import (
    check_bounds,
    require_responder_of,
    utc,
    visible_service,
)
from tocsin.store.models import ChangeEvent, Integration, Service

KINDS = ("deploy", "config", "feature_flag")
MAX_SUMMARY = 500
MAX_LINK = 2000
MAX_VERSION = 200
MAX_LIST = 500
# An incident shows the changes to its service in this span before it began:
# long enough for a slow leak after a deploy, short enough to stay relevant.
RECENT_WINDOW = timedelta(hours=6)
RECENT_LIMIT = 20
# A sender's clock may run a little ahead; a change far in the future is a
# mistake (seconds taken for milliseconds, a wrong year).
FUTURE_SLACK = timedelta(minutes=5)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class _Started(Protocol):
    @property
    def service_id(self) -> int: ...

    @property
    def created_at(self) -> datetime: ...


def record(
    ctx: Context,
    actor: Actor,
    *,
    service: str | None,
    kind: str,
    summary: str,
    link: str = "",
    version: str = "",
    at: datetime | None = None,
    integration: IntegrationRef | None = None,
) -> ChangeRead:
    """Record a change to `service` (or to the integration's service).

    Raises InvalidInput for a bad field, NotFound for a service the actor
    cannot see, Forbidden for a viewer or another team's responder."""
    if integration is None and service is None:
        raise InvalidInput("name the service the change was made to")
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    summary = _one_line(summary, "summary", MAX_SUMMARY, required=True)
    version = _one_line(version, "version", MAX_VERSION)
    link = _link(link)

    now = ctx.clock.now()
    when = now if at is None else utc(at, "the change's time")
    if when > now + FUTURE_SLACK:
        raise InvalidInput("the change's time is in the future")

    with ctx.db.write() as session:
        owner = _owner(session, actor, service, integration)
        change = ChangeEvent(
            service_id=owner.id,
            kind=kind,
            summary=summary,
            link=link,
            version=version,
            at=when,
            source=actor.label[:200],
            created_at=now,
            service=owner,
        )
        session.add(change)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="change.record",
            object_type="change_event",
            object_id=change.id,
            service=owner.name,
            kind=kind,
            version=version,
        )
        return ChangeRead.model_validate(change)


def list_changes(
    ctx: Context,
    actor: Actor,
    service: str,
    *,
    since: datetime | None = None,
    limit: int = 50,
) -> list[ChangeRead]:
    """The service's changes, newest first. Raises NotFound or InvalidInput."""
    check_bounds(limit, "limit", 1, MAX_LIST)
    with ctx.db.read() as session:
        owner = visible_service(session, actor, service)
        query = (
            select(ChangeEvent)
            .where(ChangeEvent.service_id == owner.id)
            .options(selectinload(ChangeEvent.service))
            .order_by(ChangeEvent.at.desc(), ChangeEvent.id.desc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(ChangeEvent.at >= utc(since, "since"))
        return [ChangeRead.model_validate(row) for row in session.scalars(query)]


def recent_changes(session: Session, incident: _Started) -> list[ChangeRead]:
    """Changes to the incident's service in `RECENT_WINDOW` before it began,
    newest first: the first candidates for a rollback."""
    began = incident.created_at
    rows = session.scalars(
        select(ChangeEvent)
        .where(
            ChangeEvent.service_id == incident.service_id,
            ChangeEvent.at >= began - RECENT_WINDOW,
            ChangeEvent.at <= began,
        )
        .options(selectinload(ChangeEvent.service))
        .order_by(ChangeEvent.at.desc(), ChangeEvent.id.desc())
        .limit(RECENT_LIMIT)
    )
    return [ChangeRead.model_validate(row) for row in rows]


def authenticate_key(ctx: Context, key: str) -> tuple[Actor, IntegrationRef]:
    """The actor and integration for one of a service's integration keys, of
    any kind a monitoring tool uses. Raises Unauthenticated."""
    if not key or len(key) > 200:
        raise Unauthenticated("an API token or integration key is required")

    digest = integrations.hash_key(key)
    with ctx.db.read() as session:
        found = session.scalar(
            select(Integration).where(Integration.key_hash == digest)
        )
        if (
            found is None
            or not hmac.compare_digest(found.key_hash, digest)
            or found.kind not in integrations.KINDS
        ):
            raise Unauthenticated("unknown API token or integration key")
        if found.disabled:
            raise Unauthenticated("this integration is disabled")
        ref = IntegrationRef(
            id=found.id, service_id=found.service_id, kind=found.kind, name=found.name
        )

    actor = Actor(
        kind="integration", label=f"integration {ref.name}", role=Role.RESPONDER
    )
    return actor, ref


def _owner(
    session: Session,
    actor: Actor,
    service: str | None,
    integration: IntegrationRef | None,
) -> Service:
    if integration is None:
        if service is None:
            raise InvalidInput("name the service the change was made to")
        owner = visible_service(session, actor, service)
        require_responder_of(actor, owner)
        return owner

    owner_or_none = session.get(Service, integration.service_id)
    if owner_or_none is None:
        raise NotFound("the integration's service is gone")
    if service is not None and service.strip() != owner_or_none.name:
        raise Forbidden(
            f"this integration key belongs to service {owner_or_none.name!r}, "
            f"not {service.strip()[:200]!r}"
        )
    return owner_or_none


def _one_line(value: str, what: str, limit: int, *, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"a change needs a {what}")
    if len(text) > limit:
        raise InvalidInput(f"the {what} has at most {limit} characters")
    if _CONTROL.search(text):
        raise InvalidInput(f"the {what} cannot hold line breaks or control characters")
    return text


def _link(value: str) -> str:
    """An http(s) URL or nothing: a `javascript:` link would run in the page
    of whoever clicks it."""
    link = _one_line(value, "link", MAX_LINK)
    if link and not re.match(r"https?://[^\s/]+", link, re.IGNORECASE):
        raise InvalidInput("the link must be an http:// or https:// URL")
    return link
