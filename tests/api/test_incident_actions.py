"""Acknowledge, resolve, reassign and notes through the API: the state they
leave, the audit record each writes, and the problems bad requests get."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import Person, open_incident
from tests.builders import make_integration, make_service, make_user, user_by_email
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import ApiToken, AuditRecord


def audit_trail(ctx: Context) -> list[tuple[str, str, int | None, dict[str, object]]]:
    """(action, actor type, actor id, detail) of every incident audit record."""
    with ctx.db.read() as session:
        records = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.object_type == "incident")
            .order_by(AuditRecord.id)
        ).all()
        return [(r.action, r.actor_type, r.actor_id, r.detail) for r in records]


def token_id(ctx: Context, person: Person) -> int:
    with ctx.db.read() as session:
        return session.scalars(
            select(ApiToken.id).where(ApiToken.user_id == person.id)
        ).one()


@pytest.fixture
def number(ctx: Context, checkout: IntegrationRef) -> int:
    return open_incident(ctx, checkout)


def test_acknowledging_records_who_and_audits_the_token(
    client: TestClient, ctx: Context, ann: Person, number: int
) -> None:
    response = client.post(
        f"/api/v1/incidents/{number}/acknowledge", headers=ann.headers
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"]["email"] == ann.email
    assert audit_trail(ctx) == [
        ("incident.acknowledge", "token", token_id(ctx, ann), {"number": number})
    ]


def test_acknowledging_twice_succeeds_and_changes_nothing_more(
    client: TestClient, ctx: Context, ann: Person, number: int
) -> None:
    url = f"/api/v1/incidents/{number}/acknowledge"
    first = client.post(url, headers=ann.headers).json()

    second = client.post(url, headers=ann.headers)

    assert second.status_code == 200
    assert second.json() == first
    assert len(audit_trail(ctx)) == 1


def test_resolving_closes_the_incident_and_its_alerts(
    client: TestClient, ctx: Context, ann: Person, number: int
) -> None:
    response = client.post(f"/api/v1/incidents/{number}/resolve", headers=ann.headers)

    assert response.status_code == 200
    assert response.json()["resolved_by"]["id"] == ann.id
    detail = client.get(f"/api/v1/incidents/{number}", headers=ann.headers).json()
    assert detail["status"] == "resolved"
    assert [alert["status"] for alert in detail["alerts"]] == ["resolved"]
    assert detail["timeline"][-1]["kind"] == "resolved"
    assert [record[0] for record in audit_trail(ctx)] == ["incident.resolve"]


def test_acknowledging_a_resolved_incident_is_a_conflict(
    client: TestClient, ctx: Context, ann: Person, number: int
) -> None:
    client.post(f"/api/v1/incidents/{number}/resolve", headers=ann.headers)

    response = client.post(
        f"/api/v1/incidents/{number}/acknowledge", headers=ann.headers
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/conflict")
    assert problem["instance"] == f"/api/v1/incidents/{number}/acknowledge"
    assert [record[0] for record in audit_trail(ctx)] == ["incident.resolve"]


def test_reassigning_hands_over_and_reopens_an_acknowledged_incident(
    client: TestClient, ctx: Context, ann: Person, adam: Person, number: int
) -> None:
    client.post(f"/api/v1/incidents/{number}/acknowledge", headers=ann.headers)

    response = client.post(
        f"/api/v1/incidents/{number}/reassign",
        headers=ann.headers,
        json={"user_id": adam.id},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["assignee"]["id"] == adam.id
    assert body["status"] == "triggered"
    assert body["acknowledged_by"] is None
    assert audit_trail(ctx)[-1] == (
        "incident.reassign",
        "token",
        token_id(ctx, ann),
        {"number": number, "assignee_id": adam.id},
    )


def test_reassigning_a_resolved_incident_is_a_conflict(
    client: TestClient, ann: Person, adam: Person, number: int
) -> None:
    client.post(f"/api/v1/incidents/{number}/resolve", headers=ann.headers)

    response = client.post(
        f"/api/v1/incidents/{number}/reassign",
        headers=ann.headers,
        json={"user_id": adam.id},
    )

    assert response.status_code == 409


def test_reassigning_to_an_unknown_user_is_not_found(
    client: TestClient, ctx: Context, ann: Person, number: int
) -> None:
    response = client.post(
        f"/api/v1/incidents/{number}/reassign",
        headers=ann.headers,
        json={"user_id": ann.id + 1000},
    )

    assert response.status_code == 404
    assert "user" in response.json()["detail"]
    assert audit_trail(ctx) == []


def test_a_note_joins_the_timeline_as_written(
    client: TestClient, ctx: Context, ann: Person, number: int
) -> None:
    text = "Rolled back the deploy.\nError rate <1% & falling."

    response = client.post(
        f"/api/v1/incidents/{number}/notes", headers=ann.headers, json={"text": text}
    )

    assert response.status_code == 201
    last = response.json()["timeline"][-1]
    assert (last["kind"], last["message"], last["actor_label"]) == (
        "note",
        text,
        ann.email,
    )
    assert [record[0] for record in audit_trail(ctx)] == ["incident.note"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"text": ""}, 422),
        ({"text": "   \n"}, 400),
        ({"text": "a\x00b"}, 400),
        ({"text": "x" * 20_001}, 422),
        ({"text": 42}, 422),
        ({"text": "fine", "pinned": True}, 422),
        ({}, 422),
        ([], 422),
    ],
    ids=["empty", "blank", "nul", "too-long", "number", "extra", "missing", "list"],
)
def test_a_bad_note_is_refused_and_nothing_is_written(
    client: TestClient,
    ctx: Context,
    ann: Person,
    number: int,
    body: object,
    status: int,
) -> None:
    response = client.post(
        f"/api/v1/incidents/{number}/notes", headers=ann.headers, json=body
    )

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert audit_trail(ctx) == []


def test_a_body_that_is_not_json_is_refused(
    client: TestClient, ann: Person, number: int
) -> None:
    response = client.post(
        f"/api/v1/incidents/{number}/notes",
        headers={**ann.headers, "Content-Type": "application/json"},
        content=b"{not json",
    )

    assert response.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/incidents/0",
        "/api/v1/incidents/-1",
        "/api/v1/incidents/2147483648",
        f"/api/v1/incidents/{10**30}",
        "/api/v1/incidents/one",
    ],
)
def test_an_impossible_incident_number_is_refused_before_any_lookup(
    client: TestClient, ann: Person, path: str
) -> None:
    response = client.get(path, headers=ann.headers)

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "path.number"


@pytest.mark.parametrize("user_id", [0, 2**31, 10**30, "ann", None])
def test_an_impossible_user_id_is_refused(
    client: TestClient, ann: Person, number: int, user_id: object
) -> None:
    response = client.post(
        f"/api/v1/incidents/{number}/reassign",
        headers=ann.headers,
        json={"user_id": user_id},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "body.user_id"


def test_an_unknown_incident_is_not_found(client: TestClient, ann: Person) -> None:
    for method, path in [
        ("GET", "/api/v1/incidents/7"),
        ("POST", "/api/v1/incidents/7/acknowledge"),
        ("POST", "/api/v1/incidents/7/resolve"),
    ]:
        response = client.request(method, path, headers=ann.headers)
        assert response.status_code == 404, path
        assert response.json()["detail"] == "no incident #7"


def test_escalating_pages_the_next_step_and_refuses_when_none_is_left(
    client: TestClient, ctx: Context, ann: Person, vera: Person, pete: Person
) -> None:
    """Ann escalates past her own step to Bob; the last step cannot be
    escalated further; a viewer may not, and Payments cannot see it."""
    bob = make_user(ctx, "bob@example.com", password=None)
    make_service(
        ctx, "search", steps=[(10, [user_by_email(ctx, ann.email)]), (10, [bob])]
    )
    integration, _ = make_integration(ctx, "search")
    number = open_incident(ctx, integration)
    url = f"/api/v1/incidents/{number}/escalate"

    as_viewer = client.post(url, headers=vera.headers)
    other_team = client.post(url, headers=pete.headers)
    escalated = client.post(url, headers=ann.headers)
    again = client.post(url, headers=ann.headers)

    assert as_viewer.status_code == 403
    assert other_team.status_code == 404
    assert escalated.status_code == 200, escalated.text
    assert escalated.json()["status"] == "triggered"
    detail = client.get(f"/api/v1/incidents/{number}", headers=ann.headers).json()
    assert "escalated_manually" in [entry["kind"] for entry in detail["timeline"]]
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
