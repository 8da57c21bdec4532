"""Triage routes: the scales and matrix, incident types, triage owners,
declaration triggers, and the triage decisions on an incident (declare,
severity, priority, impact, stage).

Routes parse and call one service function; rules, authorisation (admins
configure, responders triage within their teams) and the audit trail live in
the services.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.domain import triage as rules
from tocsin.domain.triage import Level, Scale, Stage
from tocsin.errors import InvalidInput
from tocsin.schemas import IncidentRead
from tocsin.services import declaration, incident_triage, triage
from tocsin.services import declaration_triggers as triggers
from tocsin.triage_schemas import (
    IncidentTypeRead,
    TriageOwnerRead,
    TriageScalesRead,
    TriggerRead,
)

router = APIRouter(tags=["triage"])

MAX_ID = 2**31 - 1
Number = Annotated[
    int, Path(ge=1, le=MAX_ID, description="The incident's number, as in #42.")
]
Key = Annotated[str, Field(min_length=1, max_length=rules.MAX_KEY)]
Reason = Annotated[
    str,
    Field(
        min_length=1,
        max_length=rules.MAX_REASON,
        description="Why: kept on the timeline with who decided.",
    ),
]
OptionalId = Annotated[int | None, Field(default=None, ge=1, le=MAX_ID)]


class _Body(BaseModel):
    # A misspelt field is an error, not something silently ignored.
    model_config = ConfigDict(extra="forbid")


class LevelIn(_Body):
    key: Key
    name: str = Field(min_length=1, max_length=rules.MAX_NAME)
    rank: int = Field(ge=1, le=rules.MAX_LEVELS, description="1 is the worst.")
    description: str = Field(default="", max_length=rules.MAX_DESCRIPTION)
    examples: str = Field(default="", max_length=rules.MAX_EXAMPLES)


class CellIn(_Body):
    impact: Key
    urgency: Key
    priority: Key


class ScalesUpdate(_Body):
    """Every scale and the whole matrix, replaced together so they agree."""

    severity: list[LevelIn] = Field(max_length=rules.MAX_LEVELS)
    impact: list[LevelIn] = Field(max_length=rules.MAX_LEVELS)
    urgency: list[LevelIn] = Field(max_length=rules.MAX_LEVELS)
    priority: list[LevelIn] = Field(max_length=rules.MAX_LEVELS)
    matrix: list[CellIn] = Field(max_length=rules.MAX_LEVELS**2)


class IncidentTypeCreate(_Body):
    key: Key
    name: str = Field(min_length=1, max_length=triage.MAX_TYPE_NAME)
    description: str = Field(default="", max_length=rules.MAX_DESCRIPTION)
    default_severity: Key | None = None


class IncidentTypeUpdate(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=rules.MAX_DESCRIPTION)
    default_severity: Key | None = Field(
        default=None, description="A severity key; null clears it."
    )
    active: bool | None = None


class OwnerSet(_Body):
    """A service or a team (or neither: the default owner) and one schedule
    or one user."""

    service_id: OptionalId = None
    team_id: OptionalId = None
    schedule_id: OptionalId = None
    user_id: OptionalId = None


class TriggerWrite(_Body):
    name: str = Field(min_length=1, max_length=triggers.MAX_NAME)
    severity: Key = Field(description="The severity the incident is declared at.")
    matchers: list[str] = Field(
        default_factory=list,
        max_length=rules.MAX_MATCHERS,
        examples=[["env=prod", "instance=~db-.*"]],
        description="Label matchers: NAME=VALUE, NAME!=VALUE, NAME=~RE, NAME!~RE.",
    )
    service_id: OptionalId = None
    min_alert_severity: str = Field(
        default="error", description="critical, error, warning or info."
    )
    alert_count: int = Field(default=1, ge=1, le=triggers.MAX_COUNT)
    window_minutes: int = Field(default=10, ge=1, le=triggers.MAX_WINDOW_MINUTES)
    incident_type: Key | None = None
    enabled: bool = True

    def spec(self) -> triggers.TriggerSpec:
        return triggers.TriggerSpec(
            name=self.name,
            severity=self.severity,
            matchers=tuple(self.matchers),
            service_id=self.service_id,
            min_alert_severity=self.min_alert_severity,
            alert_count=self.alert_count,
            window_minutes=self.window_minutes,
            incident_type=self.incident_type,
            enabled=self.enabled,
        )


class IncidentDeclare(_Body):
    service_id: int = Field(ge=1, le=MAX_ID)
    title: str = Field(min_length=1, max_length=declaration.MAX_TITLE)
    reason: Reason
    severity: Key | None = Field(
        default=None, description="Default: the type's default, else sev3."
    )
    incident_type: Key | None = None
    description: str = Field(default="", max_length=declaration.MAX_DESCRIPTION)
    impact: Key | None = None
    urgency: Key | None = None


class ExistingDeclare(_Body):
    reason: Reason
    severity: Key | None = None
    incident_type: Key | None = None


class SeverityChange(_Body):
    severity: Key
    reason: Reason


class PriorityChange(_Body):
    impact: Key
    urgency: Key
    reason: Reason


class ImpactUpdate(_Body):
    """Only the fields sent change."""

    affected_service_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, max_length=incident_triage.MAX_AFFECTED_SERVICES
    )
    customers_affected: int | None = Field(
        default=None, ge=0, le=incident_triage.MAX_CUSTOMERS
    )
    customers_affected_estimated: bool | None = None
    business_impact: str | None = Field(
        default=None, max_length=incident_triage.MAX_BUSINESS_IMPACT
    )
    impact_financial: bool | None = None
    impact_reputational: bool | None = None
    impact_legal: bool | None = None
    incident_type: Key | None = Field(
        default=None, description="A type's key; null clears it."
    )


class StageChange(_Body):
    stage: Stage
    note: str = Field(default="", max_length=rules.MAX_REASON)


# --- configuration -----------------------------------------------------------------


@router.get(
    "/triage/scales",
    operation_id="getTriageScales",
    summary="Severity, impact, urgency and priority levels, and the matrix",
    response_model=TriageScalesRead,
    responses=problem_responses(),
)
def get_scales(ctx: CtxDep, actor: ActorDep) -> TriageScalesRead:
    return triage.scales(ctx)


@router.put(
    "/triage/scales",
    operation_id="replaceTriageScales",
    summary="Replace every scale and the matrix (admins)",
    response_model=TriageScalesRead,
    responses=problem_responses(400, 403, 409, 422),
)
def replace_scales(
    ctx: CtxDep, actor: ActorDep, body: ScalesUpdate
) -> TriageScalesRead:
    """Levels are ranked from 1 (worst); every impact x urgency pair needs a
    priority, and a pair worse on both axes never gets a later one. A level
    still used by an open incident cannot be removed (409)."""
    levels = {
        scale: [Level(**level.model_dump()) for level in getattr(body, scale.value)]
        for scale in Scale
    }
    matrix: dict[tuple[str, str], str] = {}
    for cell in body.matrix:
        matrix[(cell.impact, cell.urgency)] = cell.priority
    if len(matrix) != len(body.matrix):
        raise InvalidInput("the matrix names an impact x urgency pair twice")
    return triage.replace_scales(ctx, actor, levels, matrix)


@router.get(
    "/triage/incident-types",
    operation_id="listIncidentTypes",
    summary="The catalogue of incident types",
    response_model=list[IncidentTypeRead],
    responses=problem_responses(),
)
def list_types(ctx: CtxDep, actor: ActorDep) -> list[IncidentTypeRead]:
    return triage.list_types(ctx)


@router.post(
    "/triage/incident-types",
    operation_id="createIncidentType",
    summary="Add an incident type (admins)",
    status_code=201,
    response_model=IncidentTypeRead,
    responses=problem_responses(400, 403, 409, 422),
)
def create_type(
    ctx: CtxDep, actor: ActorDep, body: IncidentTypeCreate
) -> IncidentTypeRead:
    return triage.create_type(ctx, actor, **body.model_dump())


@router.patch(
    "/triage/incident-types/{key}",
    operation_id="updateIncidentType",
    summary="Change or retire an incident type (admins)",
    response_model=IncidentTypeRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def update_type(
    ctx: CtxDep,
    actor: ActorDep,
    key: Annotated[str, Path(max_length=rules.MAX_KEY)],
    body: IncidentTypeUpdate,
) -> IncidentTypeRead:
    sent = body.model_fields_set
    return triage.update_type(
        ctx,
        actor,
        key,
        name=body.name,
        description=body.description,
        default_severity=body.default_severity,
        clear_default_severity="default_severity" in sent
        and body.default_severity is None,
        active=body.active,
    )


@router.get(
    "/triage/owners",
    operation_id="listTriageOwners",
    summary="Who triages reports, per service, per team and by default",
    response_model=list[TriageOwnerRead],
    responses=problem_responses(403),
)
def list_owners(ctx: CtxDep, actor: ActorDep) -> list[TriageOwnerRead]:
    return triage.list_owners(ctx, actor)


@router.put(
    "/triage/owners",
    operation_id="setTriageOwner",
    summary="Set the triage owner of a service, a team, or the default (admins)",
    response_model=TriageOwnerRead,
    responses=problem_responses(400, 403, 404, 422),
)
def set_owner(ctx: CtxDep, actor: ActorDep, body: OwnerSet) -> TriageOwnerRead:
    return triage.set_owner(ctx, actor, **body.model_dump())


@router.delete(
    "/triage/owners",
    operation_id="removeTriageOwner",
    summary="Remove the triage owner of a service, a team, or the default",
    status_code=204,
    responses=problem_responses(403, 404, 422),
)
def remove_owner(
    ctx: CtxDep,
    actor: ActorDep,
    service_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    team_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    triage.remove_owner(ctx, actor, service_id=service_id, team_id=team_id)
    return Response(status_code=204)


@router.get(
    "/triage/triggers",
    operation_id="listDeclarationTriggers",
    summary="Declaration triggers: rules over alerts that declare incidents",
    response_model=list[TriggerRead],
    responses=problem_responses(403),
)
def list_triggers(ctx: CtxDep, actor: ActorDep) -> list[TriggerRead]:
    return triggers.list_triggers(ctx, actor)


@router.post(
    "/triage/triggers",
    operation_id="createDeclarationTrigger",
    summary="Add a declaration trigger (admins)",
    status_code=201,
    response_model=TriggerRead,
    responses=problem_responses(400, 403, 409, 422),
)
def create_trigger(ctx: CtxDep, actor: ActorDep, body: TriggerWrite) -> TriggerRead:
    return triggers.create_trigger(ctx, actor, body.spec())


@router.put(
    "/triage/triggers/{trigger_id}",
    operation_id="replaceDeclarationTrigger",
    summary="Replace a declaration trigger's settings (admins)",
    response_model=TriggerRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def replace_trigger(
    ctx: CtxDep,
    actor: ActorDep,
    trigger_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: TriggerWrite,
) -> TriggerRead:
    return triggers.replace_trigger(ctx, actor, trigger_id, body.spec())


@router.delete(
    "/triage/triggers/{trigger_id}",
    operation_id="deleteDeclarationTrigger",
    summary="Delete a declaration trigger (admins)",
    status_code=204,
    responses=problem_responses(403, 404, 422),
)
def delete_trigger(
    ctx: CtxDep,
    actor: ActorDep,
    trigger_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> Response:
    triggers.delete_trigger(ctx, actor, trigger_id)
    return Response(status_code=204)


# --- decisions on incidents ----------------------------------------------------------


@router.post(
    "/incidents/declare",
    operation_id="declareIncident",
    summary="Declare a new incident on a service, saying why",
    status_code=201,
    response_model=IncidentRead,
    responses=problem_responses(400, 403, 404, 422),
)
def declare(ctx: CtxDep, actor: ActorDep, body: IncidentDeclare) -> IncidentRead:
    """The incident pages through the service's escalation policy, starts at
    stage investigating, and records the reason and who declared it."""
    return declaration.declare(ctx, actor, declaration.Declaration(**body.model_dump()))


@router.post(
    "/incidents/{number}/declare",
    operation_id="declareExistingIncident",
    summary="Declare an incident that an alert opened",
    response_model=IncidentRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def declare_existing(
    ctx: CtxDep, actor: ActorDep, number: Number, body: ExistingDeclare
) -> IncidentRead:
    return declaration.declare_incident(ctx, actor, number, **body.model_dump())


@router.post(
    "/incidents/{number}/severity",
    operation_id="setIncidentSeverity",
    summary="Change an incident's severity, saying why",
    response_model=IncidentRead,
    responses=problem_responses(400, 403, 404, 422),
)
def set_severity(
    ctx: CtxDep, actor: ActorDep, number: Number, body: SeverityChange
) -> IncidentRead:
    return incident_triage.set_severity(ctx, actor, number, body.severity, body.reason)


@router.post(
    "/incidents/{number}/priority",
    operation_id="setIncidentPriority",
    summary="Set impact and urgency; the matrix gives the priority",
    response_model=IncidentRead,
    responses=problem_responses(400, 403, 404, 422),
)
def set_priority(
    ctx: CtxDep, actor: ActorDep, number: Number, body: PriorityChange
) -> IncidentRead:
    return incident_triage.set_priority(
        ctx, actor, number, body.impact, body.urgency, body.reason
    )


@router.patch(
    "/incidents/{number}/impact",
    operation_id="updateIncidentImpact",
    summary="Change impact fields: affected services, customers, business impact",
    response_model=IncidentRead,
    responses=problem_responses(400, 403, 404, 422),
)
def update_impact(
    ctx: CtxDep, actor: ActorDep, number: Number, body: ImpactUpdate
) -> IncidentRead:
    """Only the fields sent change; `incident_type: null` clears the type."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    return incident_triage.update_impact(ctx, actor, number, changes)


@router.post(
    "/incidents/{number}/stage",
    operation_id="setIncidentStage",
    summary="Move a declared incident to another stage",
    response_model=IncidentRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def set_stage(
    ctx: CtxDep, actor: ActorDep, number: Number, body: StageChange
) -> IncidentRead:
    """Resolved resolves the incident; the first time it reaches identified or
    monitoring is kept."""
    return incident_triage.set_stage(ctx, actor, number, body.stage, body.note)
