"""Live updates of an incident page, as server-sent events.

The stream polls the database (about once a second) rather than listening to
this process: with several `tocsin serve` processes, or the worker in another
one, a change can come from anywhere, and the database is where it lands.

Each new timeline entry goes out as HTML in a `timeline` event whose id is the
entry's id, so a browser that reconnects (EventSource does so by itself, with
Last-Event-ID) resumes exactly after the last entry it has. After new entries
a `summary` event carries the incident's status and actions again. Every poll
checks the session and the user's access anew: a revoked session or a user
moved out of the team stops receiving at once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from tocsin.api.deps import CtxDep
from tocsin.digits import plain_digits
from tocsin.errors import InvalidInput, NotFound, Unauthenticated
from tocsin.services import incident_views, users
from tocsin.services.context import Context
from tocsin.web.auth import UserDep, WebUser, session_cookie
from tocsin.web.incidents import MAX_NUMBER, summary_html
from tocsin.web.templating import render_fragment

router = APIRouter()

POLL_SECONDS = 1.0
# A stream ends after this long and the browser opens a new one: no request
# lives for ever, and a server shutting down is not held by idle pages.
STREAM_SECONDS = 300.0
KEEPALIVE_SECONDS = 15.0
# Milliseconds the browser waits before reconnecting (the SSE `retry` field).
RETRY_MS = 2000


def sse_event(event: str, data: str, event_id: int | None = None) -> str:
    """One event in the text/event-stream format: every line of `data` is its
    own `data:` field, so HTML with newlines arrives whole."""
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


@router.get("/incidents/{number:int}/events")
async def incident_events(
    request: Request, ctx: CtxDep, user: UserDep, number: int, after: str = "0"
) -> StreamingResponse:
    """Stream the incident's new timeline entries after entry `after` (or the
    Last-Event-ID the browser resends on reconnecting). 404 when the user may
    not see the incident, before anything is streamed."""
    if not 1 <= number <= MAX_NUMBER:
        raise NotFound(f"no incident #{number}")
    # A reconnecting browser says where it got to; that wins over the page's
    # starting point in the URL.
    start = _entry_id(request.headers.get("last-event-id", ""))
    if start is None:
        start = _entry_id(after)
    if start is None:
        raise InvalidInput("after must be a timeline entry id")
    await run_in_threadpool(incident_views.timeline_since, ctx, user.actor, number, 0)

    token = request.cookies.get(session_cookie(ctx.settings), "")
    stream = _stream(request, ctx, token, number, start)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


async def _stream(
    request: Request, ctx: Context, token: str, number: int, last_id: int
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"

    started = time.monotonic()
    quiet_since = started
    while time.monotonic() - started < STREAM_SECONDS:
        if await request.is_disconnected():
            return
        polled = await run_in_threadpool(_poll, ctx, token, number, last_id)
        if polled is None:
            return
        last_id, chunk = polled
        if chunk:
            yield chunk
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
            # A comment line: keeps proxies from closing an idle stream.
            yield ": still here\n\n"
            quiet_since = time.monotonic()
        await anyio.sleep(POLL_SECONDS)


def _poll(
    ctx: Context, token: str, number: int, last_id: int
) -> tuple[int, str] | None:
    """The events to send since `last_id`, as (new last id, text; empty when
    nothing happened), or None when the stream must end (session over,
    incident out of reach)."""
    try:
        holder = users.session_holder(ctx, token)
        since = incident_views.timeline_since(ctx, holder.actor, number, last_id)
    except (Unauthenticated, NotFound):
        return None
    if not since.entries:
        return last_id, ""

    user = WebUser(
        actor=holder.actor, csrf_token=holder.csrf_token, time_zone=holder.time_zone
    )
    entries = render_fragment(
        "incidents/_entries.html", {"user": user, "entries": since.entries}
    )
    new_last = since.entries[-1].id
    try:
        summary = summary_html(ctx, user, number)
    except NotFound:
        return None
    text = sse_event("timeline", entries, new_last) + sse_event("summary", summary)
    return new_last, text


def _entry_id(value: str) -> int | None:
    value = value.strip()
    if not plain_digits(value) or int(value) > MAX_NUMBER:
        return None
    return int(value)
