"""Status page use cases: components and groups, public incidents and their
updates, and `publish_update` for stakeholder updates. Maintenance lives in
tocsin.services.status_maintenance, what they share in status_common.

Managing the page needs the manager role; posting an update about a Tocsin
incident (`publish_update`) needs only a responder who can see the incident, as
stakeholder updates do. Every write is audited; a write that concerns a Tocsin
incident is on its timeline too; subscribers hear of every public incident,
update and maintenance window (see tocsin.services.status_subscribers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from tocsin.domain.access import SYSTEM, Actor, Role, require_role
from tocsin.domain.status_page import (
    ComponentState,
    MaintenancePhase,
    Stage,
    impact_for_severity,
    maintenance_phase,
)
from tocsin.errors import Conflict, InvalidInput
from tocsin.services import status_subscribers
from tocsin.services.context import Context
from tocsin.services.records import add_timeline, audit
from tocsin.services.status_common import (
    AUTO,
    MANAGE,
    MAX_DESCRIPTION,
    MAX_MESSAGE,
    MAX_TITLE,
    check_impact,
    check_name,
    check_position,
    check_refs,
    check_stage,
    check_state,
    check_text,
    clip,
    find_component,
    find_group,
    find_service,
    find_status_incident,
    find_tocsin_incident,
    refresh_components,
)
from tocsin.services.status_reads import (
    StatusComponentRead,
    StatusGroupRead,
    StatusIncidentRead,
    component_read,
    incident_read,
)
from tocsin.store.models import (
    Incident,
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

# Timers of this kind bring a maintenance window's components in line when it
# starts and when it ends (see tocsin.services.status_maintenance).
MAINTENANCE_TIMER = "status_maintenance"

# What the page orders by position: components within a group, and groups.
_Ordered = TypeVar("_Ordered", StatusComponent, StatusComponentGroup)


# Groups ----------------------------------------------------------------------


def create_group(
    ctx: Context, actor: Actor, name: str, *, position: int = 0
) -> StatusGroupRead:
    require_role(actor, MANAGE)
    name = check_name(name, "group name")
    check_position(position)
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


def edit_group(
    ctx: Context,
    actor: Actor,
    ref: int | str,
    *,
    name: str | None = None,
    position: int | None = None,
) -> StatusGroupRead:
    """Rename or move a group; what is not given stays."""
    require_role(actor, MANAGE)
    if name is not None:
        name = check_name(name, "group name")
    if position is not None:
        check_position(position)
    with ctx.db.write() as session:
        group = find_group(session, ref)
        changed: list[str] = []
        if name is not None and name != group.name:
            if session.scalar(
                select(StatusComponentGroup.id).where(
                    StatusComponentGroup.name == name,
                    StatusComponentGroup.id != group.id,
                )
            ):
                raise Conflict(f"there is already a group {name!r}")
            group.name = name
            changed.append("name")
        if position is not None and position != group.position:
            group.position = position
            changed.append("position")
        if changed:
            audit(
                session,
                actor,
                at=ctx.clock.now(),
                action="status_group.edit",
                object_type="status_group",
                object_id=group.id,
                fields=changed,
            )
        session.flush()
        return StatusGroupRead.model_validate(group)


def delete_group(ctx: Context, actor: Actor, ref: int | str) -> None:
    """Delete a group; its components stay, in no group."""
    require_role(actor, MANAGE)
    with ctx.db.write() as session:
        group = find_group(session, ref)
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
    name = check_name(name, "component name")
    description = check_text(description, "description", MAX_DESCRIPTION, empty=True)
    check_position(position)
    with ctx.db.write() as session:
        if session.scalar(
            select(StatusComponent.id).where(StatusComponent.name == name)
        ):
            raise Conflict(f"there is already a component {name!r}")
        now = ctx.clock.now()
        component = StatusComponent(
            name=name,
            description=description,
            group_id=find_group(session, group).id if group is not None else None,
            service_id=find_service(session, service) if service is not None else None,
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
        return component_read(session, find_component(session, ref))


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
        component = find_component(session, ref, lock=True)
        changed: list[str] = []
        if name is not None:
            name = check_name(name, "component name")
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
            component.description = check_text(
                description, "description", MAX_DESCRIPTION, empty=True
            )
            changed.append("description")
        if clear_group:
            component.group = None
            changed.append("group")
        elif group is not None:
            component.group = find_group(session, group)
            changed.append("group")
        if clear_service:
            component.service_id = None
            changed.append("service")
        elif service is not None:
            component.service_id = find_service(session, service)
            changed.append("service")
        if position is not None:
            component.position = check_position(position)
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


def move_component(
    ctx: Context, actor: Actor, ref: int | str, *, up: bool
) -> StatusComponentRead:
    """Swap the component with its neighbour above (`up`) or below among the
    components of its group, in the page's order (position, then name). The
    group is renumbered 0, 1, 2... so the new order is explicit; at the top or
    the bottom nothing moves."""
    require_role(actor, MANAGE)
    with ctx.db.write() as session:
        component = find_component(session, ref, lock=True)
        same_group = (
            StatusComponent.group_id.is_(None)
            if component.group_id is None
            else StatusComponent.group_id == component.group_id
        )
        siblings = list(
            session.scalars(
                select(StatusComponent)
                .where(same_group)
                .order_by(StatusComponent.position, StatusComponent.name)
                .with_for_update()
            )
        )
        now = ctx.clock.now()
        if _swap(siblings, component, up=up):
            for component_row in _renumbered(siblings):
                component_row.updated_at = now
            audit(
                session,
                actor,
                at=now,
                action="status_component.move",
                object_type="status_component",
                object_id=component.id,
                up=up,
            )
        session.flush()
        return component_read(session, component)


def move_group(ctx: Context, actor: Actor, ref: int | str, *, up: bool) -> None:
    """Swap the group with its neighbour above or below in the page's order
    (position, then name), renumbering the groups 0, 1, 2..."""
    require_role(actor, MANAGE)
    with ctx.db.write() as session:
        group = find_group(session, ref)
        groups = list(
            session.scalars(
                select(StatusComponentGroup)
                .order_by(StatusComponentGroup.position, StatusComponentGroup.name)
                .with_for_update()
            )
        )
        if _swap(groups, group, up=up):
            _renumbered(groups)
            audit(
                session,
                actor,
                at=ctx.clock.now(),
                action="status_group.move",
                object_type="status_group",
                object_id=group.id,
                up=up,
            )


def _swap(rows: list[_Ordered], row: _Ordered, *, up: bool) -> bool:
    """Swap `row` with its neighbour in `rows`; False when it has none that way."""
    at = rows.index(row)
    other = at - 1 if up else at + 1
    if not 0 <= other < len(rows):
        return False
    rows[at], rows[other] = rows[other], rows[at]
    return True


def _renumbered(rows: list[_Ordered]) -> list[_Ordered]:
    """Give `rows` the positions 0, 1, 2... in their order; returns those that
    changed."""
    changed = []
    for position, row in enumerate(rows):
        if row.position != position:
            row.position = position
            changed.append(row)
    return changed


def set_component_state(
    ctx: Context, actor: Actor, ref: int | str, state: str
) -> StatusComponentRead:
    """Set the component's state by hand, or with `auto` let it follow its
    incidents and maintenance again. A state set by hand wins until then."""
    require_role(actor, MANAGE)
    manual = None if state == AUTO else check_state(state)
    with ctx.db.write() as session:
        component = find_component(session, ref, lock=True)
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
        component = find_component(session, ref, lock=True)
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
    title = check_text(title, "title", MAX_TITLE)
    message = check_text(message, "message", MAX_MESSAGE)
    checked_impact = check_impact(impact)
    checked_stage = check_stage(stage)
    with ctx.db.write() as session:
        incident = None
        if incident_number is not None:
            incident = find_tocsin_incident(session, actor, number=incident_number)
        chosen = [find_component(session, ref) for ref in check_refs(components)]
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
        return incident_read(session, row, actor)


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
    message = check_text(message, "message", MAX_MESSAGE)
    checked_stage = check_stage(stage)
    checked_impact = check_impact(impact) if impact is not None else None
    with ctx.db.write() as session:
        row = find_status_incident(session, status_incident_id)
        if checked_impact is not None:
            row.impact = checked_impact
        incident = session.get(Incident, row.incident_id) if row.incident_id else None
        _post(session, ctx, actor, row, message, checked_stage, incident)
        return incident_read(session, row, actor)


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
        row = find_status_incident(session, status_incident_id)
        touched = {component.id for component in row.components}
        changed: list[str] = []
        if title is not None:
            row.title = check_text(title, "title", MAX_TITLE)
            changed.append("title")
        if impact is not None:
            row.impact = check_impact(impact)
            changed.append("impact")
        if components is not None:
            row.components = [
                find_component(session, ref) for ref in check_refs(components)
            ]
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
        return incident_read(session, row, actor)


def get_incident(
    ctx: Context, actor: Actor, status_incident_id: int
) -> StatusIncidentRead:
    """The public incident; NotFound when there is none. The linked incident's
    number only when `actor` can see that incident."""
    with ctx.db.read() as session:
        row = find_status_incident(session, status_incident_id)
        return incident_read(session, row, actor)


def list_incidents(
    ctx: Context, actor: Actor, *, open_only: bool = False, limit: int = 50
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
        return [incident_read(session, row, actor) for row in rows]


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
    add updates to it (and may change its impact, never its title). Raises
    InvalidInput for a bad message or stage, NotFound when the actor cannot see
    the incident, Forbidden below the responder role.
    """
    require_role(actor, Role.RESPONDER)
    message = check_text(message, "message", MAX_MESSAGE)
    checked_stage = check_stage(stage)
    if title is not None:
        title = check_text(title, "title", MAX_TITLE)
    checked_impact = check_impact(impact) if impact is not None else None

    incident = find_tocsin_incident(session, actor, incident_id=incident_id)
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
    elif checked_impact is not None:
        # The title is left alone: a manager may have worded it for the public
        # on the status page, and the incident's own title is internal.
        row.impact = checked_impact

    _post(session, ctx, actor, row, message, checked_stage, incident)
    return incident_read(session, row, actor)


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
    return clip(f"Disruption to {names}", MAX_TITLE)


# Maintenance timers ---------------------------------------------------------


def on_maintenance_timer(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """A maintenance window starts or ends: bring its components in line and
    tell subscribers it started or completed. Nothing is told of cancelled
    maintenance, nor of an edge the window is no longer at (a worker that
    was down past the end tells only of the end)."""
    maintenance_id = timer.payload.get("maintenance_id")
    if not isinstance(maintenance_id, int):
        return
    row = session.get(StatusMaintenance, maintenance_id)
    if row is None:
        return

    refresh_components(session, ctx, [component.id for component in row.components])
    phase = maintenance_phase(
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        cancelled_at=row.cancelled_at,
        now=ctx.clock.now(),
    )
    edge = timer.payload.get("edge")
    if edge == "start" and phase is MaintenancePhase.IN_PROGRESS:
        news = "started"
    elif edge == "end" and phase is MaintenancePhase.COMPLETED:
        news = "completed"
    else:
        return

    status_subscribers.notify_maintenance(session, ctx, row, news=news)
    audit(
        session,
        SYSTEM,
        at=ctx.clock.now(),
        action=f"status_maintenance.{news}",
        object_type="status_maintenance",
        object_id=row.id,
    )
