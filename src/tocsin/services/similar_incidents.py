"""The past incidents most like one incident, with how they were resolved:
their notes (findings, decisions, actions and pinned notes) and postmortems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.ai.similar import rank
from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.errors import InvalidInput
from tocsin.services.context import Context
from tocsin.services.suggestions import visible_incident
from tocsin.store.models import Incident, IncidentNote, Service
from tocsin.store.models.postmortems import Postmortem, PostmortemIncident

# The most recent resolved incidents compared; older ones are not searched.
MAX_PAST = 20_000
MAX_LIMIT = 20
RESOLUTION_TAGS = ("finding", "decision", "action")


@dataclass(frozen=True)
class SimilarIncident:
    number: int
    title: str
    severity: str
    service: str
    resolved_at: datetime | None
    score: float
    notes: list[str] = field(default_factory=list)
    postmortems: list[str] = field(default_factory=list)


def similar(
    ctx: Context, actor: Actor, number: int, *, limit: int = 5
) -> list[SimilarIncident]:
    """Resolved incidents the actor may see, most similar in title and
    description first; NotFound when the incident is not visible."""
    require_role(actor, Role.VIEWER)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")

    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        rows = session.execute(
            select(Incident.id, Incident.title, Incident.description, Service.team_id)
            .join(Service, Incident.service_id == Service.id)
            .where(Incident.status == "resolved", Incident.id != incident.id)
            .order_by(Incident.id.desc())
            .limit(MAX_PAST)
        ).all()
        past = [
            (row.id, f"{row.title} {row.description}")
            for row in rows
            if can_see_team(actor, row.team_id)
        ]
        matches = rank(f"{incident.title} {incident.description}", past, limit=limit)
        found = {
            row.id: row
            for row in session.scalars(
                select(Incident)
                .where(Incident.id.in_([m.key for m in matches]))
                .options(selectinload(Incident.service))
            )
        }
        notes = _notes(session, list(found))
        postmortems = _postmortems(session, list(found))

        return [
            SimilarIncident(
                number=found[m.key].number,
                title=found[m.key].title,
                severity=found[m.key].severity,
                service=found[m.key].service.name,
                resolved_at=found[m.key].resolved_at,
                score=m.score,
                notes=notes.get(m.key, []),
                postmortems=postmortems.get(m.key, []),
            )
            for m in matches
        ]


def _notes(session: Session, ids: list[int]) -> dict[int, list[str]]:
    rows = session.scalars(
        select(IncidentNote)
        .where(
            IncidentNote.incident_id.in_(ids),
            IncidentNote.tag.in_(RESOLUTION_TAGS) | IncidentNote.pinned,
        )
        .order_by(IncidentNote.id)
    )
    found: dict[int, list[str]] = {}
    for note in rows:
        found.setdefault(note.incident_id, []).append(note.text)
    return found


def _postmortems(session: Session, ids: list[int]) -> dict[int, list[str]]:
    rows = session.execute(
        select(PostmortemIncident.incident_id, Postmortem.title, Postmortem.status)
        .join(Postmortem, Postmortem.id == PostmortemIncident.postmortem_id)
        .where(PostmortemIncident.incident_id.in_(ids))
    )
    found: dict[int, list[str]] = {}
    for incident_id, title, status in rows:
        found.setdefault(incident_id, []).append(f"{title} ({status})")
    return found
