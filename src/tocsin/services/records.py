"""Timeline entries and audit records, written inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.domain.access import Actor
from tocsin.store.models import AuditRecord, Incident, TimelineEntry


def add_timeline(
    session: Session,
    incident: Incident,
    *,
    at: datetime,
    kind: str,
    message: str,
    actor: Actor | None = None,
    **data: Any,
) -> TimelineEntry:
    entry = TimelineEntry(
        incident_id=incident.id,
        at=at,
        kind=kind,
        message=message,
        actor_user_id=actor.user_id if actor else None,
        actor_label=actor.label if actor else "tocsin",
        data=data,
    )
    session.add(entry)
    return entry


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
