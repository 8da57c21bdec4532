"""Incident roles: the catalogue (incident commander, communications lead, ...)
and who holds each role on an incident.

Assigning a role notifies the person and makes them a participant; assigning a
role someone else holds is a handover, and both are on the timeline. The
catalogue starts with four roles; it is filled in by the first use case that
needs it, so a fresh database (or one emptied by tests) has them too.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tocsin.domain.access import Actor, Role, require_role
from tocsin.domain.incidents import IncidentStatus
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.response_schemas import RoleHolderRead, RoleRead
from tocsin.schemas import UserRef
from tocsin.services import cadence, notices, participants
from tocsin.services.context import Context
from tocsin.services.incident_scope import (
    MANAGER,
    checked_line,
    checked_text,
    locked_incident,
    looked_up,
    responding_user,
    visible_incident,
)
from tocsin.services.records import add_timeline, audit
from tocsin.store.models import (
    Incident,
    IncidentUpdate,
    ResponseRole,
    RoleAssignment,
    Timer,
)

DEFAULT_ROLES = (
    ("commander", "Incident commander", "Leads the response and decides."),
    ("communications", "Communications lead", "Keeps stakeholders informed."),
    ("scribe", "Scribe", "Keeps the timeline: what was seen, tried and decided."),
    ("operations", "Operations lead", "Directs the technical work."),
)
MAX_ROLES = 50
_KEY = re.compile(r"[a-z][a-z0-9_-]{0,39}")


def ensure_catalogue(session: Session, ctx: Context) -> None:
    """Add the default roles when the catalogue is empty."""
    if session.scalar(select(func.count()).select_from(ResponseRole)):
        return
    now = ctx.clock.now()
    session.add_all(
        ResponseRole(
            key=key, name=name, description=description, position=i, created_at=now
        )
        for i, (key, name, description) in enumerate(DEFAULT_ROLES)
    )
    session.flush()


def list_roles(ctx: Context, actor: Actor, *, retired: bool = False) -> list[RoleRead]:
    """The catalogue in its order; retired roles only when asked for."""
    require_role(actor, Role.VIEWER)
    query = select(ResponseRole).order_by(ResponseRole.position, ResponseRole.id)
    if not retired:
        query = query.where(ResponseRole.retired.is_(False))
    with ctx.db.read() as session:
        found = [RoleRead.model_validate(row) for row in session.scalars(query)]
        seeded = found or session.scalar(select(func.count(ResponseRole.id)))
    if seeded:
        return found

    # Only a fresh catalogue takes the writer, once.
    with ctx.db.write() as session:
        ensure_catalogue(session, ctx)
        return [RoleRead.model_validate(row) for row in session.scalars(query)]


def create_role(
    ctx: Context, actor: Actor, *, key: str, name: str, description: str = ""
) -> RoleRead:
    """Add a role to the catalogue. Needs the manager role."""
    require_role(actor, MANAGER)
    key = key.strip().lower()
    if not _KEY.fullmatch(key):
        raise InvalidInput(
            "a role key is 1 to 40 lower-case letters, digits, '-' or '_', "
            "starting with a letter"
        )
    name = checked_line(name, "a role name", 100)
    description = checked_text(description, "a role description", 500, empty=True)

    with ctx.db.write() as session:
        ensure_catalogue(session, ctx)
        if session.scalar(select(ResponseRole.id).where(ResponseRole.key == key)):
            raise Conflict(f"there is already a role {key!r}")
        count = session.scalar(select(func.count()).select_from(ResponseRole)) or 0
        if count >= MAX_ROLES:
            raise InvalidInput(f"the catalogue holds at most {MAX_ROLES} roles")
        now = ctx.clock.now()
        role = ResponseRole(
            key=key,
            name=name,
            description=description,
            position=count,
            created_at=now,
        )
        session.add(role)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="role.create",
            object_type="response_role",
            object_id=role.id,
            key=key,
        )
        return RoleRead.model_validate(role)


def update_role(
    ctx: Context,
    actor: Actor,
    key: str,
    *,
    name: str | None = None,
    description: str | None = None,
    retired: bool | None = None,
) -> RoleRead:
    """Rename, describe, retire or bring back a role. Needs the manager role.

    A retired role keeps its past and current holders; it cannot be assigned
    again until it is brought back."""
    require_role(actor, MANAGER)
    new_name = None if name is None else checked_line(name, "a role name", 100)
    new_description = (
        None
        if description is None
        else checked_text(description, "a role description", 500, empty=True)
    )

    with ctx.db.write() as session:
        ensure_catalogue(session, ctx)
        role = _role(session, key, lock=True)
        changes: dict[str, object] = {}
        if new_name is not None and new_name != role.name:
            role.name = changes["name"] = new_name
        if new_description is not None and new_description != role.description:
            role.description = changes["description"] = new_description
        if retired is not None and retired != role.retired:
            role.retired = changes["retired"] = retired
        if changes:
            audit(
                session,
                actor,
                at=ctx.clock.now(),
                action="role.update",
                object_type="response_role",
                object_id=role.id,
                key=role.key,
                **changes,
            )
        return RoleRead.model_validate(role)


def move_role(ctx: Context, actor: Actor, key: str, offset: int) -> list[RoleRead]:
    """Move a role `offset` places in the catalogue's order (negative: up),
    stopping at either end; retired roles keep their places. Returns the whole
    catalogue, retired roles included. Needs the manager role."""
    require_role(actor, MANAGER)
    if not -MAX_ROLES <= offset <= MAX_ROLES:
        raise InvalidInput(f"a role moves at most {MAX_ROLES} places")

    with ctx.db.write() as session:
        ensure_catalogue(session, ctx)
        role = _role(session, key, lock=True)
        ordered = list(
            session.scalars(
                select(ResponseRole)
                .order_by(ResponseRole.position, ResponseRole.id)
                .with_for_update()
            )
        )
        place = ordered.index(role)
        ordered.remove(role)
        target = min(max(place + offset, 0), len(ordered))
        ordered.insert(target, role)
        # Positions are renumbered 0..n-1, which also mends ties left by
        # roles added concurrently.
        for position, row in enumerate(ordered):
            row.position = position
        if target != place:
            audit(
                session,
                actor,
                at=ctx.clock.now(),
                action="role.move",
                object_type="response_role",
                object_id=role.id,
                key=role.key,
                position=target,
            )
        session.flush()
        return [RoleRead.model_validate(row) for row in ordered]


def assign(
    ctx: Context, actor: Actor, number: int, role_key: str, user_id: int
) -> list[RoleHolderRead]:
    """Give the role on the incident to the user, handing it over from its
    current holder if there is one; the user is notified. Returns the current
    holders. Giving a role to its current holder changes nothing."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        ensure_catalogue(session, ctx)
        incident = locked_incident(session, actor, number)
        if incident.status == IncidentStatus.RESOLVED:
            raise Conflict(f"incident #{number} is resolved")
        role = _role(session, role_key)
        if role.retired:
            raise InvalidInput(f"the role {role.name} is retired")
        user = responding_user(session, user_id, incident)

        current = _current(session, incident.id, role.id)
        if current is not None and current.user_id == user.id:
            return holders(session, incident.id)

        now = ctx.clock.now()
        if current is not None:
            current.ended_at = now
            session.flush()
            message = (
                f"{role.name} handed over from {current.user.name} to {user.name} "
                f"by {actor.label}"
            )
            kind = "role_handover"
        else:
            message = f"{user.name} is {role.name} (assigned by {actor.label})"
            kind = "role_assigned"
        session.add(
            RoleAssignment(
                incident_id=incident.id,
                role_id=role.id,
                user_id=user.id,
                assigned_at=now,
                assigned_by_label=actor.label,
            )
        )
        incident.updated_at = now
        add_timeline(
            session,
            incident,
            at=now,
            kind=kind,
            message=message,
            actor=actor,
            role=role.key,
            user_id=user.id,
            previous_user_id=current.user_id if current else None,
        )
        participants.join(session, incident.id, user.id, now, via=f"role {role.name}")
        notices.notify(
            session,
            ctx,
            [user.id],
            subject=(
                f"[Tocsin] #{incident.number} you are {role.name}: {incident.title}"
            ),
            body=_assigned_body(ctx, incident, role, actor),
            topic="role_assigned",
            incident_id=incident.id,
        )
        if current is not None and current.user_id != actor.user_id:
            # The one handing over may not be the one who clicked: tell them.
            notices.notify(
                session,
                ctx,
                [current.user_id],
                subject=(
                    f"[Tocsin] #{incident.number} you are no longer {role.name}: "
                    f"{incident.title}"
                ),
                body=f"{actor.label} handed {role.name} over to {user.name}.",
                topic="role_handed_over",
                incident_id=incident.id,
            )
        if role.key == cadence.COMMUNICATIONS:
            # The lead now owes updates: the cadence starts with them, unless
            # an update already set it going.
            _start_cadence(session, ctx, incident)
        audit(
            session,
            actor,
            at=now,
            action="incident.role_assign",
            object_type="incident",
            object_id=incident.id,
            number=incident.number,
            role=role.key,
            user_id=user.id,
            previous_user_id=current.user_id if current else None,
        )
        session.flush()
        return holders(session, incident.id)


