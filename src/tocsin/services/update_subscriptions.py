"""Who receives stakeholder updates: internal email addresses and Slack
channels, subscribed to one incident or to every incident of a team's
services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.errors import InvalidInput, NotFound
from tocsin.response_schemas import SubscriptionRead
from tocsin.services import contacts
from tocsin.services.context import Context
from tocsin.services.incident_scope import (
    MAX_ID,
    checked_line,
    locked_incident,
    looked_up,
    visible_incident,
)
from tocsin.services.records import audit
from tocsin.store.models import Incident, Team, UpdateSubscription

MAX_SUBSCRIPTIONS = 200
# Email, or a Slack channel (an id for the bot token, or an incoming webhook).
KINDS = ("email", "slack")


def subscribe(
    ctx: Context,
    actor: Actor,
    address: str,
    *,
    number: int | None = None,
    team: str | None = None,
    kind: str = "email",
) -> SubscriptionRead:
    """Send the updates of one incident, or of every incident of a team's
    services, to an internal address. Adding one twice changes nothing."""
    require_role(actor, Role.RESPONDER)
    if (number is None) == (team is None):
        raise InvalidInput("subscribe to an incident or to a team, one of them")
    if kind not in KINDS:
        raise InvalidInput(f"a subscription's kind is one of {', '.join(KINDS)}")
    address = contacts.clean_address(
        ctx.settings, kind, checked_line(address, "an address", 320)
    )

    with ctx.db.write() as session:
        incident_id = team_id = None
        if number is not None:
            incident_id = locked_incident(session, actor, number).id
        else:
            team_id = _team_of_actor(session, actor, team or "").id
        owner = (
            UpdateSubscription.incident_id == incident_id
            if incident_id is not None
            else UpdateSubscription.team_id == team_id
        )
        known = session.scalar(
            select(UpdateSubscription).where(
                owner,
                UpdateSubscription.kind == kind,
                UpdateSubscription.address == address,
            )
        )
        if known is not None:
            return _subscription_read(session, known)
        count = session.scalar(select(func.count()).where(owner)) or 0
        if count >= MAX_SUBSCRIPTIONS:
            raise InvalidInput(f"at most {MAX_SUBSCRIPTIONS} subscribers each")

        now = ctx.clock.now()
        subscription = UpdateSubscription(
            incident_id=incident_id,
            team_id=team_id,
            kind=kind,
            address=address,
            created_at=now,
        )
        session.add(subscription)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="update.subscribe",
            object_type="update_subscription",
            object_id=subscription.id,
            incident_id=incident_id,
            team_id=team_id,
        )
        return _subscription_read(session, subscription)


def unsubscribe(ctx: Context, actor: Actor, subscription_id: int) -> None:
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        subscription = _subscription(session, actor, subscription_id)
        session.delete(subscription)
        audit(
            session,
            actor,
            at=ctx.clock.now(),
            action="update.unsubscribe",
            object_type="update_subscription",
            object_id=subscription_id,
        )


def subscriptions(
    ctx: Context, actor: Actor, *, number: int | None = None, team: str | None = None
) -> list[SubscriptionRead]:
    """The subscribers of an incident (with those of its service's team) or of
    a team."""
    if (number is None) == (team is None):
        raise InvalidInput("name an incident or a team, one of them")
    with ctx.db.read() as session:
        if number is not None:
            incident = visible_incident(session, actor, number)
            query = select(UpdateSubscription).where(reaching(incident))
        else:
            team_row = _team_of_actor(session, actor, team or "")
            query = select(UpdateSubscription).where(
                UpdateSubscription.team_id == team_row.id
            )
        rows = session.scalars(query.order_by(UpdateSubscription.id))
        return [_subscription_read(session, row) for row in rows]


def reaching(incident: Incident) -> Any:
    """Subscriptions an update of `incident` goes to: its own and its team's."""
    conditions = [UpdateSubscription.incident_id == incident.id]
    if incident.service.team_id is not None:
        conditions.append(UpdateSubscription.team_id == incident.service.team_id)
    return or_(*conditions)


def _team_of_actor(session: Session, actor: Actor, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == looked_up(name, "team")))
    if team is None or not can_see_team(actor, team.id):
        raise NotFound(f"no team named {name!r}")
    return team


def _subscription(
    session: Session, actor: Actor, subscription_id: int
) -> UpdateSubscription:
    subscription = (
        session.get(UpdateSubscription, subscription_id)
        if 0 < subscription_id <= MAX_ID
        else None
    )
    if subscription is None:
        raise NotFound(f"no subscription {subscription_id}")
    team_id: int | None = subscription.team_id
    if team_id is None:
        incident = session.get(Incident, subscription.incident_id)
        team_id = incident.service.team_id if incident else None
    if not can_see_team(actor, team_id):
        raise NotFound(f"no subscription {subscription_id}")
    return subscription


def _subscription_read(
    session: Session, subscription: UpdateSubscription
) -> SubscriptionRead:
    number = None
    if subscription.incident_id is not None:
        number = session.scalar(
            select(Incident.number).where(Incident.id == subscription.incident_id)
        )
    team = None
    if subscription.team_id is not None:
        team = session.scalar(select(Team.name).where(Team.id == subscription.team_id))
    return SubscriptionRead(
        id=subscription.id,
        incident_number=number,
        team=team,
        kind=subscription.kind,
        address=subscription.address,
    )
