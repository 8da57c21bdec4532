"""Wiring the web layer into the application: static files, headers, login."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from tocsin.web.auth import LoginRequired, redirect_to_login
from tocsin.web.security import SecurityHeaders
from tocsin.web.templating import STATIC_DIR

# Pages link static files with a digest of their content in the query
# (templating.static_url), so a fingerprinted URL never changes meaning.
LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class FingerprintedStatic(StaticFiles):
    """Static files that browsers keep for a year when asked for by digest, and
    revalidate when asked for by bare name."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            query: bytes = scope.get("query_string", b"")
            fingerprinted = any(p.startswith(b"v=") for p in query.split(b"&"))
            response.headers["Cache-Control"] = (
                LONG_CACHE if fingerprinted else REVALIDATE
            )
        return response


def install(app: FastAPI) -> None:
    """Mount /static, send security headers on every response, and turn
    LoginRequired into a redirect to the login page."""
    app.mount("/static", FingerprintedStatic(directory=STATIC_DIR), name="static")
    app.add_exception_handler(LoginRequired, redirect_to_login)
    app.add_middleware(SecurityHeaders)
