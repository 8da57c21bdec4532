"""The Jinja2 environment every page renders with, and its small helpers.

Autoescaping is always on and undefined names are errors, so a template can
neither print markup from data nor hide a typo behind an empty string.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from tocsin import __version__

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"


def static_url(path: str) -> str:
    """The URL of a file in web/static; the version makes upgrades bust caches."""
    return f"/static/{path}?v={__version__}"


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
