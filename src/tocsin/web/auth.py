"""Browser sessions for pages: the session cookie, who is logged in, and CSRF.

The session cookie holds a random token whose digest lives in the database, so
logging out (or an admin) can revoke it. Every form that changes state carries
the session's CSRF token in a hidden field; the login form, which has no session
yet, carries a token that must match a short-lived cookie (double submit), so a
foreign site cannot log a browser into someone else's account.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.config import Settings
from tocsin.domain.access import Actor, Role, require_role
from tocsin.errors import Forbidden, Unauthenticated
from tocsin.services import users

HOME = "/"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_COOKIE_MAX_AGE = 60 * 60
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}\Z")


class LoginRequired(Unauthenticated):
    """Raised by page dependencies; the site turns it into a redirect to /login."""

    def __init__(self, next_url: str | None = None) -> None:
        super().__init__("please log in")
        self.next_url = next_url


@dataclass(frozen=True)
class WebUser:
    """The logged-in user of a page request."""

    actor: Actor
    csrf_token: str
    # The IANA zone the user's pages show times in (templating's `when`).
    time_zone: str = "UTC"

    @property
    def can_act(self) -> bool:
        """Whether the user may change incidents (responders and admins)."""
        try:
            require_role(self.actor, Role.RESPONDER)
        except Forbidden:
            return False
        return True


def session_cookie(settings: Settings) -> str:
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure,
    # host-only and Path=/, so a sibling subdomain cannot plant one.
    return "__Host-tocsin_session" if settings.cookie_secure else "tocsin_session"


def login_cookie(settings: Settings) -> str:
    return "__Host-tocsin_login" if settings.cookie_secure else "tocsin_login"


def same_token(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty token never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def safe_next(value: str | None) -> str:
    """`value` if it is a path on this site, else the home page.

    Only a single leading slash is accepted: browsers read `//host`, `/\\host`
    and paths with tabs or newlines stripped as other sites.
    """
    if not value or len(value) > 2000 or not value.isascii():
        return HOME
    if not value.startswith("/") or value.startswith("//"):
        return HOME
    if "\\" in value or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        return HOME

    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME

    return value


def login_url(next_url: str | None) -> str:
    if next_url is None or safe_next(next_url) != next_url:
        return "/login"
    return "/login?" + urlencode({"next": next_url})


def current_user(request: Request, ctx: CtxDep) -> WebUser:
    """The user of the request's session; LoginRequired when there is none."""
    next_url = None
    if request.method == "GET":
        next_url = request.url.path
        if request.url.query:
            next_url += "?" + request.url.query

    token = request.cookies.get(session_cookie(ctx.settings), "")
    if not token:
        raise LoginRequired(next_url)
    try:
        holder = users.session_holder(ctx, token)
    except Unauthenticated as error:
        raise LoginRequired(next_url) from error

    return WebUser(
        actor=holder.actor, csrf_token=holder.csrf_token, time_zone=holder.time_zone
    )


UserDep = Annotated[WebUser, Depends(current_user)]


def form_user(
    request: Request, user: UserDep, csrf_token: Annotated[str, Form()] = ""
) -> WebUser:
    """The logged-in user of a form post whose CSRF token matches the session's.

    The token comes in the form's hidden field, or in the X-CSRF-Token header
    that htmx sends with every request (base.html sets it on the body).
    """
    given = csrf_token or request.headers.get(CSRF_HEADER, "")
    if not same_token(given, user.csrf_token):
        raise Forbidden("this form has expired; reload the page and try again")
    return user


FormUserDep = Annotated[WebUser, Depends(form_user)]


def login_form_token(request: Request, settings: Settings) -> str:
    """The login form's token: the browser's current one, or a fresh one.

    Keeping an existing token lets two open login tabs both work.
    """
    current = request.cookies.get(login_cookie(settings), "")
    if _TOKEN.match(current):
        return current
    return secrets.token_urlsafe(32)


def set_login_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        login_cookie(settings),
        token,
        max_age=LOGIN_COOKIE_MAX_AGE,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def set_session_cookie(
    response: Response, settings: Settings, token: str, max_age: int
) -> None:
    response.set_cookie(
        session_cookie(settings),
        token,
        max_age=max_age,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    response.delete_cookie(
        login_cookie(settings),
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        session_cookie(settings),
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def is_htmx(request: Request) -> bool:
    """Whether htmx made the request (and will swap the answer into the page)."""
    return request.headers.get("HX-Request") == "true"


def redirect_to_login(request: Request, error: Exception) -> Response:
    """Exception handler for LoginRequired.

    An htmx request would follow a redirect and swap the login form into a
    part of the page; it is told to load the login page instead.
    """
    next_url = error.next_url if isinstance(error, LoginRequired) else None
    if is_htmx(request):
        current = request.headers.get("HX-Current-URL", "")
        path = urlsplit(current).path if current else None
        return Response(status_code=204, headers={"HX-Redirect": login_url(path)})
    return RedirectResponse(login_url(next_url), status_code=303)
