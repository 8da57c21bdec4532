"""Incident use cases: open, acknowledge, resolve, reopen, reassign, annotate,
read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.domain.incidents import IncidentAction, IncidentStatus, next_status
from tocsin.domain.triage import Stage, check_text
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.schemas import IncidentDetail, IncidentPage, IncidentRead
from tocsin.services import cadence, escalation, notes, roles
from tocsin.services.changes import recent_changes
from tocsin.services.context import Context
from tocsin.services.paging import IncidentBrief, page_user
from tocsin.services.records import add_timeline, audit
from tocsin.store.db import table_of
from tocsin.store.models import (
    Alert,
    Counter,
    EscalationPolicy,
    Incident,
    Service,
    TeamMember,
    User,
)

MAX_NOTE = 20_000
MAX_REOPEN_REASON = 2000

_INCIDENTS = table_of(Incident)
_COUNTERS = table_of(Counter)
# Built once, in plain SQL terms: they run for every new incident.
_INSERT_INCIDENT = insert(_INCIDENTS).returning(_INCIDENTS.c.id, _INCIDENTS.c.number)
_NEXT_NUMBER = (
    update(_COUNTERS)
    .where(_COUNTERS.c.name == "incident_number")
    .values(value=_COUNTERS.c.value + 1)
    .returning(_COUNTERS.c.value)
)
MAX_NUMBER = 2**31 - 1


@dataclass(frozen=True)
class IncidentFilter:
    status: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    service_id: int | None = None
    team_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0


def open_incident(
    session: Session,
    ctx: Context,
    *,
    service_id: int,
    service_name: str,
    escalation_policy_id: int | None,
    title: str,
    severity: str,
    actor: Actor,
    group_key: str | None = None,
    description: str = "",
) -> IncidentBrief:
    """Create a triggered incident of the service and start paging with its
    policy, in the caller's transaction.

    Plain SQL, no ORM objects: this runs for every new alert of a storm.
    """
    now = ctx.clock.now()
    incident_id, number = session.execute(
        _INSERT_INCIDENT,
        {
            "number": _next_number(session),
            "title": title[:500],
            "description": description,
            "status": IncidentStatus.TRIGGERED,
            "severity": severity,
            "service_id": service_id,
            "group_key": group_key,
            "escalation_policy_id": escalation_policy_id,
            "created_at": now,
            "updated_at": now,
        },
    ).one()
    incident = IncidentBrief(
        id=incident_id,
        number=number,
        title=title[:500],
        severity=severity,
        status=IncidentStatus.TRIGGERED,
        service_name=service_name,
    )

    add_timeline(
        session,
        incident,
        at=now,
        kind="triggered",
        message=f"Incident triggered: {incident.title}",
        actor=actor,
    )
    escalation.start(session, ctx, incident, escalation_policy_id)

    return incident


def acknowledge(ctx: Context, actor: Actor, number: int) -> IncidentRead:
    """Acknowledge: paging stops. Acknowledging twice changes nothing."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        incident = _locked(session, actor, number)
        acknowledge_locked(session, ctx, incident, actor)
        return IncidentRead.model_validate(incident)


def acknowledge_locked(
    session: Session, ctx: Context, incident: Incident, actor: Actor
) -> bool:
    """Acknowledge an incident already locked by the caller. True if it changed."""
    target = next_status(incident.status, IncidentAction.ACKNOWLEDGE)
    if target is None:
        return False

    now = ctx.clock.now()
    incident.status = target
    if incident.acknowledged_at is None:
        # Only a reopened incident still holds a stamp here (a re-trigger
        # clears it): the first acknowledgement stays on the row, and the
        # timeline has this one.
        incident.acknowledged_at = now
        incident.acknowledged_by_id = actor.user_id
    incident.updated_at = now
    escalation.stop(session, incident)
    escalation.acknowledged(session, ctx, incident)
    _record(session, incident, actor, now, IncidentAction.ACKNOWLEDGE, "Acknowledged")
    return True


