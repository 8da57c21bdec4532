"""Emailed action links: what a link is for, and carrying it out.

A link is verified here (see `tocsin.services.links`) and acts as the user it
was sent to. Looking at a link never changes anything, because mail scanners
open links before people do; only `carry_out` writes. Acting twice is harmless:
the second time reports that there was nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.domain.incidents import IncidentAction, is_open, next_status
from tocsin.errors import Conflict, NotFound
from tocsin.schemas import IncidentRead
from tocsin.services import links, users
from tocsin.services.context import Context
from tocsin.services.incidents import acknowledge_locked, resolve_locked
from tocsin.store.models import Incident


@dataclass(frozen=True)
class LinkPreview:
    """A verified link before it is used. `needed` is False when the incident is
    already where the action would take it."""

    incident: IncidentRead
    action: str
    actor_label: str
    needed: bool


@dataclass(frozen=True)
class LinkOutcome:
    """A used link. `changed` is False when there was nothing left to do."""

    incident: IncidentRead
    action: str
    actor_label: str
    changed: bool


def preview(ctx: Context, token: str) -> LinkPreview:
    """What `token` would do, without doing it.

    Raises InvalidInput when the token is malformed, Forbidden when it is forged
    or expired, Unauthenticated when its user is gone, NotFound when the user can
    no longer see the incident.
    """
    claim = _verify(ctx, token)
    actor = users.link_actor(ctx, claim.user_id)

    with ctx.db.read() as session:
        incident = _incident(session, actor, claim.incident_id, lock=False)
        return LinkPreview(
            incident=IncidentRead.model_validate(incident),
            action=claim.action,
            actor_label=actor.label,
            needed=_needed(incident.status, claim.action),
        )


def carry_out(ctx: Context, token: str) -> LinkOutcome:
    """Acknowledge or resolve as the link's user; raises as `preview` does."""
    claim = _verify(ctx, token)
    actor = users.link_actor(ctx, claim.user_id)
    require_role(actor, Role.RESPONDER)

    with ctx.db.write() as session:
        incident = _incident(session, actor, claim.incident_id, lock=True)
        if claim.action == IncidentAction.ACKNOWLEDGE:
            # A resolved incident needs no acknowledgement; saying so beats a
            # conflict error for someone who clicked a link in an old email.
            changed = is_open(incident.status) and acknowledge_locked(
                session, ctx, incident, actor
            )
        else:
            changed = resolve_locked(session, ctx, incident, actor)
        return LinkOutcome(
            incident=IncidentRead.model_validate(incident),
            action=claim.action,
            actor_label=actor.label,
            changed=changed,
        )


def _verify(ctx: Context, token: str) -> links.ActionClaim:
    secret = ctx.settings.effective_secret_key()
    return links.verify(secret, token, now=ctx.clock.now())


def _incident(
    session: Session, actor: Actor, incident_id: int, *, lock: bool
) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    if lock:
        query = query.with_for_update()
    incident = session.scalar(query)
    if incident is None or not can_see_team(actor, incident.service.team_id):
        raise NotFound("the incident this link is for is not there any more")
    return incident


def _needed(status: str, action: str) -> bool:
    try:
        return next_status(status, IncidentAction(action)) is not None
    except Conflict:
        return False
