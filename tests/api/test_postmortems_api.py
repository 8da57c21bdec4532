"""The postmortem API: create from incidents, edit, export, action items and
the cross-incident list, with authentication, team scope and problem bodies."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Person, open_incident
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef


def _start(client: TestClient, person: Person, number: int) -> dict[str, object]:
    response = client.post(
        "/api/v1/postmortems", json={"incidents": [number]}, headers=person.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_postmortem_is_started_edited_and_exported(
    ctx: Context, client: TestClient, checkout: IntegrationRef, ann: Person
) -> None:
    """Create, patch a section, and download escaped HTML and Markdown."""
    number = open_incident(ctx, checkout)
    created = _start(client, ann, number)

    patched = client.patch(
        f"/api/v1/postmortems/{created['id']}",
        json={"sections": {"lessons": "<b>rotate</b> logs"}, "five_whys": ["full"]},
        headers=ann.headers,
    )
    html = client.get(
        f"/api/v1/postmortems/{created['id']}/export?format=html", headers=ann.headers
    )
    md = client.get(f"/api/v1/postmortems/{created['id']}/export", headers=ann.headers)

    assert patched.status_code == 200
    assert patched.json()["sections"]["lessons"] == "<b>rotate</b> logs"
    assert html.headers["content-type"].startswith("text/html")
    assert "&lt;b&gt;rotate&lt;/b&gt;" in html.text
    assert "<b>" not in html.text
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert "1. Why? full" in md.text
    found = client.get(f"/api/v1/incidents/{number}/postmortem", headers=ann.headers)
    assert found.json()["id"] == created["id"]


def test_bad_requests_get_problems_and_change_nothing(
    ctx: Context, client: TestClient, checkout: IntegrationRef, ann: Person
) -> None:
    """Unknown sections are 422, a second postmortem 409, a bad link 400."""
    number = open_incident(ctx, checkout)
    created = _start(client, ann, number)
    url = f"/api/v1/postmortems/{created['id']}"

    unknown = client.patch(url, json={"sections": {"blame": "x"}}, headers=ann.headers)
    twice = client.post(
        "/api/v1/postmortems", json={"incidents": [number]}, headers=ann.headers
    )
    bad_link = client.post(
        f"{url}/action-items",
        json={"title": "x", "kind": "detect", "tracker_url": "javascript:alert(1)"},
        headers=ann.headers,
    )

    assert unknown.status_code == 422
    assert twice.status_code == 409
    assert twice.headers["content-type"] == "application/problem+json"
    assert bad_link.status_code == 400
    assert "http or https" in bad_link.json()["detail"]
    assert client.get(url, headers=ann.headers).json() == created


def test_action_items_list_across_incidents_by_team(
    ctx: Context,
    client: TestClient,
    checkout: IntegrationRef,
    billing: IntegrationRef,
    ann: Person,
    pete: Person,
    vera: Person,
) -> None:
    """Each team lists its own items; a viewer cannot add one; PATCH clears."""
    ours = _start(client, ann, open_incident(ctx, checkout))
    theirs = _start(client, pete, open_incident(ctx, billing, "billing-down"))
    for person, pm in ((ann, ours), (pete, theirs)):
        added = client.post(
            f"/api/v1/postmortems/{pm['id']}/action-items",
            json={"title": f"fix for {person.email}", "kind": "prevent",
                  "owner_id": person.id, "due_at": "2026-03-10T09:00:00Z"},
            headers=person.headers,
        )  # fmt: skip
        assert added.status_code == 201, added.text

    listed = client.get("/api/v1/action-items?status=pending", headers=vera.headers)
    refused = client.post(
        f"/api/v1/postmortems/{ours['id']}/action-items",
        json={"title": "x", "kind": "detect"},
        headers=vera.headers,
    )
    [item] = listed.json()
    cleared = client.patch(
        f"/api/v1/action-items/{item['id']}",
        json={"owner_id": None, "status": "in_progress"},
        headers=ann.headers,
    )

    assert item["title"] == "fix for ann@example.com"
    assert refused.status_code == 403
    assert cleared.json()["owner"] is None
    assert cleared.json()["status"] == "in_progress"
    hidden = client.get(f"/api/v1/action-items/{item['id']}", headers=pete.headers)
    assert hidden.status_code == 404


def test_every_route_needs_a_token(client: TestClient) -> None:
    """Without a bearer token the API answers 401."""
    for method, url in (
        ("get", "/api/v1/postmortems"),
        ("get", "/api/v1/action-items"),
        ("get", "/api/v1/postmortem-templates"),
        ("post", "/api/v1/postmortems/preview"),
    ):
        assert client.request(method, url).status_code == 401


def test_templates_are_saved_by_admins_and_the_preview_is_sanitised(
    client: TestClient, ann: Person, adam: Person
) -> None:
    """A responder cannot save a template; an admin can; preview escapes HTML."""
    body = {"sections": {"lessons": "One lesson."}, "is_default": True}

    refused = client.put("/api/v1/postmortem-templates/short", json=body,
                         headers=ann.headers)  # fmt: skip
    saved = client.put("/api/v1/postmortem-templates/short", json=body,
                       headers=adam.headers)  # fmt: skip
    preview = client.post(
        "/api/v1/postmortems/preview",
        json={"markdown": "<script>x</script>"},
        headers=ann.headers,
    )

    assert refused.status_code == 403
    assert saved.json()["is_default"] is True
    assert "<script>" not in preview.json()["html"]


def test_review_through_the_api(
    ctx: Context,
    client: TestClient,
    checkout: IntegrationRef,
    ann: Person,
    vera: Person,
    adam: Person,
) -> None:
    """Submit, a viewer's comment, an early publish by a manager; a viewer cannot
    publish and a draft cannot be approved."""
    created = _start(client, ann, open_incident(ctx, checkout))
    url = f"/api/v1/postmortems/{created['id']}"

    early = client.post(f"{url}/approve", headers=ann.headers)
    submitted = client.post(
        f"{url}/submit", json={"reviewer_ids": [ann.id]}, headers=ann.headers
    )
    commented = client.post(
        f"{url}/comments", json={"text": "Which customers?"}, headers=vera.headers
    )
    refused = client.post(f"{url}/publish", headers=vera.headers)
    published = client.post(f"{url}/publish", headers=adam.headers)

    assert early.status_code == 409
    assert submitted.json()["status"] == "in_review"
    assert commented.json()["comments"][0]["text"] == "Which customers?"
    assert refused.status_code == 403
    assert published.json()["status"] == "published"


@pytest.mark.usefixtures("weasyprint")
def test_the_pdf_export_is_a_download(
    ctx: Context, client: TestClient, checkout: IntegrationRef, ann: Person
) -> None:
    """format=pdf answers a PDF attachment (WeasyPrint, the optional extra)."""
    created = _start(client, ann, open_incident(ctx, checkout))

    pdf = client.get(
        f"/api/v1/postmortems/{created['id']}/export?format=pdf", headers=ann.headers
    )

    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert "postmortem-" in pdf.headers["content-disposition"]
