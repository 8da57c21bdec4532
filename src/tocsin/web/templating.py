"""The Jinja2 environment every page renders with, and its small helpers.

Autoescaping is always on and undefined names are errors, so a template can
neither print markup from data nor hide a typo behind an empty string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from tocsin.web.navigation import NAVIGATION

HERE = Path(__file__).parent
UTC_ZONE = ZoneInfo("UTC")
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


# The zone of whoever a page is being rendered for, set by `render` and
# `render_fragment` for the length of one render. Macros imported without
# context (macros.html's `timestamp`, everywhere) cannot see the page's `user`;
# this is how their `when` still shows the viewer's zone.
_viewer_zone: ContextVar[ZoneInfo | None] = ContextVar("viewer_zone", default=None)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # A zone stored before validation, or one tzdata dropped: show UTC
        # rather than break every page the user opens.
        return UTC_ZONE


def zone_of(user: object) -> ZoneInfo:
    """The zone a page shows times in for `user` (a WebUser); UTC for anyone
    else, such as the visitor of a page without login."""
    name = getattr(user, "time_zone", None)
    return _zone(name) if isinstance(name, str) else UTC_ZONE


@jinja2.pass_context
def when(context: jinja2.runtime.Context, instant: datetime | None) -> str:
    """A timestamp as people read it, in the logged-in user's zone with its
    abbreviation ("2026-03-08 03:30 EDT"); UTC on pages without a user."""
    if instant is None:
        return ""

    user = context.get("user")
    zone = zone_of(user) if user is not None else _viewer_zone.get() or UTC_ZONE
    return local_time(instant, zone)


def local_time(instant: datetime, zone: ZoneInfo) -> str:
    """`instant` as a wall-clock time in `zone`, with the zone's abbreviation
    at that instant (EST or EDT), or its name where the zone has none."""
    local = instant.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or zone.key}"


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
    with viewing_as(full["user"]):
        return templates.TemplateResponse(
            request, name, full, status_code=status_code, headers=headers
        )


def render_fragment(name: str, context: Mapping[str, Any]) -> str:
    """Render template `name` to a string (a part of a page sent as a live
    update), with times in the zone of the context's `user`, if any."""
    with viewing_as(context.get("user")):
        return templates.env.get_template(name).render(context)


def render_blocks(parts: Sequence[tuple[str, str]], context: Mapping[str, Any]) -> str:
    """Render named blocks of templates, (template, block) in order, to one
    string (out-of-band swaps), with times in the zone of the context's user."""
    rendered = []
    with viewing_as(context.get("user")):
        for name, block in parts:
            template = templates.env.get_template(name)
            rendered.append(
                "".join(template.blocks[block](template.new_context(dict(context))))
            )
    return "\n".join(rendered)


@contextmanager
def viewing_as(user: object) -> Iterator[None]:
    # Starlette renders the template while building the response, so the zone
    # is set exactly for the render and reset for whatever runs next.
    token = _viewer_zone.set(zone_of(user))
    try:
        yield
    finally:
        _viewer_zone.reset(token)
