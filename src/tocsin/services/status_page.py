"""Status page use cases: components and groups, public incidents and their
updates, scheduled maintenance.

Managing the page needs the manager role; posting an update about a Tocsin
incident (`publish_update`) needs only a responder who can see the incident, as
stakeholder updates do. Every write is audited; a write that concerns a Tocsin
incident is on its timeline too; subscribers hear of every public incident,
update and maintenance window (see tocsin.services.status_subscribers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.domain.status_page import (
    IMPACTS,
    ComponentState,
    MaintenancePhase,
    Stage,
    effective_state,
    impact_for_severity,
)
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import status_subscribers
from tocsin.services.context import Context
from tocsin.services.records import add_timeline, audit
from tocsin.services.status_reads import (
    MAX_ID,
    StatusComponentRead,
    StatusGroupRead,
    StatusIncidentRead,
    StatusMaintenanceRead,
    component_read,
    incident_read,
    maintenance_read,
)
from tocsin.store.models import (
    Incident,
    Service,
    StatusComponent,
    StatusComponentChange,
    StatusComponentGroup,
    StatusIncident,
    StatusIncidentUpdate,
    StatusMaintenance,
    Timer,
)
from tocsin.store.models.status_page import (
    status_incident_components,
    status_maintenance_components,
)

# The role that manages the page. Stakeholder updates of an incident reach it
# through publish_update with the responder role.
MANAGE = Role.ADMIN

MAX_NAME = 100
MAX_TITLE = 200
MAX_MESSAGE = 10_000
MAX_DESCRIPTION = 5_000
MAX_POSITION = 10_000
MAX_COMPONENTS = 100
# How far ahead maintenance may be scheduled, and how long it may last.
MAX_AHEAD = timedelta(days=366)
MAX_LENGTH = timedelta(days=14)

MAINTENANCE_TIMER = "status_maintenance"
AUTO = "auto"

_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_CONTROL_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")


# Groups ----------------------------------------------------------------------


def create_group(
    ctx: Context, actor: Actor, name: str, *, position: int = 0
) -> StatusGroupRead:
    require_role(actor, MANAGE)
    name = _name(name, "group name")
    _position(position)
    with ctx.db.write() as session:
        if session.scalar(
            select(StatusComponentGroup.id).where(StatusComponentGroup.name == name)
        ):
            raise Conflict(f"there is already a group {name!r}")
        now = ctx.clock.now()
        group = StatusComponentGroup(name=name, position=position, created_at=now)
        session.add(group)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="status_group.create",
            object_type="status_group",
            object_id=group.id,
            name=name,
        )
        return StatusGroupRead.model_validate(group)


def list_groups(ctx: Context) -> list[StatusGroupRead]:
    with ctx.db.read() as session:
        rows = session.scalars(
            select(StatusComponentGroup).order_by(
                StatusComponentGroup.position, StatusComponentGroup.name
            )
        )
        return [StatusGroupRead.model_validate(row) for row in rows]


def delete_group(ctx: Context, actor: Actor, ref: int | str) -> None:
    """Delete a group; its components stay, in no group."""
    require_role(actor, MANAGE)
    with ctx.db.write() as session:
        group = _group(session, ref)
        now = ctx.clock.now()
        for component in session.scalars(
            select(StatusComponent).where(StatusComponent.group_id == group.id)
        ):
            component.group_id = None
            component.updated_at = now
        audit(
            session,
            actor,
            at=now,
            action="status_group.delete",
            object_type="status_group",
            object_id=group.id,
            name=group.name,
        )
        session.delete(group)


# Components ------------------------------------------------------------------


def create_component(
    ctx: Context,
    actor: Actor,
    name: str,
    *,
    description: str = "",
    group: int | str | None = None,
    service: int | str | None = None,
    position: int = 0,
) -> StatusComponentRead:
    """Add a component, operational from now on."""
    require_role(actor, MANAGE)
    name = _name(name, "component name")
    description = _text(description, "description", MAX_DESCRIPTION, empty=True)
    _position(position)
    with ctx.db.write() as session:
        if session.scalar(
            select(StatusComponent.id).where(StatusComponent.name == name)
        ):
            raise Conflict(f"there is already a component {name!r}")
        now = ctx.clock.now()
        component = StatusComponent(
            name=name,
            description=description,
            group_id=_group(session, group).id if group is not None else None,
            service_id=_service(session, service) if service is not None else None,
            position=position,
            state=ComponentState.OPERATIONAL,
            created_at=now,
            updated_at=now,
        )
        session.add(component)
        session.flush()
        session.add(
            StatusComponentChange(
                component_id=component.id, at=now, state=ComponentState.OPERATIONAL
            )
        )
        audit(
            session,
            actor,
            at=now,
            action="status_component.create",
            object_type="status_component",
            object_id=component.id,
            name=name,
        )
        return component_read(session, component)


def list_components(ctx: Context) -> list[StatusComponentRead]:
    with ctx.db.read() as session:
        rows = session.scalars(
            select(StatusComponent)
            .options(selectinload(StatusComponent.group))
            .order_by(StatusComponent.position, StatusComponent.name)
        )
        return [component_read(session, row) for row in rows]


def get_component(ctx: Context, ref: int | str) -> StatusComponentRead:
    with ctx.db.read() as session:
        return component_read(session, _component(session, ref))


def edit_component(
    ctx: Context,
    actor: Actor,
    ref: int | str,
    *,
    name: str | None = None,
    description: str | None = None,
    group: int | str | None = None,
    clear_group: bool = False,
    service: int | str | None = None,
    clear_service: bool = False,
    position: int | None = None,
) -> StatusComponentRead:
    """Change what is given; leave the rest."""
    require_role(actor, MANAGE)
    with ctx.db.write() as session:
        component = _component(session, ref, lock=True)
        changed: list[str] = []
        if name is not None:
            name = _name(name, "component name")
            taken = session.scalar(
                select(StatusComponent.id).where(
                    StatusComponent.name == name, StatusComponent.id != component.id
                )
            )
            if taken:
                raise Conflict(f"there is already a component {name!r}")
            component.name = name
            changed.append("name")
        if description is not None:
            component.description = _text(
                description, "description", MAX_DESCRIPTION, empty=True
            )
            changed.append("description")
        if clear_group or group is not None:
            component.group_id = None if clear_group else _group(session, group).id  # type: ignore[arg-type]
            changed.append("group")
        if clear_service or service is not None:
            component.service_id = (
                None if clear_service else _service(session, service)  # type: ignore[arg-type]
            )
            changed.append("service")
        if position is not None:
            component.position = _position(position)
            changed.append("position")

        now = ctx.clock.now()
        component.updated_at = now
        audit(
            session,
            actor,
            at=now,
            action="status_component.edit",
            object_type="status_component",
            object_id=component.id,
            fields=changed,
        )
        session.flush()
        return component_read(session, component)


def set_component_state(
    ctx: Context, actor: Actor, ref: int | str, state: str
) -> StatusComponentRead:
    """Set the component's state by hand, or with `auto` let it follow its
    incidents and maintenance again. A state set by hand wins until then."""
    require_role(actor, MANAGE)
    manual = None if state == AUTO else _state(state)
    with ctx.db.write() as session:
        component = _component(session, ref, lock=True)
        now = ctx.clock.now()
        component.manual_state = manual
        component.updated_at = now
        refresh_components(session, ctx, [component.id])
        audit(
            session,
            actor,
            at=now,
            action="status_component.set_state",
            object_type="status_component",
            object_id=component.id,
            manual_state=manual,
        )
        session.flush()
        return component_read(session, component)


def delete_component(ctx: Context, actor: Actor, ref: int | str) -> None:
    """Delete a component with its history; incidents and maintenance that named
    it no longer do."""
    require_role(actor, MANAGE)
    with ctx.db.write() as session:
        component = _component(session, ref, lock=True)
        audit(
            session,
            actor,
            at=ctx.clock.now(),
            action="status_component.delete",
            object_type="status_component",
            object_id=component.id,
            name=component.name,
        )
        session.execute(
            delete(StatusComponentChange).where(
                StatusComponentChange.component_id == component.id
            )
        )
        for table in (status_incident_components, status_maintenance_components):
            session.execute(delete(table).where(table.c.component_id == component.id))
        session.delete(component)


def refresh_components(
    session: Session, ctx: Context, component_ids: Sequence[int]
) -> None:
    """Bring each component's state in line with its manual state, open public
    incidents and running maintenance, recording every change for uptime."""
    if not component_ids:
        return

    now = ctx.clock.now()
    components = session.scalars(
        select(StatusComponent)
        .where(StatusComponent.id.in_(set(component_ids)))
        .order_by(StatusComponent.id)
        .with_for_update()
    ).all()
    for component in components:
        impacts = session.scalars(
            select(StatusIncident.impact)
            .join(
                status_incident_components,
                status_incident_components.c.status_incident_id == StatusIncident.id,
            )
            .where(
                status_incident_components.c.component_id == component.id,
                StatusIncident.resolved_at.is_(None),
            )
        ).all()
        in_maintenance = session.scalar(
            select(StatusMaintenance.id)
            .join(
                status_maintenance_components,
                status_maintenance_components.c.maintenance_id == StatusMaintenance.id,
            )
            .where(
                status_maintenance_components.c.component_id == component.id,
                StatusMaintenance.cancelled_at.is_(None),
                StatusMaintenance.starts_at <= now,
                StatusMaintenance.ends_at > now,
            )
            .limit(1)
        )
        state = effective_state(
            manual=component.manual_state,
            incident_impacts=impacts,
            in_maintenance=in_maintenance is not None,
        )
        if state != component.state:
            component.state = state
            component.updated_at = now
            session.add(
                StatusComponentChange(component_id=component.id, at=now, state=state)
            )
    session.flush()


# Public incidents ------------------------------------------------------------


def create_incident(
    ctx: Context,
    actor: Actor,
    *,
    title: str,
    impact: str,
    components: Sequence[int | str],
    message: str,
    stage: str = Stage.INVESTIGATING,
    incident_number: int | None = None,
) -> StatusIncidentRead:
    """Open a public incident with its first update. With `incident_number` it
    reports on that Tocsin incident, which may have only one."""
    require_role(actor, MANAGE)
    title = _text(title, "title", MAX_TITLE)
    message = _text(message, "message", MAX_MESSAGE)
    checked_impact = _impact(impact)
    checked_stage = _stage(stage)
    with ctx.db.write() as session:
        incident = None
        if incident_number is not None:
            incident = _tocsin_incident(session, actor, number=incident_number)
        chosen = [_component(session, ref) for ref in _refs(components)]
        row = _open(
            session,
            ctx,
            actor,
            title=title,
            impact=checked_impact,
            components=chosen,
            incident=incident,
        )
        _post(session, ctx, actor, row, message, checked_stage, incident)
        return incident_read(session, row)


def add_update(
    ctx: Context,
    actor: Actor,
    status_incident_id: int,
    *,
    message: str,
    stage: str,
    impact: str | None = None,
) -> StatusIncidentRead:
    """Post an update; stage `resolved` resolves the incident and its components
    recover, another stage reopens a resolved one."""
    require_role(actor, MANAGE)
    message = _text(message, "message", MAX_MESSAGE)
    checked_stage = _stage(stage)
    checked_impact = _impact(impact) if impact is not None else None
    with ctx.db.write() as session:
        row = _status_incident(session, status_incident_id)
        if checked_impact is not None:
            row.impact = checked_impact
        incident = session.get(Incident, row.incident_id) if row.incident_id else None
        _post(session, ctx, actor, row, message, checked_stage, incident)
        return incident_read(session, row)


def edit_incident(
    ctx: Context,
    actor: Actor,
    status_incident_id: int,
    *,
    title: str | None = None,
    impact: str | None = None,
    components: Sequence[int | str] | None = None,
) -> StatusIncidentRead:
    """Correct a public incident's title, impact or components (no update is
    posted, nobody is notified)."""
    require_role(actor, MANAGE)
    with ctx.db.write() as session:
        row = _status_incident(session, status_incident_id)
        touched = {component.id for component in row.components}
        changed: list[str] = []
        if title is not None:
            row.title = _text(title, "title", MAX_TITLE)
            changed.append("title")
        if impact is not None:
            row.impact = _impact(impact)
            changed.append("impact")
        if components is not None:
            row.components = [_component(session, ref) for ref in _refs(components)]
            touched |= {component.id for component in row.components}
            changed.append("components")

        now = ctx.clock.now()
        row.updated_at = now
        session.flush()
        refresh_components(session, ctx, sorted(touched))
        audit(
            session,
            actor,
            at=now,
            action="status_incident.edit",
            object_type="status_incident",
            object_id=row.id,
            fields=changed,
        )
        return incident_read(session, row)


def get_incident(ctx: Context, status_incident_id: int) -> StatusIncidentRead:
    with ctx.db.read() as session:
        return incident_read(session, _status_incident(session, status_incident_id))


def list_incidents(
    ctx: Context, *, open_only: bool = False, limit: int = 50
) -> list[StatusIncidentRead]:
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500")
    query = select(StatusIncident).options(
        selectinload(StatusIncident.components), selectinload(StatusIncident.updates)
    )
    if open_only:
        query = query.where(StatusIncident.resolved_at.is_(None))
    with ctx.db.read() as session:
        rows = session.scalars(
            query.order_by(StatusIncident.id.desc()).limit(limit)
        ).all()
        return [incident_read(session, row) for row in rows]


def publish_update(
    session: Session,
    ctx: Context,
    *,
    incident_id: int,
    message: str,
    stage: str,
    actor: Actor,
    title: str | None = None,
    impact: str | None = None,
) -> StatusIncidentRead:
    """Post `message` to the status page about Tocsin incident `incident_id` (its
    id, not its number), in the caller's transaction.

    The first post opens the public incident: titled `title` or after the
    components it affects, with `impact` or one that follows the incident's
    severity, on the components linked to the incident's service. Later posts
    add updates to it. Raises InvalidInput for a bad message or stage, NotFound
    when the actor cannot see the incident, Forbidden below the responder role.
    """
    require_role(actor, Role.RESPONDER)
    message = _text(message, "message", MAX_MESSAGE)
    checked_stage = _stage(stage)
    if title is not None:
        title = _text(title, "title", MAX_TITLE)
    checked_impact = _impact(impact) if impact is not None else None

    incident = _tocsin_incident(session, actor, incident_id=incident_id)
    row = session.scalar(
        select(StatusIncident)
        .where(StatusIncident.incident_id == incident.id)
        .with_for_update()
    )
    if row is None:
        components = session.scalars(
            select(StatusComponent)
            .where(StatusComponent.service_id == incident.service_id)
            .order_by(StatusComponent.position, StatusComponent.name)
        ).all()
        row = _open(
            session,
            ctx,
            actor,
            title=title or _default_title(components),
            impact=checked_impact or impact_for_severity(incident.severity),
            components=list(components),
            incident=incident,
        )
    else:
        if title is not None:
            row.title = title
        if checked_impact is not None:
            row.impact = checked_impact

    _post(session, ctx, actor, row, message, checked_stage, incident)
    return incident_read(session, row)


def _open(
    session: Session,
    ctx: Context,
    actor: Actor,
    *,
    title: str,
    impact: ComponentState,
    components: list[StatusComponent],
    incident: Incident | None,
) -> StatusIncident:
    if incident is not None and session.scalar(
        select(StatusIncident.id).where(StatusIncident.incident_id == incident.id)
    ):
        raise Conflict(
            f"incident #{incident.number} is on the status page already; "
            "post an update to it"
        )

    now = ctx.clock.now()
    row = StatusIncident(
        title=title,
        impact=impact,
        stage=Stage.INVESTIGATING,
        incident_id=incident.id if incident else None,
        created_at=now,
        updated_at=now,
    )
    row.components = components
    session.add(row)
    session.flush()
    audit(
        session,
        actor,
        at=now,
        action="status_incident.create",
        object_type="status_incident",
        object_id=row.id,
        incident_id=row.incident_id,
    )
    return row


def _post(
    session: Session,
    ctx: Context,
    actor: Actor,
    row: StatusIncident,
    message: str,
    stage: Stage,
    incident: Incident | None,
) -> None:
    """Add the update, move the incident to its stage, bring its components in
    line, record it and tell the subscribers."""
    now = ctx.clock.now()
    first = not row.updates
    row.updates.append(StatusIncidentUpdate(at=now, stage=stage, message=message))
    row.stage = stage
    row.updated_at = now
    row.resolved_at = now if stage is Stage.RESOLVED else None
    session.flush()
    refresh_components(session, ctx, [component.id for component in row.components])

    audit(
        session,
        actor,
        at=now,
        action="status_incident.update",
        object_type="status_incident",
        object_id=row.id,
        stage=stage.value,
    )
    if incident is not None:
        add_timeline(
            session,
            incident,
            at=now,
            kind="status_page_update",
            message=f"Posted to the status page ({stage.value}): {message}",
            actor=actor,
            status_incident_id=row.id,
        )
    status_subscribers.notify_incident(session, ctx, row, message, stage, first=first)


def _default_title(components: Sequence[StatusComponent]) -> str:
    if not components:
        return "Service disruption"
    names = ", ".join(component.name for component in components)
    return _clip(f"Disruption to {names}", MAX_TITLE)


# Maintenance ----------------------------------------------------------------


def schedule_maintenance(
    ctx: Context,
    actor: Actor,
    *,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    components: Sequence[int | str],
    description: str = "",
) -> StatusMaintenanceRead:
    """Schedule maintenance: its components show `maintenance` from `starts_at`
    until `ends_at` (timers change them on time), and subscribers are told now."""
    require_role(actor, MANAGE)
    title = _text(title, "title", MAX_TITLE)
    description = _text(description, "description", MAX_DESCRIPTION, empty=True)
    starts_at, ends_at = _instant(starts_at, "start"), _instant(ends_at, "end")
    now = ctx.clock.now()
    if ends_at <= starts_at:
        raise InvalidInput("maintenance must end after it starts")
    if ends_at <= now:
        raise InvalidInput("maintenance must end in the future")
    if starts_at > now + MAX_AHEAD:
        raise InvalidInput("maintenance can be scheduled at most a year ahead")
    if ends_at - starts_at > MAX_LENGTH:
        raise InvalidInput("maintenance can last at most 14 days")

    with ctx.db.write() as session:
        chosen = [_component(session, ref) for ref in _refs(components)]
        if not chosen:
            raise InvalidInput("name at least one component under maintenance")
        row = StatusMaintenance(
            title=title,
            description=description,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=now,
            updated_at=now,
        )
        row.components = chosen
        session.add(row)
        session.flush()
        for due in (starts_at, ends_at):
            session.add(
                Timer(
                    kind=MAINTENANCE_TIMER,
                    due_at=max(due, now),
                    payload={"maintenance_id": row.id},
                    created_at=now,
                )
            )
        refresh_components(session, ctx, [component.id for component in chosen])
        audit(
            session,
            actor,
            at=now,
            action="status_maintenance.schedule",
            object_type="status_maintenance",
            object_id=row.id,
        )
        status_subscribers.notify_maintenance(session, ctx, row, cancelled=False)
        ctx.work_queued.set()
        return maintenance_read(row, now)


def cancel_maintenance(
    ctx: Context, actor: Actor, maintenance_id: int
) -> StatusMaintenanceRead:
    """Cancel maintenance that has not finished; running maintenance stops at
    once. Subscribers are told."""
    require_role(actor, MANAGE)
    with ctx.db.write() as session:
        row = _maintenance(session, maintenance_id)
        now = ctx.clock.now()
        phase = maintenance_read(row, now).phase
        if phase in (MaintenancePhase.COMPLETED, MaintenancePhase.CANCELLED):
            raise Conflict(f"maintenance {row.id} is {phase.value.replace('_', ' ')}")
        row.cancelled_at = now
        row.updated_at = now
        refresh_components(session, ctx, [component.id for component in row.components])
        audit(
            session,
            actor,
            at=now,
            action="status_maintenance.cancel",
            object_type="status_maintenance",
            object_id=row.id,
        )
        status_subscribers.notify_maintenance(session, ctx, row, cancelled=True)
        return maintenance_read(row, now)


def list_maintenance(ctx: Context) -> list[StatusMaintenanceRead]:
    now = ctx.clock.now()
    with ctx.db.read() as session:
        rows = session.scalars(
            select(StatusMaintenance)
            .options(selectinload(StatusMaintenance.components))
            .order_by(StatusMaintenance.starts_at.desc())
            .limit(200)
        ).all()
        return [maintenance_read(row, now) for row in rows]


def on_maintenance_timer(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """A maintenance window starts or ends: bring its components in line. Safe
    to run twice, and harmless for cancelled or deleted maintenance."""
    maintenance_id = timer.payload.get("maintenance_id")
    if not isinstance(maintenance_id, int):
        return
    row = session.get(StatusMaintenance, maintenance_id)
    if row is not None:
        refresh_components(session, ctx, [component.id for component in row.components])


# Lookups and checks ----------------------------------------------------------


def _component(
    session: Session, ref: int | str, *, lock: bool = False
) -> StatusComponent:
    query = select(StatusComponent).options(selectinload(StatusComponent.group))
    if isinstance(ref, int):
        if not 1 <= ref <= MAX_ID:
            raise NotFound(f"no component {ref}")
        query = query.where(StatusComponent.id == ref)
    else:
        query = query.where(StatusComponent.name == ref.strip())
    if lock:
        query = query.with_for_update()
    found = session.scalar(query)
    if found is None:
        raise NotFound(
            f"no component {ref!r}" if isinstance(ref, str) else f"no component {ref}"
        )
    return found


def _group(session: Session, ref: int | str) -> StatusComponentGroup:
    if isinstance(ref, int):
        found = session.get(StatusComponentGroup, ref) if 1 <= ref <= MAX_ID else None
    else:
        found = session.scalar(
            select(StatusComponentGroup).where(StatusComponentGroup.name == ref.strip())
        )
    if found is None:
        raise NotFound(f"no group {ref!r}")
    return found


def _service(session: Session, ref: int | str) -> int:
    if isinstance(ref, int):
        found = session.get(Service, ref) if 1 <= ref <= MAX_ID else None
    else:
        found = session.scalar(select(Service).where(Service.name == ref.strip()))
    if found is None:
        raise NotFound(f"no service {ref!r}")
    return found.id


def _status_incident(session: Session, status_incident_id: int) -> StatusIncident:
    if not 1 <= status_incident_id <= MAX_ID:
        raise NotFound(f"no status page incident {status_incident_id}")
    found = session.scalar(
        select(StatusIncident)
        .where(StatusIncident.id == status_incident_id)
        .options(selectinload(StatusIncident.components))
        .with_for_update()
    )
    if found is None:
        raise NotFound(f"no status page incident {status_incident_id}")
    return found


def _maintenance(session: Session, maintenance_id: int) -> StatusMaintenance:
    found = None
    if 1 <= maintenance_id <= MAX_ID:
        found = session.scalar(
            select(StatusMaintenance)
            .where(StatusMaintenance.id == maintenance_id)
            .with_for_update()
        )
    if found is None:
        raise NotFound(f"no maintenance {maintenance_id}")
    return found


def _tocsin_incident(
    session: Session,
    actor: Actor,
    *,
    incident_id: int | None = None,
    number: int | None = None,
) -> Incident:
    """The Tocsin incident, locked: posts about one incident queue up behind each
    other instead of both opening a public incident."""
    query = select(Incident).with_for_update()
    if incident_id is not None:
        wanted = f"incident id {incident_id}"
        query = query.where(Incident.id == incident_id)
        value = incident_id
    else:
        wanted = f"incident #{number}"
        query = query.where(Incident.number == number)
        value = number or 0
    found = session.scalar(query) if 1 <= value <= MAX_ID else None
    if found is None or not can_see_team(actor, found.service.team_id):
        raise NotFound(f"no {wanted}")
    return found


def _refs(components: Sequence[int | str]) -> list[int | str]:
    unique = list(dict.fromkeys(components))
    if len(unique) > MAX_COMPONENTS:
        raise InvalidInput(f"name at most {MAX_COMPONENTS} components")
    return unique


def _name(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"a {what} cannot be empty")
    if len(value) > MAX_NAME:
        raise InvalidInput(f"a {what} is at most {MAX_NAME} characters")
    if _CONTROL.search(value):
        raise InvalidInput(f"a {what} cannot contain control characters")
    return value


def _text(value: str, what: str, limit: int, *, empty: bool = False) -> str:
    value = value.strip()
    if not value and not empty:
        raise InvalidInput(f"the {what} cannot be empty")
    if len(value) > limit:
        raise InvalidInput(f"the {what} is at most {limit} characters")
    if _CONTROL_IN_TEXT.search(value) or (what == "title" and "\n" in value):
        raise InvalidInput(f"the {what} cannot contain control characters")
    return value


def _position(value: int) -> int:
    if not -MAX_POSITION <= value <= MAX_POSITION:
        raise InvalidInput(
            f"position must be between {-MAX_POSITION} and {MAX_POSITION}"
        )
    return value


def _state(value: str) -> ComponentState:
    try:
        return ComponentState(value)
    except ValueError:
        known = ", ".join([*ComponentState, AUTO])
        raise InvalidInput(f"state must be one of {known}") from None


def _impact(value: str) -> ComponentState:
    if value not in IMPACTS:
        raise InvalidInput(f"impact must be one of {', '.join(IMPACTS)}")
    return ComponentState(value)


def _stage(value: str) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        raise InvalidInput(f"stage must be one of {', '.join(Stage)}") from None


def _instant(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(f"the {what} needs a time zone offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"the {what} is out of range") from None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
