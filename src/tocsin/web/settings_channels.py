"""Settings page for how incidents start and reach people: the notification
channels (from configuration, read-only, secrets never shown), declaration
triggers, and triage owners.

Admins only, as the services require for changes (services/channel_settings,
declaration_triggers, triage); the channel settings are configuration an
admin set, so they are shown to admins alone too.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from tocsin.api.deps import CtxDep
from tocsin.domain import triage as rules
from tocsin.domain.access import Role, require_role
from tocsin.domain.triage import ALERT_SEVERITIES
from tocsin.errors import InvalidInput, TocsinError
from tocsin.services import channel_settings, triage
from tocsin.services import declaration_triggers as triggers
from tocsin.services.context import Context
from tocsin.store.models import Schedule, Service, Team, User
from tocsin.web.auth import FormUserDep, UserDep, WebUser
from tocsin.web.settings_response_common import (
    MAX_ID,
    Choice,
    form_id,
    refusal_status,
)
from tocsin.web.templating import render

router = APIRouter()

TriggerId = Annotated[int, Path(ge=1, le=MAX_ID)]
Line = Annotated[str, Form(max_length=1000)]
TRIGGER_FIELDS = {
    "name": "",
    "severity": "sev2",
    "matchers": "",
    "service_id": "",
    "min_alert_severity": "error",
    "alert_count": "1",
    "window_minutes": "10",
    "incident_type": "",
}
OWNER_FIELDS = {"scope": "", "owner": ""}


@router.get("/settings/channels")
def channels_page(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    require_role(user.actor, Role.ADMIN)
    return _page(request, ctx, user)


# --- declaration triggers -------------------------------------------------------


@router.post("/settings/channels/triggers")
def create_trigger(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    name: Line = "",
    severity: Line = "",
    matchers: Annotated[str, Form(max_length=20_000)] = "",
    service_id: Line = "",
    min_alert_severity: Line = "",
    alert_count: Line = "",
    window_minutes: Line = "",
    incident_type: Line = "",
) -> Response:
    """Add a rule; matchers are one per line (NAME=VALUE, NAME=~REGEX ...)."""
    typed = {
        "name": name,
        "severity": severity,
        "matchers": matchers,
        "service_id": service_id,
        "min_alert_severity": min_alert_severity,
        "alert_count": alert_count,
        "window_minutes": window_minutes,
        "incident_type": incident_type,
    }
    try:
        spec = triggers.TriggerSpec(
            name=name,
            severity=severity,
            matchers=tuple(
                line.strip() for line in matchers.splitlines() if line.strip()
            ),
            service_id=form_id(service_id, "service"),
            min_alert_severity=min_alert_severity,
            alert_count=_whole(alert_count, "the alert count"),
            window_minutes=_whole(window_minutes, "the window"),
            incident_type=incident_type or None,
        )
        triggers.create_trigger(ctx, user.actor, spec)
    except TocsinError as error:
        return _page(request, ctx, user, trigger=typed, error=error, at="trigger")
    return RedirectResponse("/settings/channels#triggers", status_code=303)


@router.post("/settings/channels/triggers/{trigger_id}/enabled")
def set_trigger_enabled(
    ctx: CtxDep,
    user: FormUserDep,
    trigger_id: TriggerId,
    enabled: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    triggers.set_enabled(ctx, user.actor, trigger_id, enabled == "true")
    return RedirectResponse("/settings/channels#triggers", status_code=303)


@router.post("/settings/channels/triggers/{trigger_id}/delete")
def delete_trigger(ctx: CtxDep, user: FormUserDep, trigger_id: TriggerId) -> Response:
    triggers.delete_trigger(ctx, user.actor, trigger_id)
    return RedirectResponse("/settings/channels#triggers", status_code=303)


def _whole(value: str, what: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidInput(f"{what} must be a whole number") from None


# --- triage owners ----------------------------------------------------------------


@router.post("/settings/channels/owners")
def set_owner(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    scope: Line = "",
    owner: Line = "",
) -> Response:
    """`scope` is `default`, `service:ID` or `team:ID`; `owner` is
    `schedule:ID` or `user:ID`."""
    typed = {"scope": scope, "owner": owner}
    try:
        service_id, team_id = _scope(scope)
        kind, _, raw = owner.partition(":")
        if kind not in ("schedule", "user"):
            raise InvalidInput("choose a schedule or a person to triage")
        chosen = form_id(raw, kind)
        triage.set_owner(
            ctx,
            user.actor,
            service_id=service_id,
            team_id=team_id,
            schedule_id=chosen if kind == "schedule" else None,
            user_id=chosen if kind == "user" else None,
        )
    except TocsinError as error:
        return _page(request, ctx, user, owner=typed, error=error, at="owner")
    return RedirectResponse("/settings/channels#owners", status_code=303)


@router.post("/settings/channels/owners/remove")
def remove_owner(ctx: CtxDep, user: FormUserDep, scope: Line = "") -> Response:
    service_id, team_id = _scope(scope)
    triage.remove_owner(ctx, user.actor, service_id=service_id, team_id=team_id)
    return RedirectResponse("/settings/channels#owners", status_code=303)


def _scope(value: str) -> tuple[int | None, int | None]:
    """(service id, team id) of a scope field; (None, None) is the default."""
    kind, _, raw = value.partition(":")
    if kind == "default":
        return None, None
    if kind == "service":
        return form_id(raw, "service"), None
    if kind == "team":
        return None, form_id(raw, "team")
    raise InvalidInput("choose a service, a team or the default")


# --- the page -------------------------------------------------------------------


def _page(
    request: Request,
    ctx: Context,
    user: WebUser,
    *,
    trigger: dict[str, str] | None = None,
    owner: dict[str, str] | None = None,
    error: TocsinError | None = None,
    at: str | None = None,
) -> Response:
    with ctx.db.read() as session:
        services = [
            Choice(str(row.id), row.name)
            for row in session.execute(
                select(Service.id, Service.name).order_by(Service.name)
            )
        ]
        teams = [
            Choice(str(row.id), row.name)
            for row in session.execute(select(Team.id, Team.name).order_by(Team.name))
        ]
        schedules = [
            Choice(f"schedule:{row.id}", f"On call in {row.name}")
            for row in session.execute(
                select(Schedule.id, Schedule.name).order_by(Schedule.name)
            )
        ]
        people = [
            Choice(f"user:{row.id}", row.name)
            for row in session.execute(
                select(User.id, User.name).where(User.active).order_by(User.name)
            )
        ]
    schedule_names = {c.value.split(":")[1]: c.label for c in schedules}

    context: dict[str, Any] = {
        "user": user,
        "channels": channel_settings.overview(ctx, user.actor),
        "triggers": triggers.list_triggers(ctx, user.actor),
        "owners": triage.list_owners(ctx, user.actor),
        "schedule_names": schedule_names,
        "services": services,
        "teams": teams,
        "owner_choices": schedules + people,
        "severities": [
            Choice(level.key, level.name) for level in triage.scales(ctx).severity
        ],
        "types": [
            Choice(kind.key, kind.name)
            for kind in triage.list_types(ctx, include_inactive=False)
        ],
        "alert_severities": ALERT_SEVERITIES,
        "trigger": trigger or dict(TRIGGER_FIELDS),
        "owner": owner or dict(OWNER_FIELDS),
        "problem": error.detail if error else None,
        "problem_at": at,
        "max_matchers": rules.MAX_MATCHERS,
        "max_count": triggers.MAX_COUNT,
        "max_window": triggers.MAX_WINDOW_MINUTES,
    }
    status = refusal_status(error) if error else 200
    return render(
        request, "settings/response_channels.html", context, status_code=status
    )
