"""Participants: the people taking part in an incident, however they came to
(added as responders, through a team or a policy, or given a role)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.response_schemas import ParticipantRead
from tocsin.schemas import UserRef
from tocsin.store.models import IncidentParticipant


def join(
    session: Session, incident_id: int, user_id: int, now: datetime, *, via: str
) -> bool:
    """Make the user a participant; True if they were not one already (the way
    they first came stays recorded)."""
    known = session.get(IncidentParticipant, (incident_id, user_id))
    if known is not None:
        return False

    session.add(
        IncidentParticipant(
            incident_id=incident_id, user_id=user_id, joined_at=now, via=via[:300]
        )
    )
    session.flush()
    return True


def of_incident(session: Session, incident_id: int) -> list[ParticipantRead]:
    rows = session.scalars(
        select(IncidentParticipant)
        .where(IncidentParticipant.incident_id == incident_id)
        .options(selectinload(IncidentParticipant.user))
        .order_by(IncidentParticipant.joined_at, IncidentParticipant.user_id)
    )
    return [
        ParticipantRead(
            user=UserRef.model_validate(row.user), joined_at=row.joined_at, via=row.via
        )
        for row in rows
    ]
