"""Signal routes: change events, heartbeats and HTTP checks under /api/v1, and
the heartbeat ping URL `/hb/{token}` outside it.

The ping URL is its own credential (a secret in the path, kept only as a
hash), so a cron job needs nothing but curl. Change events take an API token
or one of the service's integration keys, so a deploy pipeline can report with
the key it already holds; their body is read here rather than by FastAPI, so
that a bad body is a 400 whichever credential came with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.domain.access import Actor
from tocsin.errors import InvalidInput, Unauthenticated
from tocsin.intake import email as mail_intake
from tocsin.intake.common import load_object
from tocsin.schemas import ChangeRead
from tocsin.services import changes, checks, heartbeats, users
from tocsin.services.checks import CheckDetail, CheckRead
from tocsin.services.context import Context
from tocsin.services.heartbeats import HeartbeatCreated, HeartbeatRead
from tocsin.services.integrations import IntegrationRef

# Under /api/v1 (see api/routes.py).
router = APIRouter(tags=["signals"])

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token, or for change events an integration key",
)

ServiceName = Annotated[str, Query(min_length=1, max_length=200)]


class ChangeCreate(BaseModel):
    """A change made to a service. With an integration key, `service` may be
    left out: the key names it."""

    model_config = ConfigDict(extra="forbid")

    service: str | None = Field(
        default=None, min_length=1, max_length=200, examples=["checkout"]
    )
    kind: Literal["deploy", "config", "feature_flag"]
    summary: str = Field(
        min_length=1, max_length=changes.MAX_SUMMARY, examples=["Deploy v2.14.0"]
    )
    link: str = Field(default="", max_length=changes.MAX_LINK)
    version: str = Field(default="", max_length=changes.MAX_VERSION)
    timestamp: AwareDatetime | None = Field(
        default=None,
        description="When the change happened (default: now), with an offset.",
    )


class HeartbeatCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    interval_seconds: int = Field(
        ge=heartbeats.MIN_INTERVAL, le=heartbeats.MAX_INTERVAL
    )
    grace_seconds: int = Field(default=0, ge=0, le=heartbeats.MAX_GRACE)


def _parse_change(body: bytes) -> ChangeCreate:
    document = load_object(body)
    try:
        return ChangeCreate.model_validate(document)
    except ValidationError as error:
        raise InvalidInput(_first_error(error)) from None


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def _change_author(
    ctx: Context, credentials: HTTPAuthorizationCredentials | None
) -> tuple[Actor, IntegrationRef | None]:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated(
            "send an API token or integration key as 'Authorization: Bearer ...'"
        )
    secret = credentials.credentials
    if secret.startswith(users.TOKEN_PREFIX):
        return users.authenticate_token(ctx, secret), None
    return changes.authenticate_key(ctx, secret)


_CHANGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ChangeCreate.model_json_schema()}},
    }
}


@router.post(
    "/changes",
    operation_id="recordChange",
    summary="Record a deploy, configuration change or feature flag flip",
    status_code=201,
    response_model=ChangeRead,
    response_description="The change, as recorded.",
    responses=problem_responses(400, 403, 404, 413),
    openapi_extra=_CHANGE_BODY,
)
async def record_change(
    request: Request,
    ctx: CtxDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ChangeRead:
    """Authenticated by an API token (a responder of the service's team) or
    one of the service's integration keys. Nothing is stored on any error."""
    actor, integration = await run_in_threadpool(_change_author, ctx, credentials)
    body = _parse_change(await request.body())

    return await run_in_threadpool(
        lambda: changes.record(
            ctx,
            actor,
            service=body.service,
            kind=body.kind,
            summary=body.summary,
            link=body.link,
            version=body.version,
            at=body.timestamp,
            integration=integration,
        )
    )


@router.get(
    "/changes",
    operation_id="listChanges",
    summary="List a service's changes, newest first",
    response_model=list[ChangeRead],
    responses=problem_responses(400, 404, 422),
)
def list_changes(
    ctx: CtxDep,
    actor: ActorDep,
    service: ServiceName,
    since: Annotated[AwareDatetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=changes.MAX_LIST)] = 50,
) -> list[ChangeRead]:
    return changes.list_changes(ctx, actor, service, since=since, limit=limit)


