"""Settings pages for teams: every team with its members, creating a team,
and adding or removing members.

Admins only, as the services require: membership decides which incidents and
services a person sees. Changes are CSRF-checked form posts answered with a
redirect back; a refused one re-renders the page with the message and a 4xx.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.digits import plain_digits
from tocsin.errors import Conflict, InvalidInput
from tocsin.services import people
from tocsin.services.catalog.policies import create_team as create_team_service
from tocsin.services.context import Context
from tocsin.web.auth import FormUserDep, UserDep, WebUser
from tocsin.web.templating import render

router = APIRouter()


DONE = {
    "created": "The team is created.",
    "added": "The member is added.",
    "removed": "The member is removed.",
}


@router.get("/settings/teams")
def team_list(request: Request, ctx: CtxDep, user: UserDep, done: str = "") -> Response:
    """Every team with its members, and the forms that change them."""
    return _page(request, ctx, user, done=DONE.get(done))


@router.post("/settings/teams")
def create_team(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    name: Annotated[str, Form()] = "",
) -> Response:
    try:
        team = create_team_service(ctx, user.actor, name)
    except (InvalidInput, Conflict) as error:
        return _page(
            request,
            ctx,
            user,
            error=_sentence(error.detail),
            typed_name=name,
            status_code=error.status_code,
        )
    return RedirectResponse(
        f"/settings/teams?done=created#team-{team.id}", status_code=303
    )


@router.post("/settings/teams/{team_id:int}/members")
def add_member(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    team_id: int,
    user_id: Annotated[str, Form()] = "",
) -> Response:
    """Add the chosen user to the team."""
    try:
        if not plain_digits(user_id) or not (1 <= int(user_id) <= people.MAX_ID):
            raise InvalidInput("choose a person to add")
        people.add_member(ctx, user.actor, team_id, int(user_id))
    except (InvalidInput, Conflict) as error:
        return _page(
            request,
            ctx,
            user,
            error=_sentence(error.detail),
            status_code=error.status_code,
        )
    return RedirectResponse(
        f"/settings/teams?done=added#team-{team_id}", status_code=303
    )


@router.post("/settings/teams/{team_id:int}/members/{user_id:int}/remove")
def remove_member(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    team_id: int,
    user_id: int,
) -> Response:
    people.remove_member(ctx, user.actor, team_id, user_id)
    return RedirectResponse(
        f"/settings/teams?done=removed#team-{team_id}", status_code=303
    )


def _page(
    request: Request,
    ctx: Context,
    user: WebUser,
    *,
    error: str | None = None,
    done: str | None = None,
    typed_name: str = "",
    status_code: int = 200,
) -> Response:
    teams = people.list_teams(ctx, user.actor)
    everyone = [p for p in people.list_people(ctx, user.actor) if p.active]
    context = {
        "user": user,
        "teams": teams,
        "everyone": everyone,
        "error": error,
        "done": done,
        "typed_name": typed_name,
    }
    return render(
        request, "settings/people_teams.html", context, status_code=status_code
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
