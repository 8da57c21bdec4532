"""A report's triage suggestions over the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Person
from tests.builders import make_service
from tocsin.domain.access import SYSTEM
from tocsin.services import suggestions, triage
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef


def test_database_outage_report_gets_all_three_suggestions(
    client: TestClient, ctx: Context, vera: Person
) -> None:
    """A report of a database outage gets a severity, type and service guess."""
    make_service(ctx, "postgres", team="Ops")
    triage.create_type(ctx, SYSTEM, key="outage", name="Outage")
    made = client.post(
        "/api/v1/reports",
        json={
            "title": "Database outage",
            "description": "postgres is down, every query is refused",
        },
        headers=vera.headers,
    )

    response = client.get(
        f"/api/v1/reports/{made.json()['id']}/suggestions", headers=vera.headers
    )

    assert response.status_code == 200
    found = {item["field"]: item for item in response.json()}
    assert set(found) == {"severity", "incident_type", "service"}
    assert found["incident_type"]["value"] == "outage"
    assert found["service"]["value"] == "postgres"
    assert found["service"]["current"] is None
    for item in found.values():
        assert item["source"] == "rules"
        assert item["reasons"]
        assert 0 < item["confidence"] <= 1


def test_another_teams_report_is_not_found(
    client: TestClient, ann: Person, pete: Person, checkout: IntegrationRef
) -> None:
    """Pete (Payments) gets 404 for suggestions on an Ops service's report."""
    made = client.post(
        "/api/v1/reports",
        json={"title": "Checkout database down", "service_id": checkout.service_id},
        headers=ann.headers,
    )
    url = f"/api/v1/reports/{made.json()['id']}/suggestions"

    theirs = client.get(url, headers=pete.headers)
    missing = client.get("/api/v1/reports/999999/suggestions", headers=ann.headers)

    assert client.get(url, headers=ann.headers).status_code == 200
    assert theirs.status_code == 404
    assert missing.status_code == 404


def test_a_failing_model_leaves_the_rules_answering(
    client: TestClient, vera: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the model cannot be loaded the report still gets the rules' guess."""

    def broken(*args: object) -> None:
        raise RuntimeError("corrupt model")

    monkeypatch.setattr(suggestions, "_model", broken)
    made = client.post(
        "/api/v1/reports", json={"title": "Database outage"}, headers=vera.headers
    )

    response = client.get(
        f"/api/v1/reports/{made.json()['id']}/suggestions", headers=vera.headers
    )

    assert response.status_code == 200
    [severity] = [s for s in response.json() if s["field"] == "severity"]
    assert severity["source"] == "rules"
