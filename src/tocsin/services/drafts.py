"""Drafts of an incident's stakeholder update, summary and postmortem summary
(tocsin.ai.drafting), from what the actor may see. Nothing is stored or sent:
a draft is text for a person to edit and post."""

from __future__ import annotations

from sqlalchemy import select

from tocsin.ai.drafting import KINDS, Draft, IncidentStory, draft
from tocsin.domain.access import Actor, Role, require_role
from tocsin.errors import InvalidInput
from tocsin.services.context import Context
from tocsin.services.suggestions import visible_incident
from tocsin.store.models import TimelineEntry

MAX_ENTRIES = 200


def write(ctx: Context, actor: Actor, number: int, kind: str) -> Draft:
    """A draft of `kind` (update, summary or postmortem) for the incident.

    The endpoint, when configured, is called after the database is read and
    released, so a slow endpoint holds no connection."""
    require_role(actor, Role.RESPONDER)
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")

    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        # The newest entries, oldest first: a draft tells what happened last.
        newest = session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident.id)
            .order_by(TimelineEntry.id.desc())
            .limit(MAX_ENTRIES)
        ).all()
        entries = list(reversed(newest))
        story = IncidentStory(
            number=incident.number,
            title=incident.title,
            severity=incident.severity,
            status=incident.status,
            stage=incident.stage or "",
            service=incident.service.name,
            description=incident.description,
            timeline=[f"{e.at:%Y-%m-%d %H:%M} UTC {e.message}" for e in entries],
        )

    return draft(ctx.settings, kind, story)
