"""The OpenAPI document: declared error responses, served as problem details.

FastAPI documents every declared response body as `application/json`, the media
type of the route's success response, and gives every route with parameters a
422 response in its own `HTTPValidationError` shape. Tocsin sends every error,
validation errors included, as `application/problem+json` (RFC 9457), so the
document is corrected once after it is generated: a response whose schema is
`Problem` moves to that media type, and FastAPI's 422 becomes a problem too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tocsin.api.problems import MEDIA_TYPE
from tocsin.api.schemas import Problem

_REF = "#/components/schemas/{model}"
_PROBLEM_REF = _REF.format(model="Problem")
_FASTAPI_422_REF = _REF.format(model="HTTPValidationError")

_MEANINGS = {
    400: "The body cannot be parsed, or a value in it is not acceptable.",
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
    problem = {"schema": {"$ref": _PROBLEM_REF}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                body = content.get("application/json")
                if body is None:
                    continue
                if body.get("schema") == problem["schema"]:
                    content[MEDIA_TYPE] = content.pop("application/json")
                elif body.get("schema") == {"$ref": _FASTAPI_422_REF}:
                    response["content"] = {MEDIA_TYPE: problem}
                    response["description"] = _MEANINGS[422]

    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if components.pop("HTTPValidationError", None) is not None:
        components.pop("ValidationError", None)
        problem_schema = Problem.model_json_schema(
            ref_template=_REF, mode="serialization"
        )
        for name, definition in problem_schema.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components.setdefault("Problem", problem_schema)

    return schema
