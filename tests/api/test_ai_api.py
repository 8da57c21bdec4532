"""The suggestions API: beside the fields, accept and override recorded,
similar incidents, training for admins only, the report, and problems for
bad input."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import Person, open_incident
from tocsin.domain.access import SYSTEM
from tocsin.services import incidents, triage
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef


def test_suggestions_sit_beside_the_fields(
    client: TestClient, ctx: Context, ann: Person, checkout: IntegrationRef
) -> None:
    """Each suggestion has the current value, confidence, reasons and source."""
    number = open_incident(ctx, checkout, "checkout-down", severity="warning")

    response = client.get(
        f"/api/v1/incidents/{number}/suggestions", headers=ann.headers
    )

    assert response.status_code == 200
    [severity] = [s for s in response.json() if s["field"] == "severity"]
    assert severity["current"] == "sev3"
    assert severity["source"] == "rules"
    assert severity["outcome"] == "pending"
    assert 0 < severity["confidence"] <= 1
    assert severity["reasons"]


def test_accept_and_override(
    client: TestClient, ctx: Context, ann: Person, checkout: IntegrationRef
) -> None:
    """Accepting records it; a second decision is 409; an override with a
    severity that is no level is a 400 problem and changes nothing."""
    number = open_incident(ctx, checkout, "service-down", severity="warning")
    base = f"/api/v1/incidents/{number}/suggestions"
    client.get(base, headers=ann.headers)

    bad = client.post(
        f"{base}/severity/override", headers=ann.headers, json={"value": "sev9"}
    )
    accepted = client.post(f"{base}/severity/accept", headers=ann.headers)
    again = client.post(f"{base}/severity/accept", headers=ann.headers)

    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    assert accepted.status_code == 200
    assert accepted.json()["outcome"] == "accepted"
    assert accepted.json()["current"] == accepted.json()["value"]
    assert again.status_code == 409


def test_refusals(
    client: TestClient,
    ctx: Context,
    ann: Person,
    vera: Person,
    pete: Person,
    checkout: IntegrationRef,
) -> None:
    """No token is 401, another team's incident 404, a viewer deciding 403,
    an unknown field 422, a responder training 403."""
    number = open_incident(ctx, checkout)
    base = f"/api/v1/incidents/{number}/suggestions"
    client.get(base, headers=ann.headers)

    assert client.get(base).status_code == 401
    assert client.get(base, headers=pete.headers).status_code == 404
    assert (
        client.post(f"{base}/severity/accept", headers=vera.headers).status_code == 403
    )
    assert client.post(f"{base}/colour/accept", headers=ann.headers).status_code == 422
    assert client.post("/api/v1/ai/train", headers=ann.headers).status_code == 403


def test_train_similar_and_report(
    client: TestClient,
    ctx: Context,
    ann: Person,
    adam: Person,
    checkout: IntegrationRef,
) -> None:
    """An admin trains; similar incidents come from the resolved ones; the
    report counts suggestions per week and field."""
    old = open_incident(ctx, checkout, "disk-full")
    incidents.resolve(ctx, SYSTEM, old)
    new = open_incident(ctx, checkout, "disk-full")

    trained = client.post("/api/v1/ai/train", headers=adam.headers)
    similar = client.get(f"/api/v1/incidents/{new}/similar", headers=ann.headers)
    client.get(f"/api/v1/incidents/{new}/suggestions", headers=ann.headers)
    report = client.get("/api/v1/ai/report", headers=ann.headers)

    assert trained.status_code == 200
    assert trained.json()["source"] == "synthetic"
    assert similar.status_code == 200
    assert [item["number"] for item in similar.json()] == [old]
    assert report.status_code == 200
    assert {row["field"] for row in report.json()} >= {"severity"}


def test_drafts_over_the_api(
    client: TestClient,
    ctx: Context,
    ann: Person,
    vera: Person,
    checkout: IntegrationRef,
) -> None:
    """A responder gets a template draft; a viewer is refused; an unknown kind
    is 422."""
    number = open_incident(ctx, checkout)
    base = f"/api/v1/incidents/{number}/drafts"

    written = client.get(f"{base}/summary", headers=ann.headers)

    assert written.status_code == 200
    assert written.json()["source"] == "template"
    assert "disk-full on db-1" in written.json()["text"]
    assert client.get(f"{base}/update", headers=vera.headers).status_code == 403
    assert client.get(f"{base}/poem", headers=ann.headers).status_code == 422


def test_the_model_in_use_and_an_accepted_type(
    client: TestClient,
    ctx: Context,
    ann: Person,
    adam: Person,
    checkout: IntegrationRef,
) -> None:
    """The model in use is named, before and after training; no token is
    401. An accepted incident type becomes the incident's type."""
    triage.create_type(ctx, SYSTEM, key="outage", name="Outage")
    number = open_incident(ctx, checkout, "service-down", severity="warning")
    base = f"/api/v1/incidents/{number}/suggestions"
    client.get(base, headers=ann.headers)

    before = client.get("/api/v1/ai/model", headers=ann.headers)
    client.post("/api/v1/ai/train", headers=adam.headers)
    after = client.get("/api/v1/ai/model", headers=ann.headers)
    accepted = client.post(f"{base}/incident_type/accept", headers=ann.headers)
    incident = client.get(f"/api/v1/incidents/{number}", headers=ann.headers)

    assert client.get("/api/v1/ai/model").status_code == 401
    assert before.status_code == 200
    assert before.json() == {
        "model": None,
        "description": "the rules (no model trained yet)",
    }
    assert after.json()["model"]["source"] == "synthetic"
    assert after.json()["description"].startswith("the synthetic set")
    assert accepted.status_code == 200
    assert accepted.json()["current"] == "outage"
    assert "outage" in incident.text
