"""Maintenance window routes: list, add, and remove (which ends one early)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.api.schemas import MAX_ID
from tocsin.domain.maintenance import Recurrence
from tocsin.services import maintenance
from tocsin.services.maintenance import MAX_DESCRIPTION, MaintenanceRead

router = APIRouter(prefix="/maintenance-windows", tags=["maintenance"])


class MaintenanceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=200, description="By name.")
    starts_at: AwareDatetime = Field(description="The first occurrence's start.")
    ends_at: AwareDatetime = Field(description="The first occurrence's end.")
    recurrence: Recurrence = Recurrence.ONCE
    time_zone: str = Field(
        default="UTC",
        max_length=64,
        description="IANA zone whose wall clock a recurring window keeps.",
    )
    repeat_until: AwareDatetime | None = Field(
        default=None, description="No occurrence starts at or after this."
    )
    description: str = Field(default="", max_length=MAX_DESCRIPTION)


@router.get(
    "",
    operation_id="listMaintenanceWindows",
    summary="List maintenance windows that are in progress or still to come",
    response_model=list[MaintenanceRead],
    response_description="Windows of the caller's teams' services.",
    responses=problem_responses(404, 422),
)
def list_windows(
    ctx: CtxDep,
    actor: ActorDep,
    service: Annotated[
        str | None, Query(max_length=200, description="Only this service.")
    ] = None,
) -> list[MaintenanceRead]:
    return maintenance.list_windows(ctx, actor, service)


@router.post(
    "",
    operation_id="createMaintenanceWindow",
    summary="Add a maintenance window: the service's incidents page nobody in it",
    status_code=201,
    response_model=MaintenanceRead,
    response_description="The window.",
    responses=problem_responses(400, 403, 404, 413, 422),
)
def create_window(
    ctx: CtxDep, actor: ActorDep, body: MaintenanceCreate
) -> MaintenanceRead:
    """Alerts during the window open incidents as usual, but their escalation
    steps (and steps already due) wait until it ends; incidents still
    triggered then are paged."""
    return maintenance.create_window(
        ctx,
        actor,
        body.service,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        recurrence=body.recurrence,
        time_zone=body.time_zone,
        repeat_until=body.repeat_until,
        description=body.description,
    )


@router.delete(
    "/{window_id}",
    operation_id="deleteMaintenanceWindow",
    summary="Remove a maintenance window, ending it now if it is in progress",
    response_model=MaintenanceRead,
    response_description="The window as it was.",
    responses=problem_responses(403, 404, 422),
)
def delete_window(
    ctx: CtxDep,
    actor: ActorDep,
    window_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> MaintenanceRead:
    return maintenance.delete_window(ctx, actor, window_id)
