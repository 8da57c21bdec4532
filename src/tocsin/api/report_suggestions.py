"""A report's triage suggestions over the API; reading them needs only what
reading the report needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.services import report_suggestions

router = APIRouter(prefix="/reports", tags=["reports"])

MAX_ID = 2**31 - 1
ReportId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="The number of the report, as in R-12.")
]


class ReportSuggestionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    field: str = Field(description="severity, incident_type or service.")
    value: str = Field(description="The suggested value.")
    current: str | None = Field(description="The report's service, for service.")
    confidence: float = Field(description="From 0 to 1.")
    reasons: list[str] = Field(description="What drove the suggestion most.")
    source: str = Field(description="rules, synthetic or history.")


@router.get(
    "/{report_id}/suggestions",
    operation_id="listReportSuggestions",
    summary="Suggested severity, type and owning service for a report",
    response_model=list[ReportSuggestionRead],
    responses=problem_responses(404, 422),
)
def list_report_suggestions(
    ctx: CtxDep, actor: ActorDep, report_id: ReportId
) -> list[ReportSuggestionRead]:
    """Computed on each read from the report's title and description."""
    found = report_suggestions.suggest_for_report(ctx, actor, report_id)
    return [ReportSuggestionRead.model_validate(item) for item in found]
