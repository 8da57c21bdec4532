"""Settings pages for people: every user, creating one, and one user's role,
whether they may log in, and (read only) how they are paged.

Admins only, as the services require: roles and team memberships decide what
everyone else may see. Each change is a plain CSRF-checked form post answered
with a redirect back to the page (so reloading never posts twice); a refused
change re-renders the form with the message, what was typed, and a 4xx.
The teams pages live in settings_people_teams and are included here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.domain.access import Role
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import accounts, contacts, notification_rules, people
from tocsin.services.catalog.policies import list_teams
from tocsin.services.context import Context
from tocsin.web import settings_people_teams
from tocsin.web.auth import FormUserDep, UserDep, WebUser
from tocsin.web.settings import SECTIONS, SettingsSection
from tocsin.web.templating import render

router = APIRouter()
router.include_router(settings_people_teams.router)

SECTIONS.append(
    SettingsSection(
        "People",
        "/settings/users",
        "Add users, change their role, deactivate those who left.",
        Role.ADMIN,
    )
)
SECTIONS.append(
    SettingsSection(
        "Teams",
        "/settings/teams",
        "Create teams and choose who is in each.",
        Role.ADMIN,
    )
)


# What a redirect's `done` names; fixed text, never anything from the URL.
DONE = {
    "created": "The user is created.",
    "invited": "The user is created and a mail with a link to choose a "
    "password is on its way.",
    "role": "The role is changed; it applies from their next click.",
    "deactivated": "The user is deactivated: their sessions ended and their API "
    "tokens are revoked.",
    "reactivated": "The user is active again. They log in afresh.",
}

EMPTY_FORM = {
    "name": "",
    "email": "",
    "role": Role.RESPONDER.value,
    "teams": (),
    "login": "password",
}


@router.get("/settings/users")
def user_list(request: Request, ctx: CtxDep, user: UserDep, done: str = "") -> Response:
    """Every user, and the form to add one."""
    return _list_page(request, ctx, user, done=DONE.get(done))


@router.post("/settings/users")
def create_user(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    teams: Annotated[list[str] | None, Form()] = None,
    login: Annotated[str, Form()] = "password",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Create a user who logs in with the password given, or through a
    password-reset link mailed to them now, or (neither) by single sign-on."""
    chosen = tuple(teams or ())
    typed = {"name": name, "email": email, "role": role, "teams": chosen}
    try:
        if login not in ("password", "mail", "none"):
            raise InvalidInput("choose how the user logs in first")
        if login == "password" and not password:
            raise InvalidInput("type a first password, or choose another way in")
        accounts.create_account(
            ctx,
            user.actor,
            email=email,
            name=name,
            role=role,
            teams=chosen,
            password=password if login == "password" else None,
            mail_reset=login == "mail",
        )
    except (InvalidInput, Conflict, NotFound) as error:
        # An unknown team in the form is bad input here, not a missing page.
        status = 400 if isinstance(error, NotFound) else error.status_code
        return _list_page(
            request,
            ctx,
            user,
            form={**typed, "login": login},
            error=_sentence(error.detail),
            status_code=status,
        )

    done = "invited" if login == "mail" else "created"
    return RedirectResponse(f"/settings/users?done={done}", status_code=303)


@router.get("/settings/users/{user_id:int}")
def user_detail(
    request: Request, ctx: CtxDep, user: UserDep, user_id: int, done: str = ""
) -> Response:
    """One user: role, activity, teams, contact methods and paging rules."""
    return _detail_page(request, ctx, user, user_id, done=DONE.get(done))


@router.post("/settings/users/{user_id:int}/role")
def change_role(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    user_id: int,
    role: Annotated[str, Form()] = "",
) -> Response:
    """Give the user another role; the last active admin keeps theirs."""
    try:
        people.change_role(ctx, user.actor, user_id, role)
    except (InvalidInput, Conflict) as error:
        return _detail_page(
            request,
            ctx,
            user,
            user_id,
            error=_sentence(error.detail),
            status_code=error.status_code,
        )
    return RedirectResponse(f"/settings/users/{user_id}?done=role", status_code=303)


@router.post("/settings/users/{user_id:int}/active")
def set_active(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    user_id: int,
    active: Annotated[str, Form()] = "",
) -> Response:
    """Deactivate (`active=no`) or reactivate (`active=yes`) the user."""
    try:
        if active not in ("yes", "no"):
            raise InvalidInput("say whether the user is to be active")
        people.set_active(ctx, user.actor, user_id, active == "yes")
    except (InvalidInput, Conflict) as error:
        return _detail_page(
            request,
            ctx,
            user,
            user_id,
            error=_sentence(error.detail),
            status_code=error.status_code,
        )
    done = "reactivated" if active == "yes" else "deactivated"
    return RedirectResponse(f"/settings/users/{user_id}?done={done}", status_code=303)


def _list_page(
    request: Request,
    ctx: Context,
    user: WebUser,
    *,
    form: dict[str, object] | None = None,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "user": user,
        "people": people.list_people(ctx, user.actor),
        "teams": [team.name for team in list_teams(ctx)],
        "roles": people.ROLES,
        "form": form or EMPTY_FORM,
        "error": error,
        "done": done,
        "min_password": accounts.MIN_PASSWORD,
    }
    return render(
        request, "settings/people_users.html", context, status_code=status_code
    )


def _detail_page(
    request: Request,
    ctx: Context,
    user: WebUser,
    user_id: int,
    *,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    person = people.get_person(ctx, user.actor, user_id)
    context = {
        "user": user,
        "person": person,
        "roles": people.ROLES,
        "contacts": contacts.list_contacts(ctx, user.actor, user_id),
        "rules": notification_rules.list_rules(ctx, user.actor, user_id),
        "is_me": user.actor.user_id == person.id,
        "error": error,
        "done": done,
    }
    return render(
        request, "settings/people_user.html", context, status_code=status_code
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
