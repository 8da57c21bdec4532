"""Status page administration under /api/v1/status-page: components and groups,
public incidents and their updates, maintenance, subscribers.

Reads need any token (subscribers excepted: their addresses need the managing
role); writes need the role that manages the page. The public page, its feed
and its summary are served without a token by tocsin.web.status_page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.api.schemas import MAX_ID
from tocsin.domain.status_page import ComponentState, Stage
from tocsin.services import status_maintenance, status_page, status_subscribers
from tocsin.services.status_common import (
    AUTO,
    MAX_COMPONENTS,
    MAX_DESCRIPTION,
    MAX_MESSAGE,
    MAX_NAME,
    MAX_POSITION,
    MAX_TITLE,
)
from tocsin.services.status_reads import (
    StatusComponentRead,
    StatusGroupRead,
    StatusIncidentRead,
    StatusMaintenanceRead,
)

router = APIRouter(prefix="/status-page", tags=["status page"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Position = Annotated[int, Field(ge=-MAX_POSITION, le=MAX_POSITION)]
Impact = Annotated[
    ComponentState,
    Field(description="degraded, partial_outage or major_outage."),
]


class _Create(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusGroupCreate(_Create):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    position: Position = 0


class StatusComponentCreate(_Create):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    service_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="A service whose incidents, posted to the page, affect it.",
    )
    position: Position = 0


class StatusComponentUpdate(_Create):
    """Only the fields sent change; `null` for group_id or service_id unlinks."""

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    service_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    position: Position | None = None


class ComponentStateCreate(_Create):
    state: ComponentState | None = Field(
        description="The state to show until cleared; null to follow incidents "
        "and maintenance again."
    )


class StatusIncidentCreate(_Create):
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    impact: Impact
    component_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=MAX_COMPONENTS
    )
    message: str = Field(min_length=1, max_length=MAX_MESSAGE)
    stage: Stage = Stage.INVESTIGATING
    incident_number: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The Tocsin incident it is about."
    )


class StatusIncidentUpdate(_Create):
    """Corrections; no update is posted and nobody is told."""

    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    impact: Impact | None = None
    component_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, max_length=MAX_COMPONENTS
    )


class StatusUpdateCreate(_Create):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE)
    stage: Stage
    impact: Impact | None = None


class StatusMaintenanceCreate(_Create):
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    component_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1, max_length=MAX_COMPONENTS
    )


class StatusSubscriberRead(BaseModel):
    id: int
    email: str
    confirmed: bool


# Groups ----------------------------------------------------------------------


@router.get(
    "/groups",
    operation_id="listStatusGroups",
    summary="List component groups",
    response_model=list[StatusGroupRead],
    responses=problem_responses(),
)
def list_groups(ctx: CtxDep, actor: ActorDep) -> list[StatusGroupRead]:
    return status_page.list_groups(ctx)


@router.post(
    "/groups",
    operation_id="createStatusGroup",
    summary="Add a component group",
    status_code=201,
    response_model=StatusGroupRead,
    responses=problem_responses(400, 403, 409, 422),
)
def create_group(
    ctx: CtxDep, actor: ActorDep, body: StatusGroupCreate
) -> StatusGroupRead:
    return status_page.create_group(ctx, actor, body.name, position=body.position)


@router.delete(
    "/groups/{group_id}",
    operation_id="deleteStatusGroup",
    summary="Delete a group; its components stay, in no group",
    status_code=204,
    responses=problem_responses(403, 404, 422),
)
def delete_group(ctx: CtxDep, actor: ActorDep, group_id: Id) -> Response:
    status_page.delete_group(ctx, actor, group_id)
    return Response(status_code=204)


# Components ------------------------------------------------------------------


@router.get(
    "/components",
    operation_id="listStatusComponents",
    summary="List components with their states",
    response_model=list[StatusComponentRead],
    responses=problem_responses(),
)
def list_components(ctx: CtxDep, actor: ActorDep) -> list[StatusComponentRead]:
    return status_page.list_components(ctx)


@router.post(
    "/components",
    operation_id="createStatusComponent",
    summary="Add a component, operational from now on",
    status_code=201,
    response_model=StatusComponentRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def create_component(
    ctx: CtxDep, actor: ActorDep, body: StatusComponentCreate
) -> StatusComponentRead:
    return status_page.create_component(
        ctx,
        actor,
        body.name,
        description=body.description,
        group=body.group_id,
        service=body.service_id,
        position=body.position,
    )


@router.patch(
    "/components/{component_id}",
    operation_id="editStatusComponent",
    summary="Change a component's name, description, group, service or position",
    response_model=StatusComponentRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def edit_component(
    ctx: CtxDep, actor: ActorDep, component_id: Id, body: StatusComponentUpdate
) -> StatusComponentRead:
    sent = body.model_fields_set
    return status_page.edit_component(
        ctx,
        actor,
        component_id,
        name=body.name,
        description=body.description,
        group=body.group_id,
        clear_group="group_id" in sent and body.group_id is None,
        service=body.service_id,
        clear_service="service_id" in sent and body.service_id is None,
        position=body.position,
    )


@router.put(
    "/components/{component_id}/state",
    operation_id="setStatusComponentState",
    summary="Set a component's state by hand, or let it follow its incidents",
    response_model=StatusComponentRead,
    responses=problem_responses(400, 403, 404, 422),
)
def set_state(
    ctx: CtxDep, actor: ActorDep, component_id: Id, body: ComponentStateCreate
) -> StatusComponentRead:
    """A state set by hand wins over incidents and maintenance until it is set
    back to null."""
    state = body.state.value if body.state is not None else AUTO
    return status_page.set_component_state(ctx, actor, component_id, state)


@router.delete(
    "/components/{component_id}",
    operation_id="deleteStatusComponent",
    summary="Delete a component and its uptime history",
    status_code=204,
    responses=problem_responses(403, 404, 422),
)
def delete_component(ctx: CtxDep, actor: ActorDep, component_id: Id) -> Response:
    status_page.delete_component(ctx, actor, component_id)
    return Response(status_code=204)


# Incidents -------------------------------------------------------------------


@router.get(
    "/incidents",
    operation_id="listStatusIncidents",
    summary="List public incidents, newest first",
    response_model=list[StatusIncidentRead],
    responses=problem_responses(422),
)
def list_incidents(
    ctx: CtxDep,
    actor: ActorDep,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[StatusIncidentRead]:
    return status_page.list_incidents(ctx, actor, open_only=open_only, limit=limit)


@router.post(
    "/incidents",
    operation_id="createStatusIncident",
    summary="Open a public incident with its first update",
    status_code=201,
    response_model=StatusIncidentRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def create_incident(
    ctx: CtxDep, actor: ActorDep, body: StatusIncidentCreate
) -> StatusIncidentRead:
    """Subscribers are told. With `incident_number` it reports on that Tocsin
    incident, which can have only one public incident (409 otherwise)."""
    return status_page.create_incident(
        ctx,
        actor,
        title=body.title,
        impact=body.impact,
        components=body.component_ids,
        message=body.message,
        stage=body.stage,
        incident_number=body.incident_number,
    )


@router.get(
    "/incidents/{status_incident_id}",
    operation_id="getStatusIncident",
    summary="Read a public incident with its updates",
    response_model=StatusIncidentRead,
    responses=problem_responses(404, 422),
)
def get_incident(
    ctx: CtxDep, actor: ActorDep, status_incident_id: Id
) -> StatusIncidentRead:
    return status_page.get_incident(ctx, actor, status_incident_id)


@router.patch(
    "/incidents/{status_incident_id}",
    operation_id="editStatusIncident",
    summary="Correct a public incident's title, impact or components",
    response_model=StatusIncidentRead,
    responses=problem_responses(400, 403, 404, 422),
)
def edit_incident(
    ctx: CtxDep, actor: ActorDep, status_incident_id: Id, body: StatusIncidentUpdate
) -> StatusIncidentRead:
    return status_page.edit_incident(
        ctx,
        actor,
        status_incident_id,
        title=body.title,
        impact=body.impact,
        components=body.component_ids,
    )


@router.post(
    "/incidents/{status_incident_id}/updates",
    operation_id="addStatusUpdate",
    summary="Post an update to a public incident",
    status_code=201,
    response_model=StatusIncidentRead,
    responses=problem_responses(400, 403, 404, 422),
)
def add_update(
    ctx: CtxDep, actor: ActorDep, status_incident_id: Id, body: StatusUpdateCreate
) -> StatusIncidentRead:
    """Stage `resolved` resolves the incident; its components recover unless
    something else holds them. Subscribers are told."""
    return status_page.add_update(
        ctx,
        actor,
        status_incident_id,
        message=body.message,
        stage=body.stage,
        impact=body.impact,
    )


# Maintenance -----------------------------------------------------------------


@router.get(
    "/maintenance",
    operation_id="listStatusMaintenance",
    summary="List maintenance, latest start first",
    response_model=list[StatusMaintenanceRead],
    responses=problem_responses(),
)
def list_maintenance(ctx: CtxDep, actor: ActorDep) -> list[StatusMaintenanceRead]:
    return status_maintenance.list_maintenance(ctx)


@router.post(
    "/maintenance",
    operation_id="scheduleStatusMaintenance",
    summary="Schedule maintenance; subscribers are told",
    status_code=201,
    response_model=StatusMaintenanceRead,
    responses=problem_responses(400, 403, 404, 422),
)
def schedule_maintenance(
    ctx: CtxDep, actor: ActorDep, body: StatusMaintenanceCreate
) -> StatusMaintenanceRead:
    return status_maintenance.schedule_maintenance(
        ctx,
        actor,
        title=body.title,
        description=body.description,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        components=body.component_ids,
    )


@router.post(
    "/maintenance/{maintenance_id}/cancel",
    operation_id="cancelStatusMaintenance",
    summary="Cancel maintenance that has not finished",
    response_model=StatusMaintenanceRead,
    responses=problem_responses(403, 404, 409, 422),
)
def cancel_maintenance(
    ctx: CtxDep, actor: ActorDep, maintenance_id: Id
) -> StatusMaintenanceRead:
    return status_maintenance.cancel_maintenance(ctx, actor, maintenance_id)


# Subscribers -----------------------------------------------------------------


@router.get(
    "/subscribers",
    operation_id="listStatusSubscribers",
    summary="List subscribers and whether they confirmed",
    response_model=list[StatusSubscriberRead],
    responses=problem_responses(403),
)
def list_subscribers(ctx: CtxDep, actor: ActorDep) -> list[StatusSubscriberRead]:
    return [
        StatusSubscriberRead(
            id=row.id, email=row.email, confirmed=row.confirmed_at is not None
        )
        for row in status_subscribers.list_subscribers(ctx, actor)
    ]


@router.delete(
    "/subscribers/{subscriber_id}",
    operation_id="removeStatusSubscriber",
    summary="Remove a subscriber",
    status_code=204,
    responses=problem_responses(403, 404, 422),
)
def remove_subscriber(ctx: CtxDep, actor: ActorDep, subscriber_id: Id) -> Response:
    status_subscribers.remove_subscriber(ctx, actor, subscriber_id)
    return Response(status_code=204)
