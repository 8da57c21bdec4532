"""Reports over the API: staff report, responders triage, teams see their
own."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import Person
from tocsin.services.integrations import IntegrationRef


def test_staff_report_then_declare(
    client: TestClient, ann: Person, vera: Person, checkout: IntegrationRef
) -> None:
    """A viewer reports; a responder declares an incident from the report."""
    made = client.post(
        "/api/v1/reports",
        json={"title": "Checkout is slow", "service_id": checkout.service_id},
        headers=vera.headers,
    )
    report_id = made.json()["id"]
    declared = client.post(
        f"/api/v1/reports/{report_id}/declare",
        json={"reason": "Confirmed", "severity": "sev2"},
        headers=ann.headers,
    )
    after = client.get(f"/api/v1/reports/{report_id}", headers=ann.headers)

    assert made.status_code == 201
    assert made.json()["reference"] == f"R-{report_id}"
    assert made.json()["status"] == "untriaged"
    assert declared.status_code == 201
    assert declared.json()["declared"] is True
    assert after.json()["status"] == "declared"
    assert after.json()["incident"]["number"] == declared.json()["number"]


def test_dismiss_needs_a_reason_and_happens_once(
    client: TestClient, ann: Person
) -> None:
    """A dismissal with an empty reason is 422; a second dismissal is 409."""
    report_id = client.post(
        "/api/v1/reports", json={"title": "Odd"}, headers=ann.headers
    ).json()["id"]
    url = f"/api/v1/reports/{report_id}/dismiss"

    empty = client.post(url, json={"reason": ""}, headers=ann.headers)
    first = client.post(url, json={"reason": "Duplicate"}, headers=ann.headers)
    second = client.post(url, json={"reason": "Again"}, headers=ann.headers)

    assert empty.status_code == 422
    assert first.status_code == 200
    assert first.json()["triage_reason"] == "Duplicate"
    assert second.status_code == 409


def test_list_filters_by_status_and_hides_other_teams(
    client: TestClient,
    ann: Person,
    pete: Person,
    checkout: IntegrationRef,
) -> None:
    """Pete (Payments) does not see a report of Ops' checkout service."""
    client.post(
        "/api/v1/reports",
        json={"title": "Checkout errors", "service_id": checkout.service_id},
        headers=ann.headers,
    )

    mine = client.get("/api/v1/reports?status=untriaged", headers=ann.headers)
    theirs = client.get("/api/v1/reports", headers=pete.headers)
    bad = client.get("/api/v1/reports?status=lost", headers=ann.headers)

    assert mine.json()["total"] == 1
    assert theirs.json()["total"] == 0
    assert bad.status_code == 422


def test_bad_report_input_is_a_problem(client: TestClient, ann: Person) -> None:
    """Control characters are a 400; an unknown field a 422."""
    control = client.post(
        "/api/v1/reports", json={"title": "a\u0007b"}, headers=ann.headers
    )
    unknown = client.post(
        "/api/v1/reports", json={"title": "ok", "colour": "red"}, headers=ann.headers
    )

    assert control.status_code == 400
    assert unknown.status_code == 422
    assert client.get("/api/v1/reports", headers=ann.headers).json()["total"] == 0
