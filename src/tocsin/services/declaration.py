"""Declaring incidents: by a person (a new incident, an incident an alert
opened, or a report being triaged) and by declaration triggers, rules over
alerts that declare the incident of a matching alert on their own.

A declared incident records why: the reason a person gave, or the trigger and
the alerts that matched it. Declaring sets the stage to investigating.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.domain import triage as rules
from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.domain.triage import ReportStatus, Scale, Stage
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.schemas import IncidentRead
from tocsin.services import incident_triage, incidents, reports
from tocsin.services.context import Context
from tocsin.services.records import add_timeline, audit
from tocsin.services.triage import find_type, load_scales
from tocsin.store.models import Incident, Service
from tocsin.store.models.triage import IncidentType

MAX_ID = 2**31 - 1
MAX_TITLE = 500
MAX_DESCRIPTION = 20_000
DEFAULT_SEVERITY = "sev3"


@dataclass(frozen=True)
class Declaration:
    """What a person declares. Severity falls back to the type's default, then
    to DEFAULT_SEVERITY; impact and urgency, given together, set the
    priority."""

    service_id: int
    title: str
    reason: str
    severity: str | None = None
    incident_type: str | None = None
    description: str = ""
    impact: str | None = None
    urgency: str | None = None


def declare(ctx: Context, actor: Actor, declaration: Declaration) -> IncidentRead:
    """Open a declared incident on the service, paging through its policy.

    Raises InvalidInput (nothing stored) for a missing reason or title, an
    unknown severity, type, impact or urgency; NotFound for a service the
    actor cannot see.
    """
    with ctx.db.write() as session:
        return declare_in(session, ctx, actor, declaration)


def declare_in(
    session: Session, ctx: Context, actor: Actor, declaration: Declaration
) -> IncidentRead:
    """`declare` in the caller's write transaction (inbound mail declares
    this way, with the mail stored in the same transaction)."""
    require_role(actor, Role.RESPONDER)
    title, reason, description = _checked(declaration)
    service = _visible_service(session, actor, declaration.service_id)
    incident = _open(
        session, ctx, actor, service, declaration, title, reason, description
    )
    return _read(session, incident)


def declare_incident(
    ctx: Context,
    actor: Actor,
    number: int,
    *,
    reason: str,
    severity: str | None = None,
    incident_type: str | None = None,
) -> IncidentRead:
    """Declare an incident that an alert opened. Conflict when it is declared
    already; a new severity is on the timeline like any other change."""
    require_role(actor, Role.RESPONDER)
    reason = rules.check_text(reason, "a reason", rules.MAX_REASON, required=True)

    with ctx.db.write() as session:
        scales = load_scales(session)
        if severity is not None:
            scales.level(Scale.SEVERITY, severity)
        type_row = find_type(session, incident_type) if incident_type else None
        incident = incident_triage.locked(session, actor, number)
        if incident.declared:
            raise Conflict(f"incident #{number} was declared already")

        mark_declared(
            session, ctx, incident, actor, reason, type_row, label=actor.label
        )
        if severity is not None and severity != incident.severity:
            incident_triage.change_severity(
                session, ctx, incident, actor, severity, reason
            )
        return _read(session, incident)


def declare_report(
    ctx: Context,
    actor: Actor,
    report_id: int,
    *,
    reason: str,
    severity: str | None = None,
    incident_type: str | None = None,
    service_id: int | None = None,
    title: str | None = None,
) -> IncidentRead:
    """Triage a report into a new declared incident on its service (or
    `service_id`). Conflict when the report was triaged already."""
    require_role(actor, Role.RESPONDER)

    with ctx.db.write() as session:
        report = reports.locked_untriaged(session, actor, report_id)
        chosen = service_id if service_id is not None else report.service_id
        if chosen is None:
            raise InvalidInput(
                f"report R-{report_id} names no service; say which service the "
                "incident belongs to"
            )
        declaration = Declaration(
            service_id=chosen,
            title=title or report.title,
            reason=reason,
            severity=severity,
            incident_type=incident_type,
            description=report.description,
        )
        title_, reason_, description = _checked(declaration)
        service = _visible_service(session, actor, chosen)
        incident = _open(
            session,
            ctx,
            actor,
            service,
            declaration,
            title_,
            reason_,
            description,
            report=f"R-{report.id}",
        )

        now = ctx.clock.now()
        reports.mark_triaged(report, actor, now, ReportStatus.DECLARED, reason_)
        report.incident_id = incident.id
        audit(
            session,
            actor,
            at=now,
            action="report.declare",
            object_type="report",
            object_id=report.id,
            incident_number=incident.number,
        )
        return _read(session, incident)


def mark_declared(
    session: Session,
    ctx: Context,
    incident: Incident,
    actor: Actor,
    reason: str,
    incident_type: IncidentType | None,
    *,
    label: str,
    **data: Any,
) -> None:
    """Set the declaration facts on a locked incident, once, with a timeline
    entry and an audit record."""
    now = ctx.clock.now()
    incident.declared = True
    incident.declared_reason = reason
    if incident.declared_at is None:
        incident.declared_at = now
    incident.declared_by_id = actor.user_id
    incident.declared_by_label = label
    if incident.stage is None:
        incident.stage = Stage.INVESTIGATING
    if incident_type is not None and incident.incident_type_id is None:
        incident.incident_type_id = incident_type.id
    incident.updated_at = now

    add_timeline(
        session,
        incident,
        at=now,
        kind="declared",
        message=f"Declared by {label}: {reason}",
        actor=actor,
        reason=reason,
        incident_type=incident_type.key if incident_type else None,
        **data,
    )
    audit(
        session,
        actor,
        at=now,
        action="incident.declare",
        object_type="incident",
        object_id=incident.id,
        number=incident.number,
        reason=reason,
        **data,
    )


def _open(
    session: Session,
    ctx: Context,
    actor: Actor,
    service: Service,
    declaration: Declaration,
    title: str,
    reason: str,
    description: str,
    **data: Any,
) -> Incident:
    """Check the scales and type, then open, declare and prioritise."""
    scales = load_scales(session)
    type_row = (
        find_type(session, declaration.incident_type)
        if declaration.incident_type
        else None
    )
    severity = (
        declaration.severity
        or (type_row.default_severity if type_row else None)
        or _default_severity(scales.keys(Scale.SEVERITY))
    )
    scales.level(Scale.SEVERITY, severity)
    if (declaration.impact is None) != (declaration.urgency is None):
        raise InvalidInput("give impact and urgency together, or neither")
    if declaration.impact is not None and declaration.urgency is not None:
        scales.level(Scale.IMPACT, declaration.impact)
        scales.level(Scale.URGENCY, declaration.urgency)

    brief = incidents.open_incident(
        session,
        ctx,
        service_id=service.id,
        service_name=service.name,
        escalation_policy_id=service.escalation_policy_id,
        title=title,
        severity=severity,
        actor=actor,
        description=description,
    )
    incident = session.scalars(
        select(Incident).where(Incident.id == brief.id).with_for_update()
    ).one()
    mark_declared(
        session, ctx, incident, actor, reason, type_row, label=actor.label, **data
    )
    if declaration.impact is not None and declaration.urgency is not None:
        incident_triage.change_priority(
            session,
            ctx,
            incident,
            actor,
            declaration.impact,
            declaration.urgency,
            reason,
        )
    return incident


def _default_severity(keys: list[str]) -> str:
    """sev3 where it exists, else the middle of the scale."""
    if DEFAULT_SEVERITY in keys:
        return DEFAULT_SEVERITY
    return keys[len(keys) // 2]


def _checked(declaration: Declaration) -> tuple[str, str, str]:
    title = rules.check_text(declaration.title, "a title", MAX_TITLE, required=True)
    if "\n" in title or "\r" in title:
        raise InvalidInput("a title is one line")
    reason = rules.check_text(
        declaration.reason, "a reason", rules.MAX_REASON, required=True
    )
    description = rules.check_text(
        declaration.description, "a description", MAX_DESCRIPTION
    )
    return title, reason, description


def _visible_service(session: Session, actor: Actor, service_id: int) -> Service:
    service = session.get(Service, service_id) if 1 <= service_id <= MAX_ID else None
    if service is None or not can_see_team(actor, service.team_id):
        raise NotFound(f"no service with id {service_id}")
    return service


def _read(session: Session, incident: Incident) -> IncidentRead:
    session.flush()
    session.refresh(incident)
    return IncidentRead.model_validate(incident)
