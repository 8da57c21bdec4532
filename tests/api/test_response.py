"""The response API: roles, responders, tasks, checklists, notes, updates and
their catalogues, with authentication, authorisation and problem bodies."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import Person, open_incident
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef

BASE = "/api/v1/incidents"


def test_every_route_wants_a_token(
    client: TestClient, ctx: Context, checkout: IntegrationRef
) -> None:
    """No token: 401 problem, before anything else is looked at."""
    number = open_incident(ctx, checkout)

    for path in ("roles", "responders", "tasks", "checklists", "notes", "updates"):
        response = client.get(f"{BASE}/{number}/{path}")
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/runbooks").status_code == 401
    assert client.get("/api/v1/templates").status_code == 401


def test_assigning_a_role_shows_in_the_incident(
    client: TestClient,
    ctx: Context,
    checkout: IntegrationRef,
    ann: Person,
    vera: Person,
) -> None:
    """PUT a role; the incident's detail lists the holder; viewers get 403."""
    number = open_incident(ctx, checkout)

    response = client.put(
        f"{BASE}/{number}/roles/commander",
        json={"user_id": ann.id},
        headers=ann.headers,
    )
    assert response.status_code == 200
    detail = client.get(f"{BASE}/{number}", headers=vera.headers).json()
    assert [(r["role"], r["user"]["email"]) for r in detail["roles"]] == [
        ("commander", "ann@example.com")
    ]
    forbidden = client.put(
        f"{BASE}/{number}/roles/scribe", json={"user_id": ann.id}, headers=vera.headers
    )
    assert forbidden.status_code == 403


def test_other_teams_get_404(
    client: TestClient, ctx: Context, checkout: IntegrationRef, pete: Person
) -> None:
    """Payments' Pete cannot see Ops' incident through any response route."""
    number = open_incident(ctx, checkout)

    for path in ("roles", "responders", "tasks", "notes", "updates"):
        assert (
            client.get(f"{BASE}/{number}/{path}", headers=pete.headers).status_code
            == 404
        )


def test_responders_tasks_and_checklists(
    client: TestClient,
    ctx: Context,
    checkout: IntegrationRef,
    ann: Person,
    adam: Person,
) -> None:
    """Add a responder, a task (then clear its owner), and check a runbook item."""
    number = open_incident(ctx, checkout)
    added = client.post(
        f"{BASE}/{number}/responders", json={"user_id": ann.id}, headers=ann.headers
    )
    assert added.status_code == 201
    assert added.json()["participants"][0]["user"]["email"] == "ann@example.com"

    task = client.post(
        f"{BASE}/{number}/tasks",
        json={"title": "Fail over", "owner_id": ann.id, "due_at": "2026-03-02T10:00Z"},
        headers=ann.headers,
    ).json()
    cleared = client.patch(
        f"{BASE}/{number}/tasks/{task['id']}",
        json={"owner_id": None, "status": "in_progress"},
        headers=ann.headers,
    ).json()
    assert (cleared["owner"], cleared["status"], cleared["due_at"]) == (
        None,
        "in_progress",
        "2026-03-02T10:00:00Z",
    )

    runbook = client.post(
        "/api/v1/runbooks",
        json={
            "name": "Checkout down",
            "body": "See *dashboards*",
            "team": "Ops",
            "steps": [
                {"text": "Check errors"},
                {"text": "Roll back", "kind": "rollback"},
            ],
            "services": ["checkout"],
        },
        headers=adam.headers,
    )
    assert runbook.status_code == 201, runbook.text
    suggested = client.get(f"{BASE}/{number}/runbooks", headers=ann.headers).json()
    assert [r["name"] for r in suggested] == ["Checkout down"]
    checklist = client.post(
        f"{BASE}/{number}/checklists",
        json={"runbook_id": runbook.json()["id"]},
        headers=ann.headers,
    ).json()
    item = checklist["items"][0]
    checked = client.patch(
        f"{BASE}/{number}/checklists/{checklist['id']}/items/{item['id']}",
        json={"done": True},
        headers=ann.headers,
    ).json()
    assert checked["items"][0]["done"] is True
    assert checked["items"][1]["change"] is None