@router.get(
    "/heartbeats",
    operation_id="listHeartbeats",
    summary="List heartbeats and whether each is up",
    response_model=list[HeartbeatRead],
    responses=problem_responses(400, 404, 422),
)
def list_heartbeats(
    ctx: CtxDep,
    actor: ActorDep,
    service: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> list[HeartbeatRead]:
    return heartbeats.list_heartbeats(ctx, actor, service)


@router.post(
    "/heartbeats",
    operation_id="createHeartbeat",
    summary="Add a heartbeat; its ping URL is in the answer, and only there",
    status_code=201,
    response_model=HeartbeatCreated,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def create_heartbeat(
    ctx: CtxDep, actor: ActorDep, body: HeartbeatCreate
) -> HeartbeatCreated:
    return heartbeats.create(
        ctx,
        actor,
        service=body.service,
        name=body.name,
        interval_seconds=body.interval_seconds,
        grace_seconds=body.grace_seconds,
    )


@router.delete(
    "/heartbeats/{service}/{name}",
    operation_id="removeHeartbeat",
    summary="Remove a heartbeat; its open alert resolves",
    status_code=204,
    responses=problem_responses(400, 403, 404, 422),
)
def remove_heartbeat(
    ctx: CtxDep,
    actor: ActorDep,
    service: Annotated[str, Path(max_length=200)],
    name: Annotated[str, Path(max_length=200)],
) -> None:
    heartbeats.remove(ctx, actor, service=service, name=name)


class CheckCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=checks.MAX_URL)
    method: Literal["GET", "HEAD"] = "GET"
    interval_seconds: int = Field(
        default=60, ge=checks.MIN_INTERVAL, le=checks.MAX_INTERVAL
    )
    timeout_seconds: int = Field(default=10, ge=1, le=checks.MAX_TIMEOUT)
    expected_status: int = Field(default=200, ge=100, le=599)
    latency_threshold_ms: int | None = Field(default=None, ge=1)
    failures_before_alert: int = Field(default=1, ge=1, le=checks.MAX_FAILURES)


Name = Annotated[str, Path(max_length=200)]


@router.get(
    "/checks",
    operation_id="listHttpChecks",
    summary="List HTTP checks and whether each is up",
    response_model=list[CheckRead],
    responses=problem_responses(400, 404, 422),
)
def list_checks(
    ctx: CtxDep,
    actor: ActorDep,
    service: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> list[CheckRead]:
    return checks.list_checks(ctx, actor, service)


@router.post(
    "/checks",
    operation_id="createHttpCheck",
    summary="Add an HTTP check; the worker runs it every interval",
    status_code=201,
    response_model=CheckRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def create_check(ctx: CtxDep, actor: ActorDep, body: CheckCreate) -> CheckRead:
    """A URL the guard refuses (loopback, private networks unless allowed) is
    a 400, as is a timeout not shorter than the interval."""
    spec = checks.CheckInput(
        url=body.url,
        method=body.method,
        interval_seconds=body.interval_seconds,
        timeout_seconds=body.timeout_seconds,
        expected_status=body.expected_status,
        latency_threshold_ms=body.latency_threshold_ms,
        failures_before_alert=body.failures_before_alert,
    )
    return checks.create(ctx, actor, service=body.service, name=body.name, spec=spec)


@router.get(
    "/checks/{service}/{name}",
    operation_id="getHttpCheck",
    summary="Read an HTTP check with its recent results",
    response_model=CheckDetail,
    responses=problem_responses(400, 404, 422),
)
def get_check(ctx: CtxDep, actor: ActorDep, service: Name, name: Name) -> CheckDetail:
    return checks.get_check(ctx, actor, service, name)


@router.delete(
    "/checks/{service}/{name}",
    operation_id="removeHttpCheck",
    summary="Remove an HTTP check; its open alert resolves",
    status_code=204,
    responses=problem_responses(400, 403, 404, 422),
)
def remove_check(ctx: CtxDep, actor: ActorDep, service: Name, name: Name) -> None:
    checks.remove(ctx, actor, service=service, name=name)


# Pings ------------------------------------------------------------------------


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Inbound mail, when TOCSIN_INBOUND_MAIL_ENABLED, for as long as the app
    is up."""
    ctx: Context = app.state.ctx
    if not ctx.settings.inbound_mail_enabled:
        yield
        return

    listener = mail_intake.MailListener(ctx)
    listener.start()
    try:
        yield
    finally:
        listener.stop()


ping_router = APIRouter(tags=["heartbeats"], lifespan=_lifespan)

Token = Annotated[str, Path(max_length=100, description="The heartbeat's secret.")]


def _ping(ctx: Context, token: str) -> PlainTextResponse:
    heartbeat = heartbeats.ping(ctx, token)
    return PlainTextResponse(f"ok {heartbeat.status}\n")


@ping_router.post(
    "/hb/{token}",
    summary="Ping a heartbeat (the URL is the credential)",
    response_class=PlainTextResponse,
    responses={404: {"description": "No heartbeat has this URL"}},
)
def ping_post(ctx: CtxDep, token: Token) -> PlainTextResponse:
    return _ping(ctx, token)


@ping_router.get(
    "/hb/{token}",
    summary="Ping a heartbeat with GET, for tools that only fetch",
    response_class=PlainTextResponse,
    responses={404: {"description": "No heartbeat has this URL"}},
)
def ping_get(ctx: CtxDep, token: Token) -> PlainTextResponse:
    return _ping(ctx, token)
