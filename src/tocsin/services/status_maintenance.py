"""Scheduled maintenance on the status page: its components show `maintenance`
while it runs, and subscribers hear of it when it is scheduled or cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from tocsin.domain.access import Actor, require_role
from tocsin.domain.status_page import MaintenancePhase
from tocsin.errors import Conflict, InvalidInput
from tocsin.services import status_subscribers
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.services.status_common import (
    MANAGE,
    MAX_AHEAD,
    MAX_DESCRIPTION,
    MAX_LENGTH,
    MAX_TITLE,
    check_instant,
    check_refs,
    check_text,
    find_component,
    find_maintenance,
    refresh_components,
)
from tocsin.services.status_page import MAINTENANCE_TIMER
from tocsin.services.status_reads import StatusMaintenanceRead, maintenance_read
from tocsin.store.models import StatusMaintenance, Timer


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
    title = check_text(title, "title", MAX_TITLE)
    description = check_text(description, "description", MAX_DESCRIPTION, empty=True)
    now = ctx.clock.now()
    starts_at, ends_at = _check_window(starts_at, ends_at, now)

    with ctx.db.write() as session:
        chosen = [find_component(session, ref) for ref in check_refs(components)]
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
        _arm_timers(session, row, now)
        refresh_components(session, ctx, [component.id for component in chosen])
        audit(
            session,
            actor,
            at=now,
            action="status_maintenance.schedule",
            object_type="status_maintenance",
            object_id=row.id,
        )
        status_subscribers.notify_maintenance(session, ctx, row, news="scheduled")
        ctx.work_queued.set()
        return maintenance_read(row, now)


def edit_maintenance(
    ctx: Context,
    actor: Actor,
    maintenance_id: int,
    *,
    title: str | None = None,
    description: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    components: Sequence[int | str] | None = None,
) -> StatusMaintenanceRead:
    """Change what is given of maintenance that has not finished. The window is
    checked as when scheduling; a window that moved gets fresh timers and its
    subscribers are told it was rescheduled. Corrections to the title, the
    description or the components are told to nobody."""
    require_role(actor, MANAGE)
    if title is not None:
        title = check_text(title, "title", MAX_TITLE)
    if description is not None:
        description = check_text(
            description, "description", MAX_DESCRIPTION, empty=True
        )
    with ctx.db.write() as session:
        row = find_maintenance(session, maintenance_id)
        now = ctx.clock.now()
        phase = maintenance_read(row, now).phase
        if phase in (MaintenancePhase.COMPLETED, MaintenancePhase.CANCELLED):
            raise Conflict(f"maintenance {row.id} is {phase.value.replace('_', ' ')}")

        new_start, new_end = _check_window(
            starts_at or row.starts_at, ends_at or row.ends_at, now
        )
        moved = (new_start, new_end) != (row.starts_at, row.ends_at)
        touched = {component.id for component in row.components}
        if components is not None:
            chosen = [find_component(session, ref) for ref in check_refs(components)]
            if not chosen:
                raise InvalidInput("name at least one component under maintenance")
            row.components = chosen
            touched |= {component.id for component in chosen}
        if title is not None:
            row.title = title
        if description is not None:
            row.description = description
        row.starts_at, row.ends_at = new_start, new_end
        row.updated_at = now
        session.flush()
        if moved:
            _disarm_timers(session, row.id, now)
            _arm_timers(session, row, now)
        refresh_components(session, ctx, sorted(touched))
        audit(
            session,
            actor,
            at=now,
            action="status_maintenance.edit",
            object_type="status_maintenance",
            object_id=row.id,
            moved=moved,
        )
        if moved:
            status_subscribers.notify_maintenance(session, ctx, row, news="rescheduled")
            ctx.work_queued.set()
        return maintenance_read(row, now)


def cancel_maintenance(
    ctx: Context, actor: Actor, maintenance_id: int
) -> StatusMaintenanceRead:
    """Cancel maintenance that has not finished; running maintenance stops at
    once. Subscribers are told."""
    require_role(actor, MANAGE)
    with ctx.db.write() as session:
        row = find_maintenance(session, maintenance_id)
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
        status_subscribers.notify_maintenance(session, ctx, row, news="cancelled")
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


def get_maintenance(ctx: Context, maintenance_id: int) -> StatusMaintenanceRead:
    """One maintenance window; NotFound when there is none."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        return maintenance_read(find_maintenance(session, maintenance_id), now)


def _check_window(
    starts_at: datetime, ends_at: datetime, now: datetime
) -> tuple[datetime, datetime]:
    """The window in UTC, if it ends after it starts, in the future, within
    the limits of how far ahead and how long."""
    starts_at = check_instant(starts_at, "start")
    ends_at = check_instant(ends_at, "end")
    if ends_at <= starts_at:
        raise InvalidInput("maintenance must end after it starts")
    if ends_at <= now:
        raise InvalidInput("maintenance must end in the future")
    if starts_at > now + MAX_AHEAD:
        raise InvalidInput("maintenance can be scheduled at most a year ahead")
    if ends_at - starts_at > MAX_LENGTH:
        raise InvalidInput("maintenance can last at most 14 days")
    return starts_at, ends_at


def _arm_timers(session: Session, row: StatusMaintenance, now: datetime) -> None:
    # Each timer brings the components in line; its edge says what to tell
    # subscribers then. Work that has begun already gets no "started" news.
    edges = [
        ("start" if row.starts_at > now else "", row.starts_at),
        ("end", row.ends_at),
    ]
    for edge, due in edges:
        session.add(
            Timer(
                kind=MAINTENANCE_TIMER,
                due_at=max(due, now),
                payload={"maintenance_id": row.id, "edge": edge},
                created_at=now,
            )
        )


def _disarm_timers(session: Session, maintenance_id: int, now: datetime) -> None:
    """Drop the window's pending timers, so a moved window is not told started
    or completed at its old times. A timer a worker is running now is left."""
    pending = session.scalars(
        select(Timer).where(
            Timer.kind == MAINTENANCE_TIMER,
            or_(Timer.lease_until.is_(None), Timer.lease_until < now),
        )
    )
    for timer in pending:
        if timer.payload.get("maintenance_id") == maintenance_id:
            session.delete(timer)
