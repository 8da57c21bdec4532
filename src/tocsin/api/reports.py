"""Report routes: staff report problems; responders triage reports into
declared incidents or dismiss them. (Customers report through the public web
form, which needs no token.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.api.triage import Key, Reason
from tocsin.domain.triage import ReportStatus
from tocsin.schemas import IncidentRead
from tocsin.services import declaration, reports
from tocsin.services.reports import ReportFilter
from tocsin.triage_schemas import ReportPage, ReportRead

router = APIRouter(prefix="/reports", tags=["reports"])

MAX_ID = 2**31 - 1
ReportId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="The number of the report, as in R-12.")
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportCreate(_Body):
    title: str = Field(min_length=1, max_length=reports.MAX_TITLE)
    description: str = Field(default="", max_length=reports.MAX_DESCRIPTION)
    service_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class ReportDismiss(_Body):
    reason: Reason


class ReportDeclare(_Body):
    reason: Reason
    severity: Key | None = None
    incident_type: Key | None = None
    service_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="The incident's service; needed when the report names none.",
    )
    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=declaration.MAX_TITLE,
        description="Default: the report's title.",
    )


@router.post(
    "",
    operation_id="createReport",
    summary="Report a problem; it waits for triage",
    status_code=201,
    response_model=ReportRead,
    responses=problem_responses(400, 403, 422),
)
def create_report(ctx: CtxDep, actor: ActorDep, body: ReportCreate) -> ReportRead:
    """The triage owner of the service (or its team, or the default owner) is
    told at once and reminded while nobody triages it."""
    return reports.report_as_staff(ctx, actor, **body.model_dump())


@router.get(
    "",
    operation_id="listReports",
    summary="List reports, newest first",
    response_model=ReportPage,
    responses=problem_responses(400, 422),
)
def list_reports(
    ctx: CtxDep,
    actor: ActorDep,
    status: Annotated[
        list[ReportStatus] | None,
        Query(description="Only these statuses (repeat for several)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> ReportPage:
    where = ReportFilter(status=tuple(status or ()), limit=limit, offset=offset)
    return reports.list_reports(ctx, actor, where)


@router.get(
    "/{report_id}",
    operation_id="getReport",
    summary="Read a report",
    response_model=ReportRead,
    responses=problem_responses(404, 422),
)
def get_report(ctx: CtxDep, actor: ActorDep, report_id: ReportId) -> ReportRead:
    return reports.get_report(ctx, actor, report_id)


@router.post(
    "/{report_id}/dismiss",
    operation_id="dismissReport",
    summary="Triage a report as no incident, saying why",
    response_model=ReportRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def dismiss(
    ctx: CtxDep, actor: ActorDep, report_id: ReportId, body: ReportDismiss
) -> ReportRead:
    return reports.dismiss(ctx, actor, report_id, body.reason)


@router.post(
    "/{report_id}/declare",
    operation_id="declareReport",
    summary="Triage a report into a new declared incident",
    status_code=201,
    response_model=IncidentRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def declare(
    ctx: CtxDep, actor: ActorDep, report_id: ReportId, body: ReportDeclare
) -> IncidentRead:
    return declaration.declare_report(ctx, actor, report_id, **body.model_dump())