def release(
    ctx: Context, actor: Actor, number: int, role_key: str
) -> list[RoleHolderRead]:
    """End the current holding of the role: nobody holds it afterwards."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        ensure_catalogue(session, ctx)
        incident = locked_incident(session, actor, number)
        role = _role(session, role_key)
        current = _current(session, incident.id, role.id)
        if current is None:
            raise NotFound(f"nobody holds the role {role.name} on incident #{number}")

        now = ctx.clock.now()
        current.ended_at = now
        incident.updated_at = now
        add_timeline(
            session,
            incident,
            at=now,
            kind="role_released",
            message=f"{current.user.name} is no longer {role.name} ({actor.label})",
            actor=actor,
            role=role.key,
            user_id=current.user_id,
        )
        audit(
            session,
            actor,
            at=now,
            action="incident.role_release",
            object_type="incident",
            object_id=incident.id,
            number=incident.number,
            role=role.key,
            user_id=current.user_id,
        )
        session.flush()
        return holders(session, incident.id)


def incident_roles(
    ctx: Context, actor: Actor, number: int, *, history: bool = False
) -> list[RoleHolderRead]:
    """The current holders, in catalogue order; with `history`, every holding
    in the order it began."""
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        return holders(session, incident.id, history=history)


def holders(
    session: Session, incident_id: int, *, history: bool = False
) -> list[RoleHolderRead]:
    """Who holds which role on the incident (for the incident's detail too)."""
    query = (
        select(RoleAssignment)
        .join(ResponseRole, ResponseRole.id == RoleAssignment.role_id)
        .where(RoleAssignment.incident_id == incident_id)
        .options(selectinload(RoleAssignment.user), selectinload(RoleAssignment.role))
    )
    if history:
        query = query.order_by(RoleAssignment.assigned_at, RoleAssignment.id)
    else:
        query = query.where(RoleAssignment.ended_at.is_(None)).order_by(
            ResponseRole.position, ResponseRole.id
        )
    return [
        RoleHolderRead(
            role=row.role.key,
            role_name=row.role.name,
            user=UserRef.model_validate(row.user),
            assigned_at=row.assigned_at,
            assigned_by=row.assigned_by_label,
            ended_at=row.ended_at,
        )
        for row in session.scalars(query)
    ]


def _role(session: Session, key: str, *, lock: bool = False) -> ResponseRole:
    query = select(ResponseRole).where(
        ResponseRole.key == looked_up(key, "role").lower()
    )
    role = session.scalar(query.with_for_update() if lock else query)
    if role is None:
        raise NotFound(f"no role {key!r}; `tocsin role list` shows the catalogue")
    return role


def _current(session: Session, incident_id: int, role_id: int) -> RoleAssignment | None:
    return session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.incident_id == incident_id,
            RoleAssignment.role_id == role_id,
            RoleAssignment.ended_at.is_(None),
        )
    )


def _start_cadence(session: Session, ctx: Context, incident: Incident) -> None:
    owed = session.scalar(
        select(Timer.id).where(
            Timer.kind == cadence.UPDATE_DUE, Timer.incident_id == incident.id
        )
    )
    posted = session.scalar(
        select(IncidentUpdate.id).where(IncidentUpdate.incident_id == incident.id)
    )
    if owed is None and posted is None:
        cadence.arm(session, ctx, incident, since=ctx.clock.now())


def _assigned_body(
    ctx: Context, incident: Incident, role: ResponseRole, actor: Actor
) -> str:
    base = ctx.settings.base_url.rstrip("/")
    lines = [
        f"{actor.label} made you {role.name} of incident #{incident.number}: "
        f"{incident.title}",
        f"Service:  {incident.service.name}",
        f"Severity: {incident.severity.upper()}",
    ]
    if role.description:
        lines.append(f"The role: {role.description}")
    lines += ["", f"Open: {base}/incidents/{incident.number}"]
    return "\n".join(lines)
