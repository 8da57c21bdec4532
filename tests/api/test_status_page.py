"""Status page administration over /api/v1/status-page: the managing role,
problems for bad input, and every write audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import GenerationMode
from schemathesis.generation.case import Case
from sqlalchemy import select

from tests.api.conftest import Person, open_incident
from tests.api.test_fuzz import CHECKS
from tocsin.clock import ManualClock
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import AuditRecord

BASE = "/api/v1/status-page"


def made(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def api_component(client: TestClient, adam: Person) -> dict[str, Any]:
    group = made(
        client.post(f"{BASE}/groups", json={"name": "Core"}, headers=adam.headers)
    )
    return made(
        client.post(
            f"{BASE}/components",
            json={"name": "API", "group_id": group["id"]},
            headers=adam.headers,
        )
    )


def test_a_manager_runs_an_incident_on_the_page(
    client: TestClient, ctx: Context, adam: Person, api_component: dict[str, Any]
) -> None:
    """Open, update and resolve a public incident; the component follows it and
    every write is audited under the token's user."""
    incident = made(
        client.post(
            f"{BASE}/incidents",
            json={
                "title": "Errors on the API",
                "impact": "partial_outage",
                "component_ids": [api_component["id"]],
                "message": "Some calls fail.",
            },
            headers=adam.headers,
        )
    )
    [component] = made(client.get(f"{BASE}/components", headers=adam.headers), 200)
    assert component["state"] == "partial_outage"
    assert component["group"] == "Core"

    resolved = made(
        client.post(
            f"{BASE}/incidents/{incident['id']}/updates",
            json={"message": "Fixed.", "stage": "resolved"},
            headers=adam.headers,
        )
    )
    assert resolved["resolved_at"] is not None
    assert [u["stage"] for u in resolved["updates"]] == ["investigating", "resolved"]
    [component] = made(client.get(f"{BASE}/components", headers=adam.headers), 200)
    assert component["state"] == "operational"

    with ctx.db.read() as session:
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.actor_label == adam.email)
        ).all()
    assert actions == [
        "status_group.create",
        "status_component.create",
        "status_incident.create",
        "status_incident.update",
        "status_incident.update",
    ]


def test_a_manual_state_holds_until_cleared(
    client: TestClient, adam: Person, api_component: dict[str, Any]
) -> None:
    """PUT a state and it shows; PUT null and the component follows incidents."""
    url = f"{BASE}/components/{api_component['id']}/state"
    held = made(
        client.put(url, json={"state": "major_outage"}, headers=adam.headers), 200
    )
    assert (held["state"], held["manual_state"]) == ("major_outage", "major_outage")

    freed = made(client.put(url, json={"state": None}, headers=adam.headers), 200)
    assert (freed["state"], freed["manual_state"]) == ("operational", None)


def test_responders_read_but_do_not_manage(
    client: TestClient, ann: Person, api_component: dict[str, Any]
) -> None:
    """A responder's token lists components but gets 403 problems for writes and
    for the subscribers' addresses."""
    assert client.get(f"{BASE}/components", headers=ann.headers).status_code == 200

    refused = [
        client.post(f"{BASE}/components", json={"name": "X"}, headers=ann.headers),
        client.put(
            f"{BASE}/components/{api_component['id']}/state",
            json={"state": "degraded"},
            headers=ann.headers,
        ),
        client.get(f"{BASE}/subscribers", headers=ann.headers),
    ]
    for response in refused:
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"


def test_no_token_no_access(client: TestClient) -> None:
    """Without a token even reading is 401."""
    assert client.get(f"{BASE}/components").status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"title": "x", "impact": "maintenance", "message": "m"}, 400),
        ({"title": "x\x1b[31m", "impact": "degraded", "message": "m"}, 400),
        ({"title": "x", "impact": "degraded", "message": "m", "extra": 1}, 422),
        ({"title": "x", "impact": "degraded", "message": ""}, 422),
        (
            {"title": "x", "impact": "degraded", "message": "m", "component_ids": [9]},
            404,
        ),
        (
            {"title": "x", "impact": "degraded", "message": "m", "incident_number": 99},
            404,
        ),
    ],
)
def test_bad_incident_input_is_a_problem_and_stores_nothing(
    client: TestClient, adam: Person, body: dict[str, Any], status: int
) -> None:
    """Each kind of bad input gets its problem status; no incident is made."""
    response = client.post(f"{BASE}/incidents", json=body, headers=adam.headers)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"{BASE}/incidents", headers=adam.headers).json() == []


def test_a_tocsin_incident_gets_one_public_incident(
    client: TestClient,
    ctx: Context,
    adam: Person,
    checkout: IntegrationRef,
    api_component: dict[str, Any],
) -> None:
    """Linking a second public incident to the same Tocsin incident is 409."""
    number = open_incident(ctx, checkout)
    body = {
        "title": "x",
        "impact": "degraded",
        "message": "m",
        "incident_number": number,
    }

    first = made(client.post(f"{BASE}/incidents", json=body, headers=adam.headers))
    assert first["incident_number"] == number
    again = client.post(f"{BASE}/incidents", json=body, headers=adam.headers)
    assert again.status_code == 409


def test_maintenance_is_scheduled_and_cancelled(
    client: TestClient,
    clock: ManualClock,
    adam: Person,
    api_component: dict[str, Any],
) -> None:
    """Scheduled maintenance lists as upcoming; cancelling it twice is 409; a
    naive time is refused."""
    start = clock.now() + timedelta(hours=1)
    body = {
        "title": "Upgrade",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "component_ids": [api_component["id"]],
    }
    window = made(client.post(f"{BASE}/maintenance", json=body, headers=adam.headers))
    assert window["phase"] == "upcoming"
    assert window["components"] == ["API"]

    cancel = f"{BASE}/maintenance/{window['id']}/cancel"
    assert made(client.post(cancel, headers=adam.headers), 200)["phase"] == "cancelled"
    assert client.post(cancel, headers=adam.headers).status_code == 409

    naive = {**body, "starts_at": start.replace(tzinfo=None).isoformat()}
    refused = client.post(f"{BASE}/maintenance", json=naive, headers=adam.headers)
    assert refused.status_code == 422


def test_editing_a_component_can_unlink_its_group(
    client: TestClient, adam: Person, api_component: dict[str, Any]
) -> None:
    """Fields left out stay; a null group_id removes the group."""
    url = f"{BASE}/components/{api_component['id']}"
    renamed = made(
        client.patch(url, json={"name": "Public API"}, headers=adam.headers), 200
    )
    assert (renamed["name"], renamed["group"]) == ("Public API", "Core")

    ungrouped = made(
        client.patch(url, json={"group_id": None}, headers=adam.headers), 200
    )
    assert (ungrouped["name"], ungrouped["group"]) == ("Public API", None)

    assert client.delete(url, headers=adam.headers).status_code == 204
    assert client.get(f"{BASE}/components", headers=adam.headers).json() == []


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_requests_get_documented_answers(
    client: TestClient,
    adam: Person,
    api_component: dict[str, Any],
    mode: GenerationMode,
) -> None:
    """Requests generated from the OpenAPI document, sent by a manager, never
    end in a server error and always get the answer the document promises."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)
    operations = [
        result.ok()
        for result in schema.include(
            path_regex="^/api/v1/status-page"
        ).get_all_operations()
    ]
    assert len(operations) == 18

    for operation in operations:

        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis.settings(
            max_examples=8,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def check(case: Case) -> None:
            case.call_and_validate(headers=adam.headers, checks=CHECKS)

        check()
