"""Single sign-on pages: the start of a sign-in at the OpenID Connect
provider, and the callback the provider sends the browser back to.

The sign-in in progress lives in a signed cookie (tocsin.services.sso) that
is HttpOnly, SameSite=Lax (the provider's redirect back is a top-level GET,
which Lax lets through) and lasts ten minutes. Whatever goes wrong, the
browser gets a page that says what, with a 4xx status, and the cookie is
dropped; the reason is in the log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.config import Settings
from tocsin.errors import NotFound
from tocsin.services import sso
from tocsin.services.context import Context
from tocsin.web.auth import safe_next, set_session_cookie
from tocsin.web.templating import render

router = APIRouter()

FLOW_MAX_AGE = int(sso.FLOW_TTL.total_seconds())
# The provider's redirect carries the code in the URL: keep it out of Referer
# headers and caches.
PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
# Query values longer than this are nobody's honest answer.
MAX_PARAM = 2048

Param = Annotated[str, Query(max_length=MAX_PARAM)]


def flow_cookie(settings: Settings) -> str:
    # __Host- as for the session cookie: Secure, host-only, Path=/.
    return "__Host-tocsin_sso" if settings.cookie_secure else "tocsin_sso"


@router.get("/login/oidc")
def start(
    request: Request,
    ctx: CtxDep,
    next_url: Annotated[str | None, Query(alias="next", max_length=MAX_PARAM)] = None,
) -> Response:
    """Send the browser to the provider to sign in; 404 when sign-on is off."""
    target = safe_next(next_url)
    try:
        authorize_url, flow = sso.begin(ctx, target)
    except sso.SignOnFailed as error:
        return _failed(request, ctx, error, target)

    response = RedirectResponse(authorize_url, status_code=303, headers=PRIVATE)
    response.set_cookie(
        flow_cookie(ctx.settings),
        sso.seal(ctx.settings, flow),
        max_age=FLOW_MAX_AGE,
        path="/",
        secure=ctx.settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/login/oidc/callback")
def callback(
    request: Request,
    ctx: CtxDep,
    code: Param = "",
    state: Param = "",
    error: Param = "",
) -> Response:
    """Finish the sign-in the provider sends back: log in and go on to the page
    the sign-in started from, or explain what failed."""
    if not sso.enabled(ctx.settings):
        raise NotFound("single sign-on is not configured")

    target = "/"
    try:
        flow = sso.unseal(ctx, request.cookies.get(flow_cookie(ctx.settings), ""))
        target = flow.next_url
        new_session = sso.finish(
            ctx, flow, state=state, code=code, provider_error=error
        )
    except (sso.SignOnFailed, sso.SignOnRefused) as failure:
        return _failed(request, ctx, failure, safe_next(target))

    response = RedirectResponse(safe_next(target), status_code=303, headers=PRIVATE)
    max_age = int((new_session.expires_at - ctx.clock.now()).total_seconds())
    set_session_cookie(response, ctx.settings, new_session.token, max_age)
    _drop_flow(response, ctx.settings)
    return response


def _failed(
    request: Request,
    ctx: Context,
    failure: sso.SignOnFailed | sso.SignOnRefused,
    next_url: str,
) -> Response:
    context = {
        "provider": ctx.settings.oidc_provider_name,
        "title": failure.title,
        "detail": failure.detail,
        "status": failure.status_code,
        "next_url": next_url,
    }
    response = render(
        request,
        "sso/failed.html",
        context,
        status_code=failure.status_code,
        headers=PRIVATE,
    )
    _drop_flow(response, ctx.settings)
    return response


def _drop_flow(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        flow_cookie(settings),
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
