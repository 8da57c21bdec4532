"""The insights page: incident metrics with server-rendered SVG charts, and the
same figures to download as formula-safe CSV or JSON.

Filters arrive as query strings from a GET form; anything malformed is a 400
with the reason, never a silently widened report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tocsin import charts
from tocsin.api.deps import CtxDep
from tocsin.digits import plain_digits
from tocsin.errors import InvalidInput
from tocsin.services import incident_views, insights
from tocsin.services.context import Context
from tocsin.services.insights import InsightFilter
from tocsin.web.auth import UserDep
from tocsin.web.navigation import NAVIGATION, NavItem
from tocsin.web.templating import render

router = APIRouter()
NAVIGATION.append(NavItem("Insights", "/insights", order=70))

PERIODS = {"7d": "7 days", "30d": "30 days", "90d": "90 days", "365d": "a year"}
MAX_ID = 2**31 - 1
Text = Annotated[str, Query(max_length=20)]


@dataclass(frozen=True)
class Params:
    period: str
    team: str
    service: str
    severity: str

    def query(self) -> str:
        return urlencode({k: v for k, v in vars(self).items() if v}, doseq=False)


def _id(text: str, what: str) -> int | None:
    if not text:
        return None
    if not plain_digits(text) or not 0 < int(text) <= MAX_ID:
        raise InvalidInput(f"{what} is an id number")
    return int(text)


def _filter(ctx: Context, params: Params) -> InsightFilter:
    if params.period not in PERIODS:
        raise InvalidInput(f"the period is one of {', '.join(PERIODS)}")
    now = ctx.clock.now()
    return InsightFilter(
        since=insights.parse_since(params.period, now),
        until=now,
        team_id=_id(params.team, "team"),
        service_id=_id(params.service, "service"),
        severity=(params.severity,) if params.severity else (),
    )


@router.get("/insights")
def insights_page(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    period: Text = "30d",
    team: Text = "",
    service: Text = "",
    severity: Text = "",
) -> Response:
    params = Params(period, team, service, severity)
    found = insights.compute(ctx, user.actor, _filter(ctx, params))

    weeks = found.weeks
    trend = charts.stacked_bars(
        "Incidents by week and severity",
        [week.week.strftime("%d %b") for week in weeks],
        [
            charts.Series(s, [week.by_severity.get(s, 0) for week in weeks])
            for s in found.severities
        ],
        every=max(1, len(weeks) // 12),
    )
    noisy = charts.horizontal_bars(
        "Incidents per service",
        [(row.name, row.count) for row in found.noisy_services],
    )
    load = charts.horizontal_bars(
        "Pages per person",
        [(person.name, person.pages) for person in found.on_call[:10]],
    )
    context = {
        "user": user,
        "found": found,
        "params": params,
        "periods": PERIODS,
        "severities": found.severities,
        "services": incident_views.visible_services(ctx, user.actor),
        "teams": incident_views.visible_teams(ctx, user.actor),
        "trend": trend,
        "noisy": noisy,
        "load": load,
    }
    return render(request, "insights/page.html", context)


@router.get("/insights/export.{kind}")
def insights_export(
    ctx: CtxDep,
    user: UserDep,
    kind: str,
    period: Text = "30d",
    team: Text = "",
    service: Text = "",
    severity: Text = "",
) -> Response:
    """The per-incident figures as CSV, or everything as JSON; formula-safe."""
    if kind not in ("csv", "json"):
        raise InvalidInput("export as csv or json")
    where = _filter(ctx, Params(period, team, service, severity))
    found = insights.compute(ctx, user.actor, where)
    body = insights.to_csv(found) if kind == "csv" else insights.to_json(found)
    media = "text/csv; charset=utf-8" if kind == "csv" else "application/json"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": (
                f'attachment; filename="tocsin-insights-{period}.{kind}"'
            )
        },
    )
