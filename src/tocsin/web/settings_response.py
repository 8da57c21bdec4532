"""Response settings: the cards on /settings for severity, incident types,
roles, templates and channels, the pages' routers, and the role catalogue.

Each page reads and changes through the same service as the API, so it asks
for the same role: admins for the organisation-wide triage settings,
postmortem templates and channels; managers for the role catalogue and the
stakeholder update templates.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.domain.access import Role, holds
from tocsin.errors import NotFound, TocsinError
from tocsin.response_schemas import RoleRead
from tocsin.services import roles
from tocsin.services.context import Context
from tocsin.services.incident_scope import MANAGER
from tocsin.web import settings_channels, settings_templates, settings_triage
from tocsin.web.auth import FormUserDep, UserDep, WebUser
from tocsin.web.settings import SECTIONS, SettingsSection
from tocsin.web.settings_response_common import lines, refusal_status
from tocsin.web.templating import render

router = APIRouter()
router.include_router(settings_triage.router)
router.include_router(settings_templates.router)
router.include_router(settings_channels.router)

SECTIONS.extend(
    [
        SettingsSection(
            "Severity and priority",
            "/settings/severity",
            "Severity levels, and the impact x urgency matrix that gives a priority.",
            Role.ADMIN,
        ),
        SettingsSection(
            "Incident types",
            "/settings/incident-types",
            "Types of incident with their default severity.",
            Role.ADMIN,
        ),
        SettingsSection(
            "Incident roles",
            "/settings/roles",
            "The roles people take in an incident: commander, communications ...",
            MANAGER,
        ),
        SettingsSection(
            "Templates",
            "/settings/templates",
            "Stakeholder update templates with a live preview; postmortem templates.",
            MANAGER,
        ),
        SettingsSection(
            "Channels and triggers",
            "/settings/channels",
            "Notification channels, declaration triggers and triage owners.",
            Role.ADMIN,
        ),
    ]
)

RoleKey = Annotated[str, Path(max_length=40)]
ROLE_FIELDS = ("key", "name", "description")


@router.get("/settings/roles")
def roles_page(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    return _roles(request, ctx, user, dict.fromkeys(ROLE_FIELDS, ""))


@router.post("/settings/roles")
def create_role(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    key: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    description: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    typed = {"key": key, "name": name, "description": lines(description)}
    try:
        roles.create_role(
            ctx, user.actor, key=key, name=name, description=typed["description"]
        )
    except TocsinError as error:
        return _roles(request, ctx, user, typed, error)
    return RedirectResponse("/settings/roles", status_code=303)


@router.get("/settings/roles/{key}")
def role_page(request: Request, ctx: CtxDep, user: UserDep, key: RoleKey) -> Response:
    found = _role(ctx, user, key)
    typed = {"key": found.key, "name": found.name, "description": found.description}
    return _role_form(request, ctx, user, key, typed)


@router.post("/settings/roles/{key}")
def update_role(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    key: RoleKey,
    name: Annotated[str, Form(max_length=1000)] = "",
    description: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    typed = {"key": key, "name": name, "description": lines(description)}
    try:
        roles.update_role(
            ctx, user.actor, key, name=name, description=typed["description"]
        )
    except NotFound:
        raise
    except TocsinError as error:
        return _role_form(request, ctx, user, key, typed, error)
    return RedirectResponse("/settings/roles", status_code=303)


@router.post("/settings/roles/{key}/move")
def move_role(
    ctx: CtxDep,
    user: FormUserDep,
    key: RoleKey,
    direction: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Up or down one place in the catalogue's order."""
    roles.move_role(ctx, user.actor, key, -1 if direction == "up" else 1)
    return RedirectResponse(f"/settings/roles#role-{key}", status_code=303)


@router.post("/settings/roles/{key}/retired")
def set_role_retired(
    ctx: CtxDep,
    user: FormUserDep,
    key: RoleKey,
    retired: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Retire a role (its holders keep it; nobody new gets it) or bring it
    back."""
    roles.update_role(ctx, user.actor, key, retired=retired == "true")
    return RedirectResponse(f"/settings/roles#role-{key}", status_code=303)


def _role(ctx: Context, user: WebUser, key: str) -> RoleRead:
    for found in roles.list_roles(ctx, user.actor, retired=True):
        if found.key == key:
            return found
    raise NotFound(f"no role {key!r}")


def _roles(
    request: Request,
    ctx: Context,
    user: WebUser,
    typed: dict[str, str],
    error: TocsinError | None = None,
) -> Response:
    context = {
        "user": user,
        "roles": roles.list_roles(ctx, user.actor, retired=True),
        "typed": typed,
        "editable": holds(user.actor, MANAGER),
        "problem": error.detail if error else None,
    }
    status = refusal_status(error) if error else 200
    return render(request, "settings/response_roles.html", context, status_code=status)


def _role_form(
    request: Request,
    ctx: Context,
    user: WebUser,
    key: str,
    typed: dict[str, str],
    error: TocsinError | None = None,
) -> Response:
    context = {
        "user": user,
        "found": _role(ctx, user, key),
        "typed": typed,
        "editable": holds(user.actor, MANAGER),
        "problem": error.detail if error else None,
    }
    status = refusal_status(error) if error else 200
    return render(request, "settings/response_role.html", context, status_code=status)
