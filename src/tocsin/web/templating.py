"""The Jinja2 environment every page renders with, and its small helpers.

Autoescaping is always on and undefined names are errors, so a template can
neither print markup from data nor hide a typo behind an empty string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from tocsin.web.navigation import NAVIGATION

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

# htmx settings, read from a meta tag. No eval and no inline style (the CSP
# allows neither); errors are swapped in too, so the server's message shows
# (the server points them at #flash); history is not cached in localStorage,
# because pages hold CSRF tokens: going back reloads the page.
HTMX_CONFIG = {
    "allowEval": False,
    "allowScriptTags": False,
    "includeIndicatorStyles": False,
    "historyCacheSize": 0,
    "refreshOnHistoryMiss": True,
    "selfRequestsOnly": True,
    # Settling would copy `style` between old and new elements, which sets an
    # inline style attribute the CSP refuses.
    "attributesToSettle": ["class", "width", "height"],
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "[45]..", "swap": True, "error": True},
        {"code": "...", "swap": False},
    ],
}


@lru_cache(maxsize=64)
def _fingerprint(path: str) -> str:
    return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]


def static_url(path: str) -> str:
    """The URL of a file in web/static. The query carries a digest of the file's
    content, so browsers may cache it for a year: a changed file has a new URL.
    """
    return f"/static/{path}?v={_fingerprint(path)}"


def when(instant: datetime | None) -> str:
    """A timestamp as people read it; always UTC until users carry a zone."""
    if instant is None:
        return ""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(instant: datetime | None) -> str:
    """A timestamp for a `<time datetime>` attribute."""
    if instant is None:
        return ""
    return instant.astimezone(UTC).isoformat()


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = static_url
    env.globals["navigation"] = NAVIGATION
    env.globals["htmx_config"] = HTMX_CONFIG
    env.filters["when"] = when
    env.filters["iso"] = iso
    return env


templates = Jinja2Templates(env=_environment())


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render template `name`. Pages without a logged-in user get `user=None`, so
    base.html can always ask who is there."""
    full: dict[str, Any] = {"user": None}
    full.update(context or {})
    return templates.TemplateResponse(
        request, name, full, status_code=status_code, headers=headers
    )
