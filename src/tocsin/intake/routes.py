"""Intake endpoints, authenticated by integration keys.

Each handler authenticates, parses the raw body with its format's module and
makes one call to `services.alerts.ingest`; every bad request ends in a problem
response before anything is stored. Handlers are plain functions, so FastAPI
runs them in its thread pool and the database work never blocks the event
loop; only reading the body happens on the loop.

The key travels in the URL (`.../alertmanager/<key>`) or, for senders that can
set headers, as `Authorization: Bearer <key>`; Events v2 carries it in the body
as `routing_key`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, status
from pydantic import BaseModel

from tocsin.api.deps import CtxDep
from tocsin.intake import alertmanager, events_v2, generic, grafana
from tocsin.intake.common import IntakeReply, bearer_key, load_object, reply
from tocsin.services import alerts, integrations
from tocsin.services.context import Context

router = APIRouter(tags=["intake"])


async def _raw_body(request: Request) -> bytes:
    return await request.body()


BodyDep = Annotated[bytes, Depends(_raw_body)]
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


class EventsV2Reply(BaseModel):
    status: Literal["success"] = "success"
    message: str = "Event processed"
    dedup_key: str


def _alertmanager(ctx: Context, key: str, body: bytes) -> IntakeReply:
    integration = integrations.authenticate(ctx, key, "alertmanager")
    events, truncated = alertmanager.parse(body)

    return reply(alerts.ingest(ctx, integration, events), truncated)


def _grafana(ctx: Context, key: str, body: bytes) -> IntakeReply:
    integration = integrations.authenticate(ctx, key, "grafana")
    events, truncated = grafana.parse(body)

    return reply(alerts.ingest(ctx, integration, events), truncated)


def _generic(ctx: Context, key: str, body: bytes) -> IntakeReply:
    integration = integrations.authenticate(ctx, key, "generic")
    event = generic.parse(body)

    return reply(alerts.ingest(ctx, integration, [event]))


@router.post(
    "/api/v1/intake/alertmanager/{key}",
    summary="Prometheus Alertmanager webhook (v4), key in the URL",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
def alertmanager_by_path(key: str, ctx: CtxDep, body: BodyDep) -> IntakeReply:
    return _alertmanager(ctx, key, body)


@router.post(
    "/api/v1/intake/alertmanager",
    summary="Prometheus Alertmanager webhook (v4), key as a bearer token",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
def alertmanager_by_header(
    ctx: CtxDep, body: BodyDep, authorization: AuthorizationDep = None
) -> IntakeReply:
    return _alertmanager(ctx, bearer_key(authorization), body)


@router.post(
    "/api/v1/intake/grafana/{key}",
    summary="Grafana webhook contact point, key in the URL",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
def grafana_by_path(key: str, ctx: CtxDep, body: BodyDep) -> IntakeReply:
    return _grafana(ctx, key, body)


@router.post(
    "/api/v1/intake/grafana",
    summary="Grafana webhook contact point, key as a bearer token",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
def grafana_by_header(
    ctx: CtxDep, body: BodyDep, authorization: AuthorizationDep = None
) -> IntakeReply:
    return _grafana(ctx, bearer_key(authorization), body)


@router.post(
    "/api/v1/intake/generic/{key}",
    summary="Generic JSON webhook, key in the URL",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
def generic_by_path(key: str, ctx: CtxDep, body: BodyDep) -> IntakeReply:
    return _generic(ctx, key, body)


@router.post(
    "/api/v1/intake/generic",
    summary="Generic JSON webhook, key as a bearer token",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
def generic_by_header(
    ctx: CtxDep, body: BodyDep, authorization: AuthorizationDep = None
) -> IntakeReply:
    return _generic(ctx, bearer_key(authorization), body)


@router.post(
    "/v2/enqueue",
    status_code=status.HTTP_202_ACCEPTED,
    summary="PagerDuty Events API v2 compatible enqueue",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
@router.post(
    "/api/v1/intake/events-v2",
    status_code=status.HTTP_202_ACCEPTED,
    summary="PagerDuty Events API v2 compatible enqueue (alias of /v2/enqueue)",
    openapi_extra=_JSON_BODY,
    responses=_PROBLEMS,
)
def events_v2_enqueue(ctx: CtxDep, body: BodyDep) -> EventsV2Reply:
    document = load_object(body)
    integration = integrations.authenticate(
        ctx, events_v2.routing_key(document), "events_v2"
    )
    event = events_v2.parse(document)

    [outcome] = alerts.ingest(ctx, integration, [event])
    return EventsV2Reply(dedup_key=outcome.dedup_key)
