"""Maintenance windows: alerts are recorded and incidents opened, but nobody is
paged while a window covers the service.

Escalation asks `held_until` before every step it pages, so a step already
scheduled when a window starts is held too; so does a delayed notification
rule of a page sent before the window. A held step waits on a timer due
at the window's end; then it pages as usual if its incident is still
triggered (an incident whose alerts cleared has resolved, and its timer with
it). Nothing is marked suppressed: the timeline says a step was held, and
when it went out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from tocsin.domain import maintenance as rules
from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.domain.schedules import check_instant
from tocsin.errors import InvalidInput, NotFound
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.store.db import table_of
from tocsin.store.models import Incident, MaintenanceWindow, Service, Timer

# The timer kind of an escalation step held by a window.
HELD = "escalation_held"
# The timer kind of a delayed notification rule held by a window.
NOTIFY_HELD = "notify_held"

MAX_DESCRIPTION = 500
MAX_SPAN = timedelta(days=366)

_WINDOWS = table_of(MaintenanceWindow)
_INCIDENTS = table_of(Incident)

# The windows of an incident's service, in one statement (escalation runs it
# before every step, and for every new incident).
_WINDOWS_OF_INCIDENT = (
    select(
        _WINDOWS.c.starts_at,
        _WINDOWS.c.ends_at,
        _WINDOWS.c.recurrence,
        _WINDOWS.c.time_zone,
        _WINDOWS.c.repeat_until,
    )
    .join(_INCIDENTS, _INCIDENTS.c.service_id == _WINDOWS.c.service_id)
    .where(_INCIDENTS.c.id == bindparam("incident_id"))
)
_WINDOWS_OF_SERVICE = select(
    _WINDOWS.c.starts_at,
    _WINDOWS.c.ends_at,
    _WINDOWS.c.recurrence,
    _WINDOWS.c.time_zone,
    _WINDOWS.c.repeat_until,
).where(_WINDOWS.c.service_id == bindparam("service_id"))


class MaintenanceRead(BaseModel):
    id: int
    service: str
    description: str
    starts_at: datetime
    ends_at: datetime
    recurrence: rules.Recurrence
    time_zone: str
    repeat_until: datetime | None
    # The occurrence in progress now, or else the next one, if any.
    active: bool
    current_or_next_start: datetime | None
    current_or_next_end: datetime | None


def held_until(session: Session, incident_id: int, at: datetime) -> datetime | None:
    """When the incident's service leaves maintenance, if it is in a window at
    `at`; None when paging may go ahead."""
    rows = session.execute(_WINDOWS_OF_INCIDENT, {"incident_id": incident_id}).all()
    if not rows:
        return None
    return rules.held_until([_rule(*row) for row in rows], at)


def service_held_until(
    session: Session, service_id: int, at: datetime
) -> datetime | None:
    """`held_until` for a service rather than one of its incidents."""
    rows = session.execute(_WINDOWS_OF_SERVICE, {"service_id": service_id}).all()
    return rules.held_until([_rule(*row) for row in rows], at)


def create_window(
    ctx: Context,
    actor: Actor,
    service: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    recurrence: str = "once",
    time_zone: str = "UTC",
    repeat_until: datetime | None = None,
    description: str = "",
) -> MaintenanceRead:
    """Add a maintenance window to a service. A recurring window repeats at the
    start's local time in `time_zone`; each occurrence lasts as long as the
    first and may not be longer than the period. Raises InvalidInput,
    NotFound, Forbidden."""
    require_role(actor, Role.RESPONDER)
    rule = _checked_rule(starts_at, ends_at, recurrence, time_zone, repeat_until)
    description = description.strip()
    if len(description) > MAX_DESCRIPTION or "\x00" in description:
        raise InvalidInput(
            f"a description has at most {MAX_DESCRIPTION} characters and no NUL"
        )

    now = ctx.clock.now()
    with ctx.db.write() as session:
        row = _service(session, actor, service)
        window = MaintenanceWindow(
            service_id=row.id,
            description=description,
            starts_at=rule.starts_at,
            ends_at=rule.ends_at,
            recurrence=rule.recurrence,
            time_zone=rule.time_zone,
            repeat_until=rule.repeat_until,
            created_by_id=actor.user_id,
            created_at=now,
        )
        session.add(window)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="maintenance.create",
            object_type="maintenance_window",
            object_id=window.id,
            service=row.name,
            starts_at=rule.starts_at.isoformat(),
            ends_at=rule.ends_at.isoformat(),
            recurrence=rule.recurrence,
            time_zone=rule.time_zone,
        )
        return _read(window, row.name, now)


def list_windows(
    ctx: Context, actor: Actor, service: str | None = None
) -> list[MaintenanceRead]:
    """Windows the actor's teams own (all, for an admin), by service and start,
    leaving out those that are over for good."""
    now = ctx.clock.now()
    query = select(MaintenanceWindow, Service).join(
        Service, Service.id == MaintenanceWindow.service_id
    )
    with ctx.db.read() as session:
        if service is not None:
            query = query.where(Service.id == _service(session, actor, service).id)
        rows = session.execute(
            query.order_by(Service.name, MaintenanceWindow.starts_at)
        ).all()
        found = [
            _read(window, row.name, now)
            for window, row in rows
            if can_see_team(actor, row.team_id)
        ]

    return [w for w in found if w.active or w.current_or_next_start is not None]


def delete_window(ctx: Context, actor: Actor, window_id: int) -> MaintenanceRead:
    """Remove a window, ending it at once if it is in progress: steps it held
    page now (those of incidents still triggered and not in another window)."""
    require_role(actor, Role.RESPONDER)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        window = session.get(MaintenanceWindow, window_id, with_for_update=True)
        service = session.get(Service, window.service_id) if window else None
        if (
            window is None
            or service is None
            or not can_see_team(actor, service.team_id)
        ):
            raise NotFound(f"no maintenance window {window_id}")

        read = _read(window, service.name, now)
        session.delete(window)
        # Held steps and notifications come due now; each checks the windows
        # left and is held again if another one still covers the service.
        session.execute(
            update(Timer)
            .where(
                Timer.kind.in_((HELD, NOTIFY_HELD)),
                Timer.due_at > now,
                Timer.incident_id.in_(
                    select(Incident.id).where(Incident.service_id == service.id)
                ),
            )
            .values(due_at=now)
        )
        audit(
            session,
            actor,
            at=now,
            action="maintenance.delete",
            object_type="maintenance_window",
            object_id=window_id,
            service=service.name,
        )
    ctx.work_queued.set()
    return read


def _service(session: Session, actor: Actor, name: str) -> Service:
    service = session.scalar(select(Service).where(Service.name == name.strip()))
    if service is None or not can_see_team(actor, service.team_id):
        raise NotFound(f"no service named {name!r}")
    return service


def _checked_rule(
    starts_at: datetime,
    ends_at: datetime,
    recurrence: str,
    time_zone: str,
    repeat_until: datetime | None,
) -> rules.WindowRule:
    for name, value in (
        ("starts_at", starts_at),
        ("ends_at", ends_at),
        ("repeat_until", repeat_until),
    ):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone offset")
        if value is not None:
            # Also keeps each occurrence's wall-clock arithmetic in range.
            check_instant(value, name)
    try:
        kind = rules.Recurrence(recurrence)
    except ValueError as error:
        choices = ", ".join(r.value for r in rules.Recurrence)
        raise InvalidInput(f"recurrence is one of {choices}") from error
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(f"unknown time zone {time_zone!r}") from error

    start, end = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    if end <= start:
        raise InvalidInput("a window must end after it starts")
    if end - start > MAX_SPAN:
        raise InvalidInput("a window lasts at most a year")
    if kind is not rules.Recurrence.ONCE and end - start >= rules.PERIODS[kind]:
        raise InvalidInput(f"a {kind} window must be shorter than its period")
    if kind is rules.Recurrence.ONCE and repeat_until is not None:
        raise InvalidInput("repeat_until is for daily and weekly windows")
    until = repeat_until.astimezone(UTC) if repeat_until else None
    if until is not None and until <= start:
        raise InvalidInput("repeat_until must be after the first start")

    return rules.WindowRule(start, end, kind, time_zone, until)


def _rule(
    starts_at: datetime,
    ends_at: datetime,
    recurrence: str,
    time_zone: str,
    repeat_until: datetime | None,
) -> rules.WindowRule:
    return rules.WindowRule(
        starts_at, ends_at, rules.Recurrence(recurrence), time_zone, repeat_until
    )


def _read(window: MaintenanceWindow, service: str, now: datetime) -> MaintenanceRead:
    rule = _rule(
        window.starts_at,
        window.ends_at,
        window.recurrence,
        window.time_zone,
        window.repeat_until,
    )
    span = rules.covering(rule, now)
    active = span is not None
    if span is None:
        start = rules.next_start(rule, now)
        span = (start, start + (rule.ends_at - rule.starts_at)) if start else None
    return MaintenanceRead(
        id=window.id,
        service=service,
        description=window.description,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        recurrence=rule.recurrence,
        time_zone=window.time_zone,
        repeat_until=window.repeat_until,
        active=active,
        current_or_next_start=span[0] if span else None,
        current_or_next_end=span[1] if span else None,
    )
