"""Signal routes: change events, heartbeats and their ping URL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.api.conftest import Person, open_incident
from tests.builders import make_integration
from tocsin.clock import ManualClock
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import ChangeEvent, Heartbeat

DEPLOY = {"service": "checkout", "kind": "deploy", "summary": "Deploy v2.14.0"}


def stored_changes(ctx: Context) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count(ChangeEvent.id))) or 0


def test_a_responder_records_a_change_and_the_incident_shows_it(
    client: TestClient,
    ctx: Context,
    clock: ManualClock,
    ann: Person,
    checkout: IntegrationRef,
) -> None:
    """201 with the change; the next incident's detail lists it as recent."""
    body = {**DEPLOY, "version": "2.14.0", "link": "https://ci.example.com/1"}
    response = client.post("/api/v1/changes", json=body, headers=ann.headers)

    assert response.status_code == 201, response.text
    assert response.json()["service"]["name"] == "checkout"
    clock.advance(minutes=5)
    number = open_incident(ctx, checkout)
    detail = client.get(f"/api/v1/incidents/{number}", headers=ann.headers).json()
    assert [c["version"] for c in detail["recent_changes"]] == ["2.14.0"]


def test_an_integration_key_records_a_change_without_naming_the_service(
    client: TestClient, ctx: Context, ann: Person, checkout: IntegrationRef
) -> None:
    """A deploy pipeline authenticates with the service's integration key."""
    _, key = make_integration(ctx, "checkout", "generic")
    body = {"kind": "config", "summary": "pool size 20"}

    response = client.post(
        "/api/v1/changes", json=body, headers={"Authorization": f"Bearer {key}"}
    )

    assert response.status_code == 201, response.text
    listed = client.get(
        "/api/v1/changes", params={"service": "checkout"}, headers=ann.headers
    )
    assert [c["summary"] for c in listed.json()] == ["pool size 20"]
    assert listed.json()[0]["source"] == "integration generic"


def test_bad_change_bodies_are_400_problems_and_store_nothing(
    client: TestClient, ctx: Context, ann: Person, checkout: IntegrationRef
) -> None:
    """Unknown fields, kinds, naive times and broken JSON: 400, nothing kept."""
    bodies = [
        {**DEPLOY, "kind": "rollback"},
        {**DEPLOY, "colour": "red"},
        {**DEPLOY, "timestamp": "2026-03-02T09:00:00"},
        {**DEPLOY, "link": "javascript:alert(1)"},
        {"kind": "deploy"},
    ]
    for body in bodies:
        response = client.post("/api/v1/changes", json=body, headers=ann.headers)
        assert response.status_code == 400, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    broken = client.post(
        "/api/v1/changes",
        content=b"{not json",
        headers={**ann.headers, "Content-Type": "application/json"},
    )

    assert broken.status_code == 400
    assert stored_changes(ctx) == 0


def test_changes_need_a_credential_and_the_right_team(
    client: TestClient,
    ctx: Context,
    vera: Person,
    pete: Person,
    checkout: IntegrationRef,
) -> None:
    """No credential is 401; a viewer 403; another team's responder 404."""
    assert client.post("/api/v1/changes", json=DEPLOY).status_code == 401
    unknown = {"Authorization": "Bearer nobody-has-this-key"}
    assert (
        client.post("/api/v1/changes", json=DEPLOY, headers=unknown).status_code == 401
    )
    viewer = client.post("/api/v1/changes", json=DEPLOY, headers=vera.headers)
    assert viewer.status_code == 403
    outsider = client.post("/api/v1/changes", json=DEPLOY, headers=pete.headers)
    assert outsider.status_code == 404
    assert stored_changes(ctx) == 0


def test_an_admin_adds_a_heartbeat_and_its_url_takes_pings(
    client: TestClient,
    ctx: Context,
    adam: Person,
    ann: Person,
    checkout: IntegrationRef,
) -> None:
    """The ping URL comes back once; GET and POST on it both count as pings."""
    body = {"service": "checkout", "name": "backup", "interval_seconds": 3600}
    created = client.post("/api/v1/heartbeats", json=body, headers=adam.headers)

    assert created.status_code == 201, created.text
    url = created.json()["ping_url"]
    path = url.removeprefix("http://tocsin.test")
    assert client.post(path).text == "ok up\n"
    assert client.get(path).status_code == 200
    listed = client.get("/api/v1/heartbeats", headers=ann.headers).json()
    assert [(h["name"], h["status"]) for h in listed] == [("backup", "up")]
    assert "ping_url" not in listed[0]


def test_only_admins_add_heartbeats_and_unknown_urls_are_404(
    client: TestClient, ctx: Context, ann: Person, checkout: IntegrationRef
) -> None:
    """A responder cannot add one; a made-up ping URL is a 404."""
    body = {"service": "checkout", "name": "backup", "interval_seconds": 3600}
    refused = client.post("/api/v1/heartbeats", json=body, headers=ann.headers)

    assert refused.status_code == 403
    assert client.post("/hb/" + "a" * 32).status_code == 404
    with ctx.db.read() as session:
        assert session.scalar(select(func.count(Heartbeat.id))) == 0


def test_removing_a_heartbeat_over_the_api(
    client: TestClient, adam: Person, checkout: IntegrationRef
) -> None:
    """DELETE answers 204, and the heartbeat's URL stops working."""
    body = {"service": "checkout", "name": "backup", "interval_seconds": 3600}
    url = client.post("/api/v1/heartbeats", json=body, headers=adam.headers).json()[
        "ping_url"
    ]

    removed = client.delete("/api/v1/heartbeats/checkout/backup", headers=adam.headers)

    assert removed.status_code == 204
    assert client.post(url.removeprefix("http://tocsin.test")).status_code == 404


def test_http_checks_over_the_api(
    client: TestClient,
    ctx: Context,
    adam: Person,
    ann: Person,
    checkout: IntegrationRef,
) -> None:
    """Admins add and remove checks; a loopback URL is a 400; team members read."""
    body = {"service": "checkout", "name": "home", "url": "https://example.com/"}
    created = client.post("/api/v1/checks", json=body, headers=adam.headers)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending"

    loopback = {**body, "name": "local", "url": "http://127.0.0.1:8000/"}
    refused = client.post("/api/v1/checks", json=loopback, headers=adam.headers)
    assert refused.status_code == 400
    assert refused.json()["type"].endswith("outbound-refused")
    as_responder = client.post(
        "/api/v1/checks", json={**body, "name": "x"}, headers=ann.headers
    )
    assert as_responder.status_code == 403

    detail = client.get("/api/v1/checks/checkout/home", headers=ann.headers)
    assert detail.json()["results"] == []
    assert [
        c["name"] for c in client.get("/api/v1/checks", headers=ann.headers).json()
    ] == ["home"]
    gone = client.delete("/api/v1/checks/checkout/home", headers=adam.headers)
    assert gone.status_code == 204
