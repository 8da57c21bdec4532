"""Status page administration: public incidents, /status-admin/incidents.

A manager opens a public incident on chosen components with its impact and
first update, optionally about a Tocsin incident (by number, one the manager
can see), and posts updates through investigating, identified, monitoring and
resolved. Subscribers are told by the service, as through the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import status_page
from tocsin.services.context import Context
from tocsin.services.status_common import MAX_MESSAGE, MAX_TITLE
from tocsin.services.status_reads import MAX_ID, StatusIncidentRead
from tocsin.web.auth import FormUserDep, UserDep, WebUser
from tocsin.web.status_admin_forms import (
    IMPACT_CHOICES,
    STAGE_CHOICES,
    optional_id,
    page,
    parse_ids,
    sentence,
)

router = APIRouter()

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Short = Annotated[str, Form(max_length=1000)]
Message = Annotated[str, Form(max_length=MAX_MESSAGE * 2)]
Ids = Annotated[list[str] | None, Form()]
REFUSED = (InvalidInput, NotFound, Conflict)
LISTED = 200


@router.get("/status-admin/incidents")
def incidents_page(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    """Open public incidents, then resolved ones; for managers, the form that
    opens one."""
    return _list(request, ctx, user, {})


@router.post("/status-admin/incidents")
def create_incident(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    title: Short = "",
    impact: Short = "",
    stage: Short = "",
    message: Message = "",
    incident_number: Short = "",
    component_ids: Ids = None,
) -> Response:
    """Open a public incident with its first update, then show it."""
    chosen = component_ids or []
    typed: dict[str, Any] = {
        "title": title,
        "impact": impact,
        "stage": stage,
        "message": message,
        "incident_number": incident_number,
        "component_ids": chosen,
    }
    try:
        created = status_page.create_incident(
            ctx,
            user.actor,
            title=title,
            impact=impact,
            components=parse_ids(chosen),
            message=message,
            stage=stage or "investigating",
            incident_number=optional_id(incident_number, "incident"),
        )
    except REFUSED as error:
        context = {"problem": sentence(error.detail), "typed": typed}
        return _list(request, ctx, user, context, status_code=error.status_code)
    return RedirectResponse(f"/status-admin/incidents/{created.id}", status_code=303)


@router.get("/status-admin/incidents/{status_incident_id}")
def incident_page(
    request: Request, ctx: CtxDep, user: UserDep, status_incident_id: Id
) -> Response:
    """One public incident with its updates, newest first, and the update form."""
    incident = status_page.get_incident(ctx, user.actor, status_incident_id)
    return _detail(request, user, incident, {})


@router.post("/status-admin/incidents/{status_incident_id}/updates")
def add_update(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    status_incident_id: Id,
    stage: Short = "",
    message: Message = "",
    impact: Short = "",
) -> Response:
    """Post an update; `resolved` resolves the incident, another stage reopens
    a resolved one. An empty impact keeps the incident's."""
    typed = {"stage": stage, "message": message, "impact": impact}
    try:
        status_page.add_update(
            ctx,
            user.actor,
            status_incident_id,
            message=message,
            stage=stage,
            impact=impact or None,
        )
    except REFUSED as error:
        incident = status_page.get_incident(ctx, user.actor, status_incident_id)
        context = {"problem": sentence(error.detail), "typed": typed}
        return _detail(request, user, incident, context, error.status_code)
    return RedirectResponse(
        f"/status-admin/incidents/{status_incident_id}", status_code=303
    )


def _list(
    request: Request,
    ctx: Context,
    user: WebUser,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    listed = status_page.list_incidents(ctx, user.actor, limit=LISTED)
    full = {
        "open": [i for i in listed if i.resolved_at is None],
        "resolved": [i for i in listed if i.resolved_at is not None],
        "components": status_page.list_components(ctx),
        "impacts": IMPACT_CHOICES,
        "stages": STAGE_CHOICES,
        "max_title": MAX_TITLE,
        "max_message": MAX_MESSAGE,
        **context,
    }
    return page(
        request,
        user,
        "status_admin/incidents.html",
        "incidents",
        full,
        status_code=status_code,
    )


def _detail(
    request: Request,
    user: WebUser,
    incident: StatusIncidentRead,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    full = {
        "incident": incident,
        "updates": list(reversed(incident.updates)),
        "impacts": IMPACT_CHOICES,
        "stages": STAGE_CHOICES,
        "max_message": MAX_MESSAGE,
        **context,
    }
    return page(
        request,
        user,
        "status_admin/incident.html",
        "incidents",
        full,
        status_code=status_code,
    )
