"""Insight routes: incident metrics across incidents, and an export of the
per-incident figures as CSV or JSON that is safe to open in a spreadsheet.

The figures and their rules: tocsin.domain.metrics and docs/metrics.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.api.schemas import MAX_ID, Severity
from tocsin.errors import InvalidInput
from tocsin.services import insights
from tocsin.services.context import Context
from tocsin.services.insights import InsightFilter, Insights

router = APIRouter(prefix="/insights", tags=["insights"])

Id = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Instant = Annotated[
    AwareDatetime | None,
    Query(description="ISO 8601 with a UTC offset, as 2026-03-02T09:00:00Z."),
]
Severities = Annotated[
    list[Severity] | None,
    Query(description="Only these severities (repeat for several)."),
]
DEFAULT_PERIOD = timedelta(days=30)


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def _filter(
    ctx: Context,
    since: datetime | None,
    until: datetime | None,
    team_id: int | None,
    service_id: int | None,
    severity: list[Severity] | None,
) -> InsightFilter:
    end = until or ctx.clock.now()
    try:
        start = since or end - DEFAULT_PERIOD
    except OverflowError:  # an end in January of year 1
        raise InvalidInput("the period's end must be between 1970 and 2199") from None
    return InsightFilter(
        since=start,
        until=end,
        team_id=team_id,
        service_id=service_id,
        severity=tuple(str(s) for s in severity or ()),
    )


@router.get(
    "",
    operation_id="getInsights",
    summary="Incident metrics over a period",
    response_model=Insights,
    response_description="MTTA, MTTR, trends, noisy services, on-call load.",
    responses=problem_responses(400, 404, 422),
)
def get_insights(
    ctx: CtxDep,
    actor: ActorDep,
    since: Instant = None,
    until: Instant = None,
    team_id: Id = None,
    service_id: Id = None,
    severity: Severities = None,
) -> Insights:
    """Incidents that opened in [since, until) (default: the last 30 days)
    among those the token's user may see. Times are in minutes."""
    where = _filter(ctx, since, until, team_id, service_id, severity)
    return insights.compute(ctx, actor, where)


@router.get(
    "/export",
    operation_id="exportInsights",
    summary="Per-incident metrics as CSV or JSON, safe for spreadsheets",
    response_class=Response,
    response_description="A file to download.",
    responses={
        200: {"content": {"text/csv": {}, "application/json": {}}},
        **problem_responses(400, 404, 422),
    },
)
def export_insights(
    ctx: CtxDep,
    actor: ActorDep,
    format: Annotated[ExportFormat, Query()] = ExportFormat.CSV,
    since: Instant = None,
    until: Instant = None,
    team_id: Id = None,
    service_id: Id = None,
    severity: Severities = None,
) -> Response:
    """Text that a spreadsheet would run as a formula (starting with = + - @,
    a tab or a carriage return) starts with an apostrophe instead."""
    where = _filter(ctx, since, until, team_id, service_id, severity)
    found = insights.compute(ctx, actor, where)
    name = f"tocsin-insights-{where.since:%Y%m%d}-{where.until:%Y%m%d}"
    if format is ExportFormat.CSV:
        body, media = insights.to_csv(found), "text/csv; charset=utf-8"
    else:
        body, media = insights.to_json(found), "application/json"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}.{format}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
