"""Incident pages: the list, one incident, and the forms that act on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.domain.incidents import IncidentAction, IncidentStatus, next_status
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import incidents
from tocsin.services.incidents import MAX_NOTE, IncidentFilter
from tocsin.web.auth import FormUserDep, UserDep
from tocsin.web.templating import render

router = APIRouter()

PAGE_SIZE = 25
MAX_PAGE = 10_000
# Incident numbers are 32-bit integers in the database; a larger number in a URL
# cannot name an incident, and PostgreSQL would refuse to compare with it.
MAX_NUMBER = 2**31 - 1

_TRIGGERED = IncidentStatus.TRIGGERED.value
_ACKNOWLEDGED = IncidentStatus.ACKNOWLEDGED.value
_RESOLVED = IncidentStatus.RESOLVED.value

FILTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("All", ()),
    ("Open", (_TRIGGERED, _ACKNOWLEDGED)),
    ("Triggered", (_TRIGGERED,)),
    ("Acknowledged", (_ACKNOWLEDGED,)),
    ("Resolved", (_RESOLVED,)),
)

BUTTONS = {
    IncidentAction.ACKNOWLEDGE: "Acknowledge",
    IncidentAction.RESOLVE: "Resolve",
}


@dataclass(frozen=True)
class FilterTab:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class Button:
    action: str
    label: str


@router.get("/incidents")
def incident_list(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    status: Annotated[list[str] | None, Query()] = None,
    page: str = "1",
) -> Response:
    """Newest first, PAGE_SIZE a page, optionally only some statuses."""
    statuses = _statuses(status or [])
    number = _page_number(page)

    where = IncidentFilter(
        status=statuses, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    result = incidents.list_incidents(ctx, user.actor, where)

    has_next = where.offset + len(result.items) < result.total
    context = {
        "user": user,
        "result": result,
        "first": where.offset + 1,
        "last": where.offset + len(result.items),
        "tabs": [
            FilterTab(label, _list_url(wanted, 1), set(wanted) == set(statuses))
            for label, wanted in FILTERS
        ],
        "previous_url": _list_url(statuses, number - 1) if number > 1 else None,
        "next_url": _list_url(statuses, number + 1) if has_next else None,
    }
    return render(request, "incidents/list.html", context)


@router.get("/incidents/{number:int}")
def incident_detail(
    request: Request, ctx: CtxDep, user: UserDep, number: int
) -> Response:
    incident = incidents.get(ctx, user.actor, _bounded(number))

    buttons = _buttons(incident.status) if user.can_act else []
    context = {
        "user": user,
        "incident": incident,
        "buttons": buttons,
        "max_note": MAX_NOTE,
    }
    return render(request, "incidents/detail.html", context)


@router.post("/incidents/{number:int}/acknowledge")
def acknowledge(ctx: CtxDep, user: FormUserDep, number: int) -> Response:
    incidents.acknowledge(ctx, user.actor, _bounded(number))
    return _back_to(number)


@router.post("/incidents/{number:int}/resolve")
def resolve(ctx: CtxDep, user: FormUserDep, number: int) -> Response:
    incidents.resolve(ctx, user.actor, _bounded(number))
    return _back_to(number)


@router.post("/incidents/{number:int}/notes")
def add_note(
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    text: Annotated[str, Form()] = "",
) -> Response:
    incidents.add_note(ctx, user.actor, _bounded(number), text)
    return _back_to(number, anchor="timeline")


def _statuses(values: list[str]) -> tuple[str, ...]:
    known = {s.value for s in IncidentStatus}
    for value in values:
        if value not in known:
            raise InvalidInput(f"status must be one of {', '.join(sorted(known))}")
    return tuple(dict.fromkeys(values))


def _page_number(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise InvalidInput(f"page must be a whole number from 1 to {MAX_PAGE}")
    return int(value)


def _bounded(number: int) -> int:
    if number > MAX_NUMBER:
        raise NotFound(f"no incident #{number}")
    return number


def _list_url(statuses: tuple[str, ...], page: int) -> str:
    query: list[tuple[str, str]] = [("status", status) for status in statuses]
    if page > 1:
        query.append(("page", str(page)))
    return "/incidents" + ("?" + urlencode(query) if query else "")


def _buttons(status: str) -> list[Button]:
    """The actions that would change the incident from `status`."""
    buttons = []
    for action, label in BUTTONS.items():
        try:
            if next_status(status, action) is not None:
                buttons.append(Button(action.value, label))
        except Conflict:
            continue
    return buttons


def _back_to(number: int, anchor: str | None = None) -> RedirectResponse:
    url = f"/incidents/{number}" + (f"#{anchor}" if anchor else "")
    return RedirectResponse(url, status_code=303)
