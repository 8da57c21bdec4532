"""Status page administration: scheduled maintenance,
/status-admin/maintenance.

A window is entered as dates and times in a time zone the manager picks (the
page shows what that is in UTC as they type) and stored in UTC. The list shows
each window in UTC and in the zone last picked (`?zone=`). Windows that have
not finished can be edited or cancelled; the service checks the window and
tells subscribers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.domain.status_page import MaintenancePhase
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import status_maintenance, status_page
from tocsin.services.context import Context
from tocsin.services.status_common import MAX_DESCRIPTION, MAX_TITLE
from tocsin.services.status_reads import MAX_ID, StatusMaintenanceRead
from tocsin.web.auth import FormUserDep, UserDep, WebUser
from tocsin.web.status_admin_forms import (
    MAX_ZONE,
    in_zone,
    kept_instant,
    local_instant,
    local_value,
    page,
    parse_ids,
    sentence,
    zone_names,
)
from tocsin.web.status_admin_forms import zone as parse_zone
from tocsin.web.templating import render

router = APIRouter()

HOME = "/status-admin/maintenance"
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Short = Annotated[str, Form(max_length=1000)]
Text = Annotated[str, Form(max_length=MAX_DESCRIPTION * 2)]
Ids = Annotated[list[str] | None, Form()]
Zone = Annotated[str, Query(max_length=MAX_ZONE)]
Local = Annotated[str, Query(max_length=40)]
REFUSED = (InvalidInput, NotFound, Conflict)
FIELDS = ("title", "description", "zone", "starts", "ends")


@router.get("/status-admin/maintenance")
def maintenance_page(
    request: Request, ctx: CtxDep, user: UserDep, zone: Zone = ""
) -> Response:
    """Windows in progress, upcoming and past, and the form for a new one."""
    typed: dict[str, Any] = dict.fromkeys(FIELDS, "")
    typed.update(zone=zone or "UTC", component_ids=[])
    return _list(request, ctx, user, {"typed": typed})


@router.get("/status-admin/maintenance/preview")
def window_preview(
    request: Request,
    user: UserDep,
    starts: Local = "",
    ends: Local = "",
    zone: Zone = "",
) -> Response:
    """What the typed window is in UTC, for the form to show as it changes."""
    return render(request, "status_admin/_window.html", _window(starts, ends, zone))


@router.post("/status-admin/maintenance")
def schedule(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    title: Short = "",
    description: Text = "",
    zone: Short = "",
    starts: Short = "",
    ends: Short = "",
    component_ids: Ids = None,
) -> Response:
    """Schedule a window; subscribers are told."""
    typed = _typed(title, description, zone, starts, ends, component_ids)
    try:
        tz, starts_at, ends_at = _read_window(starts, ends, zone)
        created = status_maintenance.schedule_maintenance(
            ctx,
            user.actor,
            title=title,
            description=description,
            starts_at=starts_at,
            ends_at=ends_at,
            components=parse_ids(component_ids or []),
        )
    except REFUSED as error:
        context = {"problem": sentence(error.detail), "failed": "new", "typed": typed}
        return _list(request, ctx, user, context, status_code=error.status_code)
    return _back(tz, created.id)


@router.get("/status-admin/maintenance/{maintenance_id}")
def edit_page(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    maintenance_id: Id,
    zone: Zone = "",
) -> Response:
    """The window with, while it has not finished, the form that changes it."""
    window = status_maintenance.get_maintenance(ctx, maintenance_id)
    try:
        tz = parse_zone(zone)
    except InvalidInput:
        tz = ZoneInfo("UTC")
    typed = _typed(
        window.title,
        window.description,
        str(tz.key),
        local_value(window.starts_at, tz),
        local_value(window.ends_at, tz),
        [
            str(c.id)
            for c in status_page.list_components(ctx)
            if c.name in window.components
        ],
    )
    return _edit(request, ctx, user, window, {"typed": typed})


@router.post("/status-admin/maintenance/{maintenance_id}")
def edit(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    maintenance_id: Id,
    title: Short = "",
    description: Text = "",
    zone: Short = "",
    starts: Short = "",
    ends: Short = "",
    component_ids: Ids = None,
) -> Response:
    """Change the window; a moved one is re-armed and subscribers are told."""
    typed = _typed(title, description, zone, starts, ends, component_ids)
    try:
        tz, starts_at, ends_at = _read_window(starts, ends, zone)
        shown = status_maintenance.get_maintenance(ctx, maintenance_id)
        status_maintenance.edit_maintenance(
            ctx,
            user.actor,
            maintenance_id,
            title=title,
            description=description,
            starts_at=kept_instant(starts_at, shown.starts_at, tz),
            ends_at=kept_instant(ends_at, shown.ends_at, tz),
            components=parse_ids(component_ids or []),
        )
    except REFUSED as error:
        window = status_maintenance.get_maintenance(ctx, maintenance_id)
        context = {"problem": sentence(error.detail), "typed": typed}
        return _edit(request, ctx, user, window, context, error.status_code)
    return _back(tz, maintenance_id)


@router.post("/status-admin/maintenance/{maintenance_id}/cancel")
def cancel(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    maintenance_id: Id,
    zone: Short = "",
) -> Response:
    """Cancel a window that has not finished; one running ends at once."""
    try:
        tz = parse_zone(zone)
        status_maintenance.cancel_maintenance(ctx, user.actor, maintenance_id)
    except REFUSED as error:
        typed: dict[str, Any] = dict.fromkeys(FIELDS, "")
        typed.update(zone=zone or "UTC", component_ids=[])
        context = {
            "problem": sentence(error.detail),
            "failed": f"cancel-{maintenance_id}",
            "typed": typed,
        }
        return _list(request, ctx, user, context, status_code=error.status_code)
    return _back(tz, maintenance_id)


# Helpers ---------------------------------------------------------------------


def _read_window(
    starts: str, ends: str, zone_name: str
) -> tuple[ZoneInfo, datetime, datetime]:
    tz = parse_zone(zone_name)
    return tz, local_instant(starts, tz, "start"), local_instant(ends, tz, "end")


def _window(starts: str, ends: str, zone_name: str) -> dict[str, Any]:
    """The typed window in UTC, or what is wrong with it, for _window.html."""
    if not starts.strip() or not ends.strip():
        return {"utc_window": None, "window_problem": None}
    try:
        tz, starts_at, ends_at = _read_window(starts, ends, zone_name)
    except InvalidInput as error:
        return {"utc_window": None, "window_problem": sentence(error.detail)}
    if ends_at <= starts_at:
        return {"utc_window": None, "window_problem": "It ends before it starts."}
    return {
        "utc_window": (starts_at, ends_at),
        "window_problem": None,
        "utc_length": ends_at - starts_at,
        "zone_name": str(tz.key),
    }


def _typed(
    title: str,
    description: str,
    zone_name: str,
    starts: str,
    ends: str,
    component_ids: list[str] | None,
) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "zone": zone_name.strip() or "UTC",
        "starts": starts,
        "ends": ends,
        "component_ids": component_ids or [],
    }


def _back(tz: ZoneInfo, maintenance_id: int) -> Response:
    query = urlencode({"zone": str(tz.key)})
    return RedirectResponse(
        f"{HOME}?{query}#maintenance-{maintenance_id}", status_code=303
    )


def _chosen_zone(typed: dict[str, Any]) -> ZoneInfo:
    try:
        return parse_zone(str(typed.get("zone", "")))
    except InvalidInput:
        return ZoneInfo("UTC")


def _form_context(ctx: Context, typed: dict[str, Any]) -> dict[str, Any]:
    window = _window(typed["starts"], typed["ends"], typed["zone"])
    return {
        "components": status_page.list_components(ctx),
        "zones": zone_names(),
        "max_title": MAX_TITLE,
        "max_description": MAX_DESCRIPTION,
        **window,
    }


def _list(
    request: Request,
    ctx: Context,
    user: WebUser,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    windows = status_maintenance.list_maintenance(ctx)
    upcoming = [w for w in windows if w.phase is MaintenancePhase.UPCOMING]
    upcoming.sort(key=lambda w: w.starts_at)
    tz = _chosen_zone(context["typed"])
    running = [w for w in windows if w.phase is MaintenancePhase.IN_PROGRESS]
    # A refused cancel shows beside its form, which only unfinished windows have.
    form_keys = {"new"} | {f"cancel-{w.id}" for w in running + upcoming}
    full = {
        "running": running,
        "upcoming": upcoming,
        "past": [
            w
            for w in windows
            if w.phase in (MaintenancePhase.COMPLETED, MaintenancePhase.CANCELLED)
        ],
        "tz": tz,
        "shown_zone": None if str(tz.key) == "UTC" else str(tz.key),
        "in_zone": in_zone,
        "form_keys": form_keys,
        **_form_context(ctx, context["typed"]),
        **context,
    }
    return page(
        request,
        user,
        "status_admin/maintenance.html",
        "maintenance",
        full,
        status_code=status_code,
    )


def _edit(
    request: Request,
    ctx: Context,
    user: WebUser,
    window: StatusMaintenanceRead,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    typed = context["typed"]
    finished = window.phase in (MaintenancePhase.COMPLETED, MaintenancePhase.CANCELLED)
    tz = _chosen_zone(typed)
    full = {
        "window": window,
        "finished": finished,
        "tz": tz,
        "shown_zone": None if str(tz.key) == "UTC" else str(tz.key),
        "in_zone": in_zone,
        **_form_context(ctx, typed),
        **context,
    }
    return page(
        request,
        user,
        "status_admin/maintenance_edit.html",
        "maintenance",
        full,
        status_code=status_code,
    )
