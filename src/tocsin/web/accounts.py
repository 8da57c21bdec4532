"""Account pages: forgotten password, reset by emailed link, and the profile
page with the time zone, API tokens and the password change.

The forgot and reset forms have no session yet; like the login form they carry
a token that must match a short-lived cookie (double submit), so another site
cannot post them from a visitor's browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from tocsin.api.deps import CtxDep
from tocsin.digits import plain_digits
from tocsin.errors import InvalidInput, NotFound
from tocsin.services import accounts
from tocsin.services.context import Context
from tocsin.web.auth import (
    FormUserDep,
    UserDep,
    WebUser,
    is_htmx,
    login_cookie,
    login_form_token,
    same_token,
    session_cookie,
    set_login_cookie,
)
from tocsin.web.templating import render

router = APIRouter()

# Reset links carry their secret in the path: no Referer, no caching, no index.
PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
MAX_TOKEN_DAYS = 3650


# Forgotten password -----------------------------------------------------------


@router.get("/password/forgot")
def forgot_form(request: Request, ctx: CtxDep) -> Response:
    return _anonymous_form(request, ctx, "accounts/forgot.html", {"email": ""})


@router.post("/password/forgot")
def forgot(
    request: Request,
    ctx: CtxDep,
    email: Annotated[str, Form()] = "",
    login_token: Annotated[str, Form()] = "",
) -> Response:
    """Send a reset link if the address has an account; answer the same either
    way, so the page reveals nothing about who has one."""
    if not _double_submitted(request, ctx, login_token):
        return _expired(request, ctx, "accounts/forgot.html", {"email": email})

    accounts.request_reset(ctx, email)
    return render(request, "accounts/forgot_sent.html", {"email": email.strip()})


@router.get("/password/reset/{token}")
def reset_form(request: Request, ctx: CtxDep, token: str) -> Response:
    """The new-password form, if the link is still good. Changes nothing."""
    email = accounts.reset_email(ctx, token)
    return _anonymous_form(
        request, ctx, "accounts/reset.html", {"email": email}, headers=PRIVATE
    )


@router.post("/password/reset/{token}")
def reset(
    request: Request,
    ctx: CtxDep,
    token: str,
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
    login_token: Annotated[str, Form()] = "",
) -> Response:
    email = accounts.reset_email(ctx, token)
    context = {"email": email}
    if not _double_submitted(request, ctx, login_token):
        return _expired(request, ctx, "accounts/reset.html", context, PRIVATE)

    try:
        if password != confirm:
            raise InvalidInput("the two passwords differ")
        accounts.reset_password(ctx, token, password)
    except InvalidInput as error:
        return _anonymous_form(
            request,
            ctx,
            "accounts/reset.html",
            {**context, "error": _sentence(error.detail)},
            headers=PRIVATE,
            status_code=400,
        )
    return render(request, "accounts/reset_done.html", context, headers=PRIVATE)


# Profile ----------------------------------------------------------------------


@router.get("/profile")
def profile(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    return _profile_page(request, ctx, user)


@router.post("/profile/tokens")
def create_token(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    name: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "",
) -> Response:
    """Make an API token and show its secret, this once."""
    try:
        secret = accounts.create_own_token(ctx, user.actor, name, _days(days))
    except InvalidInput as error:
        return _profile_part(
            request, ctx, user, token_error=_sentence(error.detail), status_code=400
        )
    return _profile_part(request, ctx, user, new_secret=secret, status_code=201)


@router.post("/profile/tokens/{token_id:int}/revoke")
def revoke_token(
    request: Request, ctx: CtxDep, user: FormUserDep, token_id: int
) -> Response:
    if not 1 <= token_id <= 2**31 - 1:
        raise NotFound(f"you have no API token {token_id}")
    accounts.revoke_own_token(ctx, user.actor, token_id)
    return _profile_part(request, ctx, user)


@router.post("/profile/sessions/end-others")
def end_other_sessions(request: Request, ctx: CtxDep, user: FormUserDep) -> Response:
    """Log out every other browser of the account (a lost phone, a shared
    computer); this one stays logged in."""
    ended = accounts.end_other_sessions(ctx, user.actor, _session_token(request, ctx))
    return _profile_page(request, ctx, user, sessions_ended=ended)


@router.post("/profile/password")
def change_password(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    current: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Change the password; other browser sessions of the account end."""
    try:
        if password != confirm:
            raise InvalidInput("the two new passwords differ")
        accounts.change_password(
            ctx,
            user.actor,
            current=current,
            new=password,
            session_token=_session_token(request, ctx),
        )
    except InvalidInput as error:
        return _profile_page(
            request, ctx, user, password_error=_sentence(error.detail), status_code=400
        )
    return _profile_page(request, ctx, user, password_changed=True)


