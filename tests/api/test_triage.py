"""Triage over the API: configuration for admins, decisions for responders in
their teams, problems for bad input, and the new incident fields."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.api.conftest import Person, open_incident
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import Incident
from tocsin.store.models.triage import DeclarationTrigger


def _service_id(client: TestClient, person: Person, number: int) -> int:
    body = client.get(f"/api/v1/incidents/{number}", headers=person.headers).json()
    return int(body["service"]["id"])


def test_scales_are_readable_by_anyone_with_a_token(
    client: TestClient, vera: Person
) -> None:
    """Viewers read the severity levels with their descriptions."""
    response = client.get("/api/v1/triage/scales", headers=vera.headers)

    assert response.status_code == 200
    assert response.json()["severity"][0]["name"] == "SEV1"
    assert response.json()["severity"][0]["examples"]


def test_triage_routes_need_a_token(client: TestClient) -> None:
    """No token: 401 problem, even with a bad body."""
    response = client.post("/api/v1/incidents/declare", json={"nope": 1})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_only_admins_replace_the_scales(
    client: TestClient, ann: Person, adam: Person
) -> None:
    """A responder gets 403; an admin replaces the matrix and reads it back."""
    body: dict[str, Any] = client.get(
        "/api/v1/triage/scales", headers=ann.headers
    ).json()
    for cell in body["matrix"]:
        if (cell["impact"], cell["urgency"]) == ("high", "medium"):
            cell["priority"] = "p1"

    refused = client.put("/api/v1/triage/scales", json=body, headers=ann.headers)
    accepted = client.put("/api/v1/triage/scales", json=body, headers=adam.headers)

    assert refused.status_code == 403
    assert accepted.status_code == 200
    cells = {
        (c["impact"], c["urgency"]): c["priority"] for c in accepted.json()["matrix"]
    }
    assert cells[("high", "medium")] == "p1"


def test_a_broken_matrix_is_a_400_problem(client: TestClient, adam: Person) -> None:
    """A matrix missing a pair is refused with a problem naming it."""
    body = client.get("/api/v1/triage/scales", headers=adam.headers).json()
    body["matrix"] = body["matrix"][:-1]

    response = client.put("/api/v1/triage/scales", json=body, headers=adam.headers)

    assert response.status_code == 400
    assert "no priority" in response.json()["detail"]


def test_declare_creates_a_declared_incident(
    client: TestClient,
    ctx: Context,
    ann: Person,
    adam: Person,
    checkout: IntegrationRef,
) -> None:
    """POST /incidents/declare answers 201 with the declaration facts."""
    client.post(
        "/api/v1/triage/incident-types",
        json={"key": "outage", "name": "Outage"},
        headers=adam.headers,
    )
    response = client.post(
        "/api/v1/incidents/declare",
        json={
            "service_id": checkout.service_id,
            "title": "Checkout down",
            "reason": "Support has twenty calls",
            "severity": "sev1",
            "incident_type": "outage",
            "impact": "high",
            "urgency": "high",
        },
        headers=ann.headers,
    )

    assert response.status_code == 201
    body = response.json()
    assert body["declared"] is True
    assert body["declared_reason"] == "Support has twenty calls"
    assert body["stage"] == "investigating"
    assert body["priority"] == "p1"
    assert body["incident_type"]["key"] == "outage"


def test_declare_with_bad_input_stores_nothing(
    client: TestClient, ctx: Context, ann: Person, checkout: IntegrationRef
) -> None:
    """An unknown severity is a 400; a missing reason a 422; no incident."""
    base = {"service_id": checkout.service_id, "title": "x", "reason": "y"}

    unknown = client.post(
        "/api/v1/incidents/declare",
        json={**base, "severity": "sev7"},
        headers=ann.headers,
    )
    no_reason = client.post(
        "/api/v1/incidents/declare",
        json={**base, "reason": ""},
        headers=ann.headers,
    )

    assert unknown.status_code == 400
    assert no_reason.status_code == 422
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_declaring_on_another_teams_service_is_not_found(
    client: TestClient, pete: Person, checkout: IntegrationRef
) -> None:
    """Pete (Payments) cannot declare on Ops' checkout service."""
    response = client.post(
        "/api/v1/incidents/declare",
        json={"service_id": checkout.service_id, "title": "x", "reason": "y"},
        headers=pete.headers,
    )

    assert response.status_code == 404


