"""The incident page's triage help: the suggestions panel (loaded after the
page, so a slow model never holds the page up) with accept and override
buttons, the similar resolved incidents, and drafts to edit."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.errors import Conflict, InvalidInput
from tocsin.services import drafts, similar_incidents, suggestions
from tocsin.web.auth import FormUserDep, UserDep, WebUser, is_htmx
from tocsin.web.templating import render

router = APIRouter()

Number = Annotated[int, Path(ge=1, le=2**31 - 1)]
FieldName = Annotated[str, Path(max_length=20)]
Kind = Annotated[Literal["update", "summary", "postmortem"], Path()]
DRAFT_TITLES = {
    "update": "Stakeholder update",
    "summary": "Incident summary",
    "postmortem": "Postmortem summary",
}


def _panel(
    request: Request,
    ctx: CtxDep,
    user: WebUser,
    number: int,
    *,
    problem: str = "",
    status: int = 200,
) -> Response:
    found = suggestions.suggestions(ctx, user.actor, number)
    model = suggestions.describe(suggestions.current(ctx))
    return render(
        request,
        "ai/_suggestions.html",
        {
            "user": user,
            "number": number,
            "suggestions": found,
            "model": model,
            "problem": problem,
        },
        status_code=status,
    )


@router.get("/incidents/{number}/suggestions")
def panel(request: Request, ctx: CtxDep, user: UserDep, number: Number) -> Response:
    return _panel(request, ctx, user, number)


@router.post("/incidents/{number}/suggestions/{field}")
def decide(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: Number,
    field: FieldName,
    value: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Accept (no value) or override (a value) the suggestion for `field`.
    A refusal inside the panel gives the panel again with the reason: htmx
    puts the answer in the panel's place. A decided severity or type changed
    the incident, so htmx then reloads the page to show it; a service
    decision changed nothing else and only the panel is replaced."""
    try:
        suggestions.decide(ctx, user.actor, number, field, value=value or None)
    except (InvalidInput, Conflict) as error:
        if not is_htmx(request):
            raise
        status = 409 if isinstance(error, Conflict) else 400
        return _panel(request, ctx, user, number, problem=error.detail, status=status)
    if is_htmx(request):
        answer = _panel(request, ctx, user, number)
        if field != "service":
            answer.headers["HX-Refresh"] = "true"
        return answer
    return RedirectResponse(f"/incidents/{number}", status_code=303)


@router.get("/incidents/{number}/similar")
def similar(request: Request, ctx: CtxDep, user: UserDep, number: Number) -> Response:
    found = similar_incidents.similar(ctx, user.actor, number)
    return render(
        request,
        "ai/_similar.html",
        {"user": user, "number": number, "similar": found},
    )


@router.get("/incidents/{number}/drafts/{kind}")
def draft(
    request: Request, ctx: CtxDep, user: UserDep, number: Number, kind: Kind
) -> Response:
    """A draft in a box to edit; nothing is stored or sent."""
    written = drafts.write(ctx, user.actor, number, kind)
    return render(
        request,
        "ai/_draft.html",
        {"user": user, "draft": written, "title": DRAFT_TITLES[kind]},
    )
