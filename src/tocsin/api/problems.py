"""Problem details (RFC 9457) for every error the API returns."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tocsin.errors import TocsinError

PROBLEM_TYPE_BASE = "https://tocsin.dev/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(
        body, status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def from_error(request: Request, error: TocsinError) -> JSONResponse:
    headers = None
    if error.status_code == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    elif error.status_code == 503:
        headers = {"Retry-After": "5"}
    return problem(
        error.status_code,
        error.title,
        error.detail,
        slug=error.type_slug,
        instance=request.url.path,
        headers=headers,
        **error.extra,
    )


def from_validation(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = [
        {
            "location": ".".join(str(part) for part in item.get("loc", ())),
            "message": item.get("msg", ""),
        }
        for item in error.errors()
    ]
    first = errors[0] if errors else {"location": "", "message": "invalid request"}
    return problem(
        422,
        "Invalid request",
        f"{first['location']}: {first['message']}",
        slug="validation",
        instance=request.url.path,
        errors=errors,
    )


def from_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
    return problem(
        error.status_code,
        "HTTP error",
        str(error.detail),
        slug=f"http-{error.status_code}",
        instance=request.url.path,
    )
