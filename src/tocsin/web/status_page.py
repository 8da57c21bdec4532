"""The public status page: no login, server-rendered, no JavaScript.

Pages, the Atom feed and the JSON summary may be kept by shared caches for
PUBLIC_MAX_AGE seconds: they hold nothing private and no form token (the
subscribe form needs none: the worst a forged post can do is mail a
confirmation link, which the address's owner then ignores). The subscription
links answer a GET with a confirmation button and act only on POST, so a mail
scanner that opens links changes nothing; the unsubscribe URL also takes the
one-click POST of RFC 8058 straight from mail clients.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from tocsin.api.deps import CtxDep
from tocsin.domain.status_page import ComponentState, MaintenancePhase, Stage
from tocsin.errors import InvalidInput, NotFound, TocsinError
from tocsin.services import status_reads, status_subscribers
from tocsin.web.status_feed import atom_feed
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)

PUBLIC_MAX_AGE = 30
PUBLIC_CACHE = f"public, max-age={PUBLIC_MAX_AGE}"
PRIVATE = "no-store"
MAX_TOKEN = 1000
MAX_ID = 2**31 - 1

STAGE_LABELS = {stage.value: stage.value.capitalize() for stage in Stage}
PHASE_LABELS = {
    MaintenancePhase.UPCOMING.value: "Scheduled",
    MaintenancePhase.IN_PROGRESS.value: "In progress",
    MaintenancePhase.COMPLETED.value: "Completed",
    MaintenancePhase.CANCELLED.value: "Cancelled",
}
STATE_LABELS = {state.value: state.label for state in ComponentState}
BANNERS = {
    ComponentState.OPERATIONAL: "All systems operational",
    ComponentState.MAINTENANCE: "Maintenance in progress",
    ComponentState.DEGRADED: "Some systems are degraded",
    ComponentState.PARTIAL_OUTAGE: "Partial outage",
    ComponentState.MAJOR_OUTAGE: "Major outage",
}


def _page(
    request: Request,
    name: str,
    context: dict[str, object],
    *,
    status_code: int = 200,
    cache: str = PUBLIC_CACHE,
) -> Response:
    ctx = request.app.state.ctx
    full: dict[str, object] = {
        "page_title": ctx.settings.status_page_title,
        "stage_labels": STAGE_LABELS,
        "phase_labels": PHASE_LABELS,
        "state_labels": STATE_LABELS,
        **context,
    }
    return render(
        request,
        name,
        full,
        status_code=status_code,
        headers={"Cache-Control": cache},
    )


@router.get("/status")
def status_page(request: Request, ctx: CtxDep) -> Response:
    view = status_reads.page(ctx)
    return _page(
        request,
        "status/page.html",
        {"view": view, "banner": BANNERS[view.state]},
    )


@router.get("/status/incidents/{status_incident_id:int}")
def status_incident(request: Request, ctx: CtxDep, status_incident_id: int) -> Response:
    try:
        incident = status_reads.public_incident(ctx, _bounded(status_incident_id))
    except NotFound as error:
        # A visitor's browser gets the page's own look; other clients a problem.
        if "text/html" not in request.headers.get("accept", ""):
            raise
        return _error(request, error)
    return _page(request, "status/incident.html", {"incident": incident})


@router.get("/status/history")
def status_history(request: Request, ctx: CtxDep) -> Response:
    incidents, maintenance = status_reads.history(ctx)
    return _page(
        request,
        "status/history.html",
        {"incidents": incidents, "maintenance": maintenance},
    )


@router.get("/status/feed.atom")
def status_feed(ctx: CtxDep) -> Response:
    body = atom_feed(ctx)
    return Response(
        body,
        media_type="application/atom+xml; charset=utf-8",
        headers={"Cache-Control": PUBLIC_CACHE},
    )


@router.get("/status/summary.json")
def status_summary(request: Request, ctx: CtxDep) -> Response:
    """Components, states, open incidents and maintenance in one document, with
    an ETag so pollers can ask cheaply whether anything changed."""
    summary = status_reads.summary(ctx)
    # The time it was made changes every call; the ETag covers only the content.
    content = summary.model_dump_json(exclude={"generated_at"}).encode()
    etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    headers = {
        "Cache-Control": PUBLIC_CACHE,
        "ETag": etag,
        # Public data: other sites may show it.
        "Access-Control-Allow-Origin": "*",
    }
    wanted = _etags(request.headers.get("if-none-match", ""))
    if etag in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    return Response(
        summary.model_dump_json(),
        media_type="application/json",
        headers=headers,
    )


@router.post("/status/subscribe")
def subscribe(
    request: Request,
    ctx: CtxDep,
    email: Annotated[str, Form(max_length=1000)] = "",
    website: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Take an address from the subscribe form. `website` is the honeypot: a
    field people never see, that robots fill in."""
    client = request.client.host if request.client else "unknown"
    try:
        status_subscribers.subscribe(ctx, email=email, client=client, trap=website)
    except TocsinError as error:
        return _error(request, error)
    return _page(request, "status/subscribed.html", {}, cache=PRIVATE)


@router.get("/status/subscribe/confirm")
def confirm_form(
    request: Request, token: Annotated[str, Query(max_length=MAX_TOKEN)] = ""
) -> Response:
    return _page(
        request,
        "status/confirm.html",
        {"token": _token(token)},
        cache=PRIVATE,
    )


@router.post("/status/subscribe/confirm")
def confirm(
    request: Request,
    ctx: CtxDep,
    token: Annotated[str, Form(max_length=MAX_TOKEN)] = "",
) -> Response:
    try:
        email = status_subscribers.confirm(ctx, _token(token))
    except TocsinError as error:
        return _error(request, error)
    return _page(request, "status/confirmed.html", {"email": email}, cache=PRIVATE)


@router.get("/status/unsubscribe")
def unsubscribe_form(
    request: Request, token: Annotated[str, Query(max_length=MAX_TOKEN)] = ""
) -> Response:
    return _page(
        request,
        "status/unsubscribe.html",
        {"token": _token(token)},
        cache=PRIVATE,
    )


@router.post("/status/unsubscribe")
def unsubscribe(
    request: Request,
    ctx: CtxDep,
    token: Annotated[str, Query(max_length=MAX_TOKEN)] = "",
    form_token: Annotated[str, Form(alias="token", max_length=MAX_TOKEN)] = "",
) -> Response:
    """One click: the token comes in the URL (a mail client's RFC 8058 POST,
    whose body is `List-Unsubscribe=One-Click`) or in our form's field."""
    try:
        status_subscribers.unsubscribe(ctx, _token(token or form_token))
    except TocsinError as error:
        return _error(request, error)
    return _page(request, "status/unsubscribed.html", {}, cache=PRIVATE)


def _error(request: Request, error: TocsinError) -> Response:
    """A refused form, shown in the status page's own layout."""
    return _page(
        request,
        "status/error.html",
        {"title": error.title, "detail": error.detail},
        status_code=error.status_code,
        cache=PRIVATE,
    )


def _token(value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput("this link is incomplete; copy the whole link from the mail")
    return value


def _bounded(number: int) -> int:
    if not 1 <= number <= MAX_ID:
        raise NotFound(f"no status page incident {number}")
    return number


def _etags(header: str) -> set[str]:
    tags = {part.strip() for part in header.split(",")}
    return {tag.removeprefix("W/") for tag in tags if tag}