def resolve(ctx: Context, actor: Actor, number: int) -> IncidentRead:
    """Resolve: paging stops and the incident's firing alerts resolve with it."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        incident = _locked(session, actor, number)
        resolve_locked(session, ctx, incident, actor)
        return IncidentRead.model_validate(incident)


def resolve_locked(
    session: Session, ctx: Context, incident: Incident, actor: Actor
) -> bool:
    target = next_status(incident.status, IncidentAction.RESOLVE)
    if target is None:
        return False

    now = ctx.clock.now()
    incident.status = target
    if incident.resolved_at is None:
        # A reopened incident resolved again keeps its first resolution on the
        # row; the timeline has every one, and the metrics read it there.
        incident.resolved_at = now
        incident.resolved_by_id = actor.user_id
    incident.updated_at = now
    if incident.stage is not None:
        # A declared incident resolved by the usual action has ended its stage
        # too; the first-reached stamps (identified, monitoring) are kept.
        incident.stage = "resolved"
    escalation.stop(session, incident)

    # An alert still firing on a resolved incident would swallow the next trigger
    # of the same key; closing it makes that trigger open a fresh incident.
    session.execute(
        update(Alert)
        .where(Alert.incident_id == incident.id, Alert.status == "firing")
        .values(status="resolved", resolved_at=now)
    )
    _record(session, incident, actor, now, IncidentAction.RESOLVE, "Resolved")
    return True


def reopen(ctx: Context, actor: Actor, number: int, reason: str = "") -> IncidentRead:
    """Bring a resolved incident back: it triggers again, a declared one is
    investigated again, and its policy pages from step 1 as for a new incident
    (held, like a new incident's, while the service is in maintenance). If it
    owed stakeholders updates, the next is due a cadence after the reopen.

    The first acknowledgement and resolution stay stamped on the row; the
    `reopened` timeline entry is what the metrics count (docs/metrics.md).
    Raises Conflict when the incident is not resolved, InvalidInput for a bad
    reason, and changes nothing then.
    """
    require_role(actor, Role.RESPONDER)
    reason = check_text(reason, "a reason", MAX_REOPEN_REASON)

    with ctx.db.write() as session:
        incident = _locked(session, actor, number)
        # The domain refuses to reopen an open incident (Conflict) and never
        # calls reopening a no-op, so the second of two reopens is told.
        target = next_status(incident.status, IncidentAction.REOPEN)

        now = ctx.clock.now()
        incident.status = target or IncidentStatus.TRIGGERED
        incident.updated_at = now
        declared_stage = incident.stage is not None
        if declared_stage:
            # Its stage said "resolved"; the work starts over.
            incident.stage = Stage.INVESTIGATING
        add_timeline(
            session,
            incident,
            at=now,
            kind="reopened",
            message=f"Reopened by {actor.label}" + (f": {reason}" if reason else ""),
            actor=actor,
            reason=reason,
            **({"stage": Stage.INVESTIGATING.value} if declared_stage else {}),
        )
        audit(
            session,
            actor,
            at=now,
            action="incident.reopen",
            object_type="incident",
            object_id=incident.id,
            number=incident.number,
            reason=reason,
        )
        escalation.restart(session, ctx, incident)
        cadence.reopened(session, ctx, incident)
        session.flush()
        session.refresh(incident)
        return IncidentRead.model_validate(incident)


def _record(
    session: Session,
    incident: Incident,
    actor: Actor,
    now: datetime,
    action: IncidentAction,
    done: str,
) -> None:
    """The timeline entry ("acknowledged", "resolved") and the audit record of a
    status change made by `actor`."""
    add_timeline(
        session,
        incident,
        at=now,
        kind=done.lower(),
        message=f"{done} by {actor.label}",
        actor=actor,
    )
    audit(
        session,
        actor,
        at=now,
        action=f"incident.{action}",
        object_type="incident",
        object_id=incident.id,
        number=incident.number,
    )


def reassign(ctx: Context, actor: Actor, number: int, user_id: int) -> IncidentRead:
    """Hand the incident to another user, who is paged at once.

    An acknowledged incident goes back to triggered so the new assignee's
    acknowledgement is what counts.
    """
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        incident = _locked(session, actor, number)
        if incident.status == IncidentStatus.RESOLVED:
            raise Conflict(f"cannot reassign incident #{number}: it is resolved")
        assignee = session.get(User, user_id) if 0 < user_id <= MAX_NUMBER else None
        if assignee is None or not assignee.active:
            raise NotFound(f"no active user with id {user_id}")
        # The new owner must be able to see the incident and act on it, or the
        # page would send them to a 404.
        assignee_teams = team_ids_of(session, assignee.id)
        allowed = assignee.role == Role.ADMIN or incident.service.team_id in (
            None,
            *assignee_teams,
        )
        if assignee.role == Role.VIEWER or not allowed:
            raise InvalidInput(
                f"{assignee.name} cannot take incident #{number}: they need the "
                "responder role in the service's team"
            )
        if (
            incident.assignee_id == assignee.id
            and incident.status == IncidentStatus.TRIGGERED
        ):
            # Already theirs and waiting for them: paging again would only add
            # noise (a double click, or several people reassigning at once).
            return IncidentRead.model_validate(incident)

        now = ctx.clock.now()
        incident.assignee_id = assignee.id
        incident.assignee = assignee
        incident.updated_at = now
        if incident.status == IncidentStatus.ACKNOWLEDGED:
            incident.status = IncidentStatus.TRIGGERED
            incident.acknowledged_at = None
            incident.acknowledged_by_id = None
        escalation.stop(session, incident)
        add_timeline(
            session,
            incident,
            at=now,
            kind="reassigned",
            message=f"Reassigned to {assignee.name} by {actor.label}",
            actor=actor,
            user_id=assignee.id,
        )
        if page_user(session, ctx, incident, assignee, reason="assigned to you"):
            add_timeline(
                session,
                incident,
                at=now,
                kind="paged",
                message=f"Page queued for {assignee.name}",
                user_id=assignee.id,
            )
        audit(
            session,
            actor,
            at=now,
            action="incident.reassign",
            object_type="incident",
            object_id=incident.id,
            number=incident.number,
            assignee_id=assignee.id,
        )
        return IncidentRead.model_validate(incident)


def add_note(
    ctx: Context, actor: Actor, number: int, text: str, tag: str | None = None
) -> IncidentDetail:
    """Add a note (tagged, if `tag`) to the timeline; see services.notes for
    editing and pinning. Returns the incident, the note last on its timeline."""
    require_role(actor, Role.RESPONDER)
    text, checked_tag = notes.checked(text, tag)

    with ctx.db.write() as session:
        incident = _locked(session, actor, number)
        notes.add_locked(session, ctx, incident, actor, text, checked_tag)
        session.flush()
        return _detail(session, incident.id)


def get(ctx: Context, actor: Actor, number: int) -> IncidentDetail:
    _check_number(number)
    with ctx.db.read() as session:
        incident = session.scalar(select(Incident).where(Incident.number == number))
        if incident is None or not can_see_team(actor, incident.service.team_id):
            raise NotFound(f"no incident #{number}")
        return _detail(session, incident.id)


def list_incidents(
    ctx: Context, actor: Actor, where: IncidentFilter | None = None
) -> IncidentPage:
    """Newest first. Non-admins see only their teams' and unowned services."""
    where = where or IncidentFilter()
    if not 1 <= where.limit <= 500:
        raise InvalidInput("limit must be between 1 and 500")
    if where.offset < 0:
        raise InvalidInput("offset cannot be negative")

    since, until = _instant(where.since, "since"), _instant(where.until, "until")
    query = select(Incident).join(Service, Incident.service_id == Service.id)
    if where.status:
        query = query.where(Incident.status.in_(where.status))
    if where.severity:
        query = query.where(Incident.severity.in_(where.severity))
    if where.service_id is not None:
        query = query.where(Incident.service_id == where.service_id)
    if where.team_id is not None:
        query = query.where(Service.team_id == where.team_id)
    if since is not None:
        query = query.where(Incident.created_at >= since)
    if until is not None:
        query = query.where(Incident.created_at < until)
    if not can_see_team(actor, -1):
        query = query.where(
            Service.team_id.is_(None) | Service.team_id.in_(actor.team_ids)
        )

    with ctx.db.read() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.options(
                selectinload(Incident.service),
                selectinload(Incident.assignee),
                selectinload(Incident.acknowledged_by),
                selectinload(Incident.resolved_by),
            )
            .order_by(Incident.number.desc())
            .limit(where.limit)
            .offset(where.offset)
        ).all()
        return IncidentPage(
            items=[IncidentRead.model_validate(row) for row in rows],
            total=total or 0,
            limit=where.limit,
            offset=where.offset,
        )


