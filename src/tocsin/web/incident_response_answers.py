"""How the incident page's response forms answer (see incident_response):
a redirect back to the panel, or the panel itself for htmx, and a refusal as
the panel with its message and what was typed, under the error's 4xx status.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.digits import plain_digits
from tocsin.domain.access import Role, require_role
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import incidents
from tocsin.services.context import Context
from tocsin.web.auth import WebUser, is_htmx
from tocsin.web.incident_response_panels import Focus, panel_context, panels
from tocsin.web.incidents import MAX_NUMBER, render_detail
from tocsin.web.templating import render

Typed = Annotated[str, Form(max_length=25_000)]
Short = Annotated[str, Form(max_length=200)]


def attempt(
    request: Request,
    ctx: Context,
    user: WebUser,
    number: int,
    panel: str,
    typed: dict[str, str],
    action: Callable[[], object],
) -> Response:
    """Carry out `action` (which parses the form and calls one service) and
    answer for `panel`; a refusal re-renders the panel with its message."""
    require_role(user.actor, Role.RESPONDER)
    number = bounded(number)
    try:
        action()
    except (InvalidInput, Conflict, NotFound) as error:
        focus = Focus(panel, error.detail, typed)
        return answer(request, ctx, user, number, focus, error.status_code)
    return answer(request, ctx, user, number, Focus(panel))


def answer(
    request: Request,
    ctx: Context,
    user: WebUser,
    number: int,
    focus: Focus,
    status_code: int = 200,
) -> Response:
    """A redirect back to the panel after a plain form that worked; otherwise
    the panel (htmx) or the whole page (plain form) with `focus` in it.

    Reading the incident again is what turns another team's incident into a
    404 even when the service refused for another reason first."""
    quiet = focus.problem is None and focus.preview is None
    if quiet and not is_htmx(request):
        url = f"/incidents/{number}#response-{focus.panel}"
        return RedirectResponse(url, status_code=303)

    incident = incidents.get(ctx, user.actor, number)
    if not is_htmx(request):
        return render_detail(request, ctx, user, incident, focus, status_code)
    # A panel that answered well starts over: its forms empty again.
    shown = focus if not quiet else None
    view = panels(ctx, user, incident, shown)
    return render(
        request,
        f"incidents/_response_{focus.panel}.html",
        panel_context(view, user),
        status_code=status_code,
    )


def bounded(number: int) -> int:
    if not 1 <= number <= MAX_NUMBER:
        raise NotFound(f"no incident #{number}")
    return number


def chosen_id(value: str, what: str) -> int:
    """An id picked from a list; InvalidInput naming `what` otherwise."""
    value = value.strip()
    if not plain_digits(value) or not 1 <= int(value) <= MAX_NUMBER:
        raise InvalidInput(f"choose {what} from the list")
    return int(value)


def instant(value: str, what: str) -> datetime | None:
    """A `datetime-local` field's value, read as UTC (the page says so); None
    when empty."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a date and time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
