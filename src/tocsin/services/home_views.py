"""Reads for the home page beyond incidents: who is on call for my teams, my
open tasks, and the latest changes to the services I can see.

Each applies the usual visibility rule (domain.access.can_see_team): nothing
here shows what the incident pages would hide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from tocsin.domain.access import Actor, can_see_team
from tocsin.services import schedules
from tocsin.services.context import Context
from tocsin.store.models import ChangeEvent, Incident, IncidentTask, Service

OPEN_TASKS = ("open", "in_progress")
CHANGES_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class OnCallRow:
    schedule_id: int
    schedule: str
    team: str
    people: tuple[str, ...]


@dataclass(frozen=True)
class TaskRow:
    title: str
    status: str
    due_at: datetime | None
    overdue: bool
    incident_number: int
    incident_title: str


@dataclass(frozen=True)
class ChangeRow:
    at: datetime
    kind: str
    summary: str
    service: str
    version: str


def on_call_now(ctx: Context, actor: Actor) -> list[OnCallRow]:
    """The schedules of the actor's own teams (every visible one for an actor
    in no team, such as an admin), each with who is on call now."""
    rows = schedules.list_schedules(ctx, actor)
    if actor.team_ids:
        rows = [row for row in rows if row.team_id in actor.team_ids]
    return [
        OnCallRow(
            schedule_id=row.id,
            schedule=row.name,
            team=row.team,
            people=tuple(person.name for person in row.on_call_now),
        )
        for row in rows
    ]


def my_open_tasks(ctx: Context, actor: Actor, *, limit: int = 10) -> list[TaskRow]:
    """Tasks the actor owns that are not done, soonest due first."""
    if actor.user_id is None:
        return []

    now = ctx.clock.now()
    query = (
        select(IncidentTask, Incident.number, Incident.title)
        .join(Incident, IncidentTask.incident_id == Incident.id)
        .join(Service, Incident.service_id == Service.id)
        .where(
            IncidentTask.owner_id == actor.user_id,
            IncidentTask.status.in_(OPEN_TASKS),
        )
        .order_by(IncidentTask.due_at.is_(None), IncidentTask.due_at, IncidentTask.id)
        .limit(limit)
    )
    if not can_see_team(actor, -1):
        # A task stays with its owner after they leave the team; the incident
        # does not, so neither does the task on their home page.
        query = query.where(
            Service.team_id.is_(None) | Service.team_id.in_(actor.team_ids)
        )
    with ctx.db.read() as session:
        return [
            TaskRow(
                title=task.title,
                status=task.status,
                due_at=task.due_at,
                overdue=task.due_at is not None and task.due_at < now,
                incident_number=number,
                incident_title=title,
            )
            for task, number, title in session.execute(query)
        ]


def recent_changes(ctx: Context, actor: Actor, *, limit: int = 10) -> list[ChangeRow]:
    """Deploys and other changes of the last day on services the actor may
    see, newest first: the first suspects when something breaks."""
    since = ctx.clock.now() - CHANGES_WINDOW
    query = (
        select(ChangeEvent, Service.name)
        .join(Service, ChangeEvent.service_id == Service.id)
        .where(ChangeEvent.at >= since)
        .order_by(ChangeEvent.at.desc(), ChangeEvent.id.desc())
        .limit(limit)
    )
    if not can_see_team(actor, -1):
        query = query.where(
            Service.team_id.is_(None) | Service.team_id.in_(actor.team_ids)
        )
    with ctx.db.read() as session:
        return [
            ChangeRow(
                at=change.at,
                kind=change.kind,
                summary=change.summary,
                service=service,
                version=change.version,
            )
            for change, service in session.execute(query)
        ]
