"""Triage decisions on an incident: severity, priority (impact x urgency),
impact fields and stage. Each change is on the timeline, with who made it
and, for severity and priority, why; each is audited.

Responders may triage incidents they can see (their teams' services and
unowned ones). Lifecycle stamps (declared, identified, monitoring,
acknowledged, resolved) are set the first time and never overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from tocsin.domain import triage as rules
from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.domain.incidents import IncidentStatus
from tocsin.domain.triage import Scale, Stage
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.schemas import IncidentRead
from tocsin.services import cadence, incidents
from tocsin.services.context import Context
from tocsin.services.records import add_timeline, audit
from tocsin.services.triage import find_type, load_scales
from tocsin.store.db import table_of
from tocsin.store.models import Incident, Service
from tocsin.store.models.triage import IncidentService

MAX_ID = 2**31 - 1
MAX_AFFECTED_SERVICES = 100
MAX_CUSTOMERS = 2**31 - 1
MAX_BUSINESS_IMPACT = 5000
IMPACT_FIELDS = (
    "affected_service_ids",
    "customers_affected",
    "customers_affected_estimated",
    "business_impact",
    "impact_financial",
    "impact_reputational",
    "impact_legal",
    "incident_type",
)
_AFFECTED = table_of(IncidentService)


def locked(session: Session, actor: Actor, number: int) -> Incident:
    """The incident, its row locked; NotFound when the actor may not see it."""
    if not 1 <= number <= MAX_ID:
        raise NotFound(f"no incident #{number}")
    incident = session.scalar(
        select(Incident).where(Incident.number == number).with_for_update()
    )
    if incident is None or not can_see_team(actor, incident.service.team_id):
        raise NotFound(f"no incident #{number}")
    return incident


def set_severity(
    ctx: Context, actor: Actor, number: int, severity: str, reason: str
) -> IncidentRead:
    """Change the incident's severity, saying why. The same severity again
    changes nothing and adds nothing to the timeline."""
    require_role(actor, Role.RESPONDER)
    reason = rules.check_text(reason, "a reason", rules.MAX_REASON, required=True)

    with ctx.db.write() as session:
        scales = load_scales(session)
        level = scales.level(Scale.SEVERITY, severity)
        incident = locked(session, actor, number)
        if incident.severity != level.key:
            change_severity(session, ctx, incident, actor, level.key, reason)
        return _read(session, incident)


def change_severity(
    session: Session,
    ctx: Context,
    incident: Incident,
    actor: Actor,
    severity: str,
    reason: str,
    **data: Any,
) -> None:
    """Set a known severity on a locked incident, on the timeline and audited."""
    scales = load_scales(session)
    previous = incident.severity
    now = ctx.clock.now()
    incident.severity = severity
    incident.updated_at = now
    before, after = (
        _name(scales, Scale.SEVERITY, previous),
        _name(scales, Scale.SEVERITY, severity),
    )
    add_timeline(
        session,
        incident,
        at=now,
        kind="severity_changed",
        message=f"Severity changed from {before} to {after} by {actor.label}: {reason}",
        actor=actor,
        previous=previous,
        severity=severity,
        reason=reason,
        **data,
    )
    cadence.follow_severity(session, ctx, incident)
    audit(
        session,
        actor,
        at=now,
        action="incident.severity",
        object_type="incident",
        object_id=incident.id,
        number=incident.number,
        previous=previous,
        severity=severity,
        reason=reason,
    )


def set_priority(
    ctx: Context, actor: Actor, number: int, impact: str, urgency: str, reason: str
) -> IncidentRead:
    """Set impact and urgency; the matrix gives the priority. Saying why is
    required; the same pair again changes nothing."""
    require_role(actor, Role.RESPONDER)
    reason = rules.check_text(reason, "a reason", rules.MAX_REASON, required=True)

    with ctx.db.write() as session:
        scales = load_scales(session)
        scales.level(Scale.IMPACT, impact)
        scales.level(Scale.URGENCY, urgency)
        priority = rules.priority_of(scales.matrix, impact, urgency)
        incident = locked(session, actor, number)
        if (incident.impact, incident.urgency, incident.priority) != (
            impact,
            urgency,
            priority,
        ):
            change_priority(session, ctx, incident, actor, impact, urgency, reason)
        return _read(session, incident)


def change_priority(
    session: Session,
    ctx: Context,
    incident: Incident,
    actor: Actor,
    impact: str,
    urgency: str,
    reason: str,
) -> None:
    """Set known impact and urgency, and the priority they yield, on a locked
    incident; on the timeline and audited."""
    scales = load_scales(session)
    priority = rules.priority_of(scales.matrix, impact, urgency)
    previous = incident.priority
    now = ctx.clock.now()
    incident.impact, incident.urgency, incident.priority = impact, urgency, priority
    incident.updated_at = now
    after = _name(scales, Scale.PRIORITY, priority)
    was = f" (was {_name(scales, Scale.PRIORITY, previous)})" if previous else ""
    add_timeline(
        session,
        incident,
        at=now,
        kind="priority_changed",
        message=f"Priority set to {after}{was} by {actor.label}: impact "
        f"{_name(scales, Scale.IMPACT, impact)}, urgency "
        f"{_name(scales, Scale.URGENCY, urgency)}. {reason}",
        actor=actor,
        previous=previous,
        priority=priority,
        impact=impact,
        urgency=urgency,
        reason=reason,
    )
    audit(
        session,
        actor,
        at=now,
        action="incident.priority",
        object_type="incident",
        object_id=incident.id,
        number=incident.number,
        previous=previous,
        priority=priority,
        impact=impact,
        urgency=urgency,
        reason=reason,
    )


def update_impact(
    ctx: Context, actor: Actor, number: int, changes: Mapping[str, Any]
) -> IncidentRead:
    """Change some impact fields (IMPACT_FIELDS); those left out stay as they
    are. `incident_type` is a type's key, or None to clear it;
    `affected_service_ids` replaces the list. Raises InvalidInput, with
    nothing changed, for an unknown field, service or type."""
    require_role(actor, Role.RESPONDER)
    unknown = set(changes) - set(IMPACT_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown impact field(s): {', '.join(sorted(unknown))}")
    if not changes:
        raise InvalidInput("name at least one impact field to change")

    with ctx.db.write() as session:
        incident = locked(session, actor, number)
        change_impact(session, ctx, incident, actor, changes)
        return _read(session, incident)


def change_impact(
    session: Session,
    ctx: Context,
    incident: Incident,
    actor: Actor,
    changes: Mapping[str, Any],
    reason: str = "",
) -> bool:
    """Apply impact changes to a locked incident, all or none, on the
    timeline (with `reason` when given) and audited. Returns whether anything
    changed; the same values again add nothing. Raises InvalidInput as
    `update_impact` does."""
    changed = _apply_impact(session, actor, incident, changes)
    if not changed:
        return False

    now = ctx.clock.now()
    incident.updated_at = now
    why = f": {reason}" if reason else ""
    extra = {"reason": reason} if reason else {}
    add_timeline(
        session,
        incident,
        at=now,
        kind="impact_updated",
        message=f"Impact updated by {actor.label}: {'; '.join(changed.values())}" + why,
        actor=actor,
        fields=sorted(changed),
        **extra,
    )
    audit(
        session,
        actor,
        at=now,
        action="incident.impact",
        object_type="incident",
        object_id=incident.id,
        number=incident.number,
        fields=sorted(changed),
        **extra,
    )
    return True


def _apply_impact(
    session: Session, actor: Actor, incident: Incident, changes: Mapping[str, Any]
) -> dict[str, str]:
    """Check every change first, then apply them; returns what changed, as
    field -> words for the timeline."""
    said: dict[str, str] = {}
    if "affected_service_ids" in changes:
        wanted = _affected(session, actor, changes["affected_service_ids"])
        current = set(
            session.scalars(
                select(IncidentService.service_id).where(
                    IncidentService.incident_id == incident.id
                )
            )
        )
        if set(wanted) != current:
            said["affected_service_ids"] = "affected services " + (
                ", ".join(wanted.values()) or "none"
            )
    if "customers_affected" in changes:
        count = changes["customers_affected"]
        if count is not None and (
            not isinstance(count, int) or isinstance(count, bool)
        ):
            raise InvalidInput("customers_affected is a whole number")
        if count is not None and not 0 <= count <= MAX_CUSTOMERS:
            raise InvalidInput(f"customers_affected is 0 to {MAX_CUSTOMERS}")
    for flag in (
        "customers_affected_estimated",
        "impact_financial",
        "impact_reputational",
        "impact_legal",
    ):
        if flag in changes and not isinstance(changes[flag], bool):
            raise InvalidInput(f"{flag} is true or false")
    business = changes.get("business_impact")
    if business is not None:
        business = rules.check_text(
            str(business), "business_impact", MAX_BUSINESS_IMPACT
        )
    type_id: int | None = incident.incident_type_id
    type_name = ""
    if "incident_type" in changes:
        key = changes["incident_type"]
        if key is None or key == "":
            type_id, type_name = None, "none"
        else:
            row = find_type(session, str(key), for_new=False)
            type_id, type_name = row.id, row.name

    # Everything is valid: apply.
    if "affected_service_ids" in said:
        session.execute(delete(_AFFECTED).where(_AFFECTED.c.incident_id == incident.id))
        if wanted:
            session.execute(
                insert(_AFFECTED),
                [{"incident_id": incident.id, "service_id": sid} for sid in wanted],
            )
    if "customers_affected" in changes:
        count = changes["customers_affected"]
        if count != incident.customers_affected:
            incident.customers_affected = count
            said["customers_affected"] = f"customers affected {_count(count)}"
    if "customers_affected_estimated" in changes:
        estimated = changes["customers_affected_estimated"]
        if estimated != incident.customers_affected_estimated:
            incident.customers_affected_estimated = estimated
            said["customers_affected_estimated"] = (
                "the count is an estimate" if estimated else "the count is exact"
            )
    if business is not None and business != incident.business_impact:
        incident.business_impact = business
        said["business_impact"] = "business impact described"
    for flag, word in (
        ("impact_financial", "financial"),
        ("impact_reputational", "reputational"),
        ("impact_legal", "legal or regulatory"),
    ):
        if flag in changes and changes[flag] != getattr(incident, flag):
            setattr(incident, flag, changes[flag])
            said[flag] = f"{word} impact {'yes' if changes[flag] else 'no'}"
    if "incident_type" in changes and type_id != incident.incident_type_id:
        incident.incident_type_id = type_id
        said["incident_type"] = f"type {type_name}"

    return said


def _affected(session: Session, actor: Actor, value: Any) -> dict[int, str]:
    """Service id -> name for a list of ids; InvalidInput for unknown ones and
    for other teams' (their names would be told back), as everywhere else."""
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        raise InvalidInput("affected_service_ids is a list of service ids")
    ids = list(dict.fromkeys(value))
    if len(ids) > MAX_AFFECTED_SERVICES:
        raise InvalidInput(f"at most {MAX_AFFECTED_SERVICES} affected services")
    if any(not 1 <= item <= MAX_ID for item in ids):
        raise InvalidInput("a service id is a positive 32-bit number")

    rows = session.execute(
        select(Service.id, Service.name, Service.team_id).where(Service.id.in_(ids))
    ).all()
    names = {row.id: row.name for row in rows if can_see_team(actor, row.team_id)}
    missing = [str(item) for item in ids if item not in names]
    if missing:
        raise InvalidInput(f"no service with id {', '.join(missing)}")
    return {item: names[item] for item in sorted(ids, key=lambda i: names[i])}


