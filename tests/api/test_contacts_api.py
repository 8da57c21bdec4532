"""Contact methods, notification rules and delivery counts over the API: people
manage their own, admins anyone's, bad addresses are 400 problems."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import Person
from tests.channels.recording import Recorder
from tocsin.engine.worker import Worker
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord


def test_a_person_adds_lists_and_removes_their_own_contact_methods(
    client: TestClient, ann: Person
) -> None:
    """/me works end to end, and every change is audited."""
    added = client.post(
        "/api/v1/me/contact-methods",
        json={"kind": "sms", "address": "+1 (555) 123-0001", "label": "work phone"},
        headers=ann.headers,
    )
    assert added.status_code == 201
    assert added.json()["address"] == "+15551230001"

    listed = client.get("/api/v1/me/contact-methods", headers=ann.headers).json()
    assert [(c["kind"], c["address"]) for c in listed] == [
        ("email", "ann@example.com"),
        ("sms", "+15551230001"),
    ]

    removed = client.delete(
        f"/api/v1/me/contact-methods/{added.json()['id']}", headers=ann.headers
    )
    assert removed.status_code == 204
    assert (
        len(client.get("/api/v1/me/contact-methods", headers=ann.headers).json()) == 1
    )


def test_a_webhook_contact_shows_its_secret_once(
    client: TestClient, ann: Person
) -> None:
    """The whsec_ secret is in the creation answer and never in a listing."""
    added = client.post(
        "/api/v1/me/contact-methods",
        json={"kind": "webhook", "address": "https://hooks.example.com/tocsin"},
        headers=ann.headers,
    ).json()
    listed = client.get("/api/v1/me/contact-methods", headers=ann.headers).text

    assert added["signing_secret"].startswith("whsec_")
    assert "whsec_" not in listed


@pytest.mark.parametrize(
    ("kind", "address", "words"),
    [
        ("sms", "555-1234", "international form"),
        ("voice", "+0123456789", "international form"),
        ("email", "not-an-address", "not an email address"),
        ("slack", "#general", "Slack member"),
        ("webhook", "http://169.254.169.254/latest", "link-local"),
        ("webhook", "http://[::1]/hook", "loopback"),
        ("teams", "file:///etc/passwd", "http"),
        ("pager", "123", "kind must be one of"),
        ("apprise", "ops", "not an Apprise target"),
    ],
)
def test_bad_addresses_are_problems_that_say_why(
    client: TestClient, ann: Person, kind: str, address: str, words: str
) -> None:
    """Each kind checks its own form; internal URLs never get stored."""
    response = client.post(
        "/api/v1/me/contact-methods",
        json={"kind": kind, "address": address},
        headers=ann.headers,
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]
    assert (
        len(client.get("/api/v1/me/contact-methods", headers=ann.headers).json()) == 1
    )


def test_colleagues_cannot_read_or_change_each_others_contacts(
    client: TestClient, ann: Person, pete: Person, adam: Person
) -> None:
    """Phone numbers are private: 403 for a colleague, allowed for an admin."""
    url = f"/api/v1/users/{ann.id}/contact-methods"
    body = {"kind": "sms", "address": "+15551230009"}

    assert client.get(url, headers=pete.headers).status_code == 403
    assert client.post(url, json=body, headers=pete.headers).status_code == 403
    assert client.post(url, json=body, headers=adam.headers).status_code == 201
    assert len(client.get(url, headers=adam.headers).json()) == 2


def test_the_last_contact_method_cannot_be_removed(
    client: TestClient, ann: Person
) -> None:
    """A person nobody can reach would be paged in vain: 409."""
    [email] = client.get("/api/v1/me/contact-methods", headers=ann.headers).json()

    response = client.delete(
        f"/api/v1/me/contact-methods/{email['id']}", headers=ann.headers
    )

    assert response.status_code == 409


def test_notification_rules_over_the_api(client: TestClient, ann: Person) -> None:
    """Add, list and remove rules; a rule on someone else's contact is 404."""
    sms = client.post(
        "/api/v1/me/contact-methods",
        json={"kind": "sms", "address": "+15551230001"},
        headers=ann.headers,
    ).json()

    added = client.post(
        "/api/v1/me/notification-rules",
        json={"contact_method_id": sms["id"], "delay_minutes": 2},
        headers=ann.headers,
    )
    assert added.status_code == 201
    rules = client.get("/api/v1/me/notification-rules", headers=ann.headers).json()
    assert [(r["kind"], r["delay_minutes"]) for r in rules] == [("sms", 2)]

    too_late = client.post(
        "/api/v1/me/notification-rules",
        json={"contact_method_id": sms["id"], "delay_minutes": 1441},
        headers=ann.headers,
    )
    assert too_late.status_code == 422
    removed = client.delete(
        f"/api/v1/me/notification-rules/{added.json()['id']}", headers=ann.headers
    )
    assert removed.status_code == 204


def test_rules_on_a_colleagues_contact_are_not_found(
    client: TestClient, ann: Person, pete: Person
) -> None:
    """A rule can only use the user's own contact methods."""
    [petes] = client.get("/api/v1/me/contact-methods", headers=pete.headers).json()

    response = client.post(
        "/api/v1/me/notification-rules",
        json={"contact_method_id": petes["id"], "delay_minutes": 0},
        headers=ann.headers,
    )

    assert response.status_code == 404


def test_a_test_notification_is_sent_by_the_worker_and_counted(
    ctx: Context, client: TestClient, ann: Person
) -> None:
    """The test message goes through the outbox; deliveries count it sent."""
    [email] = client.get("/api/v1/me/contact-methods", headers=ann.headers).json()
    recorder = Recorder("email")

    queued = client.post(
        f"/api/v1/me/contact-methods/{email['id']}/test", headers=ann.headers
    )
    assert queued.status_code == 202
    Worker(ctx, {"email": recorder}).run_once()

    [message] = recorder.sent
    assert message.recipient == "ann@example.com"
    assert "test notification" in message.body
    report = client.get("/api/v1/deliveries", headers=ann.headers).json()
    assert report["failed_total"] == 0
    assert report["channels"] == [
        {"channel": "email", "pending": 0, "sent": 1, "failed": 0, "cancelled": 0}
    ]
    with ctx.db.read() as session:
        actions = set(session.scalars(select(AuditRecord.action)))
    assert {"contact_method.test"} <= actions


def test_deliveries_need_the_responder_role(client: TestClient, vera: Person) -> None:
    """A viewer does not see colleagues' addresses in failure lists."""
    assert client.get("/api/v1/deliveries", headers=vera.headers).status_code == 403