def test_severity_priority_impact_and_stage_over_the_api(
    client: TestClient, ctx: Context, ann: Person, checkout: IntegrationRef
) -> None:
    """Each decision answers with the incident as it now is."""
    number = open_incident(ctx, checkout, severity="warning")
    url = f"/api/v1/incidents/{number}"

    severity = client.post(
        f"{url}/severity",
        json={"severity": "sev2", "reason": "Half the customers"},
        headers=ann.headers,
    )
    priority = client.post(
        f"{url}/priority",
        json={"impact": "medium", "urgency": "high", "reason": "Spreading"},
        headers=ann.headers,
    )
    impact = client.patch(
        f"{url}/impact",
        json={
            "customers_affected": 300,
            "impact_reputational": True,
            "affected_service_ids": [checkout.service_id],
        },
        headers=ann.headers,
    )
    not_declared = client.post(
        f"{url}/stage", json={"stage": "identified"}, headers=ann.headers
    )
    declared = client.post(
        f"{url}/declare", json={"reason": "It is real"}, headers=ann.headers
    )
    stage = client.post(
        f"{url}/stage", json={"stage": "identified"}, headers=ann.headers
    )

    assert severity.status_code == 200
    assert severity.json()["severity"] == "sev2"
    assert priority.json()["priority"] == "p2"
    assert impact.json()["customers_affected"] == 300
    assert impact.json()["impact_reputational"] is True
    assert [s["name"] for s in impact.json()["affected_services"]] == ["checkout"]
    assert not_declared.status_code == 409
    assert declared.json()["declared"] is True
    assert stage.json()["stage"] == "identified"
    assert stage.json()["identified_at"] is not None
    listed = client.get("/api/v1/incidents", headers=ann.headers).json()
    assert listed["items"][0]["priority"] == "p2"


def test_viewers_cannot_change_severity(
    client: TestClient, ctx: Context, vera: Person, checkout: IntegrationRef
) -> None:
    """Triage needs the responder role."""
    number = open_incident(ctx, checkout)

    response = client.post(
        f"/api/v1/incidents/{number}/severity",
        json={"severity": "sev1", "reason": "x"},
        headers=vera.headers,
    )

    assert response.status_code == 403


def test_triggers_are_admin_only_and_checked(
    client: TestClient, ctx: Context, ann: Person, adam: Person
) -> None:
    """Admins add rules, responders read them, a bad matcher is a 400."""
    rule = {
        "name": "Prod DB",
        "severity": "sev1",
        "matchers": ["env=prod"],
        "alert_count": 3,
        "window_minutes": 5,
    }

    by_ann = client.post("/api/v1/triage/triggers", json=rule, headers=ann.headers)
    bad = client.post(
        "/api/v1/triage/triggers",
        json={**rule, "matchers": ["env=~("]},
        headers=adam.headers,
    )
    made = client.post("/api/v1/triage/triggers", json=rule, headers=adam.headers)
    listed = client.get("/api/v1/triage/triggers", headers=ann.headers)
    gone = client.delete(
        f"/api/v1/triage/triggers/{made.json()['id']}", headers=adam.headers
    )

    assert by_ann.status_code == 403
    assert bad.status_code == 400
    assert made.status_code == 201
    assert [r["name"] for r in listed.json()] == ["Prod DB"]
    assert gone.status_code == 204
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(DeclarationTrigger)) == 0


def test_owners_over_the_api(
    client: TestClient, ann: Person, adam: Person, checkout: IntegrationRef
) -> None:
    """An admin makes Ann the checkout service's triage owner."""
    response = client.put(
        "/api/v1/triage/owners",
        json={"service_id": checkout.service_id, "user_id": ann.id},
        headers=adam.headers,
    )
    both = client.put(
        "/api/v1/triage/owners",
        json={"service_id": checkout.service_id},
        headers=adam.headers,
    )

    assert response.status_code == 200
    assert response.json()["user"]["email"] == "ann@example.com"
    assert both.status_code == 400
