"""The acknowledge and resolve links in paging emails: opening one changes
nothing, posting it acts as the paged user without a login, and a forged,
expired, malformed or repurposed link is refused."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import World, open_incident
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.schemas import IncidentDetail
from tocsin.services import incidents, links
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, OutboxMessage


def _emailed_path(ctx: Context, number: int, label: str) -> str:
    """The path of the `label` link ("Acknowledge" or "Resolve") in the page email
    Ann was sent for incident `number`."""
    with ctx.db.read() as session:
        bodies = session.scalars(
            select(OutboxMessage.body).where(
                OutboxMessage.payload["incident_number"].as_integer() == number
            )
        ).all()
    [body] = bodies
    found = re.search(rf"^{label}:\s+(\S+)$", body, re.MULTILINE)
    assert found is not None, body
    base = ctx.settings.base_url.rstrip("/")
    assert found.group(1).startswith(f"{base}/a/")
    return found.group(1).removeprefix(base)


def _incident(ctx: Context, number: int) -> IncidentDetail:
    return incidents.get(ctx, SYSTEM, number)


def _with_claim(path: str, **changes: object) -> str:
    """The link at `path` with its claim edited and its signature kept."""
    body, _, signature = path.removeprefix("/a/").partition(".")
    claim = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claim.update(changes)
    raw = json.dumps(claim, separators=(",", ":")).encode()
    edited = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"/a/{edited}.{signature}"


def test_opening_a_link_shows_a_confirmation_and_changes_nothing(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    path = _emailed_path(ctx, number, "Acknowledge")
    before = _incident(ctx, number)

    for _ in range(3):  # a mail scanner, a link preview, then the person
        page = client.get(path)
        assert page.status_code == 200

    assert f"Acknowledge incident #{number}: disk-full on db-1?" in page.text
    assert '<form method="post">' in page.text
    after = _incident(ctx, number)
    assert after.status == "triggered"
    assert after.timeline == before.timeline


def test_posting_the_link_acknowledges_as_the_paged_user_without_login(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    path = _emailed_path(ctx, number, "Acknowledge")

    response = client.post(path)

    assert response.status_code == 200
    assert f"Incident #{number} acknowledged" in response.text
    incident = _incident(ctx, number)
    assert incident.status == "acknowledged"
    assert incident.acknowledged_by is not None
    assert incident.acknowledged_by.id == world.ann.id
    assert incident.timeline[-1].actor_label == "ann@example.com (email link)"
    with ctx.db.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "incident.acknowledge")
        ).one()
    assert (record.actor_type, record.actor_id) == ("link", world.ann.id)


def test_acting_twice_is_harmless(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    path = _emailed_path(ctx, number, "Acknowledge")
    client.post(path)
    entries = len(_incident(ctx, number).timeline)

    again = client.post(path)
    reopened = client.get(path)

    assert again.status_code == 200
    assert f"Incident #{number} was already acknowledged" in again.text
    assert reopened.status_code == 200
    assert f"Incident #{number} is already acknowledged" in reopened.text
    assert "<form" not in reopened.text
    assert len(_incident(ctx, number).timeline) == entries


def test_an_acknowledge_link_never_resolves(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    path = _emailed_path(ctx, number, "Acknowledge")
    client.post(path)

    client.post(path)
    repurposed = client.post(_with_claim(path, a="resolve"))

    assert repurposed.status_code == 403
    assert _incident(ctx, number).status == "acknowledged"


def test_an_acknowledge_link_on_a_resolved_incident_changes_nothing(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    client.post(_emailed_path(ctx, number, "Resolve"))

    response = client.post(_emailed_path(ctx, number, "Acknowledge"))

    assert response.status_code == 200
    assert f"Incident #{number} was already resolved" in response.text
    incident = _incident(ctx, number)
    assert incident.status == "resolved"
    assert incident.acknowledged_at is None


def test_the_resolve_link_resolves(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    path = _emailed_path(ctx, number, "Resolve")

    confirmation = client.get(path)
    response = client.post(path)

    assert f"Resolve incident #{number}" in confirmation.text
    assert f"Incident #{number} resolved" in response.text
    assert _incident(ctx, number).status == "resolved"


def test_a_link_for_one_incident_cannot_touch_another(
    ctx: Context, client: TestClient, world: World
) -> None:
    first = open_incident(ctx, world.checkout, "disk-full")
    second = open_incident(ctx, world.checkout, "cpu-hot")
    path = _emailed_path(ctx, first, "Acknowledge")
    second_id = _incident(ctx, second).id

    response = client.post(_with_claim(path, i=second_id))

    assert response.status_code == 403
    assert _incident(ctx, second).status == "triggered"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_forged_links_are_refused(
    ctx: Context, client: TestClient, world: World, method: str
) -> None:
    number = open_incident(ctx, world.checkout)
    incident_id = _incident(ctx, number).id
    forged = links.sign(
        "someone-elses-secret-key",
        incident_id=incident_id,
        action="acknowledge",
        user_id=world.ann.id,
        now=ctx.clock.now(),
        ttl=timedelta(hours=1),
    )

    response = client.request(method, f"/a/{forged}")

    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "this link is not valid" in response.text
    assert _incident(ctx, number).status == "triggered"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_expired_links_are_refused(
    ctx: Context, client: TestClient, world: World, clock: ManualClock, method: str
) -> None:
    number = open_incident(ctx, world.checkout)
    path = _emailed_path(ctx, number, "Acknowledge")

    clock.advance(minutes=ctx.settings.ack_link_ttl_minutes)
    response = client.request(method, path)

    assert response.status_code == 403
    assert "expired" in response.text
    assert _incident(ctx, number).status == "triggered"


@pytest.mark.parametrize("token", ["nodot", "abc.", ".abc", "..."])
def test_malformed_links_are_a_400_page(client: TestClient, token: str) -> None:
    response = client.post(f"/a/{token}")

    assert response.status_code == 400
    assert "malformed" in response.text


def test_link_pages_send_no_referrer_and_are_not_cached(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    path = _emailed_path(ctx, number, "Acknowledge")

    for response in (client.get(path), client.post(path), client.get("/a/x.y")):
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"


def test_a_link_for_an_incident_the_user_can_no_longer_see_is_not_found(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.billing)
    pete_link = _emailed_path(ctx, number, "Acknowledge")
    claim = links.verify(
        ctx.settings.effective_secret_key(),
        pete_link.removeprefix("/a/"),
        now=ctx.clock.now(),
    )
    ann_link = links.sign(
        ctx.settings.effective_secret_key(),
        incident_id=claim.incident_id,
        action="acknowledge",
        user_id=world.ann.id,
        now=ctx.clock.now(),
        ttl=timedelta(hours=1),
    )

    response = client.post(f"/a/{ann_link}")

    assert response.status_code == 404
    assert _incident(ctx, number).status == "triggered"
