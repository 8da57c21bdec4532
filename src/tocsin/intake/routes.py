"""Intake endpoints, authenticated by integration keys.

Each handler authenticates, parses the raw body with its format's module and
hands the events to `ingest` below; every bad request ends in a problem response
before anything is stored.

Intake is the hot path of an alert storm, so the handlers run on the event
loop: reading, parsing and authenticating (the key is remembered for a few
seconds) are quick work without I/O, and on SQLite so is the one read that
answers an identical repeat, which is most of a storm. Only writes leave the
loop. On SQLite they queue for the intake writer (`tocsin.store.writer`), one
thread that commits whatever is waiting in one transaction: new alerts share
disk flushes, and never wait for each other in SQLite's busy handler. On
PostgreSQL, which takes concurrent writers, every database call runs on a
thread of the pool, each request in its own transaction.

The key travels in the URL (`.../alertmanager/<key>`) or, for senders that can
set headers, as `Authorization: Bearer <key>`; Events v2 carries it in the body
as `routing_key`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, FastAPI, Header, Request, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from tocsin.domain.alerts import AlertEvent
from tocsin.intake import alertmanager, events_v2, generic, grafana
from tocsin.intake.common import IntakeReply, bearer_key, load_object, reply
from tocsin.services import alerts, integrations
from tocsin.services.alerts import Outcome
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.writer import Writer


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On SQLite, one writer thread for intake, for as long as the app is up."""
    ctx: Context = app.state.ctx
    writer = Writer(ctx.db, name="tocsin-intake-writer") if ctx.db.is_sqlite else None
    app.state.intake_writer = writer
    try:
        yield
    finally:
        app.state.intake_writer = None
        if writer is not None:
            writer.close()


router = APIRouter(tags=["intake"], lifespan=_lifespan)

AuthorizationDep = Annotated[str | None, Header()]

# The body is read raw, so FastAPI cannot describe it; say at least what it is.
_JSON_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body or the key's kind is wrong (problem+json)"},
    401: {"description": "No key, or an unknown or disabled one"},
    413: {"description": "The body is over 512 KB"},
}


# A body this large (a big Alertmanager group) takes milliseconds to parse, and
# a request with many events as long to check for repeats: such requests are
# handled on a thread, so that the small ones around them keep moving.
_LARGE_BODY = 64 * 1024
_FEW_EVENTS = 64

ParsedT = TypeVar("ParsedT")


class EventsV2Reply(BaseModel):
    status: Literal["success"] = "success"
    message: str = "Event processed"
    dedup_key: str


async def ingest(
    request: Request, integration: IntegrationRef, events: list[AlertEvent]
) -> list[Outcome]:
    """`services.alerts.ingest`, answered once the events are durable."""
    ctx = _ctx(request)
    if not ctx.db.is_sqlite:
        return await run_in_threadpool(alerts.ingest, ctx, integration, events)

    if len(events) > _FEW_EVENTS:
        known = await run_in_threadpool(alerts.known_outcomes, ctx, integration, events)
    else:
        known = alerts.known_outcomes(ctx, integration, events)
    if known is not None:
        return known

    writer: Writer | None = getattr(request.app.state, "intake_writer", None)
    if writer is None:
        # The application's lifespan has not run (a test client used without
        # `with`): a transaction of its own, on a thread, as on PostgreSQL.
        return await run_in_threadpool(alerts.record, ctx, integration, events)
    unit = partial(alerts.apply, ctx=ctx, integration=integration, events=events)
    return await asyncio.wrap_future(writer.submit(unit))


async def _authenticate(ctx: Context, key: str | None, kind: str) -> IntegrationRef:
    # A key not remembered yet is read from the database; on PostgreSQL that read
    # could wait on the network, which the event loop must never do.
    if ctx.db.is_sqlite:
        return integrations.authenticate(ctx, key, kind)
    return await run_in_threadpool(integrations.authenticate, ctx, key, kind)


async def _parsed(body: bytes, parse: Callable[[bytes], ParsedT]) -> ParsedT:
    if len(body) > _LARGE_BODY:
        return await run_in_threadpool(parse, body)
    return parse(body)


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def _alertmanager(request: Request, key: str) -> IntakeReply:
    ctx = _ctx(request)
    integration = await _authenticate(ctx, key, "alertmanager")
    events, truncated = await _parsed(await request.body(), alertmanager.parse)

    return reply(await ingest(request, integration, events), truncated)


async def _grafana(request: Request, key: str) -> IntakeReply:
    ctx = _ctx(request)
    integration = await _authenticate(ctx, key, "grafana")
    events, truncated = await _parsed(await request.body(), grafana.parse)

    return reply(await ingest(request, integration, events), truncated)


async def _generic(request: Request, key: str) -> IntakeReply:
    ctx = _ctx(request)
    integration = await _authenticate(ctx, key, "generic")
    event = await _parsed(await request.body(), generic.parse)

    return reply(await ingest(request, integration, [event]))


# Registered first, because the router tries routes in order and this is the
# one an alert storm hits hardest. (The decorator nearest the function runs first.)
@router.post(
    "/api/v1/intake/events-v2",
    status_code=status.HTTP_202_ACCEPTED,
    summary="PagerDuty Events API v2 compatible enqueue (alias of /v2/enqueue)",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
@router.post(
    "/v2/enqueue",
    status_code=status.HTTP_202_ACCEPTED,
    summary="PagerDuty Events API v2 compatible enqueue",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
async def events_v2_enqueue(request: Request) -> EventsV2Reply:
    ctx = _ctx(request)
    document = await _parsed(await request.body(), load_object)
    integration = await _authenticate(ctx, events_v2.routing_key(document), "events_v2")
    event = events_v2.parse(document)

    [outcome] = await ingest(request, integration, [event])
    return EventsV2Reply(dedup_key=outcome.dedup_key)


@router.post(
    "/api/v1/intake/alertmanager/{key}",
    summary="Prometheus Alertmanager webhook (v4), key in the URL",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
async def alertmanager_by_path(key: str, request: Request) -> IntakeReply:
    return await _alertmanager(request, key)


@router.post(
    "/api/v1/intake/alertmanager",
    summary="Prometheus Alertmanager webhook (v4), key as a bearer token",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
async def alertmanager_by_header(
    request: Request, authorization: AuthorizationDep = None
) -> IntakeReply:
    return await _alertmanager(request, bearer_key(authorization))


@router.post(
    "/api/v1/intake/grafana/{key}",
    summary="Grafana webhook contact point, key in the URL",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
async def grafana_by_path(key: str, request: Request) -> IntakeReply:
    return await _grafana(request, key)


@router.post(
    "/api/v1/intake/grafana",
    summary="Grafana webhook contact point, key as a bearer token",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
async def grafana_by_header(
    request: Request, authorization: AuthorizationDep = None
) -> IntakeReply:
    return await _grafana(request, bearer_key(authorization))


@router.post(
    "/api/v1/intake/generic/{key}",
    summary="Generic JSON webhook, key in the URL",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
async def generic_by_path(key: str, request: Request) -> IntakeReply:
    return await _generic(request, key)


@router.post(
    "/api/v1/intake/generic",
    summary="Generic JSON webhook, key as a bearer token",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
async def generic_by_header(
    request: Request, authorization: AuthorizationDep = None
) -> IntakeReply:
    return await _generic(request, bearer_key(authorization))
