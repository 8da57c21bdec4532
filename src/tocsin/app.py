"""The ASGI application: API, intake, web pages, and optionally the worker."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from tocsin import __version__
from tocsin.api import openapi, problems
from tocsin.engine.worker import Worker
from tocsin.errors import TocsinError, Unauthenticated
from tocsin.limits import BodyLimit
from tocsin.services import users
from tocsin.services.context import Context
from tocsin.web.security import HEADERS as SECURITY_HEADERS
from tocsin.web.site import install as install_web

log = logging.getLogger(__name__)


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/v2/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def create_app(ctx: Context, *, run_worker: bool = False) -> FastAPI:
    """Build the application around `ctx`. With `run_worker` the worker runs in a
    thread of this process for as long as the application is up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = None
        if run_worker:
            worker = Worker(ctx)
            thread = threading.Thread(
                target=worker.run_forever,
                args=(stop,),
                name="tocsin-worker",
                daemon=True,
            )
            thread.start()
        try:
            yield
        finally:
            stop.set()
            ctx.work_queued.set()
            if thread is not None:
                thread.join(timeout=10)

    app = FastAPI(
        title="Tocsin",
        version=__version__,
        summary="Incident management: alerts in, people paged, incidents run.",
        openapi_url="/api/v1/openapi.json",
        # Swagger UI would load script from a CDN into an unauthenticated page; the
        # OpenAPI document itself is enough for clients and generators.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.add_middleware(BodyLimit)
    install_web(app)

    @app.exception_handler(TocsinError)
    async def _tocsin_error(request: Request, error: TocsinError) -> Response:
        if _wants_html(request):
            from tocsin.web.pages import error_page

            return error_page(request, error.status_code, error.title, error.detail)
        return problems.from_error(request, error)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(
        request: Request, error: RequestValidationError
    ) -> Response:
        # FastAPI parses the body before it runs the bearer dependency; a caller
        # without a valid token learns about the token first, not the body.
        refusal = await run_in_threadpool(_api_refusal, ctx, request)
        if refusal is not None:
            return problems.from_error(request, refusal)
        return problems.from_validation(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        if _wants_html(request):
            from tocsin.web.pages import error_page

            return error_page(request, error.status_code, "Error", str(error.detail))
        return problems.from_http(request, error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        # Starlette logs the traceback after this answer; the caller gets a
        # problem (or page) without internals, with the usual security headers,
        # which the outer error middleware would otherwise leave off.
        response: Response
        if _wants_html(request):
            from tocsin.web.pages import error_page

            response = error_page(
                request, 500, "Internal error", "Something went wrong on our side."
            )
        else:
            response = problems.problem(
                500,
                "Internal error",
                "an unexpected error occurred; it has been logged",
                slug="internal",
                instance=request.url.path,
            )
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    _include_routers(app)
    openapi.install(app)
    return app


def _api_refusal(ctx: Context, request: Request) -> Unauthenticated | None:
    """The 401 an API request without a valid bearer token gets, if it is one."""
    path = request.url.path
    if not path.startswith("/api/v1/") or path.startswith("/api/v1/intake/"):
        return None

    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return Unauthenticated("send an API token as 'Authorization: Bearer <token>'")
    try:
        users.authenticate_token(ctx, token.strip())
    except Unauthenticated as refusal:
        return refusal
    return None


def _include_routers(app: FastAPI) -> None:
    from tocsin.api.routes import router as api_router
    from tocsin.api.signals import ping_router
    from tocsin.intake.routes import router as intake_router
    from tocsin.intake.slack_actions import router as slack_actions_router
    from tocsin.intake.twilio_inbound import router as twilio_inbound_router
    from tocsin.metrics import router as metrics_router
    from tocsin.web.pages import router as web_router
    from tocsin.web.status_page import router as status_page_router

    app.include_router(intake_router)
    app.include_router(ping_router)
    app.include_router(slack_actions_router)
    app.include_router(twilio_inbound_router)
    app.include_router(api_router)
    app.include_router(metrics_router)
    app.include_router(web_router)
    app.include_router(status_page_router)
