"""Who may call the API: bearer tokens, roles and team visibility."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.api.conftest import Person, open_incident
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.services import users
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import ApiToken, User

WRITES = [
    ("acknowledge", None),
    ("resolve", None),
    ("notes", {"text": "looking"}),
    ("reassign", "self"),
]


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/unauthenticated")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer tcs_not-a-real-token"},
        {"Authorization": "Bearer something-else"},
        {"Authorization": "Basic YW5uOnNlY3JldA=="},
        {"Authorization": "Bearer tcs_" + "x" * 300},
    ],
    ids=["none", "empty", "unknown", "foreign", "basic", "oversized"],
)
def test_a_request_without_a_valid_token_is_refused_with_401(
    client: TestClient, headers: dict[str, str]
) -> None:
    assert_unauthenticated(client.get("/api/v1/incidents", headers=headers))


def test_a_revoked_token_is_refused(
    client: TestClient, ctx: Context, clock: ManualClock, ann: Person
) -> None:
    with ctx.db.write() as session:
        session.execute(update(ApiToken).values(revoked_at=clock.now()))

    assert_unauthenticated(client.get("/api/v1/me", headers=ann.headers))


def test_a_token_stops_working_when_it_expires(
    client: TestClient, ctx: Context, clock: ManualClock, ann: Person
) -> None:
    secret = users.create_token(ctx, SYSTEM, email=ann.email, name="short", days=1)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    clock.advance(days=1)

    response = client.get("/api/v1/me", headers=headers)
    assert_unauthenticated(response)
    assert "expired" in response.json()["detail"]


def test_a_deactivated_users_token_is_refused(
    client: TestClient, ctx: Context, ann: Person
) -> None:
    with ctx.db.write() as session:
        session.execute(update(User).where(User.id == ann.id).values(active=False))

    assert_unauthenticated(client.get("/api/v1/me", headers=ann.headers))


def test_me_names_the_user_their_teams_and_the_token(
    client: TestClient, ctx: Context, ann: Person
) -> None:
    response = client.get("/api/v1/me", headers=ann.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": ann.id, "name": "Ann", "email": ann.email}
    assert body["role"] == "responder"
    assert [team["name"] for team in body["teams"]] == ["Ops"]
    with ctx.db.read() as session:
        token = session.scalars(
            select(ApiToken).where(ApiToken.user_id == ann.id)
        ).one()
    assert body["token"]["id"] == token.id
    assert ann.token.startswith(body["token"]["prefix"])


def test_a_viewer_can_read_incidents(
    client: TestClient, ctx: Context, checkout: IntegrationRef, vera: Person
) -> None:
    number = open_incident(ctx, checkout)

    listed = client.get("/api/v1/incidents", headers=vera.headers)
    shown = client.get(f"/api/v1/incidents/{number}", headers=vera.headers)

    assert [item["number"] for item in listed.json()["items"]] == [number]
    assert shown.status_code == 200


@pytest.mark.parametrize(("action", "body"), WRITES, ids=[a for a, _ in WRITES])
def test_a_viewer_cannot_change_an_incident(
    client: TestClient,
    ctx: Context,
    checkout: IntegrationRef,
    vera: Person,
    action: str,
    body: object,
) -> None:
    number = open_incident(ctx, checkout)
    url = f"/api/v1/incidents/{number}"
    before = client.get(url, headers=vera.headers).json()
    if body == "self":
        body = {"user_id": vera.id}

    response = client.post(f"{url}/{action}", headers=vera.headers, json=body)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(url, headers=vera.headers).json() == before


def test_another_teams_incident_looks_like_no_incident(
    client: TestClient, ctx: Context, billing: IntegrationRef, ann: Person
) -> None:
    number = open_incident(ctx, billing)

    hidden = client.get(f"/api/v1/incidents/{number}", headers=ann.headers)
    missing = client.get(f"/api/v1/incidents/{number + 1}", headers=ann.headers)

    assert hidden.status_code == missing.status_code == 404
    assert set(hidden.json()) == set(missing.json())
    assert hidden.json()["detail"] == f"no incident #{number}"
    assert client.get("/api/v1/incidents", headers=ann.headers).json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }


@pytest.mark.parametrize(("action", "body"), WRITES, ids=[a for a, _ in WRITES])
def test_a_responder_cannot_change_another_teams_incident(
    client: TestClient,
    ctx: Context,
    billing: IntegrationRef,
    ann: Person,
    pete: Person,
    action: str,
    body: object,
) -> None:
    number = open_incident(ctx, billing)
    url = f"/api/v1/incidents/{number}"
    before = client.get(url, headers=pete.headers).json()
    if body == "self":
        body = {"user_id": ann.id}

    response = client.post(f"{url}/{action}", headers=ann.headers, json=body)

    assert response.status_code == 404
    assert client.get(url, headers=pete.headers).json() == before


def test_an_admin_sees_and_acts_on_every_teams_incidents(
    client: TestClient,
    ctx: Context,
    checkout: IntegrationRef,
    billing: IntegrationRef,
    adam: Person,
) -> None:
    ops = open_incident(ctx, checkout)
    payments = open_incident(ctx, billing)

    listed = client.get("/api/v1/incidents", headers=adam.headers).json()
    acked = client.post(
        f"/api/v1/incidents/{payments}/acknowledge", headers=adam.headers
    )

    assert [item["number"] for item in listed["items"]] == [payments, ops]
    assert acked.status_code == 200
    assert acked.json()["acknowledged_by"]["id"] == adam.id
