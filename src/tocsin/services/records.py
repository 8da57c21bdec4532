"""Timeline entries and audit records, written inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor
from tocsin.store.db import table_of
from tocsin.store.models import AuditRecord, TimelineEntry

_TIMELINE = table_of(TimelineEntry)


class Identified(Protocol):
    """An incident, loaded or not: all a timeline entry needs is its id."""

    @property
    def id(self) -> int: ...


def add_timeline(
    session: Session,
    incident: Identified,
    *,
    at: datetime,
    kind: str,
    message: str,
    actor: Actor | None = None,
    **data: Any,
) -> None:
    """Append an entry to the incident's timeline.

    The row is inserted at once, without the ORM: entries keep the order they
    were added in, whatever the session flushes later, and an entry costs one
    statement rather than a unit-of-work flush. The incident's row must exist.
    """
    session.execute(
        insert(_TIMELINE),
        {
            "incident_id": incident.id,
            "at": at,
            "kind": kind,
            "message": message,
            "actor_user_id": actor.user_id if actor else None,
            "actor_label": actor.label if actor else "tocsin",
            "data": data,
        },
    )


def audit(
    session: Session,
    actor: Actor,
    *,
    at: datetime,
    action: str,
    object_type: str,
    object_id: int | None,
    **detail: Any,
) -> None:
    session.add(
        AuditRecord(
            at=at,
            actor_type=actor.kind,
            actor_id=actor.token_id if actor.kind == "token" else actor.user_id,
            actor_label=actor.label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail,
        )
    )
