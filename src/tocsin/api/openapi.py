"""The OpenAPI document: declared error responses, served as problem details.

FastAPI documents every declared response body as `application/json`, the media
type of the route's success response. Errors are sent as
`application/problem+json` (RFC 9457), so the document is corrected once after
it is generated: a response whose schema is `Problem` is moved to that type.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tocsin.api.problems import MEDIA_TYPE
from tocsin.api.schemas import Problem

_PROBLEM_REF = "#/components/schemas/Problem"

_MEANINGS = {
    400: "The request is well-formed but its values are not acceptable.",
    401: "No token, or one that is invalid, revoked or expired.",
    403: "The token's user lacks the role this needs.",
    404: "No such incident or user, or none that this token may see.",
    409: "The incident's status does not allow this.",
    413: "The request body is too large.",
    422: "The request failed validation; `errors` lists every bad value.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for a route that can fail with `statuses`.

    Every route here authenticates, so 401 is always included.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted({401, *statuses}):
        responses[status] = {"model": Problem, "description": _MEANINGS[status]}
    responses[401]["headers"] = {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with: `Bearer`.",
            "schema": {"type": "string"},
        }
    }
    return responses


def install(app: FastAPI) -> None:
    """Make `app` serve its OpenAPI document with errors as problem details."""
    generate = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _as_problem_json(generate())
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def _as_problem_json(schema: dict[str, Any]) -> dict[str, Any]:
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                body = content.get("application/json")
                if body is not None and body.get("schema") == {"$ref": _PROBLEM_REF}:
                    content[MEDIA_TYPE] = content.pop("application/json")

    return schema
