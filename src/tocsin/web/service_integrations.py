"""A service's integrations from its page: add one, rotate its key, disable
it, and send a test alert through it.

A new or rotated key is shown once, on a page of its own that the browser is
told not to keep, together with the sender configuration filled in with it.
Adding, rotating and disabling need the admin role, as in the API; a test
alert needs a responder who can see the service.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.domain.access import can_see_team
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import catalog, sender_config, test_alerts
from tocsin.services.catalog import NewKey, ServiceRead
from tocsin.services.catalog.common import service_read
from tocsin.services.context import Context
from tocsin.store.models import Service
from tocsin.web.auth import FormUserDep, WebUser
from tocsin.web.services_pages import MAX_ID, service_page
from tocsin.web.templating import render

router = APIRouter()

ServiceId = Annotated[int, Path(ge=1, le=MAX_ID)]
IntegrationId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("/services/{service_id}/integrations")
def add_integration(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    service_id: ServiceId,
    kind: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Add an integration and show its key once; a refusal re-renders the
    service page with the reason."""
    service = _visible(ctx, user, service_id)
    try:
        made = catalog.add_integration(
            ctx, user.actor, service.name, kind=kind, name=name
        )
    except (InvalidInput, Conflict) as error:
        return service_page(
            request, ctx, user, service_id, integration_problem=error.detail
        )
    return _new_key(request, ctx, user, service, made, "added")


@router.post("/services/{service_id}/integrations/{integration_id}/rotate")
def rotate_key(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    service_id: ServiceId,
    integration_id: IntegrationId,
) -> Response:
    """Give the integration a new key (the old one stops working) and show it."""
    service = _visible(ctx, user, service_id)
    name = _integration_name(service, integration_id)
    made = catalog.rotate_key(ctx, user.actor, service.name, name)

    return _new_key(request, ctx, user, service, made, "rotated")


@router.post("/services/{service_id}/integrations/{integration_id}/disable")
def disable(
    ctx: CtxDep, user: FormUserDep, service_id: ServiceId, integration_id: IntegrationId
) -> Response:
    service = _visible(ctx, user, service_id)
    name = _integration_name(service, integration_id)
    catalog.disable_integration(ctx, user.actor, service.name, name)

    return RedirectResponse(f"/services/{service_id}#integrations", status_code=303)


@router.post("/services/{service_id}/integrations/{integration_id}/test")
def send_test_alert(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    service_id: ServiceId,
    integration_id: IntegrationId,
) -> Response:
    """Trigger a test alert and land on the incident it opened or joined."""
    try:
        outcome = test_alerts.send(ctx, user.actor, service_id, integration_id)
    except InvalidInput as error:
        return service_page(
            request, ctx, user, service_id, integration_problem=error.detail
        )
    if outcome.incident_number is None:
        # Intake opened no incident (it dropped or only recorded the alert);
        # the page says what it did.
        problem = f"the test alert was {outcome.result}; no incident was opened"
        return service_page(request, ctx, user, service_id, integration_problem=problem)
    return RedirectResponse(f"/incidents/{outcome.incident_number}", status_code=303)


def _visible(ctx: Context, user: WebUser, service_id: int) -> ServiceRead:
    with ctx.db.read() as session:
        service = session.get(Service, service_id)
        if service is None or not can_see_team(user.actor, service.team_id):
            raise NotFound(f"no service with id {service_id}")
        return service_read(session, service_id)


def _integration_name(service: ServiceRead, integration_id: int) -> str:
    for integration in service.integrations:
        if integration.id == integration_id:
            return integration.name
    raise NotFound(f"service {service.name!r} has no integration {integration_id}")


def _new_key(
    request: Request,
    ctx: Context,
    user: WebUser,
    service: ServiceRead,
    made: NewKey,
    done: str,
) -> Response:
    snippets = sender_config.snippets(
        made.integration.kind, ctx.settings.base_url, made.key
    )
    context = {
        "user": user,
        "service": service,
        "integration": made.integration,
        "key": made.key,
        "snippets": snippets,
        "done": done,
    }
    # The key is in this page only: no cache, no history copy.
    headers = {"Cache-Control": "no-store"}
    return render(request, "services/new_key.html", context, headers=headers)
