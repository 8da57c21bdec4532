"""Triage configuration: the scales and priority matrix, incident types, and
who triages reports (triage owners).

Admins change these; everyone reads them. Stored scales start as the defaults
of tocsin.domain.triage (seeded by the migration, and again by the first
change on a database that lost them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from tocsin.domain import triage as rules
from tocsin.domain.access import Actor, Role, require_role
from tocsin.domain.alerts import SEVERITY_TO_INCIDENT
from tocsin.domain.incidents import IncidentStatus
from tocsin.domain.triage import Level, Scale
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.store.models import Incident, Service, Team, User
from tocsin.store.models.triage import (
    DeclarationTrigger,
    IncidentType,
    PriorityCell,
    TriageLevel,
    TriageOwner,
)
from tocsin.triage_schemas import (
    IncidentTypeRead,
    LevelRead,
    MatrixCell,
    TriageOwnerRead,
    TriageScalesRead,
)

MAX_ID = 2**31 - 1
T = TypeVar("T")
MAX_TYPE_NAME = 100


@dataclass(frozen=True)
class Scales:
    """Every scale, worst first, and the matrix: what triage decisions check
    against."""

    levels: Mapping[Scale, tuple[Level, ...]]
    matrix: Mapping[tuple[str, str], str]

    def keys(self, scale: Scale) -> list[str]:
        return [level.key for level in self.levels[scale]]

    def level(self, scale: Scale, key: str) -> Level:
        """The level of `scale` named `key`; InvalidInput naming the choices."""
        for level in self.levels[scale]:
            if level.key == key:
                return level
        raise InvalidInput(
            f"{scale} {key!r} is not one of {', '.join(self.keys(scale))}"
        )


# --- scales and matrix ----------------------------------------------------------


def load_scales(session: Session) -> Scales:
    """The stored scales and matrix; the defaults where none are stored."""
    stored: dict[Scale, list[Level]] = {scale: [] for scale in Scale}
    for row in session.scalars(select(TriageLevel).order_by(TriageLevel.rank)):
        stored[Scale(row.scale)].append(
            Level(row.key, row.name, row.rank, row.description, row.examples)
        )
    cells = {
        (row.impact, row.urgency): row.priority
        for row in session.scalars(select(PriorityCell))
    }

    levels = {
        scale: tuple(found) or rules.DEFAULT_SCALES[scale]
        for scale, found in stored.items()
    }
    return Scales(levels, cells or dict(rules.DEFAULT_MATRIX))


def severity_ranks(session: Session) -> dict[str, int]:
    """The configured severity keys, worst first, with their rank (1 worst).

    Read on every incident list and home page, so it loads the severity rows
    only, not every scale and the matrix as `load_scales` does."""
    rows = session.execute(
        select(TriageLevel.key, TriageLevel.rank)
        .where(TriageLevel.scale == Scale.SEVERITY.value)
        .order_by(TriageLevel.rank)
    ).all()
    if not rows:
        return {level.key: level.rank for level in rules.DEFAULT_SEVERITIES}
    return {row.key: row.rank for row in rows}


def severity_keys(ctx: Context) -> tuple[str, ...]:
    """The configured severity keys, worst first."""
    with ctx.db.read() as session:
        return tuple(severity_ranks(session))


def scales(ctx: Context) -> TriageScalesRead:
    with ctx.db.read() as session:
        return scales_read(load_scales(session))


def scales_read(current: Scales) -> TriageScalesRead:
    def read(scale: Scale) -> list[LevelRead]:
        return [
            LevelRead(
                key=level.key,
                name=level.name,
                rank=level.rank,
                description=level.description,
                examples=level.examples,
            )
            for level in current.levels[scale]
        ]

    return TriageScalesRead(
        severity=read(Scale.SEVERITY),
        impact=read(Scale.IMPACT),
        urgency=read(Scale.URGENCY),
        priority=read(Scale.PRIORITY),
        matrix=[
            MatrixCell(impact=i, urgency=u, priority=p)
            for (i, u), p in sorted(current.matrix.items())
        ],
    )


def replace_scales(
    ctx: Context,
    actor: Actor,
    levels: Mapping[Scale, Sequence[Level]],
    matrix: Mapping[tuple[str, str], str],
) -> TriageScalesRead:
    """Replace every scale and the matrix at once, so they always agree.

    Admins only. Raises InvalidInput when a scale or the matrix breaks a rule
    of tocsin.domain.triage, and Conflict when a removed level is still used
    by an open incident, an incident type or a declaration trigger.
    """
    require_role(actor, Role.ADMIN)
    checked = {scale: rules.check_levels(scale, levels[scale]) for scale in Scale}
    cells = rules.check_matrix(
        checked[Scale.IMPACT],
        checked[Scale.URGENCY],
        checked[Scale.PRIORITY],
        matrix,
    )

    kept = {level.key for level in checked[Scale.SEVERITY]}
    needed = sorted(set(SEVERITY_TO_INCIDENT.values()) - kept)
    if needed:
        raise InvalidInput(
            f"severity {', '.join(needed)} must stay: alert intake maps alert "
            "severities onto sev1 to sev4 (rename or describe them instead)"
        )

    with ctx.db.write() as session:
        before = load_scales(session)
        for scale in Scale:
            kept = {level.key for level in checked[scale]}
            removed = set(before.keys(scale)) - kept
            if removed:
                _refuse_if_used(session, scale, removed)

        session.execute(delete(TriageLevel))
        session.execute(delete(PriorityCell))
        session.flush()
        session.add_all(
            TriageLevel(
                scale=scale.value,
                key=level.key,
                name=level.name,
                rank=level.rank,
                description=level.description,
                examples=level.examples,
            )
            for scale in Scale
            for level in checked[scale]
        )
        session.add_all(
            PriorityCell(impact=i, urgency=u, priority=p) for (i, u), p in cells.items()
        )
        now = ctx.clock.now()
        audit(
            session,
            actor,
            at=now,
            action="triage.scales",
            object_type="triage_scales",
            object_id=None,
            severities=[level.key for level in checked[Scale.SEVERITY]],
            priorities=[level.key for level in checked[Scale.PRIORITY]],
        )
        session.flush()
        return scales_read(load_scales(session))


def _refuse_if_used(session: Session, scale: Scale, removed: set[str]) -> None:
    """Conflict when levels about to go are still in use."""
    column = {
        Scale.SEVERITY: Incident.severity,
        Scale.IMPACT: Incident.impact,
        Scale.URGENCY: Incident.urgency,
        Scale.PRIORITY: Incident.priority,
    }[scale]
    in_use = session.scalar(
        select(func.count())
        .select_from(Incident)
        .where(column.in_(removed), Incident.status != IncidentStatus.RESOLVED)
    )
    if in_use:
        raise Conflict(
            f"cannot remove {scale} {', '.join(sorted(removed))}: {in_use} open "
            "incident(s) use it; change them first"
        )
    if scale is not Scale.SEVERITY:
        return

    users = (
        session.scalar(
            select(func.count())
            .select_from(DeclarationTrigger)
            .where(DeclarationTrigger.severity.in_(removed))
        )
        or 0
    )
    users += (
        session.scalar(
            select(func.count())
            .select_from(IncidentType)
            .where(IncidentType.default_severity.in_(removed))
        )
        or 0
    )
    if users:
        raise Conflict(
            f"cannot remove severity {', '.join(sorted(removed))}: declaration "
            "triggers or incident types use it; change them first"
        )


# --- incident types ---------------------------------------------------------------


def list_types(
    ctx: Context, *, include_inactive: bool = True
) -> list[IncidentTypeRead]:
    with ctx.db.read() as session:
        query = select(IncidentType).order_by(IncidentType.name)
        if not include_inactive:
            query = query.where(IncidentType.active)
        return [IncidentTypeRead.model_validate(row) for row in session.scalars(query)]


def create_type(
    ctx: Context,
    actor: Actor,
    *,
    key: str,
    name: str,
    description: str = "",
    default_severity: str | None = None,
) -> IncidentTypeRead:
    """Add an incident type. Admins only; Conflict when the key or name is
    taken."""
    require_role(actor, Role.ADMIN)
    key = rules.check_key(key, "incident type")
    name = rules.check_text(name, "a type's name", MAX_TYPE_NAME, required=True)
    description = rules.check_text(
        description, "a type's description", rules.MAX_DESCRIPTION
    )

    with ctx.db.write() as session:
        if default_severity is not None:
            load_scales(session).level(Scale.SEVERITY, default_severity)
        taken = session.scalar(
            select(IncidentType.id).where(
                (IncidentType.key == key)
                | (func.lower(IncidentType.name) == name.lower())
            )
        )
        if taken is not None:
            raise Conflict(f"an incident type {key!r} or {name!r} exists already")

        now = ctx.clock.now()
        row = IncidentType(
            key=key,
            name=name,
            description=description,
            default_severity=default_severity,
            active=True,
            created_at=now,
        )
        session.add(row)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="incident_type.create",
            object_type="incident_type",
            object_id=row.id,
            key=key,
        )
        return IncidentTypeRead.model_validate(row)


def update_type(
    ctx: Context,
    actor: Actor,
    key: str,
    *,
    name: str | None = None,
    description: str | None = None,
    default_severity: str | None = None,
    clear_default_severity: bool = False,
    active: bool | None = None,
) -> IncidentTypeRead:
    """Change an incident type; retiring one (`active=False`) keeps it on the
    incidents that have it but offers it no more."""
    require_role(actor, Role.ADMIN)
    with ctx.db.write() as session:
        row = session.scalar(
            select(IncidentType).where(IncidentType.key == key).with_for_update()
        )
        if row is None:
            raise NotFound(f"no incident type {key!r}")

        if name is not None:
            name = rules.check_text(name, "a type's name", MAX_TYPE_NAME, required=True)
            clash = session.scalar(
                select(IncidentType.id).where(
                    func.lower(IncidentType.name) == name.lower(),
                    IncidentType.id != row.id,
                )
            )
            if clash is not None:
                raise Conflict(f"an incident type named {name!r} exists already")
            row.name = name
        if description is not None:
            row.description = rules.check_text(
                description, "a type's description", rules.MAX_DESCRIPTION
            )
        if default_severity is not None:
            load_scales(session).level(Scale.SEVERITY, default_severity)
            row.default_severity = default_severity
        if clear_default_severity:
            row.default_severity = None
        if active is not None:
            row.active = active

        audit(
            session,
            actor,
            at=ctx.clock.now(),
            action="incident_type.update",
            object_type="incident_type",
            object_id=row.id,
            key=row.key,
            active=row.active,
        )
        session.flush()
        return IncidentTypeRead.model_validate(row)


def find_type(session: Session, key: str, *, for_new: bool = True) -> IncidentType:
    """The incident type with `key`; InvalidInput when there is none, or when
    it is retired and `for_new`."""
    row = session.scalar(select(IncidentType).where(IncidentType.key == key))
    if row is None or (for_new and not row.active):
        known = session.scalars(
            select(IncidentType.key)
            .where(IncidentType.active)
            .order_by(IncidentType.key)
        ).all()
        choices = ", ".join(known) or "none defined: `tocsin triage type add`"
        raise InvalidInput(f"incident type {key!r} is not one of {choices}")
    return row


# --- triage owners ----------------------------------------------------------------


def list_owners(ctx: Context, actor: Actor) -> list[TriageOwnerRead]:
    require_role(actor, Role.RESPONDER)
    with ctx.db.read() as session:
        rows = session.scalars(select(TriageOwner).order_by(TriageOwner.id))
        return [TriageOwnerRead.model_validate(row) for row in rows]


def set_owner(
    ctx: Context,
    actor: Actor,
    *,
    service_id: int | None = None,
    team_id: int | None = None,
    schedule_id: int | None = None,
    user_id: int | None = None,
) -> TriageOwnerRead:
    """Make a schedule (whoever is on call) or a user the triage owner of a
    service, of a team's services, or (naming neither) of every report no
    other owner takes. Replaces the owner there was. Admins only."""
    require_role(actor, Role.ADMIN)
    if service_id is not None and team_id is not None:
        raise InvalidInput("a triage owner is for a service or a team, not both")
    if (schedule_id is None) == (user_id is None):
        raise InvalidInput("a triage owner is one schedule or one user")

    with ctx.db.write() as session:
        if service_id is not None and _get(session, Service, service_id) is None:
            raise NotFound(f"no service with id {service_id}")
        if team_id is not None and _get(session, Team, team_id) is None:
            raise NotFound(f"no team with id {team_id}")
        if user_id is not None:
            user = _get(session, User, user_id)
            if user is None or not user.active:
                raise NotFound(f"no active user with id {user_id}")
        if schedule_id is not None:
            _check_schedule(session, schedule_id)

        row = session.scalar(
            select(TriageOwner).where(_scope(service_id, team_id)).with_for_update()
        )
        now = ctx.clock.now()
        if row is None:
            row = TriageOwner(service_id=service_id, team_id=team_id, created_at=now)
            session.add(row)
        row.schedule_id, row.user_id = schedule_id, user_id
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="triage_owner.set",
            object_type="triage_owner",
            object_id=row.id,
            service_id=service_id,
            team_id=team_id,
            schedule_id=schedule_id,
            user_id=user_id,
        )
        session.refresh(row)
        return TriageOwnerRead.model_validate(row)


def remove_owner(
    ctx: Context, actor: Actor, *, service_id: int | None, team_id: int | None
) -> None:
    require_role(actor, Role.ADMIN)
    with ctx.db.write() as session:
        row = session.scalar(select(TriageOwner).where(_scope(service_id, team_id)))
        if row is None:
            raise NotFound("no triage owner is set there")
        audit(
            session,
            actor,
            at=ctx.clock.now(),
            action="triage_owner.remove",
            object_type="triage_owner",
            object_id=row.id,
            service_id=service_id,
            team_id=team_id,
        )
        session.delete(row)


def owner_user_ids(session: Session, service_id: int | None, at: datetime) -> list[int]:
    """Who triages a report of `service_id` at `at`: the service's owner, else
    its team's, else the default owner. A schedule's owner is whoever is on
    call; an empty list when nobody is (a gap, or no owner anywhere). A
    deactivated user as owner stands aside for the next one: paging never
    reaches them, and the report must not wait unseen."""
    team_id = None
    if service_id is not None:
        team_id = session.scalar(
            select(Service.team_id).where(Service.id == service_id)
        )

    candidates = []
    if service_id is not None:
        candidates.append(_scope(service_id, None))
    if team_id is not None:
        candidates.append(_scope(None, team_id))
    candidates.append(_scope(None, None))
    for where in candidates:
        owner = session.scalar(select(TriageOwner).where(where))
        if owner is None:
            continue
        if owner.user_id is not None:
            if not session.scalar(select(User.active).where(User.id == owner.user_id)):
                continue
            return [owner.user_id]
        if owner.schedule_id is not None:
            return _on_call(session, owner.schedule_id, at)
    return []


def _on_call(session: Session, schedule_id: int, at: datetime) -> list[int]:
    from tocsin.services import schedules

    try:
        return list(schedules.on_call_at(session, schedule_id, at))
    except NotFound:
        # The schedule was deleted after it became an owner: nobody is on it.
        return []


def _check_schedule(session: Session, schedule_id: int) -> None:
    from tocsin.store.models import Schedule

    if _get(session, Schedule, schedule_id) is None:
        raise NotFound(f"no schedule with id {schedule_id}")


def _scope(service_id: int | None, team_id: int | None) -> ColumnElement[bool]:
    """The owner row of exactly this scope (None, None: the default owner)."""
    service = (
        TriageOwner.service_id.is_(None)
        if service_id is None
        else TriageOwner.service_id == service_id
    )
    team = (
        TriageOwner.team_id.is_(None)
        if team_id is None
        else TriageOwner.team_id == team_id
    )
    return service & team


def _get(session: Session, model: type[T], row_id: int) -> T | None:
    if not 1 <= row_id <= MAX_ID:
        return None
    return session.get(model, row_id)
