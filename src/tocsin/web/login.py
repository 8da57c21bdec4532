"""Logging in and out of the web pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.errors import Unauthenticated
from tocsin.services import sso, users
from tocsin.services.context import Context
from tocsin.web.auth import (
    clear_session_cookie,
    form_user,
    login_cookie,
    login_form_token,
    safe_next,
    same_token,
    session_cookie,
    set_login_cookie,
    set_session_cookie,
)
from tocsin.web.templating import render

router = APIRouter()


@router.get("/login")
def login_form(
    request: Request,
    ctx: CtxDep,
    next_url: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    """The login form; someone already logged in goes straight on."""
    target = safe_next(next_url)
    token = request.cookies.get(session_cookie(ctx.settings), "")
    if token:
        try:
            users.authenticate_session(ctx, token)
        except Unauthenticated:
            pass
        else:
            return RedirectResponse(target, status_code=303)

    return _login_page(request, ctx, next_url=target)


@router.post("/login")
def log_in(
    request: Request,
    ctx: CtxDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next")] = "",
    login_token: Annotated[str, Form()] = "",
) -> Response:
    """Open a session and go to `next` (a local path only)."""
    target = safe_next(next_url)
    expected = request.cookies.get(login_cookie(ctx.settings), "")
    if not same_token(login_token, expected):
        return _login_page(
            request,
            ctx,
            next_url=target,
            email=email,
            error="The login form had expired. Please try again.",
            status_code=403,
        )

    try:
        new_session = users.login(ctx, email, password)
    except Unauthenticated as error:
        return _login_page(
            request,
            ctx,
            next_url=target,
            email=email,
            error=_sentence(error.detail),
            status_code=400,
        )

    response = RedirectResponse(target, status_code=303)
    max_age = int((new_session.expires_at - ctx.clock.now()).total_seconds())
    set_session_cookie(response, ctx.settings, new_session.token, max_age)
    return response


@router.post("/logout", dependencies=[Depends(form_user)])
def log_out(request: Request, ctx: CtxDep) -> Response:
    """Revoke the session in the database, not only in this browser."""
    users.logout(ctx, request.cookies.get(session_cookie(ctx.settings), ""))

    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, ctx.settings)
    return response


def _login_page(
    request: Request,
    ctx: Context,
    *,
    next_url: str,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    form_token = login_form_token(request, ctx.settings)
    context = {
        "next_url": next_url,
        "email": email,
        "error": error,
        "login_token": form_token,
        "sign_on": sso.button_label(ctx.settings),
    }
    response = render(request, "login.html", context, status_code=status_code)
    set_login_cookie(response, ctx.settings, form_token)
    return response


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."