def set_stage(
    ctx: Context, actor: Actor, number: int, stage: str, note: str = ""
) -> IncidentRead:
    """Move a declared incident to another stage. The first time it reaches
    identified or monitoring is stamped and kept; resolved resolves it."""
    require_role(actor, Role.RESPONDER)
    try:
        target = Stage(stage)
    except ValueError:
        raise InvalidInput(
            f"stage is one of {', '.join(s.value for s in Stage)}"
        ) from None
    note = rules.check_text(note, "a note", rules.MAX_REASON)

    with ctx.db.write() as session:
        incident = locked(session, actor, number)
        if not incident.declared:
            raise Conflict(
                f"incident #{number} is not declared; declare it to track its stage"
            )
        if incident.stage == target:
            return _read(session, incident)
        if incident.status == IncidentStatus.RESOLVED:
            # Status and stage must agree; a resolved incident stays resolved.
            raise Conflict(f"incident #{number} is resolved; its stage stays resolved")

        now = ctx.clock.now()
        previous = incident.stage
        incident.stage = target
        incident.updated_at = now
        if target is Stage.IDENTIFIED and incident.identified_at is None:
            incident.identified_at = now
        if target is Stage.MONITORING and incident.monitoring_at is None:
            incident.monitoring_at = now
        add_timeline(
            session,
            incident,
            at=now,
            kind="stage_changed",
            message=f"Stage {target} (was {previous or 'none'}) by {actor.label}"
            + (f": {note}" if note else ""),
            actor=actor,
            previous=previous,
            stage=target.value,
        )
        audit(
            session,
            actor,
            at=now,
            action="incident.stage",
            object_type="incident",
            object_id=incident.id,
            number=incident.number,
            previous=previous,
            stage=target.value,
        )
        if target is Stage.RESOLVED and incident.status != IncidentStatus.RESOLVED:
            incidents.resolve_locked(session, ctx, incident, actor)
        return _read(session, incident)


def _name(scales: Any, scale: Scale, key: str | None) -> str:
    """A level's display name; the key in capitals for a level since removed."""
    if key is None:
        return "none"
    for level in scales.levels[scale]:
        if level.key == key:
            return str(level.name)
    return key.upper()


def _count(count: int | None) -> str:
    return "unknown" if count is None else str(count)


def _read(session: Session, incident: Incident) -> IncidentRead:
    """The incident as it is now, its relationships loaded afresh."""
    session.flush()
    session.refresh(incident)
    return IncidentRead.model_validate(incident)
