"""Responding from the incident page: escalate now, severity and priority,
roles and responders (tasks, checklists and updates are in
incident_response_forms).

Every form posts with its CSRF token and works twice: a plain post is answered
with a redirect back to its panel, an htmx post with the panel itself. A
refusal (bad input, a conflict, something named that is not there) answers
with the panel showing the message and what was typed, and the error's 4xx
status. Who may act, and on which incident, the services decide, as they do
for the API: a viewer is refused (403), another team's incident is not found.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from tocsin.api.deps import CtxDep
from tocsin.digits import plain_digits
from tocsin.domain import triage as triage_rules
from tocsin.errors import InvalidInput
from tocsin.services import (
    incident_triage,
    incidents,
    manual_escalation,
    responders,
    roles,
    triage,
)
from tocsin.web import incident_response_forms
from tocsin.web.auth import FormUserDep, UserDep
from tocsin.web.incident_response_answers import (
    Short,
    Typed,
    attempt,
    bounded,
    chosen_id,
)
from tocsin.web.incident_response_panels import panel_context, panels
from tocsin.web.templating import render_blocks

router = APIRouter()
router.include_router(incident_response_forms.router)


# Live state --------------------------------------------------------------------

# (template, block) of each panel's lists and facts: no typed input in them.
STATE_BLOCKS = (
    ("incidents/_response_triage.html", "triage_state"),
    ("incidents/_response_roles.html", "roles_state"),
    ("incidents/_response_responders.html", "responders_state"),
    ("incidents/_response_tasks.html", "tasks_state"),
    ("incidents/_response_checklists.html", "checklists_state"),
    ("incidents/_response_updates.html", "cadence_state"),
    ("incidents/_response_updates.html", "sent_state"),
)


@router.get("/incidents/{number:int}/response-state")
def response_state(ctx: CtxDep, user: UserDep, number: int) -> Response:
    """Every panel's lists and facts as out-of-band swaps, for the page to
    catch up after a change, its own or anyone else's."""
    incident = incidents.get(ctx, user.actor, bounded(number))
    context = panel_context(panels(ctx, user, incident), user) | {"oob": True}
    body = render_blocks(STATE_BLOCKS, context)
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


# Escalation and triage ---------------------------------------------------------


@router.post("/incidents/{number:int}/escalate")
def escalate(
    request: Request, ctx: CtxDep, user: FormUserDep, number: int, seen: Short = ""
) -> Response:
    """Page the next escalation step now, unless escalation moved on since the
    page showed the button at `seen`."""
    return attempt(
        request,
        ctx,
        user,
        number,
        "triage",
        {},
        lambda: manual_escalation.escalate_now(
            ctx, user.actor, number, seen=seen.strip() or None
        ),
    )


@router.post("/incidents/{number:int}/severity")
def change_severity(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    severity: Short = "",
    reason: Typed = "",
) -> Response:
    """Change the severity to one of the configured levels, saying why."""
    typed = {"severity": severity, "severity_reason": reason}
    return attempt(
        request,
        ctx,
        user,
        number,
        "triage",
        typed,
        lambda: incident_triage.set_severity(
            ctx, user.actor, number, severity.strip(), reason
        ),
    )


@router.post("/incidents/{number:int}/priority")
def change_priority(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    impact: Short = "",
    urgency: Short = "",
    reason: Typed = "",
) -> Response:
    """Set impact and urgency; the matrix gives the priority."""
    typed = {"impact": impact, "urgency": urgency, "priority_reason": reason}
    return attempt(
        request,
        ctx,
        user,
        number,
        "triage",
        typed,
        lambda: incident_triage.set_priority(
            ctx, user.actor, number, impact.strip(), urgency.strip(), reason
        ),
    )


