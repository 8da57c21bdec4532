"""Errors the API gives before and beyond its routes: who you are comes before
what you sent, and an unexpected failure is still a problem document."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from tests.api.conftest import Person
from tocsin.app import create_app
from tocsin.services.context import Context


@pytest.mark.parametrize(
    "path", ["/api/v1/incidents/1/notes", "/api/v1/incidents/1/reassign"]
)
@pytest.mark.parametrize("token", [None, "tcs_not-a-real-token"])
def test_a_bad_body_without_a_valid_token_is_401_not_422(
    client: TestClient, path: str, token: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    response = client.post(path, content=b"{bad", headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_bad_body_with_a_valid_token_is_still_422(
    client: TestClient, ann: Person
) -> None:
    response = client.post(
        "/api/v1/incidents/1/notes",
        content=b"{bad",
        headers={**ann.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["type"].endswith("/validation")


@pytest.fixture
def failing_client(ctx: Context) -> Iterator[TestClient]:
    app = create_app(ctx)
    broken = APIRouter()

    @broken.get("/api/v1/broken")
    def explode() -> None:
        raise RuntimeError("secret internals")

    app.include_router(broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_an_unexpected_error_is_a_bare_problem_with_security_headers(
    failing_client: TestClient,
) -> None:
    response = failing_client.get("/api/v1/broken")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret internals" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers
