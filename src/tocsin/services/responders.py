"""Assembling the team: adding users, teams or escalation policies to an
incident. Everyone they stand for is paged and listed as a participant.

A team pages its active members who can act on the incident (viewers and
people who could not see it are left out, and said so on the timeline). A
policy pages the people of its first step, as the policy itself would when an
incident starts; its later steps stay with the policy's own escalation.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor, Role, require_role
from tocsin.domain.incidents import IncidentStatus
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.response_schemas import ResponderRead, ResponseTeamRead
from tocsin.services import escalation, participants
from tocsin.services.context import Context
from tocsin.services.incident_scope import (
    MAX_ID,
    can_act_on,
    locked_incident,
    responding_user,
    visible_incident,
)
from tocsin.services.paging import IncidentBrief, page, recipients
from tocsin.services.records import add_timeline, audit
from tocsin.store.models import (
    EscalationPolicy,
    Incident,
    IncidentResponder,
    Team,
    TeamMember,
    User,
)

KINDS = ("user", "team", "policy")


def add(
    ctx: Context,
    actor: Actor,
    number: int,
    *,
    user_id: int | None = None,
    team_id: int | None = None,
    policy_id: int | None = None,
) -> ResponseTeamRead:
    """Add one user, team or escalation policy as responders: page everyone it
    stands for and make them participants. Returns who responds now."""
    require_role(actor, Role.RESPONDER)
    named = [value for value in (user_id, team_id, policy_id) if value is not None]
    if len(named) != 1:
        raise InvalidInput("name exactly one of a user, a team or a policy")
    if not 1 <= named[0] <= MAX_ID:
        raise NotFound(f"nothing with id {named[0]}")

    with ctx.db.write() as session:
        incident = locked_incident(session, actor, number)
        if incident.status == IncidentStatus.RESOLVED:
            raise Conflict(f"incident #{number} is resolved")

        skipped: list[str] = []
        if user_id is not None:
            people = [responding_user(session, user_id, incident)]
            kind, label, via = "user", people[0].name, f"added by {actor.label}"
        elif team_id is not None:
            team = session.get(Team, team_id)
            if team is None:
                raise NotFound(f"no team with id {team_id}")
            people, skipped = _team_people(session, team, incident)
            kind, label, via = "team", team.name, f"team {team.name}"
        else:
            policy = session.get(EscalationPolicy, named[0])
            if policy is None:
                raise NotFound(f"no escalation policy with id {named[0]}")
            people, skipped = _policy_people(session, ctx, policy, incident)
            kind, label, via = "policy", policy.name, f"policy {policy.name}"

        now = ctx.clock.now()
        session.add(
            IncidentResponder(
                incident_id=incident.id,
                kind=kind,
                user_id=user_id,
                team_id=team_id,
                policy_id=policy_id,
                target_label=label[:200],
                added_at=now,
                added_by_label=actor.label,
            )
        )
        incident.updated_at = now
        add_timeline(
            session,
            incident,
            at=now,
            kind="responders_added",
            message=f"{actor.label} added {kind} {label} as responders",
            actor=actor,
            target=kind,
            target_id=named[0],
            user_ids=[person.id for person in people],
        )
        if skipped:
            add_timeline(
                session,
                incident,
                at=now,
                kind="responders_skipped",
                message=(
                    f"Not paged from {kind} {label} (cannot act on this incident): "
                    + ", ".join(skipped)
                ),
            )

        brief = IncidentBrief.of(incident)
        reason = f"{actor.label} added you as a responder ({via})"
        for recipient in recipients(session, [person.id for person in people]):
            participants.join(session, incident.id, recipient.user_id, now, via=via)
            if page(session, ctx, brief, recipient, reason=reason):
                add_timeline(
                    session,
                    incident,
                    at=now,
                    kind="paged",
                    message=f"Page queued for {recipient.name}",
                    user_id=recipient.user_id,
                )
        audit(
            session,
            actor,
            at=now,
            action="incident.responders_add",
            object_type="incident",
            object_id=incident.id,
            number=incident.number,
            target=kind,
            target_id=named[0],
        )
        session.flush()
        return _team_of(session, incident.id)


def response_team(ctx: Context, actor: Actor, number: int) -> ResponseTeamRead:
    """The responders asked for and the participants, first joined first."""
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        return _team_of(session, incident.id)


def _team_people(
    session: Session, team: Team, incident: Incident
) -> tuple[list[User], list[str]]:
    members = list(
        session.scalars(
            select(User)
            .join(TeamMember, TeamMember.user_id == User.id)
            .where(TeamMember.team_id == team.id, User.active)
            .order_by(User.id)
        )
    )
    return _split(session, members, incident, f"team {team.name}")


def _policy_people(
    session: Session, ctx: Context, policy: EscalationPolicy, incident: Incident
) -> tuple[list[User], list[str]]:
    plan = escalation.load_plan(session, policy.id)
    if plan is None or not plan.steps:
        raise InvalidInput(f"the policy {policy.name} has no steps")
    # Users, whoever is on call now in a schedule, a team's responders.
    wanted = escalation.reach(session, plan.steps[0], ctx.clock.now()).user_ids
    found = {
        user.id: user
        for user in session.scalars(select(User).where(User.id.in_(wanted)))
        if user.active
    }
    people = [found[user_id] for user_id in dict.fromkeys(wanted) if user_id in found]
    return _split(session, people, incident, f"policy {policy.name}")


def _split(
    session: Session, people: list[User], incident: Incident, source: str
) -> tuple[list[User], list[str]]:
    """Those who can act on the incident, and the names of those who cannot.
    InvalidInput when nobody can: the request would page nobody."""
    able = [person for person in people if can_act_on(session, person, incident)]
    unable = [person.name for person in people if person not in able]
    if not able:
        raise InvalidInput(
            f"nobody in {source} can act on incident #{incident.number}: it needs "
            "active responders in the service's team"
        )
    return able, unable


def _team_of(session: Session, incident_id: int) -> ResponseTeamRead:
    rows = session.scalars(
        select(IncidentResponder)
        .where(IncidentResponder.incident_id == incident_id)
        .order_by(IncidentResponder.added_at, IncidentResponder.id)
    )
    return ResponseTeamRead(
        responders=[
            ResponderRead(
                id=row.id,
                kind=row.kind,
                target=row.target_label,
                added_at=row.added_at,
                added_by=row.added_by_label,
            )
            for row in rows
        ],
        participants=participants.of_incident(session, incident_id),
    )
