"""Settings pages for templates: stakeholder update templates, with a live
preview, and postmortem templates.

Update templates are managers' (services/updates.py): the editor previews
what the template says for a made-up incident as it is typed, through the
same sandbox that saving and sending use, so a template that would fail when
sent is shown failing here and refused when saved. Postmortem templates are
admins' (services/postmortems.py). Everyone logged in may read both lists.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.domain import postmortems as postmortem_rules
from tocsin.domain.access import Role, holds, require_role
from tocsin.errors import InvalidInput, NotFound, TocsinError
from tocsin.services import postmortems, triage, updates
from tocsin.services.context import Context
from tocsin.services.incident_scope import MANAGER
from tocsin.services.updates import Audience, TemplateInput
from tocsin.web.auth import FormUserDep, UserDep, WebUser
from tocsin.web.settings_response_common import MAX_ID, lines, refusal_status
from tocsin.web.templating import render

router = APIRouter()

TemplateId = Annotated[int, Path(ge=1, le=MAX_ID)]
Line = Annotated[str, Form(max_length=1000)]
Text = Annotated[str, Form(max_length=updates.MAX_BODY + 1000)]
FIELDS = ("name", "audience", "incident_type", "subject", "body")
STARTER = {
    "name": "",
    "audience": Audience.INTERNAL.value,
    "incident_type": "",
    "subject": "#{{ incident.number }} {{ incident.severity }}: {{ incident.title }}",
    "body": (
        "Stage: {{ incident.stage }}\n"
        "Impact: {{ impact }}\n"
        "Next update: {{ eta or 'within the hour' }}\n"
        "{{ incident.url }}"
    ),
}


@router.get("/settings/templates")
def templates_page(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    context = {
        "user": user,
        "updates": updates.list_templates(ctx, user.actor),
        "postmortems": postmortems.list_templates(ctx, user.actor),
        "can_edit_updates": holds(user.actor, MANAGER),
        "can_edit_postmortems": holds(user.actor, Role.ADMIN),
    }
    return render(request, "settings/response_templates.html", context)


# --- update templates -----------------------------------------------------------


@router.get("/settings/templates/new")
def new_template(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    require_role(user.actor, MANAGER)
    return _editor(request, ctx, user, None, dict(STARTER))


@router.post("/settings/templates/new")
def create_template(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    name: Line = "",
    audience: Line = "",
    incident_type: Line = "",
    subject: Line = "",
    body: Text = "",
) -> Response:
    typed = _typed(name, audience, incident_type, subject, body)
    try:
        updates.create_template(ctx, user.actor, _input(typed))
    except TocsinError as error:
        return _editor(request, ctx, user, None, typed, error)
    return RedirectResponse("/settings/templates", status_code=303)


@router.post("/settings/templates/preview")
def preview_template(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    name: Line = "",
    audience: Line = "",
    incident_type: Line = "",
    subject: Line = "",
    body: Text = "",
) -> Response:
    """The editor's preview region (htmx): the rendered subject and body, or
    why the template would be refused. Either is a preview, so both answer
    200: a template half typed is the normal state of an editor, not a failed
    request (htmx would log every 4xx as an error)."""
    typed = _typed(name or "preview", audience, incident_type, subject, body)
    try:
        shown = updates.preview_template(ctx, user.actor, _input(typed))
    except InvalidInput as error:
        context: dict[str, Any] = {"preview": None, "problem": error.detail}
        return render(request, "settings/response_template_preview.html", context)
    context = {"preview": shown, "problem": None}
    return render(request, "settings/response_template_preview.html", context)


@router.get("/settings/templates/{template_id}")
def edit_template(
    request: Request, ctx: CtxDep, user: UserDep, template_id: TemplateId
) -> Response:
    found = updates.get_template(ctx, user.actor, str(template_id))
    typed = {
        "name": found.name,
        "audience": found.audience,
        "incident_type": found.incident_type or "",
        "subject": found.subject,
        "body": found.body,
    }
    return _editor(request, ctx, user, template_id, typed)


@router.post("/settings/templates/{template_id}")
def replace_template(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    template_id: TemplateId,
    name: Line = "",
    audience: Line = "",
    incident_type: Line = "",
    subject: Line = "",
    body: Text = "",
) -> Response:
    typed = _typed(name, audience, incident_type, subject, body)
    try:
        updates.replace_template(ctx, user.actor, template_id, _input(typed))
    except NotFound:
        raise
    except TocsinError as error:
        return _editor(request, ctx, user, template_id, typed, error)
    return RedirectResponse("/settings/templates", status_code=303)


def _typed(
    name: str, audience: str, incident_type: str, subject: str, body: str
) -> dict[str, str]:
    return {
        "name": name,
        "audience": audience,
        "incident_type": incident_type,
        "subject": subject,
        "body": lines(body),
    }


def _input(typed: dict[str, str]) -> TemplateInput:
    return TemplateInput(
        name=typed["name"],
        audience=typed["audience"],
        subject=typed["subject"],
        body=typed["body"],
        incident_type=typed["incident_type"] or None,
    )


def _editor(
    request: Request,
    ctx: Context,
    user: WebUser,
    template_id: int | None,
    typed: dict[str, str],
    error: TocsinError | None = None,
) -> Response:
    types = [kind.name for kind in triage.list_types(ctx, include_inactive=False)]
    if typed["incident_type"] and typed["incident_type"] not in types:
        types.append(typed["incident_type"])
    context: dict[str, Any] = {
        "user": user,
        "template_id": template_id,
        "typed": typed,
        "audiences": [audience.value for audience in Audience],
        "types": types,
        "editable": holds(user.actor, MANAGER),
        "problem": error.detail if error else None,
        "max_subject": updates.MAX_SUBJECT,
    }
    status = refusal_status(error) if error else 200
    return render(
        request, "settings/response_template.html", context, status_code=status
    )


# --- postmortem templates -------------------------------------------------------


PostmortemName = Annotated[str, Path(min_length=1, max_length=100)]


@router.get("/settings/postmortem-templates/new")
def new_postmortem_template(request: Request, user: UserDep) -> Response:
    require_role(user.actor, Role.ADMIN)
    sections = dict(postmortem_rules.BLAMELESS)
    return _postmortem_editor(request, user, "", sections, False, new=True)


@router.get("/settings/postmortem-templates/{name}")
def edit_postmortem_template(
    request: Request, ctx: CtxDep, user: UserDep, name: PostmortemName
) -> Response:
    for found in postmortems.list_templates(ctx, user.actor):
        if found.name == name:
            return _postmortem_editor(
                request, user, found.name, found.sections, found.is_default
            )
    raise NotFound(f"no postmortem template named {name!r}")


@router.post("/settings/postmortem-templates")
async def save_postmortem_template(
    request: Request, ctx: CtxDep, user: FormUserDep
) -> Response:
    """Create or replace the template with the name given (as the API's PUT
    does); a section per postmortem section, and whether it is the default."""
    form = await request.form()
    name = str(form.get("name", ""))[:1000]
    new = form.get("new") == "true"
    sections = {
        key: lines(str(form.get(f"section-{key}", "")))[: postmortems.MAX_SECTION + 1]
        for key, _ in postmortem_rules.SECTIONS
    }
    is_default = form.get("is_default") == "true"
    try:
        postmortems.save_template(
            ctx, user.actor, name, sections, is_default=is_default, new=new
        )
    except TocsinError as error:
        return _postmortem_editor(
            request, user, name, sections, is_default, new=new, error=error
        )
    return RedirectResponse("/settings/templates#postmortem", status_code=303)


def _postmortem_editor(
    request: Request,
    user: WebUser,
    name: str,
    sections: dict[str, str],
    is_default: bool,
    *,
    new: bool = False,
    error: TocsinError | None = None,
) -> Response:
    context = {
        "user": user,
        "name": name,
        "new": new,
        "sections": [
            (key, label, sections.get(key, ""))
            for key, label in postmortem_rules.SECTIONS
        ],
        "is_default": is_default,
        "editable": holds(user.actor, Role.ADMIN),
        "problem": error.detail if error else None,
    }
    status = refusal_status(error) if error else 200
    return render(
        request, "settings/response_postmortem.html", context, status_code=status
    )
