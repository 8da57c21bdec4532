"""Status page administration, /status-admin: components and their groups here;
public incidents, maintenance and subscribers in the sibling modules, whose
routers this one includes.

Anyone logged in may look, as anyone with a token may read the API's status
page records; the forms are offered to managers, and the status page services
refuse every change below that role (403). Each change is a CSRF-checked form
post answered with a redirect; a refused one re-renders the page with the
message beside its form, what was typed kept, and a 4xx.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import status_page
from tocsin.services.context import Context
from tocsin.services.status_common import MAX_DESCRIPTION, MAX_NAME, MAX_POSITION
from tocsin.services.status_reads import MAX_ID, StatusComponentRead
from tocsin.web import (
    status_admin_incidents,
    status_admin_maintenance,
    status_admin_subscribers,
)
from tocsin.web.auth import FormUserDep, UserDep, WebUser
from tocsin.web.navigation import NAVIGATION, NavItem
from tocsin.web.status_admin_forms import (
    STATE_CHOICES,
    optional_id,
    page,
    sentence,
    whole_number,
)

router = APIRouter()
router.include_router(status_admin_incidents.router)
router.include_router(status_admin_maintenance.router)
router.include_router(status_admin_subscribers.router)
NAVIGATION.append(NavItem("Status page", "/status-admin", order=50))

HOME = "/status-admin"
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Text = Annotated[str, Form(max_length=MAX_DESCRIPTION * 2)]
Short = Annotated[str, Form(max_length=1000)]
REFUSED = (InvalidInput, NotFound, Conflict)


@router.get("/status-admin")
def components_page(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    """The components under their groups, with their states; for managers,
    the forms that change them."""
    return _page(request, ctx, user, {})


# Groups ----------------------------------------------------------------------


@router.post("/status-admin/groups")
def create_group(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    name: Short = "",
    position: Short = "",
) -> Response:
    typed = {"name": name, "position": position}
    try:
        status_page.create_group(
            ctx,
            user.actor,
            name,
            position=whole_number(position, "position", default=0),
        )
    except REFUSED as error:
        return _refused(request, ctx, user, error, "group-new", typed)
    return RedirectResponse(f"{HOME}#groups", status_code=303)


@router.post("/status-admin/groups/{group_id}/edit")
def edit_group(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    group_id: Id,
    name: Short = "",
    position: Short = "",
) -> Response:
    """Rename the group and set its place in the page's order."""
    typed = {"name": name, "position": position}
    try:
        status_page.edit_group(
            ctx,
            user.actor,
            group_id,
            name=name,
            position=whole_number(position, "position", default=0),
        )
    except REFUSED as error:
        return _refused(request, ctx, user, error, f"group-{group_id}", typed)
    return RedirectResponse(f"{HOME}#groups", status_code=303)


@router.post("/status-admin/groups/{group_id}/move")
def move_group(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    group_id: Id,
    direction: Short = "",
) -> Response:
    """Swap the group with the one above or below it."""
    try:
        status_page.move_group(ctx, user.actor, group_id, up=_up(direction))
    except REFUSED as error:
        return _refused(request, ctx, user, error, f"group-{group_id}", {})
    return RedirectResponse(f"{HOME}#group-{group_id}", status_code=303)


@router.post("/status-admin/groups/{group_id}/delete")
def delete_group(
    request: Request, ctx: CtxDep, user: FormUserDep, group_id: Id
) -> Response:
    """Delete the group; its components stay, in no group."""
    try:
        status_page.delete_group(ctx, user.actor, group_id)
    except REFUSED as error:
        return _refused(request, ctx, user, error, f"group-{group_id}", {})
    return RedirectResponse(f"{HOME}#groups", status_code=303)


# Components ------------------------------------------------------------------


@router.post("/status-admin/components")
def create_component(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    name: Short = "",
    description: Text = "",
    group_id: Short = "",
    position: Short = "",
) -> Response:
    """Add a component, operational from now on."""
    typed = {
        "name": name,
        "description": description,
        "group_id": group_id,
        "position": position,
    }
    try:
        created = status_page.create_component(
            ctx,
            user.actor,
            name,
            description=description,
            group=optional_id(group_id, "group"),
            position=whole_number(position, "position", default=0),
        )
    except REFUSED as error:
        return _refused(request, ctx, user, error, "component-new", typed)
    return RedirectResponse(f"{HOME}#component-{created.id}", status_code=303)


