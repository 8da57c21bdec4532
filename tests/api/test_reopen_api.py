"""POST /api/v1/incidents/N/reopen: the state it leaves, who may call it, and
the problems it answers with."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Person, open_incident
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef


@pytest.fixture
def resolved(
    client: TestClient, ctx: Context, ann: Person, checkout: IntegrationRef
) -> int:
    number = open_incident(ctx, checkout)
    response = client.post(f"/api/v1/incidents/{number}/resolve", headers=ann.headers)
    assert response.status_code == 200
    return number


def test_reopening_triggers_the_incident_and_notes_why(
    client: TestClient, ann: Person, resolved: int
) -> None:
    response = client.post(
        f"/api/v1/incidents/{resolved}/reopen",
        headers=ann.headers,
        json={"reason": "errors are back"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "triggered"
    assert body["resolved_by"]["email"] == ann.email
    detail = client.get(f"/api/v1/incidents/{resolved}", headers=ann.headers).json()
    reopened = [e for e in detail["timeline"] if e["kind"] == "reopened"]
    assert [e["message"] for e in reopened] == [
        f"Reopened by {ann.email}: errors are back"
    ]


def test_the_body_is_optional(client: TestClient, ann: Person, resolved: int) -> None:
    response = client.post(f"/api/v1/incidents/{resolved}/reopen", headers=ann.headers)

    assert response.status_code == 200
    assert response.json()["status"] == "triggered"


def test_reopening_an_open_incident_is_a_conflict_problem(
    client: TestClient, ann: Person, resolved: int
) -> None:
    url = f"/api/v1/incidents/{resolved}/reopen"
    assert client.post(url, headers=ann.headers).status_code == 200

    again = client.post(url, headers=ann.headers)

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    problem = again.json()
    assert problem["type"].endswith("/conflict")
    assert "triggered" in problem["detail"]
    assert problem["instance"] == url


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"reason": "x" * 2001}, 422),
        ({"reason": "bell\u0007"}, 400),
        ({"why": "misspelt"}, 422),
    ],
)
def test_a_bad_body_is_a_problem_and_nothing_changes(
    client: TestClient, ann: Person, resolved: int, body: object, status: int
) -> None:
    response = client.post(
        f"/api/v1/incidents/{resolved}/reopen", headers=ann.headers, json=body
    )

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    detail = client.get(f"/api/v1/incidents/{resolved}", headers=ann.headers).json()
    assert detail["status"] == "resolved"


def test_viewers_other_teams_and_strangers_cannot_reopen(
    client: TestClient, ann: Person, vera: Person, pete: Person, resolved: int
) -> None:
    url = f"/api/v1/incidents/{resolved}/reopen"

    assert client.post(url, headers=vera.headers).status_code == 403
    assert client.post(url, headers=pete.headers).status_code == 404
    assert client.post(url).status_code == 401
    detail = client.get(f"/api/v1/incidents/{resolved}", headers=ann.headers).json()
    assert detail["status"] == "resolved"


def test_reopen_is_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()

    operation = document["paths"]["/api/v1/incidents/{number}/reopen"]["post"]
    assert operation["operationId"] == "reopenIncident"
    for status in ("401", "403", "404", "409", "422"):
        content = operation["responses"][status]["content"]
        assert "application/problem+json" in content
