"""The OpenAPI document at /api/v1/openapi.json: valid, and honest about
authentication, error bodies and the names of request and response models."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient

OPERATIONS = {
    ("get", "/api/v1/incidents"),
    ("get", "/api/v1/incidents/{number}"),
    ("post", "/api/v1/incidents/{number}/acknowledge"),
    ("post", "/api/v1/incidents/{number}/resolve"),
    ("post", "/api/v1/incidents/{number}/reassign"),
    ("post", "/api/v1/incidents/{number}/notes"),
    ("get", "/api/v1/me"),
}
PROBLEM = {"schema": {"$ref": "#/components/schemas/Problem"}}


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def ours(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if (method, path) in OPERATIONS
    ]


def ref_name(body: dict[str, Any]) -> str:
    ref: str = body["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    schemathesis.openapi.from_dict(document).validate()

    assert len(ours(document)) == len(OPERATIONS)


def test_every_operation_is_named_summarised_and_needs_a_bearer_token(
    document: dict[str, Any],
) -> None:
    schemes = document["components"]["securitySchemes"]
    [(scheme_name, scheme)] = schemes.items()
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")

    operation_ids = [operation["operationId"] for _, _, operation in ours(document)]
    assert len(set(operation_ids)) == len(operation_ids)
    for method, path, operation in ours(document):
        assert operation["summary"], (method, path)
        assert operation["security"] == [{scheme_name: []}], (method, path)
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]


def test_every_error_response_is_a_problem_document(
    document: dict[str, Any],
) -> None:
    for method, path, operation in ours(document):
        errors = {
            status: response
            for status, response in operation["responses"].items()
            if status.startswith("4")
        }
        assert "401" in errors, (method, path)
        for status, response in errors.items():
            assert response["content"] == {"application/problem+json": PROBLEM}, (
                method,
                path,
                status,
            )

    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_models_are_named_by_direction(document: dict[str, Any]) -> None:
    for method, path, operation in ours(document):
        if "requestBody" in operation:
            request = operation["requestBody"]["content"]["application/json"]
            assert ref_name(request).endswith("Create"), (method, path)
        [success] = [s for s in operation["responses"] if s.startswith("2")]
        response = operation["responses"][success]["content"]["application/json"]
        assert ref_name(response).endswith(("Read", "Detail", "Page")), (
            method,
            path,
        )


def test_a_bound_too_big_for_the_database_is_declared(
    document: dict[str, Any],
) -> None:
    number = document["paths"]["/api/v1/incidents/{number}"]["get"]["parameters"][0]
    reassign = document["components"]["schemas"]["ReassignCreate"]

    assert number["schema"]["maximum"] == 2**31 - 1
    assert reassign["properties"]["user_id"]["maximum"] == 2**31 - 1
