"""Runbooks and the checklists made from them on incidents.

A runbook is markdown guidance with an ordered list of steps, attached to
services and to incident types. Incident types are named by string (their
name or key in the triage catalogue, compared without case), so a runbook can
be written before the type exists. On an incident, a runbook's steps are
copied into a checklist; checking an item is on the timeline.

A step of kind `rollback` links to the most recent change event of the
incident's service (a deploy, a config change, a flag), so the person
deciding on a rollback sees what would be rolled back; once checked, it keeps
the change it was checked against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from tocsin import markdown
from tocsin.domain.access import Actor, Role, require_role
from tocsin.domain.incidents import IncidentStatus
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.response_schemas import (
    ChangeLink,
    ChecklistItemRead,
    ChecklistRead,
    RunbookRead,
    RunbookStepRead,
)
from tocsin.services.context import Context
from tocsin.services.incident_scope import (
    MANAGER,
    MAX_ID,
    checked_line,
    checked_text,
    incident_type_names,
    locked_incident,
    looked_up,
    visible_incident,
)
from tocsin.services.records import add_timeline, audit
from tocsin.store.models import (
    ChangeEvent,
    ChecklistItem,
    Incident,
    IncidentChecklist,
    Runbook,
    RunbookLink,
    RunbookStep,
    Service,
    Team,
)

STEP_KINDS = ("check", "rollback")
MAX_BODY = 100_000
MAX_STEPS = 100
MAX_LINKS = 50


@dataclass(frozen=True)
class StepInput:
    text: str
    kind: str = "check"


def parse_step(text: str) -> StepInput:
    """`rollback: TEXT` is a rollback step; anything else a plain check."""
    kind, colon, rest = text.partition(":")
    if colon and kind.strip().lower() in STEP_KINDS:
        return StepInput(rest.strip(), kind.strip().lower())
    return StepInput(text)


@dataclass(frozen=True)
class RunbookInput:
    name: str
    body: str = ""
    team: str | None = None
    steps: tuple[StepInput, ...] = ()
    services: tuple[str, ...] = ()
    incident_types: tuple[str, ...] = ()


def create(ctx: Context, actor: Actor, new: RunbookInput) -> RunbookRead:
    """Add a runbook. Needs the manager role, in the runbook's team unless an
    admin."""
    require_role(actor, MANAGER)
    name, body, steps, types = _checked(new)

    with ctx.db.write() as session:
        team = _team(session, actor, new.team)
        if session.scalar(select(Runbook.id).where(Runbook.name == name)):
            raise Conflict(f"there is already a runbook named {name!r}")
        now = ctx.clock.now()
        runbook = Runbook(
            name=name,
            body=body,
            team_id=team.id if team else None,
            created_at=now,
            updated_at=now,
        )
        runbook.steps = _steps(steps)
        runbook.links = _links(session, new.services, types)
        session.add(runbook)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="runbook.create",
            object_type="runbook",
            object_id=runbook.id,
            name=name,
        )
        return _read(session, runbook)


def replace(
    ctx: Context, actor: Actor, runbook_id: int, new: RunbookInput
) -> RunbookRead:
    """Replace a runbook's name, text, team, steps and attachments. Checklists
    already made from it keep the steps they were made with."""
    require_role(actor, MANAGER)
    name, body, steps, types = _checked(new)

    with ctx.db.write() as session:
        runbook = _runbook(session, runbook_id, lock=True)
        _may_edit(session, actor, runbook)
        team = _team(session, actor, new.team)
        taken = session.scalar(
            select(Runbook.id).where(Runbook.name == name, Runbook.id != runbook.id)
        )
        if taken:
            raise Conflict(f"there is already a runbook named {name!r}")
        now = ctx.clock.now()
        runbook.name, runbook.body = name, body
        runbook.team_id = team.id if team else None
        runbook.updated_at = now
        runbook.steps = []
        runbook.links = []
        session.flush()
        runbook.steps = _steps(steps)
        runbook.links = _links(session, new.services, types)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="runbook.update",
            object_type="runbook",
            object_id=runbook.id,
            name=name,
        )
        return _read(session, runbook)


def get(ctx: Context, actor: Actor, runbook_id: int) -> RunbookRead:
    require_role(actor, Role.VIEWER)
    with ctx.db.read() as session:
        return _read(session, _runbook(session, runbook_id))


def find(ctx: Context, actor: Actor, name: str) -> RunbookRead:
    require_role(actor, Role.VIEWER)
    with ctx.db.read() as session:
        runbook = session.scalar(
            select(Runbook).where(Runbook.name == looked_up(name, "runbook"))
        )
        if runbook is None:
            raise NotFound(f"no runbook named {name!r}")
        return _read(session, runbook)


def list_runbooks(
    ctx: Context,
    actor: Actor,
    *,
    service: str | None = None,
    incident_type: str | None = None,
) -> list[RunbookRead]:
    """Runbooks by name; only those attached to `service` or `incident_type`
    when given."""
    require_role(actor, Role.VIEWER)
    with ctx.db.read() as session:
        query = select(Runbook).order_by(Runbook.name)
        if service is not None:
            query = query.where(
                Runbook.links.any(
                    RunbookLink.service_id.in_(
                        select(Service.id).where(
                            Service.name == looked_up(service, "service")
                        )
                    )
                )
            )
        if incident_type is not None:
            query = query.where(
                Runbook.links.any(
                    func.lower(RunbookLink.incident_type)
                    == looked_up(incident_type, "incident type").lower()
                )
            )
        return [_read(session, runbook) for runbook in session.scalars(query)]


def for_incident(ctx: Context, actor: Actor, number: int) -> list[RunbookRead]:
    """The runbooks attached to the incident's service or to its type."""
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        return [_read(session, runbook) for runbook in _matching(session, incident)]


