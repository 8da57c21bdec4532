"""Declaring an incident from the web: a responder picks one of the services
they can see, names the incident, gives a severity, a type and the reason,
and lands on the new incident's page.

The declaration service does the checking; a refusal re-renders the form,
with what was typed kept, and a 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from tocsin.api.deps import CtxDep
from tocsin.domain.access import Role, can_see_team, require_role
from tocsin.errors import InvalidInput, NotFound
from tocsin.services import declaration, triage
from tocsin.services.context import Context
from tocsin.store.models import Service
from tocsin.web.auth import FormUserDep, UserDep, WebUser
from tocsin.web.navigation import NAVIGATION, NavItem
from tocsin.web.templating import render

router = APIRouter()
NAVIGATION.append(NavItem("Declare", "/incidents/declare", order=20))

FIELDS = ("service_id", "title", "severity", "incident_type", "reason")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@router.get("/incidents/declare")
def declare_form(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    require_role(user.actor, Role.RESPONDER)
    return _form(request, ctx, user, dict.fromkeys(FIELDS, ""))


@router.post("/incidents/declare")
def declare(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    service_id: Annotated[str, Form(max_length=20)] = "",
    title: Annotated[str, Form()] = "",
    severity: Annotated[str, Form(max_length=100)] = "",
    incident_type: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Declare, then show the new incident; a refusal keeps the form filled."""
    require_role(user.actor, Role.RESPONDER)
    typed = {
        "service_id": service_id,
        "title": title,
        "severity": severity,
        "incident_type": incident_type,
        "reason": reason,
    }
    try:
        chosen = _service_id(service_id)
        incident = declaration.declare(
            ctx,
            user.actor,
            declaration.Declaration(
                service_id=chosen,
                title=title,
                reason=reason,
                severity=severity or None,
                incident_type=incident_type or None,
            ),
        )
    except (InvalidInput, NotFound) as error:
        return _form(request, ctx, user, typed, problem=error.detail)
    return RedirectResponse(f"/incidents/{incident.number}", status_code=303)


def _service_id(value: str) -> int:
    try:
        chosen = int(value.strip())
    except ValueError as error:
        raise InvalidInput("choose a service") from error
    if not 0 < chosen <= declaration.MAX_ID:
        raise InvalidInput("choose a service")
    return chosen


def _form(
    request: Request,
    ctx: Context,
    user: WebUser,
    typed: dict[str, str],
    problem: str | None = None,
) -> Response:
    with ctx.db.read() as session:
        rows = session.execute(
            select(Service.id, Service.name, Service.team_id).order_by(Service.name)
        ).all()
    services = [
        Choice(str(row.id), row.name)
        for row in rows
        if can_see_team(user.actor, row.team_id)
    ]
    severities = [
        Choice(level.key, level.name) for level in triage.scales(ctx).severity
    ]
    types = [
        Choice(kind.key, kind.name)
        for kind in triage.list_types(ctx, include_inactive=False)
    ]
    context: dict[str, Any] = {
        "user": user,
        "services": services,
        "severities": severities,
        "types": types,
        "typed": typed,
        "problem": problem,
        "max_title": declaration.MAX_TITLE,
    }
    status = 400 if problem else 200
    return render(request, "incidents/declare.html", context, status_code=status)