@router.post("/profile/time-zone")
def change_time_zone(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    time_zone: Annotated[str, Form()] = "",
) -> Response:
    """Show the user's pages in another IANA zone, from this page on."""
    try:
        zone = accounts.set_time_zone(ctx, user.actor, time_zone)
    except InvalidInput as error:
        return _profile_page(
            request,
            ctx,
            user,
            zone_error=_sentence(error.detail),
            zone_typed=time_zone,
            status_code=400,
        )
    # This page already shows times in the new zone.
    moved = replace(user, time_zone=zone)
    return _profile_page(request, ctx, moved, zone_changed=True)


def _profile_page(
    request: Request,
    ctx: Context,
    user: WebUser,
    *,
    status_code: int = 200,
    **extra: object,
) -> Response:
    context = {
        "user": user,
        "profile": accounts.profile(ctx, user.actor, _session_token(request, ctx)),
        "now": ctx.clock.now(),
        "sessions_ended": None,
        "new_secret": None,
        "token_error": None,
        "password_error": None,
        "password_changed": False,
        "max_days": MAX_TOKEN_DAYS,
        "time_zones": accounts.time_zones(),
        "zone_error": None,
        "zone_typed": None,
        "zone_changed": False,
    }
    context.update(extra)
    return render(request, "accounts/profile.html", context, status_code=status_code)


def _profile_part(
    request: Request,
    ctx: Context,
    user: WebUser,
    *,
    new_secret: str | None = None,
    token_error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The tokens section for htmx, or the whole profile page for a plain form.

    An error is answered 200 to htmx: the section itself shows the message
    next to the field, rather than the page's error region.
    """
    extra = {"new_secret": new_secret, "token_error": token_error}
    if not is_htmx(request):
        return _profile_page(request, ctx, user, status_code=status_code, **extra)

    context = {
        "user": user,
        "profile": accounts.profile(ctx, user.actor),
        "now": ctx.clock.now(),
        "max_days": MAX_TOKEN_DAYS,
        **extra,
    }
    code = 200 if token_error else status_code
    return render(request, "accounts/_tokens.html", context, status_code=code)


# Helpers ----------------------------------------------------------------------


def _session_token(request: Request, ctx: Context) -> str:
    return request.cookies.get(session_cookie(ctx.settings), "")


def _days(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not plain_digits(value) or not (1 <= int(value) <= MAX_TOKEN_DAYS):
        raise InvalidInput(f"days must be a whole number from 1 to {MAX_TOKEN_DAYS}")
    return int(value)


def _double_submitted(request: Request, ctx: Context, given: str) -> bool:
    return same_token(given, request.cookies.get(login_cookie(ctx.settings), ""))


def _anonymous_form(
    request: Request,
    ctx: Context,
    template: str,
    context: Mapping[str, object],
    headers: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    form_token = login_form_token(request, ctx.settings)
    full = {"error": None, **context, "login_token": form_token}
    response = render(request, template, full, headers=headers, status_code=status_code)
    set_login_cookie(response, ctx.settings, form_token)
    return response


def _expired(
    request: Request,
    ctx: Context,
    template: str,
    context: Mapping[str, object],
    headers: dict[str, str] | None = None,
) -> Response:
    error = "The form had expired. Please try again."
    return _anonymous_form(
        request, ctx, template, {**context, "error": error}, headers, status_code=403
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."