def start_checklist(
    ctx: Context, actor: Actor, number: int, runbook_id: int
) -> ChecklistRead:
    """Copy the runbook's steps into a checklist on the incident. A runbook
    makes at most one checklist per incident."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        incident = locked_incident(session, actor, number)
        if incident.status == IncidentStatus.RESOLVED:
            raise Conflict(f"incident #{number} is resolved")
        runbook = _runbook(session, runbook_id)
        if not runbook.steps:
            raise InvalidInput(f"the runbook {runbook.name} has no steps to check")
        made = session.scalar(
            select(IncidentChecklist.id).where(
                IncidentChecklist.incident_id == incident.id,
                IncidentChecklist.runbook_id == runbook.id,
            )
        )
        if made is not None:
            raise Conflict(
                f"incident #{number} already has the checklist of {runbook.name}"
            )

        now = ctx.clock.now()
        checklist = IncidentChecklist(
            incident_id=incident.id,
            runbook_id=runbook.id,
            name=runbook.name,
            created_at=now,
            created_by_label=actor.label,
        )
        checklist.items = [
            ChecklistItem(position=step.position, text=step.text, kind=step.kind)
            for step in runbook.steps
        ]
        session.add(checklist)
        session.flush()
        incident.updated_at = now
        add_timeline(
            session,
            incident,
            at=now,
            kind="checklist_started",
            message=(
                f"Checklist {runbook.name} ({len(checklist.items)} steps) started "
                f"by {actor.label}"
            ),
            actor=actor,
            checklist_id=checklist.id,
            runbook_id=runbook.id,
        )
        audit(
            session,
            actor,
            at=now,
            action="incident.checklist_start",
            object_type="incident",
            object_id=incident.id,
            number=incident.number,
            runbook_id=runbook.id,
        )
        return _checklist_read(session, incident, checklist, now)


def checklists(ctx: Context, actor: Actor, number: int) -> list[ChecklistRead]:
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        now = ctx.clock.now()
        rows = session.scalars(
            select(IncidentChecklist)
            .where(IncidentChecklist.incident_id == incident.id)
            .options(selectinload(IncidentChecklist.items))
            .order_by(IncidentChecklist.id)
        )
        return [_checklist_read(session, incident, row, now) for row in rows]


def check_item(
    ctx: Context,
    actor: Actor,
    number: int,
    checklist_id: int,
    item_id: int,
    *,
    done: bool,
) -> ChecklistRead:
    """Check (or uncheck) an item; either is on the timeline. Checking a
    checked item changes nothing."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        incident = locked_incident(session, actor, number)
        checklist = _checklist(session, incident, checklist_id)
        item = next((i for i in checklist.items if i.id == item_id), None)
        if item is None:
            raise NotFound(f"no item {item_id} in checklist {checklist_id}")
        now = ctx.clock.now()
        if (item.done_at is not None) == done:
            return _checklist_read(session, incident, checklist, now)

        change = None
        if done:
            item.done_at, item.done_by_label = now, actor.label
            if item.kind == "rollback":
                change = _latest_change(session, incident.service_id, now)
                item.change_event_id = change.id if change else None
        else:
            item.done_at, item.done_by_label, item.change_event_id = None, "", None
        incident.updated_at = now
        against = f" (change: {change.summary})" if change else ""
        add_timeline(
            session,
            incident,
            at=now,
            kind="checklist_checked" if done else "checklist_unchecked",
            message=(
                f"{actor.label} {'checked' if done else 'unchecked'} "
                f"{checklist.name} step {item.position + 1}: {item.text}{against}"
            ),
            actor=actor,
            checklist_id=checklist.id,
            item_id=item.id,
            change_event_id=change.id if change else None,
        )
        audit(
            session,
            actor,
            at=now,
            action="incident.checklist_check" if done else "incident.checklist_uncheck",
            object_type="checklist_item",
            object_id=item.id,
            number=incident.number,
        )
        session.flush()
        return _checklist_read(session, incident, checklist, now)