def team_ids_of(session: Session, user_id: int) -> frozenset[int]:
    rows = session.scalars(
        select(TeamMember.team_id).where(TeamMember.user_id == user_id)
    )
    return frozenset(rows)


def _locked(session: Session, actor: Actor, number: int) -> Incident:
    """The incident row, locked for update; NotFound when the actor can't see it."""
    _check_number(number)
    incident = session.scalar(
        select(Incident).where(Incident.number == number).with_for_update()
    )
    if incident is None or not can_see_team(actor, incident.service.team_id):
        raise NotFound(f"no incident #{number}")
    return incident


def _instant(value: datetime | None, name: str) -> datetime | None:
    """`value` in UTC; InvalidInput when naive or beyond what UTC can hold."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone offset")
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise InvalidInput(f"{name} is out of range") from error


def _check_number(number: int) -> None:
    # Numbers are 32-bit in the database; PostgreSQL rejects a larger literal
    # with an error instead of finding nothing.
    if not 1 <= number <= MAX_NUMBER:
        raise NotFound(f"no incident #{number}")


def _detail(session: Session, incident_id: int) -> IncidentDetail:
    incident = session.scalar(
        select(Incident)
        .where(Incident.id == incident_id)
        .options(selectinload(Incident.alerts), selectinload(Incident.timeline))
        .execution_options(populate_existing=True)
    )
    if incident is None:
        raise NotFound("incident vanished")
    detail = IncidentDetail.model_validate(incident)
    detail.recent_changes = recent_changes(session, incident)
    detail.roles = roles.holders(session, incident.id)
    return detail


def _next_number(session: Session) -> int:
    """The next incident number. The counter row's lock serialises numbering."""
    value = session.scalar(_NEXT_NUMBER)
    if value is None:
        raise RuntimeError("the incident_number counter is missing; run db upgrade")
    return int(value)