@router.post("/status-admin/components/{component_id}/edit")
def edit_component(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    component_id: Id,
    name: Short = "",
    description: Text = "",
    group_id: Short = "",
    position: Short = "",
) -> Response:
    """Rename, describe, move to a group (or none) and set the place in order."""
    typed = {
        "name": name,
        "description": description,
        "group_id": group_id,
        "position": position,
    }
    try:
        group = optional_id(group_id, "group")
        status_page.edit_component(
            ctx,
            user.actor,
            component_id,
            name=name,
            description=description,
            group=group,
            clear_group=group is None,
            position=whole_number(position, "position", default=0),
        )
    except REFUSED as error:
        key = f"component-{component_id}"
        return _refused(request, ctx, user, error, key, typed)
    return RedirectResponse(f"{HOME}#component-{component_id}", status_code=303)


@router.post("/status-admin/components/{component_id}/state")
def set_state(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    component_id: Id,
    state: Short = "",
) -> Response:
    """Set the state by hand, or let incidents and maintenance decide again."""
    try:
        status_page.set_component_state(ctx, user.actor, component_id, state)
    except REFUSED as error:
        key = f"state-{component_id}"
        return _refused(request, ctx, user, error, key, {"state": state})
    return RedirectResponse(f"{HOME}#component-{component_id}", status_code=303)


@router.post("/status-admin/components/{component_id}/move")
def move_component(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    component_id: Id,
    direction: Short = "",
) -> Response:
    """Swap the component with the one above or below it in its group."""
    try:
        status_page.move_component(ctx, user.actor, component_id, up=_up(direction))
    except REFUSED as error:
        key = f"state-{component_id}"
        return _refused(request, ctx, user, error, key, {})
    return RedirectResponse(f"{HOME}#component-{component_id}", status_code=303)


@router.post("/status-admin/components/{component_id}/delete")
def delete_component(
    request: Request, ctx: CtxDep, user: FormUserDep, component_id: Id
) -> Response:
    """Delete the component with its uptime history."""
    try:
        status_page.delete_component(ctx, user.actor, component_id)
    except REFUSED as error:
        return _refused(request, ctx, user, error, f"component-{component_id}", {})
    return RedirectResponse(HOME, status_code=303)


# Rendering -------------------------------------------------------------------


def _up(direction: str) -> bool:
    if direction not in ("up", "down"):
        raise InvalidInput("move a component or group up or down")
    return direction == "up"


def _refused(
    request: Request,
    ctx: Context,
    user: WebUser,
    error: InvalidInput | NotFound | Conflict,
    failed: str,
    typed: dict[str, str],
) -> Response:
    context = {"problem": sentence(error.detail), "failed": failed, "typed": typed}
    return _page(request, ctx, user, context, status_code=error.status_code)


def _page(
    request: Request,
    ctx: Context,
    user: WebUser,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    groups = status_page.list_groups(ctx)
    components = status_page.list_components(ctx)
    # Shown as the public page shows them: by group in the groups' order, then
    # the components in no group.
    sections: list[tuple[str | None, list[StatusComponentRead]]] = [
        (group.name, [c for c in components if c.group == group.name])
        for group in groups
    ]
    sections.append((None, [c for c in components if c.group is None]))
    form_keys = {"group-new", "component-new"}
    form_keys |= {f"group-{group.id}" for group in groups}
    for component in components:
        form_keys |= {f"component-{component.id}", f"state-{component.id}"}
    full = {
        "groups": groups,
        "group_ids": {group.name: str(group.id) for group in groups},
        "group_sizes": {name: len(members) for name, members in sections if name},
        "form_keys": form_keys,
        "sections": sections,
        "components": components,
        "states": STATE_CHOICES,
        "max_name": MAX_NAME,
        "max_description": MAX_DESCRIPTION,
        "max_position": MAX_POSITION,
        **context,
    }
    return page(
        request,
        user,
        "status_admin/components.html",
        "components",
        full,
        status_code=status_code,
    )