def _checked(
    new: RunbookInput,
) -> tuple[str, str, tuple[StepInput, ...], tuple[str, ...]]:
    name = checked_line(new.name, "a runbook name", 200)
    body = checked_text(new.body, "a runbook's text", MAX_BODY, empty=True)
    if len(new.steps) > MAX_STEPS:
        raise InvalidInput(f"a runbook has at most {MAX_STEPS} steps")
    steps = []
    for number, step in enumerate(new.steps, start=1):
        if step.kind not in STEP_KINDS:
            raise InvalidInput(
                f"step {number}: the kind is one of {', '.join(STEP_KINDS)}"
            )
        steps.append(
            StepInput(checked_line(step.text, f"step {number}", 1000), step.kind)
        )
    if len(new.services) + len(new.incident_types) > MAX_LINKS:
        raise InvalidInput(f"a runbook is attached to at most {MAX_LINKS} things")
    types = tuple(
        dict.fromkeys(
            checked_line(value, "an incident type", 100) for value in new.incident_types
        )
    )
    return name, body, tuple(steps), types


def _steps(steps: tuple[StepInput, ...]) -> list[RunbookStep]:
    return [
        RunbookStep(position=i, text=step.text, kind=step.kind)
        for i, step in enumerate(steps)
    ]


def _links(
    session: Session, services: tuple[str, ...], types: tuple[str, ...]
) -> list[RunbookLink]:
    links = []
    for name in dict.fromkeys(looked_up(value, "service") for value in services):
        service_id = session.scalar(select(Service.id).where(Service.name == name))
        if service_id is None:
            raise NotFound(f"no service named {name!r}")
        links.append(RunbookLink(service_id=service_id))
    links += [RunbookLink(incident_type=value) for value in types]
    return links


def _team(session: Session, actor: Actor, name: str | None) -> Team | None:
    """The team named (None for none); the actor must belong to it unless an
    admin, and only admins keep runbooks without a team."""
    if name is None or not name.strip():
        if actor.role is not Role.ADMIN and not actor.is_system:
            raise Forbidden("only admins keep runbooks without a team")
        return None
    team = session.scalar(select(Team).where(Team.name == looked_up(name, "team")))
    if team is None:
        raise NotFound(f"no team named {name!r}")
    admin = actor.role is Role.ADMIN or actor.is_system
    if not admin and team.id not in actor.team_ids:
        raise Forbidden(f"you are not in the team {team.name}")
    return team


