"""Incident pages: the list, one incident, and the forms that act on it.

Every form works twice: as a plain form (the answer is a redirect back to the
incident) and through htmx (the answer is the part of the page that changed).
Acting goes through services.incidents, the same calls the API makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.digits import plain_digits
from tocsin.domain.incidents import IncidentAction, IncidentStatus, next_status
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.schemas import IncidentDetail, IncidentRead
from tocsin.services import incident_views, incidents, triage
from tocsin.services.context import Context
from tocsin.services.incident_views import Cursor, IncidentQuery, Sort
from tocsin.services.incidents import MAX_NOTE, MAX_REOPEN_REASON
from tocsin.web.auth import FormUserDep, UserDep, WebUser, is_htmx
from tocsin.web.incident_response_panels import Focus, panel_context, panels
from tocsin.web.templating import render, render_fragment

router = APIRouter()

PAGE_SIZE = 25
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

SORTS = {
    Sort.NEWEST: "Newest first",
    Sort.OLDEST: "Oldest first",
    Sort.SEVERITY: "Worst severity first",
    Sort.UPDATED: "Recently changed",
}

# (minutes, label) offered on the incident page; the API takes any number.
SNOOZES = ((15, "15 minutes"), (60, "1 hour"), (240, "4 hours"), (1440, "1 day"))

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


@dataclass(frozen=True)
class ListParams:
    """The list's query string, parsed and checked; `url` rebuilds it."""

    status: tuple[str, ...] = ()
    severity: str = ""
    service: str = ""
    team: str = ""
    since: str = ""
    until: str = ""
    q: str = ""
    sort: Sort = Sort.NEWEST

    def url(self, **changes: Any) -> str:
        values = {**self.__dict__, **changes}
        query: list[tuple[str, str]] = [("status", s) for s in values["status"]]
        for name in ("severity", "service", "team", "since", "until", "q"):
            if values[name]:
                query.append((name, values[name]))
        if values["sort"] is not Sort.NEWEST:
            query.append(("sort", values["sort"].value))
        if values.get("after"):
            query.append(("after", values["after"]))
        return "/incidents" + ("?" + urlencode(query) if query else "")


@router.get("/incidents")
def incident_list(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    status: Annotated[list[str] | None, Query()] = None,
    severity: str = "",
    service: str = "",
    team: str = "",
    since: str = "",
    until: str = "",
    q: str = "",
    sort: str = "newest",
    after: str = "",
) -> Response:
    """The incidents the user may see, filtered, searched and sorted, a page
    at a time; `after` is the cursor of the page before."""
    severities = triage.severity_keys(ctx)
    params = ListParams(
        status=_statuses(status or []),
        severity=_choice(severity, severities, "severity"),
        service=service.strip(),
        team=team.strip(),
        since=since.strip(),
        until=until.strip(),
        q=q.strip(),
        sort=_sort(sort),
    )
    where = IncidentQuery(
        status=params.status,
        severity=(params.severity,) if params.severity else (),
        service_id=_id(params.service, "service"),
        team_id=_id(params.team, "team"),
        since=_day(params.since, "from"),
        until=_day(params.until, "to", end=True),
        text=params.q,
        sort=params.sort,
        after=Cursor.decode(after, params.sort) if after else None,
        limit=PAGE_SIZE,
    )
    result = incident_views.search(ctx, user.actor, where)

    next_url = None
    if result.next_cursor is not None:
        next_url = params.url(after=result.next_cursor.encode())
    context = {
        "user": user,
        "result": result,
        "params": params,
        "tabs": [
            FilterTab(
                label, params.url(status=wanted), set(wanted) == set(params.status)
            )
            for label, wanted in FILTERS
        ],
        "severities": severities,
        "services": incident_views.visible_services(ctx, user.actor),
        "teams": incident_views.visible_teams(ctx, user.actor),
        "sorts": SORTS,
        # The filter box starts open when a filter in it is in use.
        "filtered": params.sort is not Sort.NEWEST
        or any((params.severity, params.service, params.team))
        or any((params.since, params.until)),
        "first_url": params.url() if after else None,
        "next_url": next_url,
    }
    return render(request, "incidents/list.html", context)


@router.get("/incidents/{number:int}")
def incident_detail(
    request: Request, ctx: CtxDep, user: UserDep, number: int
) -> Response:
    incident = incidents.get(ctx, user.actor, _bounded(number))
    return render_detail(request, ctx, user, incident)


def render_detail(
    request: Request,
    ctx: Context,
    user: WebUser,
    incident: IncidentDetail,
    focus: Focus | None = None,
    status_code: int = 200,
) -> Response:
    """The whole incident page; `focus` names a response panel that answers a
    form (a refusal with its message, or a preview)."""
    last_entry = incident.timeline[-1].id if incident.timeline else 0
    context = {
        **_summary_context(ctx, user, incident),
        **panel_context(panels(ctx, user, incident, focus), user),
        "incident": incident,
        "last_entry": last_entry,
        "max_note": MAX_NOTE,
    }
    return render(request, "incidents/detail.html", context, status_code=status_code)