MAX_SNOOZE_MINUTES = 7 * 24 * 60


def snooze(ctx: Context, actor: Actor, number: int, minutes: int) -> IncidentRead:
    """Quiet an incident for `minutes`: a triggered one is acknowledged, and
    when the snooze runs out while it is still acknowledged, it triggers again
    and its policy restarts at step 1. Snoozing again replaces the snooze; the
    policy's acknowledgement timeout, if any, gives way to it."""
    require_role(actor, Role.RESPONDER)
    if not 1 <= minutes <= MAX_SNOOZE_MINUTES:
        raise InvalidInput(
            f"a snooze lasts 1 minute to {MAX_SNOOZE_MINUTES // (24 * 60)} days"
        )

    with ctx.db.write() as session:
        incident = _locked(session, actor, number)
        if incident.status == IncidentStatus.RESOLVED:
            raise Conflict(f"cannot snooze incident #{number}: it is resolved")
        acknowledge_locked(session, ctx, incident, actor)

        now = ctx.clock.now()
        until = now + timedelta(minutes=minutes)
        incident.updated_at = now
        escalation.snooze(session, ctx, incident, until)
        add_timeline(
            session,
            incident,
            at=now,
            kind="snoozed",
            message=f"Snoozed by {actor.label} until {until:%Y-%m-%d %H:%M} UTC",
            actor=actor,
            until=until.isoformat(),
        )
        audit(
            session,
            actor,
            at=now,
            action="incident.snooze",
            object_type="incident",
            object_id=incident.id,
            number=incident.number,
            minutes=minutes,
        )
        return IncidentRead.model_validate(incident)


def reassign_policy(
    ctx: Context, actor: Actor, number: int, policy_id: int
) -> IncidentRead:
    """Hand the incident to another escalation policy, which starts at its
    step 1 at once. An acknowledged incident goes back to triggered."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        incident = _locked(session, actor, number)
        if incident.status == IncidentStatus.RESOLVED:
            raise Conflict(f"cannot reassign incident #{number}: it is resolved")
        policy = (
            session.get(EscalationPolicy, policy_id)
            if 0 < policy_id <= MAX_NUMBER
            else None
        )
        # Any team's policy will do: handing an incident to the team that can
        # fix it is the point, and policies are no secret (catalog reads).
        if policy is None:
            raise NotFound(f"no escalation policy with id {policy_id}")

        now = ctx.clock.now()
        incident.escalation_policy_id = policy.id
        incident.assignee_id = None
        incident.updated_at = now
        if incident.status == IncidentStatus.ACKNOWLEDGED:
            incident.status = IncidentStatus.TRIGGERED
            incident.acknowledged_at = None
            incident.acknowledged_by_id = None
        add_timeline(
            session,
            incident,
            at=now,
            kind="reassigned",
            message=f"Reassigned to escalation policy {policy.name} by {actor.label}",
            actor=actor,
            policy_id=policy.id,
        )
        escalation.restart(session, ctx, incident)
        audit(
            session,
            actor,
            at=now,
            action="incident.reassign_policy",
            object_type="incident",
            object_id=incident.id,
            number=incident.number,
            policy_id=policy.id,
        )
        return IncidentRead.model_validate(incident)
