"""Tasks: pieces of work during an incident, with an owner, a due time and a
status. An open task past its due time reminds its owner once, by a
`task_overdue` timer armed for the due time; moving the due time or the owner
arms a new one and the old one finds nothing to do.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum, StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from tocsin.domain.access import Actor, Role, require_role
from tocsin.errors import InvalidInput, NotFound
from tocsin.response_schemas import TaskRead
from tocsin.services import notices, participants
from tocsin.services.context import Context
from tocsin.services.incident_scope import (
    MAX_ID,
    checked_instant,
    checked_line,
    locked_incident,
    responding_user,
    visible_incident,
)
from tocsin.services.records import add_timeline, audit
from tocsin.store.models import Incident, IncidentTask, Timer, User

TASK_OVERDUE = "task_overdue"
MAX_TITLE = 500
MAX_TASKS = 500


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


_PENDING = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)


class Keep(Enum):
    """ "Leave it as it is", told apart from None ("clear it") in update()."""

    KEEP = "keep"


KEEP = Keep.KEEP


def create(
    ctx: Context,
    actor: Actor,
    number: int,
    *,
    title: str,
    owner_id: int | None = None,
    due_at: datetime | None = None,
) -> TaskRead:
    """Add an open task; the owner (when not the actor) is told."""
    require_role(actor, Role.RESPONDER)
    title = checked_line(title, "a task title", MAX_TITLE)
    due = checked_instant(due_at, "due_at")

    with ctx.db.write() as session:
        incident = locked_incident(session, actor, number)
        count = session.scalar(
            select(func.count()).where(IncidentTask.incident_id == incident.id)
        )
        if (count or 0) >= MAX_TASKS:
            raise InvalidInput(f"an incident holds at most {MAX_TASKS} tasks")
        owner = None
        if owner_id is not None:
            owner = responding_user(session, owner_id, incident)

        now = ctx.clock.now()
        task = IncidentTask(
            incident_id=incident.id,
            title=title,
            owner_id=owner.id if owner else None,
            due_at=due,
            status=TaskStatus.OPEN,
            created_at=now,
            created_by_label=actor.label,
            updated_at=now,
        )
        session.add(task)
        session.flush()
        owned = f", owner {owner.name}" if owner else ""
        due_text = f", due {due:%Y-%m-%d %H:%M} UTC" if due else ""
        add_timeline(
            session,
            incident,
            at=now,
            kind="task_added",
            message=f"Task added by {actor.label}: {title}{owned}{due_text}",
            actor=actor,
            task_id=task.id,
        )
        if owner is not None:
            _owner_changed(session, ctx, incident, task, owner, actor, now)
        _arm(session, ctx, task)
        _audit(session, actor, incident, task, "incident.task_create", now)
        return _read(session, task.id, now)


def update(
    ctx: Context,
    actor: Actor,
    number: int,
    task_id: int,
    *,
    title: str | None = None,
    owner_id: int | Keep | None = KEEP,
    due_at: datetime | Keep | None = KEEP,
    status: str | None = None,
) -> TaskRead:
    """Change a task's title, owner (None: nobody), due time (None: none) or
    status. A status change is on the timeline."""
    require_role(actor, Role.RESPONDER)
    new_title = None
    if title is not None:
        new_title = checked_line(title, "a task title", MAX_TITLE)
    new_status = None
    if status is not None:
        try:
            new_status = TaskStatus(status)
        except ValueError:
            choices = ", ".join(s.value for s in TaskStatus)
            raise InvalidInput(f"a task status is one of {choices}") from None
    new_due = KEEP if due_at is KEEP else checked_instant(due_at, "due_at")

    with ctx.db.write() as session:
        incident = locked_incident(session, actor, number)
        task = _task(session, incident, task_id)
        owner = None
        if owner_id is not KEEP and owner_id is not None:
            owner = responding_user(session, owner_id, incident)

        now = ctx.clock.now()
        changes: list[str] = []
        if new_title is not None and new_title != task.title:
            task.title = new_title
            changes.append(f"title {new_title!r}")
        if owner_id is not KEEP and (owner.id if owner else None) != task.owner_id:
            task.owner_id = owner.id if owner else None
            task.reminded_at = None
            changes.append(f"owner {owner.name if owner else 'nobody'}")
        if new_due is not KEEP and new_due != task.due_at:
            task.due_at = new_due
            task.reminded_at = None
            changes.append(
                f"due {task.due_at:%Y-%m-%d %H:%M} UTC" if task.due_at else "no due"
            )
        if new_status is not None and new_status != task.status:
            task.status = new_status
            changes.append(f"status {new_status.value.replace('_', ' ')}")
        if not changes:
            return _read(session, task.id, now)

        task.updated_at = now
        kind = "task_updated"
        if new_status in (TaskStatus.DONE, TaskStatus.CANCELLED):
            kind = f"task_{new_status.value}"
        add_timeline(
            session,
            incident,
            at=now,
            kind=kind,
            message=f"Task {task.title!r} changed by {actor.label}: "
            + ", ".join(changes),
            actor=actor,
            task_id=task.id,
        )
        if owner is not None:
            _owner_changed(session, ctx, incident, task, owner, actor, now)
        _arm(session, ctx, task)
        _audit(session, actor, incident, task, "incident.task_update", now)
        return _read(session, task.id, now)


def list_tasks(ctx: Context, actor: Actor, number: int) -> list[TaskRead]:
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        rows = session.scalars(
            select(IncidentTask)
            .where(IncidentTask.incident_id == incident.id)
            .options(selectinload(IncidentTask.owner))
            .order_by(IncidentTask.id)
        )
        now = ctx.clock.now()
        return [_to_read(row, now) for row in rows]


def remind_overdue(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """The `task_overdue` timer handler: tell the owner of a task still open
    past its due time, once per due time (safe to run again)."""
    if incident is None:
        return
    task = session.get(IncidentTask, int(timer.payload.get("task_id", 0)))
    if task is None or task.status not in _PENDING or task.owner_id is None:
        return
    if task.due_at is None or task.reminded_at is not None:
        return
    if task.due_at.isoformat() != timer.payload.get("due_at"):
        # The due time moved after this timer was armed; a newer one is set.
        return
    now = ctx.clock.now()
    if task.due_at > now:
        return

    owner = session.get(User, task.owner_id)
    task.reminded_at = now
    notices.notify(
        session,
        ctx,
        [task.owner_id],
        subject=f"[Tocsin] #{incident.number} task overdue: {task.title}",
        body="\n".join(
            [
                f"Your task on incident #{incident.number} ({incident.title}) was "
                f"due {task.due_at:%Y-%m-%d %H:%M} UTC and is {task.status}:",
                "",
                f"  {task.title}",
                "",
                f"Open: {ctx.settings.base_url.rstrip('/')}"
                f"/incidents/{incident.number}",
            ]
        ),
        topic="task_overdue",
        incident_id=incident.id,
    )
    add_timeline(
        session,
        incident,
        at=now,
        kind="task_overdue",
        message=(
            f"Task {task.title!r} is overdue; reminded "
            f"{owner.name if owner else 'its owner'}"
        ),
        task_id=task.id,
    )


def _arm(session: Session, ctx: Context, task: IncidentTask) -> None:
    """One reminder timer for the task's current due time and owner, if it
    still needs one."""
    session.execute(
        delete(Timer).where(
            Timer.kind == TASK_OVERDUE,
            Timer.incident_id == task.incident_id,
            Timer.payload["task_id"].as_integer() == task.id,
        )
    )
    if task.due_at is None or task.owner_id is None or task.status not in _PENDING:
        return
    if task.reminded_at is not None:
        return
    session.add(
        Timer(
            kind=TASK_OVERDUE,
            due_at=task.due_at,
            incident_id=task.incident_id,
            payload={"task_id": task.id, "due_at": task.due_at.isoformat()},
            created_at=ctx.clock.now(),
        )
    )


def _owner_changed(
    session: Session,
    ctx: Context,
    incident: Incident,
    task: IncidentTask,
    owner: User,
    actor: Actor,
    now: datetime,
) -> None:
    participants.join(session, incident.id, owner.id, now, via="task owner")
    if owner.id == actor.user_id:
        return
    due = f"\nDue: {task.due_at:%Y-%m-%d %H:%M} UTC" if task.due_at else ""
    notices.notify(
        session,
        ctx,
        [owner.id],
        subject=f"[Tocsin] #{incident.number} task for you: {task.title}",
        body=(
            f"{actor.label} gave you a task on incident #{incident.number} "
            f"({incident.title}):\n\n  {task.title}\n{due}\n\nOpen: "
            f"{ctx.settings.base_url.rstrip('/')}/incidents/{incident.number}"
        ),
        topic="task_assigned",
        incident_id=incident.id,
    )


def _task(session: Session, incident: Incident, task_id: int) -> IncidentTask:
    task = session.get(IncidentTask, task_id) if 0 < task_id <= MAX_ID else None
    if task is None or task.incident_id != incident.id:
        raise NotFound(f"no task {task_id} on incident #{incident.number}")
    return task


def _audit(
    session: Session,
    actor: Actor,
    incident: Incident,
    task: IncidentTask,
    action: str,
    now: datetime,
) -> None:
    audit(
        session,
        actor,
        at=now,
        action=action,
        object_type="incident_task",
        object_id=task.id,
        number=incident.number,
        status=task.status,
        owner_id=task.owner_id,
        due_at=task.due_at.isoformat() if task.due_at else None,
    )


def _read(session: Session, task_id: int, now: datetime) -> TaskRead:
    session.flush()
    task = session.scalar(
        select(IncidentTask)
        .where(IncidentTask.id == task_id)
        .options(selectinload(IncidentTask.owner))
        .execution_options(populate_existing=True)
    )
    if task is None:
        raise NotFound("task vanished")
    return _to_read(task, now)


def _to_read(task: IncidentTask, now: datetime) -> TaskRead:
    read = TaskRead.model_validate(task)
    read.overdue = bool(task.due_at and task.due_at <= now and task.status in _PENDING)
    return read