@router.post("/incidents/{number:int}/impact")
def change_impact(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    incident_type: Short = "",
    customers: Short = "",
    estimated: Short = "",
    financial: Short = "",
    reputational: Short = "",
    legal: Short = "",
    business_impact: Typed = "",
    affected: Annotated[list[str], Form(max_length=100)] = [],  # noqa: B006 - copied
) -> Response:
    """Record the impact. The form sends every field, so a box left unticked
    clears its flag and an empty count clears the count."""
    typed = {
        "incident_type": incident_type,
        "customers": customers,
        "estimated": estimated,
        "financial": financial,
        "reputational": reputational,
        "legal": legal,
        "business_impact": business_impact,
        "affected": ",".join(affected),
    }
    return attempt(
        request,
        ctx,
        user,
        number,
        "triage",
        typed,
        lambda: incident_triage.update_impact(
            ctx, user.actor, number, _impact_fields(typed, affected)
        ),
    )


def _impact_fields(typed: dict[str, str], affected: list[str]) -> dict[str, Any]:
    """The impact form as update_impact's fields; InvalidInput for a count or
    a service id that is not a number."""
    count = typed["customers"].strip()
    if count and not plain_digits(count):
        raise InvalidInput("customers affected is a whole number")
    ids = [value.strip() for value in affected if value.strip()]
    if not all(plain_digits(value) and len(value) <= 10 for value in ids):
        raise InvalidInput("choose the affected services from the list")
    return {
        "incident_type": typed["incident_type"].strip() or None,
        "customers_affected": int(count) if count else None,
        "customers_affected_estimated": bool(typed["estimated"]),
        "impact_financial": bool(typed["financial"]),
        "impact_reputational": bool(typed["reputational"]),
        "impact_legal": bool(typed["legal"]),
        "business_impact": typed["business_impact"],
        "affected_service_ids": [int(value) for value in ids],
    }


@router.get("/incidents/{number:int}/priority-preview")
def priority_preview(
    ctx: CtxDep, user: UserDep, number: int, impact: str = "", urgency: str = ""
) -> Response:
    """The priority the matrix gives impact x urgency, as a phrase for the
    priority form to show while choosing."""
    incidents.get(ctx, user.actor, bounded(number))
    matrix = {(c.impact, c.urgency): c.priority for c in triage.scales(ctx).matrix}
    try:
        key = triage_rules.priority_of(matrix, impact, urgency)
    except InvalidInput:
        return HTMLResponse("choose an impact and an urgency")
    names = {level.key: level.name for level in triage.scales(ctx).priority}
    label = names.get(key, key.upper())
    return HTMLResponse(f"gives priority <strong>{escape(label)}</strong>")


# Roles -------------------------------------------------------------------------


@router.post("/incidents/{number:int}/roles/{role}")
def assign_role(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    role: str,
    user_id: Short = "",
) -> Response:
    """Give the role to a user; a handover when someone holds it."""
    typed = {"role": role, "user_id": user_id}

    def act() -> object:
        chosen = chosen_id(user_id, "the person to give the role to")
        return roles.assign(ctx, user.actor, number, role, chosen)

    return attempt(request, ctx, user, number, "roles", typed, act)


@router.post("/incidents/{number:int}/roles/{role}/release")
def release_role(
    request: Request, ctx: CtxDep, user: FormUserDep, number: int, role: str
) -> Response:
    """Leave the role without a holder."""
    return attempt(
        request,
        ctx,
        user,
        number,
        "roles",
        {"role": role},
        lambda: roles.release(ctx, user.actor, number, role),
    )


# Responders --------------------------------------------------------------------


@router.post("/incidents/{number:int}/responders")
def add_responders(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    responder: Short = "",
) -> Response:
    """Add a user, a team or an escalation policy (`user:3`, `team:2`,
    `policy:1`); everyone it stands for is paged."""
    typed = {"responder": responder}

    def act() -> object:
        kind, _, value = responder.partition(":")
        if kind not in responders.KINDS:
            raise InvalidInput("choose a person, a team or a policy to add")
        chosen = chosen_id(value, "whom to add")
        return responders.add(
            ctx,
            user.actor,
            number,
            user_id=chosen if kind == "user" else None,
            team_id=chosen if kind == "team" else None,
            policy_id=chosen if kind == "policy" else None,
        )

    return attempt(request, ctx, user, number, "responders", typed, act)
