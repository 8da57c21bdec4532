"""Scheduled maintenance on the status page: its components show `maintenance`
while it runs, and subscribers hear of it when it is scheduled or cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

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
    starts_at, ends_at = (
        check_instant(starts_at, "start"),
        check_instant(ends_at, "end"),
    )
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
        # Each timer brings the components in line; its edge says what to tell
        # subscribers then. Work that has begun already gets no "started" news.
        edges = [("start" if starts_at > now else "", starts_at), ("end", ends_at)]
        for edge, due in edges:
            session.add(
                Timer(
                    kind=MAINTENANCE_TIMER,
                    due_at=max(due, now),
                    payload={"maintenance_id": row.id, "edge": edge},
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
        status_subscribers.notify_maintenance(session, ctx, row, news="scheduled")
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
