"""Incident routes: list, read, acknowledge, resolve, reopen, reassign, annotate.

Each route parses its input, calls one service function and returns what that
function returns; authorisation, state rules and the audit trail live in the
services.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.api.schemas import (
    MAX_ID,
    IncidentDetail,
    IncidentPage,
    IncidentRead,
    NoteCreate,
    ReassignCreate,
    ReopenCreate,
    Severity,
)
from tocsin.domain.incidents import IncidentStatus
from tocsin.services import incidents, manual_escalation
from tocsin.services.incidents import IncidentFilter

router = APIRouter(prefix="/incidents", tags=["incidents"])

Number = Annotated[
    int, Path(ge=1, le=MAX_ID, description="The incident's number, as in #42.")
]
Id = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Instant = Annotated[
    AwareDatetime | None,
    Query(description="ISO 8601 with a UTC offset, as 2026-03-02T09:00:00Z."),
]


@router.get(
    "",
    operation_id="listIncidents",
    summary="List incidents, newest first",
    response_model=IncidentPage,
    response_description="One page of the matching incidents.",
    responses=problem_responses(422),
)
def list_incidents(
    ctx: CtxDep,
    actor: ActorDep,
    status: Annotated[
        list[IncidentStatus] | None,
        Query(description="Only these statuses (repeat for several)."),
    ] = None,
    severity: Annotated[
        list[Severity] | None,
        Query(description="Only these severities (repeat for several)."),
    ] = None,
    service_id: Id = None,
    team_id: Id = None,
    since: Instant = None,
    until: Instant = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> IncidentPage:
    """Incidents the token's user may see, newest first. `since` is inclusive
    and `until` exclusive, both on the time the incident opened; `total` counts
    every match, not only this page."""
    where = IncidentFilter(
        status=tuple(status or ()),
        severity=tuple(severity or ()),
        service_id=service_id,
        team_id=team_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return incidents.list_incidents(ctx, actor, where)


@router.get(
    "/{number}",
    operation_id="getIncident",
    summary="Read an incident with its alerts and timeline",
    response_model=IncidentDetail,
    response_description="The incident.",
    responses=problem_responses(404, 422),
)
def get_incident(ctx: CtxDep, actor: ActorDep, number: Number) -> IncidentDetail:
    return incidents.get(ctx, actor, number)


@router.post(
    "/{number}/acknowledge",
    operation_id="acknowledgeIncident",
    summary="Acknowledge an incident: paging stops",
    response_model=IncidentRead,
    response_description="The incident, acknowledged.",
    responses=problem_responses(403, 404, 409, 422),
)
def acknowledge(ctx: CtxDep, actor: ActorDep, number: Number) -> IncidentRead:
    """Acknowledging an acknowledged incident changes nothing and succeeds;
    acknowledging a resolved one is a conflict."""
    return incidents.acknowledge(ctx, actor, number)


@router.post(
    "/{number}/resolve",
    operation_id="resolveIncident",
    summary="Resolve an incident and its firing alerts",
    response_model=IncidentRead,
    response_description="The incident, resolved.",
    responses=problem_responses(403, 404, 422),
)
def resolve(ctx: CtxDep, actor: ActorDep, number: Number) -> IncidentRead:
    """Resolving a resolved incident changes nothing and succeeds."""
    return incidents.resolve(ctx, actor, number)


@router.post(
    "/{number}/reopen",
    operation_id="reopenIncident",
    summary="Reopen a resolved incident: it triggers and pages again",
    response_model=IncidentRead,
    response_description="The incident, triggered again.",
    responses=problem_responses(400, 403, 404, 409, 413, 422),
)
def reopen(
    ctx: CtxDep, actor: ActorDep, number: Number, body: ReopenCreate | None = None
) -> IncidentRead:
    """The body, with its reason, is optional. The escalation policy starts
    again at step 1 (held while the service is in maintenance); a declared
    incident goes back to investigating; the first acknowledgement and
    resolution stay as stamped. Reopening an incident that is not resolved is
    a conflict and changes nothing."""
    return incidents.reopen(ctx, actor, number, body.reason if body else "")


@router.post(
    "/{number}/escalate",
    operation_id="escalateIncident",
    summary="Page the next escalation step now instead of waiting its delay",
    response_model=IncidentRead,
    response_description="The incident, escalated.",
    responses=problem_responses(403, 404, 409, 422),
)
def escalate(ctx: CtxDep, actor: ActorDep, number: Number) -> IncidentRead:
    """An acknowledged incident goes back to triggered; a resolved incident, or
    one whose policy has no step left, is a conflict and nothing changes."""
    return manual_escalation.escalate_now(ctx, actor, number)


@router.post(
    "/{number}/reassign",
    operation_id="reassignIncident",
    summary="Hand an incident to another user, who is paged",
    response_model=IncidentRead,
    response_description="The incident, with its new assignee.",
    responses=problem_responses(400, 403, 404, 409, 413, 422),
)
def reassign(
    ctx: CtxDep, actor: ActorDep, number: Number, body: ReassignCreate
) -> IncidentRead:
    """An acknowledged incident goes back to triggered, so that the new
    assignee's acknowledgement is the one that counts."""
    return incidents.reassign(ctx, actor, number, body.user_id)


@router.post(
    "/{number}/notes",
    operation_id="addIncidentNote",
    summary="Add a note to an incident's timeline",
    status_code=201,
    response_model=IncidentDetail,
    response_description="The incident, the note last on its timeline.",
    responses=problem_responses(400, 403, 404, 413, 422),
)
def add_note(
    ctx: CtxDep, actor: ActorDep, number: Number, body: NoteCreate
) -> IncidentDetail:
    """Returns the incident with the note at the end of its timeline."""
    return incidents.add_note(ctx, actor, number, body.text, body.tag)
