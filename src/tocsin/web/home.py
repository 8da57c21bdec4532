"""The home page: what is burning now, and what is mine."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.api.deps import CtxDep
from tocsin.services import home_views, incident_views, triage
from tocsin.web.auth import UserDep
from tocsin.web.templating import render

router = APIRouter()


@router.get("/")
def home(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    """Open incidents by severity, the worst ones and the user's own; who is
    on call for the user's teams, their open tasks, and recent changes."""
    summary = incident_views.home(ctx, user.actor)
    configured = triage.severity_keys(ctx)
    severities = list(configured) + sorted(
        set(summary.open_by_severity) - set(configured)
    )
    context = {
        "user": user,
        "summary": summary,
        "severities": severities,
        "on_call": home_views.on_call_now(ctx, user.actor),
        "tasks": home_views.my_open_tasks(ctx, user.actor),
        "changes": home_views.recent_changes(ctx, user.actor),
    }
    return render(request, "home.html", context)