@router.post("/incidents/{number:int}/acknowledge")
def acknowledge(
    request: Request, ctx: CtxDep, user: FormUserDep, number: int
) -> Response:
    incident = incidents.acknowledge(ctx, user.actor, _bounded(number))
    return _answer(request, ctx, user, incident)


@router.post("/incidents/{number:int}/resolve")
def resolve(request: Request, ctx: CtxDep, user: FormUserDep, number: int) -> Response:
    incident = incidents.resolve(ctx, user.actor, _bounded(number))
    return _answer(request, ctx, user, incident)


@router.post("/incidents/{number:int}/reopen")
def reopen(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Bring a resolved incident back; it pages from the first step again."""
    incident = incidents.reopen(ctx, user.actor, _bounded(number), reason)
    return _answer(request, ctx, user, incident)


@router.post("/incidents/{number:int}/reassign")
def reassign(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    user_id: Annotated[str, Form()] = "",
) -> Response:
    """Hand the incident to someone else, who is paged at once."""
    assignee = _id(user_id, "the person to assign")
    if assignee is None:
        raise InvalidInput("choose the person to assign")
    incident = incidents.reassign(ctx, user.actor, _bounded(number), assignee)
    return _answer(request, ctx, user, incident)


@router.post("/incidents/{number:int}/snooze")
def snooze(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    minutes: Annotated[str, Form()] = "",
) -> Response:
    """Quiet the incident for a while; paging starts over if it is still
    unresolved when the snooze runs out."""
    if not plain_digits(minutes) or len(minutes) > 6:
        raise InvalidInput("choose how long to snooze")
    incident = incidents.snooze(ctx, user.actor, _bounded(number), int(minutes))
    return _answer(request, ctx, user, incident)


@router.post("/incidents/{number:int}/notes")
def add_note(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    number: int,
    text: Annotated[str, Form()] = "",
) -> Response:
    """The note lands on the timeline; htmx gets an empty form back, and the
    note itself arrives with the page's live updates."""
    incidents.add_note(ctx, user.actor, _bounded(number), text)
    if is_htmx(request):
        context = {"user": user, "number": number, "max_note": MAX_NOTE}
        return render(request, "incidents/_note_form.html", context)
    return _back_to(number, anchor="timeline")


def summary_html(ctx: Context, user: WebUser, number: int) -> str:
    """The incident's summary part as HTML, for live updates."""
    incident = incidents.get(ctx, user.actor, number)
    context = _summary_context(ctx, user, incident)
    return render_fragment("incidents/_summary.html", context)


def _answer(
    request: Request, ctx: Context, user: WebUser, incident: IncidentRead
) -> Response:
    """A redirect back for a plain form; the summary part (status, facts,
    actions, alerts) for htmx, read again since the action changed alerts."""
    if not is_htmx(request):
        return _back_to(incident.number)
    detail = incidents.get(ctx, user.actor, incident.number)
    context = _summary_context(ctx, user, detail)
    return render(request, "incidents/_summary.html", context)


def _summary_context(
    ctx: Context, user: WebUser, incident: IncidentDetail
) -> dict[str, Any]:
    can_act = user.can_act
    assignees = []
    if can_act and incident.status != _RESOLVED:
        assignees = incident_views.assignable_users(ctx, user.actor, incident.number)
    return {
        "user": user,
        "incident": incident,
        "buttons": _buttons(incident.status) if can_act else [],
        "assignees": assignees,
        "snoozes": SNOOZES if can_act and incident.status != _RESOLVED else (),
        "can_reopen": can_act and incident.status == _RESOLVED,
        "max_reopen_reason": MAX_REOPEN_REASON,
        "reopened": any(entry.kind == "reopened" for entry in incident.timeline),
    }


def _statuses(values: list[str]) -> tuple[str, ...]:
    known = {s.value for s in IncidentStatus}
    for value in values:
        if value not in known:
            raise InvalidInput(f"status must be one of {', '.join(sorted(known))}")
    return tuple(dict.fromkeys(values))


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    value = value.strip()
    if value and value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}")
    return value


def _sort(value: str) -> Sort:
    try:
        return Sort(value or Sort.NEWEST.value)
    except ValueError:
        names = ", ".join(s.value for s in Sort)
        raise InvalidInput(f"sort must be one of {names}") from None


def _id(value: str, name: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not plain_digits(value) or not 1 <= int(value) <= MAX_NUMBER:
        raise InvalidInput(f"{name} must be chosen from the list")
    return int(value)


def _day(value: str, name: str, *, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD date as the UTC instant it starts; with `end`, the instant
    the day after starts, so that "to" includes the whole day."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a date as YYYY-MM-DD") from None
    if end:
        if day == date.max:
            return None
        day += timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=UTC)


def _bounded(number: int) -> int:
    if number > MAX_NUMBER:
        raise NotFound(f"no incident #{number}")
    return number


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