def _may_edit(session: Session, actor: Actor, runbook: Runbook) -> None:
    if actor.role is Role.ADMIN or actor.is_system:
        return
    if runbook.team_id is None or runbook.team_id not in actor.team_ids:
        raise Forbidden("only managers of the runbook's team may change it")


def _runbook(session: Session, runbook_id: int, *, lock: bool = False) -> Runbook:
    if not 0 < runbook_id <= MAX_ID:
        raise NotFound(f"no runbook {runbook_id}")
    query = select(Runbook).where(Runbook.id == runbook_id)
    runbook = session.scalar(query.with_for_update() if lock else query)
    if runbook is None:
        raise NotFound(f"no runbook {runbook_id}")
    return runbook


def _matching(session: Session, incident: Incident) -> list[Runbook]:
    types = [name.lower() for name in incident_type_names(incident)]
    condition = RunbookLink.service_id == incident.service_id
    if types:
        condition = or_(condition, func.lower(RunbookLink.incident_type).in_(types))
    return list(
        session.scalars(
            select(Runbook).where(Runbook.links.any(condition)).order_by(Runbook.name)
        )
    )


def _checklist(
    session: Session, incident: Incident, checklist_id: int
) -> IncidentChecklist:
    checklist = (
        session.get(IncidentChecklist, checklist_id)
        if 0 < checklist_id <= MAX_ID
        else None
    )
    if checklist is None or checklist.incident_id != incident.id:
        raise NotFound(f"no checklist {checklist_id} on incident #{incident.number}")
    return checklist


def _latest_change(
    session: Session, service_id: int, now: datetime
) -> ChangeEvent | None:
    return session.scalar(
        select(ChangeEvent)
        .where(ChangeEvent.service_id == service_id, ChangeEvent.at <= now)
        .order_by(ChangeEvent.at.desc(), ChangeEvent.id.desc())
        .limit(1)
    )


def _change_link(change: ChangeEvent | None) -> ChangeLink | None:
    if change is None:
        return None
    return ChangeLink(
        id=change.id, summary=change.summary, at=change.at, url=change.link or None
    )


def _checklist_read(
    session: Session,
    incident: Incident,
    checklist: IncidentChecklist,
    now: datetime,
) -> ChecklistRead:
    latest: ChangeEvent | None = None
    if any(i.kind == "rollback" and i.done_at is None for i in checklist.items):
        latest = _latest_change(session, incident.service_id, now)
    items = []
    for item in checklist.items:
        change = None
        if item.kind == "rollback":
            if item.done_at is None:
                change = latest
            elif item.change_event_id is not None:
                change = session.get(ChangeEvent, item.change_event_id)
        items.append(
            ChecklistItemRead(
                id=item.id,
                position=item.position,
                text=item.text,
                kind=item.kind,
                done=item.done_at is not None,
                done_at=item.done_at,
                done_by=item.done_by_label,
                change=_change_link(change),
            )
        )
    return ChecklistRead(
        id=checklist.id,
        name=checklist.name,
        runbook_id=checklist.runbook_id,
        created_at=checklist.created_at,
        items=items,
    )


def _read(session: Session, runbook: Runbook) -> RunbookRead:
    team = session.get(Team, runbook.team_id) if runbook.team_id else None
    service_ids = [link.service_id for link in runbook.links if link.service_id]
    services = (
        list(
            session.scalars(
                select(Service.name)
                .where(Service.id.in_(service_ids))
                .order_by(Service.name)
            )
        )
        if service_ids
        else []
    )
    return RunbookRead(
        id=runbook.id,
        name=runbook.name,
        body=runbook.body,
        body_html=markdown.render(runbook.body),
        team=team.name if team else None,
        services=services,
        incident_types=[
            link.incident_type for link in runbook.links if link.incident_type
        ],
        steps=[RunbookStepRead.model_validate(step) for step in runbook.steps],
        updated_at=runbook.updated_at,
    )