def test_notes_are_tagged_edited_and_pinned(
    client: TestClient, ctx: Context, checkout: IntegrationRef, ann: Person
) -> None:
    """POST .../notes takes a tag; PATCH keeps a version; PUT .../pin pins."""
    number = open_incident(ctx, checkout)
    posted = client.post(
        f"{BASE}/{number}/notes",
        json={"text": "Disk at 100%", "tag": "finding"},
        headers=ann.headers,
    )
    assert posted.status_code == 201
    [note] = client.get(f"{BASE}/{number}/notes", headers=ann.headers).json()
    assert note["tag"] == "finding"

    client.patch(
        f"{BASE}/{number}/notes/{note['id']}",
        json={"text": "Disk at 100% on db-1"},
        headers=ann.headers,
    )
    client.put(f"{BASE}/{number}/notes/{note['id']}/pin", headers=ann.headers)

    versions = client.get(
        f"{BASE}/{number}/notes/{note['id']}/versions", headers=ann.headers
    ).json()
    pinned = client.get(
        f"{BASE}/{number}/notes", params={"pinned": True}, headers=ann.headers
    ).json()
    assert [v["text"] for v in versions] == ["Disk at 100%"]
    assert [n["text"] for n in pinned] == ["Disk at 100% on db-1"]


def test_bad_tag_is_a_422_problem(
    client: TestClient, ctx: Context, checkout: IntegrationRef, ann: Person
) -> None:
    """An unknown tag or field is refused before the service is called."""
    number = open_incident(ctx, checkout)

    for body in ({"text": "x", "tag": "idea"}, {"text": "x", "pinned": True}):
        response = client.post(f"{BASE}/{number}/notes", json=body, headers=ann.headers)
        assert response.status_code == 422
    assert client.get(f"{BASE}/{number}/notes", headers=ann.headers).json() == []


def test_an_undefined_template_variable_is_a_400_and_nothing_is_sent(
    client: TestClient,
    ctx: Context,
    checkout: IntegrationRef,
    ann: Person,
    adam: Person,
) -> None:
    """The problem names the variable; no update is stored."""
    number = open_incident(ctx, checkout)
    created = client.post(
        "/api/v1/templates",
        json={
            "name": "Exec brief",
            "audience": "executive",
            "subject": "#{{ incident.number }}: {{ incident.title }}",
            "body": "Impact on revenue: {{ revenue }}",
        },
        headers=adam.headers,
    )
    assert created.status_code == 201

    response = client.post(
        f"{BASE}/{number}/updates", json={"audience": "executive"}, headers=ann.headers
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "'revenue' is undefined" in response.json()["detail"]
    assert client.get(f"{BASE}/{number}/updates", headers=ann.headers).json() == []

    sent = client.post(
        f"{BASE}/{number}/updates",
        json={"audience": "executive", "variables": {"revenue": "none"}},
        headers=ann.headers,
    )
    assert sent.status_code == 201
    assert sent.json()["body"] == "Impact on revenue: none"


def test_templates_cannot_be_written_by_responders(
    client: TestClient, ann: Person
) -> None:
    """Writing a template needs a manager: 403 problem."""
    response = client.post(
        "/api/v1/templates",
        json={"name": "x", "audience": "internal", "subject": "s", "body": "b"},
        headers=ann.headers,
    )

    assert response.status_code == 403


def test_subscribers_can_be_added_listed_and_removed(
    client: TestClient, ctx: Context, checkout: IntegrationRef, ann: Person
) -> None:
    """A team subscription reaches the team's incidents until it is deleted."""
    number = open_incident(ctx, checkout)
    created = client.post(
        "/api/v1/update-subscribers",
        json={"address": "leads@example.com", "team": "Ops"},
        headers=ann.headers,
    )
    assert created.status_code == 201
    listed = client.get(f"{BASE}/{number}/subscribers", headers=ann.headers).json()
    assert [s["address"] for s in listed] == ["leads@example.com"]

    deleted = client.delete(
        f"/api/v1/update-subscribers/{created.json()['id']}", headers=ann.headers
    )

    assert deleted.status_code == 204
    assert client.get(f"{BASE}/{number}/subscribers", headers=ann.headers).json() == []


def test_role_catalogue_over_the_api(
    client: TestClient, ann: Person, adam: Person
) -> None:
    """Listing is open to any token; adding needs a manager; retiring hides."""
    assert (
        client.post(
            "/api/v1/roles",
            json={"key": "liaison", "name": "Liaison"},
            headers=ann.headers,
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/roles",
            json={"key": "liaison", "name": "Liaison"},
            headers=adam.headers,
        ).status_code
        == 201
    )
    client.patch("/api/v1/roles/liaison", json={"retired": True}, headers=adam.headers)

    keys = [r["key"] for r in client.get("/api/v1/roles", headers=ann.headers).json()]
    assert keys == ["commander", "communications", "scribe", "operations"]
