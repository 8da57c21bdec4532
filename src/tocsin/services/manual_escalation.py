"""Escalating an incident by hand: a responder who knows the current step will
not answer in time pages the next step now rather than waiting out its delay.

The policy carries on from the step paged, with its usual delays; the timeline
says who escalated, and the escalation entry that follows says who was paged.
"""

from __future__ import annotations

from tocsin.domain.access import Actor, Role, require_role
from tocsin.domain.incidents import IncidentStatus
from tocsin.errors import Conflict
from tocsin.schemas import IncidentRead
from tocsin.services import escalation
from tocsin.services.context import Context
from tocsin.services.incident_scope import locked_incident, visible_incident
from tocsin.services.records import add_timeline, audit


def position(ctx: Context, actor: Actor, number: int) -> str:
    """Where the incident's escalation stands, as `step.loop`: what a page
    shows with its escalate-now button and hands back as `seen`."""
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        return f"{incident.escalation_step}.{incident.escalation_loop}"


def escalate_now(
    ctx: Context, actor: Actor, number: int, *, seen: str | None = None
) -> IncidentRead:
    """Page the incident's next escalation step at once.

    An acknowledged incident goes back to triggered, so that paging goes on
    from there until someone acknowledges again. Conflict, with nothing
    changed, for a resolved incident or one whose policy has no step left
    (no policy, or the last step of the last pass already paged).

    `seen` is the `position` the one pressing saw. When the escalation has
    moved on since (a colleague pressed too, or the step's delay ran out),
    Conflict and nothing paged: two presses meant for one step would
    otherwise page two."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        incident = locked_incident(session, actor, number)
        if incident.status == IncidentStatus.RESOLVED:
            raise Conflict(f"cannot escalate incident #{number}: it is resolved")
        now_at = f"{incident.escalation_step}.{incident.escalation_loop}"
        if seen is not None and seen != now_at:
            raise Conflict(
                f"incident #{number} was escalated since you looked: step "
                f"{incident.escalation_step + 1} is paged now. Escalate again "
                "only if that step will not answer either."
            )

        now = ctx.clock.now()
        previous = incident.status
        incident.status = IncidentStatus.TRIGGERED
        incident.acknowledged_at = None
        incident.acknowledged_by_id = None
        incident.updated_at = now
        add_timeline(
            session,
            incident,
            at=now,
            kind="escalated_manually",
            message=f"Escalated to the next step now by {actor.label}",
            actor=actor,
            previous_status=previous,
        )
        if not escalation.escalate_now(session, ctx, incident):
            # Raising rolls the status change and the entry above back.
            raise Conflict(f"incident #{number} has no further escalation step to page")

        audit(
            session,
            actor,
            at=now,
            action="incident.escalate",
            object_type="incident",
            object_id=incident.id,
            number=incident.number,
            step=incident.escalation_step,
            loop=incident.escalation_loop,
        )
        session.flush()
        return IncidentRead.model_validate(incident)
