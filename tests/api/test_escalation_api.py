"""Escalation through the API: policies, preview, misconfigurations, snooze,
policy reassignment and maintenance windows, with their refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import Person, open_incident
from tests.builders import make_service, user_by_email
from tocsin.clock import ManualClock
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import (
    AuditRecord,
    MaintenanceWindow,
    Service,
    Timer,
    User,
)

POLICY = {
    "name": "Ops nights",
    "team": "Ops",
    "steps": [
        {"delay_minutes": 5, "users": ["ann@example.com"]},
        {"delay_minutes": 10, "teams": ["Ops"], "round_robin": True},
    ],
    "repeat": 1,
    "ack_timeout_minutes": 60,
}


def _service_id(ctx: Context, name: str) -> int:
    with ctx.db.read() as session:
        return session.scalars(select(Service.id).where(Service.name == name)).one()


def test_an_admin_creates_a_policy_and_anyone_reads_it(
    client: TestClient, ann: Person, adam: Person
) -> None:
    """Create needs admin; the policy reads back with targets and ack timeout."""
    refused = client.post("/api/v1/policies", json=POLICY, headers=ann.headers)
    assert refused.status_code == 403

    created = client.post("/api/v1/policies", json=POLICY, headers=adam.headers)
    assert created.status_code == 201
    body = created.json()
    assert body["ack_timeout_minutes"] == 60
    assert body["steps"][1]["teams"] == ["Ops"]
    assert body["steps"][1]["round_robin"] is True

    shown = client.get(f"/api/v1/policies/{body['id']}", headers=ann.headers)
    assert shown.json() == body
    assert client.get("/api/v1/policies/999", headers=ann.headers).status_code == 404


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"steps": []}, 422),
        ({"repeat": 10}, 422),
        ({"surprise": 1}, 422),
        ({"steps": [{"delay_minutes": 5, "schedules": ["Nope"]}]}, 404),
        ({"steps": [{"delay_minutes": 5}]}, 400),
    ],
)
def test_bad_policies_get_a_problem_and_nothing_is_stored(
    client: TestClient, adam: Person, change: dict[str, object], status: int
) -> None:
    """Each malformed policy is a 4xx problem; the policy list stays empty."""
    response = client.post(
        "/api/v1/policies", json={**POLICY, **change}, headers=adam.headers
    )

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/policies", headers=adam.headers).json() == []


def test_preview_answers_who_would_be_paged_when(
    client: TestClient, ctx: Context, clock: ManualClock, ann: Person, pete: Person
) -> None:
    """The checkout service's policy, previewed; another team gets 404."""
    make_service(ctx, "checkout", steps=[(5, [_user(ctx, ann)])], team="Ops")
    service_id = _service_id(ctx, "checkout")
    at = (clock.now() + timedelta(hours=1)).isoformat()

    response = client.get(
        f"/api/v1/services/{service_id}/escalation-preview",
        params={"at": at},
        headers=ann.headers,
    )
    assert response.status_code == 200
    [first] = response.json()["pages"]
    assert first["users"][0]["email"] == ann.email
    assert first["at"].startswith((clock.now() + timedelta(hours=1)).isoformat()[:19])

    other = client.get(
        f"/api/v1/services/{service_id}/escalation-preview", headers=pete.headers
    )
    assert other.status_code == 404
    naive = client.get(
        f"/api/v1/services/{service_id}/escalation-preview",
        params={"at": "2026-03-02T09:00:00"},
        headers=ann.headers,
    )
    assert naive.status_code == 422


def test_misconfigurations_are_listed_with_counts(
    client: TestClient, ctx: Context, adam: Person
) -> None:
    """A service without a policy shows up; unauthenticated callers get 401."""
    make_service(ctx, "lonely", team="Ops")

    response = client.get("/api/v1/misconfigurations", headers=adam.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["counts"]["service_without_policy"] == 1
    assert {p["name"] for p in body["problems"]} >= {"lonely"}
    assert client.get("/api/v1/misconfigurations").status_code == 401


def test_snooze_and_policy_reassignment_through_the_api(
    client: TestClient,
    ctx: Context,
    ann: Person,
    vera: Person,
    checkout: IntegrationRef,
    adam: Person,
) -> None:
    """Snooze acknowledges and sets a timer; a viewer may not; then the incident
    is handed to another policy and triggers again."""
    number = open_incident(ctx, checkout)

    assert (
        client.post(
            f"/api/v1/incidents/{number}/snooze",
            json={"minutes": 30},
            headers=vera.headers,
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/incidents/{number}/snooze",
            json={"minutes": 0},
            headers=ann.headers,
        ).status_code
        == 422
    )
    snoozed = client.post(
        f"/api/v1/incidents/{number}/snooze", json={"minutes": 30}, headers=ann.headers
    )
    assert snoozed.status_code == 200
    assert snoozed.json()["status"] == "acknowledged"
    with ctx.db.read() as session:
        assert session.scalars(select(Timer.kind)).all() == ["snooze_over"]

    policy = client.post("/api/v1/policies", json=POLICY, headers=adam.headers).json()
    moved = client.post(
        f"/api/v1/incidents/{number}/escalation-policy",
        json={"policy_id": policy["id"]},
        headers=ann.headers,
    )
    assert moved.status_code == 200
    assert moved.json()["status"] == "triggered"
    with ctx.db.read() as session:
        actions = session.scalars(select(AuditRecord.action)).all()
    assert "incident.snooze" in actions
    assert "incident.reassign_policy" in actions


def test_maintenance_windows_through_the_api(
    client: TestClient,
    ctx: Context,
    clock: ManualClock,
    ann: Person,
    pete: Person,
    checkout: IntegrationRef,
) -> None:
    """Add, list and delete a window; another team cannot see or delete it."""
    now = clock.now()
    created = client.post(
        "/api/v1/maintenance-windows",
        json={
            "service": "checkout",
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
            "recurrence": "weekly",
            "time_zone": "Europe/Berlin",
            "description": "database upgrade",
        },
        headers=ann.headers,
    )
    assert created.status_code == 201
    window = created.json()
    assert window["active"] is True

    listed = client.get("/api/v1/maintenance-windows", headers=ann.headers).json()
    assert [w["id"] for w in listed] == [window["id"]]
    assert client.get("/api/v1/maintenance-windows", headers=pete.headers).json() == []
    assert (
        client.delete(
            f"/api/v1/maintenance-windows/{window['id']}", headers=pete.headers
        ).status_code
        == 404
    )
    deleted = client.delete(
        f"/api/v1/maintenance-windows/{window['id']}", headers=ann.headers
    )
    assert deleted.status_code == 200
    with ctx.db.read() as session:
        assert session.scalars(select(MaintenanceWindow)).all() == []


@pytest.mark.parametrize(
    "body",
    [
        {"service": "checkout", "starts_at": "2026-03-02T09:00:00"},
        {"service": "checkout", "recurrence": "hourly"},
        {"service": "checkout", "time_zone": "Nowhere/Land"},
        {"service": "nope"},
    ],
)
def test_bad_windows_get_a_problem(
    client: TestClient,
    ann: Person,
    clock: ManualClock,
    checkout: IntegrationRef,
    body: dict[str, str],
) -> None:
    """Naive times, unknown recurrences, zones and services are refused."""
    now = clock.now()
    full = {
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        **body,
    }

    response = client.post(
        "/api/v1/maintenance-windows", json=full, headers=ann.headers
    )

    assert response.status_code in (400, 404, 422)
    assert response.headers["content-type"] == "application/problem+json"


def _user(ctx: Context, person: Person) -> User:
    return user_by_email(ctx, person.email)
