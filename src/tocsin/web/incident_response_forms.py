"""Responding from the incident page, continued: tasks, runbook checklists and
the stakeholder update composer. Forms answer as in incident_response: a
redirect or the panel, and a refusal shows its message with what was typed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from tocsin.api.deps import CtxDep
from tocsin.domain.access import Role, require_role
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import runbooks, tasks, updates
from tocsin.services.updates import UpdateInput
from tocsin.web.auth import FormUserDep
from tocsin.web.incident_response_answers import (
    Short,
    Typed,
    answer,
    attempt,
    bounded,
    chosen_id,
    instant,
)
from tocsin.web.incident_response_panels import Focus

router = APIRouter()

Checkbox = Annotated[str, Form(max_length=10)]


# Tasks -------------------------------------------------------------------------


@router.post("/incidents/{number:int}/tasks")
def create_task(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    title: Typed = "",
    owner_id: Short = "",
    due: Short = "",
) -> Response:
    """Add a task, with an owner and a due time when given."""
    typed = {"title": title, "owner_id": owner_id, "due": due}

    def act() -> object:
        owner = chosen_id(owner_id, "the owner") if owner_id.strip() else None
        return tasks.create(
            ctx,
            user.actor,
            number,
            title=title,
            owner_id=owner,
            due_at=instant(due, "the due time"),
        )

    return attempt(request, ctx, user, number, "tasks", typed, act)


@router.post("/incidents/{number:int}/tasks/{task_id:int}")
def change_task(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    task_id: int,
    status: Short = "",
) -> Response:
    """Move a task to another status (open, in progress, done, cancelled)."""
    return attempt(
        request,
        ctx,
        user,
        number,
        "tasks",
        {"task_id": str(task_id), "status": status},
        lambda: tasks.update(ctx, user.actor, number, task_id, status=status.strip()),
    )


# Checklists --------------------------------------------------------------------


@router.post("/incidents/{number:int}/checklists")
def start_checklist(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    runbook_id: Short = "",
) -> Response:
    """Copy a runbook's steps into a checklist on the incident."""

    def act() -> object:
        chosen = chosen_id(runbook_id, "a runbook")
        return runbooks.start_checklist(ctx, user.actor, number, chosen)

    typed = {"runbook_id": runbook_id}
    return attempt(request, ctx, user, number, "checklists", typed, act)


@router.post(
    "/incidents/{number:int}/checklists/{checklist_id:int}/items/{item_id:int}"
)
def check_item(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    checklist_id: int,
    item_id: int,
    done: Checkbox = "",
) -> Response:
    """Check (`done=1`) or uncheck (`done=0`) an item."""

    def act() -> object:
        if done not in ("0", "1"):
            raise InvalidInput("say whether the step is done")
        return runbooks.check_item(
            ctx, user.actor, number, checklist_id, item_id, done=done == "1"
        )

    return attempt(request, ctx, user, number, "checklists", {}, act)


# Stakeholder updates -----------------------------------------------------------


@router.post("/incidents/{number:int}/updates")
def compose_update(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    intent: Short = "send",
    audience: Short = "",
    template: Short = "",
    variables: Typed = "",
    eta: Short = "",
    subject: Typed = "",
    body: Typed = "",
    status_page: Checkbox = "",
) -> Response:
    """Preview or send a stakeholder update.

    With a subject or body typed, that text is what is previewed or sent;
    otherwise the chosen template (or the one that fits the incident and the
    audience) is rendered with the variables. A preview fills the subject and
    body with the rendered text, to be edited before sending."""
    typed = {
        "audience": audience,
        "template": template,
        "variables": variables,
        "eta": eta,
        "subject": subject,
        "body": body,
        "status_page": status_page,
    }
    if intent != "preview":
        return attempt(
            request,
            ctx,
            user,
            number,
            "updates",
            typed,
            lambda: updates.post(ctx, user.actor, number, _update(typed)),
        )

    require_role(user.actor, Role.RESPONDER)
    number = bounded(number)
    try:
        rendered = updates.preview(ctx, user.actor, number, _update(typed))
    except (InvalidInput, Conflict, NotFound) as error:
        focus = Focus("updates", error.detail, typed)
        return answer(request, ctx, user, number, focus, error.status_code)
    filled = typed | {"subject": rendered.subject, "body": rendered.body}
    return answer(request, ctx, user, number, Focus("updates", None, filled, rendered))


def _update(typed: dict[str, str]) -> UpdateInput:
    written = bool(typed["subject"].strip() or typed["body"].strip())
    return UpdateInput(
        audience=typed["audience"].strip(),
        template=None if written else (typed["template"].strip() or None),
        subject=typed["subject"] if written else None,
        body=typed["body"] if written else None,
        variables=_variables(typed["variables"]),
        eta=instant(typed["eta"], "the ETA"),
        status_page=typed["status_page"] == "1",
    )


def _variables(text: str) -> dict[str, str]:
    """`name = value` lines (blank lines skipped) as a dict."""
    found: dict[str, str] = {}
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip():
            raise InvalidInput(
                f"variables, line {line_number}: write it as name = value"
            )
        found[name.strip()] = value.strip()
    return found
