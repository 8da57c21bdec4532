"""Service pages: the services a user can see, and one service with its
escalation policy's steps, integrations (key prefixes only), maintenance
windows and a preview of who would be paged when if it alerted at a chosen
instant.

Integrations are added, rotated, disabled and tried from the page
(web/service_integrations.py); the rest of a service is changed through the
API and the CLI. The preview's
instant is entered and shown in UTC, so nobody has to guess which zone a
bare date and time means.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from tocsin.api.deps import CtxDep
from tocsin.domain.access import Role, can_see_team, holds
from tocsin.errors import InvalidInput, NotFound
from tocsin.services import (
    checks,
    heartbeats,
    integrations,
    maintenance,
    preview,
    runbooks,
    sender_config,
)
from tocsin.services.catalog.common import policy_read, service_read
from tocsin.services.context import Context
from tocsin.store.models import EscalationPolicy, Service
from tocsin.web.auth import UserDep, WebUser
from tocsin.web.navigation import NAVIGATION, NavItem
from tocsin.web.templating import render

router = APIRouter()
NAVIGATION.append(NavItem("Services", "/services", order=30))

MAX_ID = 2**31 - 1
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


@router.get("/services")
def service_list(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    with ctx.db.read() as session:
        rows = session.execute(
            select(Service.id, Service.team_id).order_by(Service.name)
        ).all()
        found = [
            service_read(session, row.id)
            for row in rows
            if can_see_team(user.actor, row.team_id)
        ]
    return render(request, "services/list.html", {"user": user, "services": found})


@router.get("/services/{service_id}")
def service_detail(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    service_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    at: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The service and the escalation preview from `at` (UTC), default now."""
    return service_page(request, ctx, user, service_id, at=at)


def service_page(
    request: Request,
    ctx: Context,
    user: WebUser,
    service_id: int,
    *,
    at: str | None = None,
    integration_problem: str | None = None,
) -> Response:
    """The service's page; a refused integration change is shown in its panel
    and answered with a 400. Raises NotFound for a service the user may not
    see."""
    with ctx.db.read() as session:
        service = session.get(Service, service_id)
        if service is None or not can_see_team(user.actor, service.team_id):
            raise NotFound(f"no service with id {service_id}")
        read = service_read(session, service_id)
        policy_row = session.get(EscalationPolicy, service.escalation_policy_id or 0)
        policy = policy_read(session, policy_row) if policy_row else None
    windows = maintenance.list_windows(ctx, user.actor, read.name)

    problem = None
    instant = ctx.clock.now()
    result = None
    try:
        if at:
            instant = _instant(at)
        result = preview.preview(ctx, user.actor, service_id, instant)
    except InvalidInput as error:
        problem = error.detail
    base_url = ctx.settings.base_url
    context = {
        "user": user,
        "service": read,
        "policy": policy,
        "windows": windows,
        "preview": result,
        "problem": problem,
        "at": instant.astimezone(UTC).strftime(LOCAL_FORMAT),
        "senders": {
            integration.id: sender_config.snippets(integration.kind, base_url)
            for integration in read.integrations
        },
        "kinds": integrations.KINDS,
        "placeholder": sender_config.PLACEHOLDER,
        "may_configure": holds(user.actor, Role.ADMIN),
        "may_test": holds(user.actor, Role.RESPONDER),
        "integration_problem": integration_problem,
        "runbooks": runbooks.list_runbooks(ctx, user.actor, service=read.name),
        "heartbeats": heartbeats.list_heartbeats(ctx, user.actor, read.name),
        "checks": checks.list_checks(ctx, user.actor, read.name),
    }
    status = 400 if problem or integration_problem else 200
    return render(request, "services/detail.html", context, status_code=status)


def _instant(value: str) -> datetime:
    """A datetime-local field's value, read as UTC."""
    try:
        parsed = datetime.strptime(value.strip(), LOCAL_FORMAT)  # noqa: DTZ007
    except ValueError as error:
        raise InvalidInput("give the instant as YYYY-MM-DDTHH:MM (UTC)") from error
    return parsed.replace(tzinfo=UTC)
