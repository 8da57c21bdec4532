"""A service's integrations from its page: an admin adds one and sees its key
once with the sender configuration filled in, rotates and disables it; a
responder sends a test alert that opens a real incident on the service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.builders import make_user
from tests.web.conftest import World, log_in, new_client
from tocsin.domain.access import SYSTEM
from tocsin.errors import Unauthenticated
from tocsin.services import integrations, maintenance
from tocsin.services.context import Context
from tocsin.store.models import (
    Alert,
    AuditRecord,
    Incident,
    Integration,
    Service,
    Timer,
)


def _service_id(ctx: Context, name: str) -> int:
    with ctx.db.read() as session:
        return session.scalars(select(Service.id).where(Service.name == name)).one()


def _integration_names(ctx: Context, service: str) -> list[str]:
    with ctx.db.read() as session:
        found = session.scalars(
            select(Integration.name)
            .join(Service, Service.id == Integration.service_id)
            .where(Service.name == service)
            .order_by(Integration.name)
        )
        return list(found)


def _admin(ctx: Context, client: TestClient) -> str:
    make_user(ctx, "root@example.com", role="admin", teams=())
    return log_in(client, "root@example.com")


def test_an_admin_adds_an_integration_and_sees_its_key_once(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The key on the page works at the Alertmanager endpoint; the page is not
    cached, and the configuration carries the key and this Tocsin's URL."""
    csrf = _admin(ctx, client)
    checkout = _service_id(ctx, "checkout")

    made = client.post(
        f"/services/{checkout}/integrations",
        data={"csrf_token": csrf, "kind": "alertmanager", "name": "prom <eu>"},
    )

    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    hidden_value = made.text.split('id="new-key" readonly value="')[1]
    key = hidden_value.split('"')[0]
    ref = integrations.authenticate(ctx, key, "alertmanager")
    assert ref.name == "prom <eu>"
    assert "prom &lt;eu&gt;" in made.text
    assert f"credentials: {key}" in made.text
    assert f"{ctx.settings.base_url}/api/v1/intake/alertmanager" in made.text

    again = client.get(f"/services/{checkout}")
    assert key not in again.text
    assert "YOUR_INTEGRATION_KEY" in again.text


def test_a_refused_integration_keeps_the_others_and_says_why(
    client: TestClient, ctx: Context, world: World
) -> None:
    """An unknown kind and a taken name are 400s with the reason; nothing is
    added."""
    csrf = _admin(ctx, client)
    checkout = _service_id(ctx, "checkout")
    before = _integration_names(ctx, "checkout")

    unknown = client.post(
        f"/services/{checkout}/integrations",
        data={"csrf_token": csrf, "kind": "carrier-pigeon", "name": "x"},
    )
    taken = client.post(
        f"/services/{checkout}/integrations",
        data={"csrf_token": csrf, "kind": "events_v2", "name": before[0]},
    )

    assert unknown.status_code == 400
    assert "integration kind must be one of" in unknown.text
    assert taken.status_code == 400
    assert "already has an integration" in taken.text
    assert _integration_names(ctx, "checkout") == before


def test_only_an_admin_changes_integrations_and_only_with_the_token(
    client: TestClient, ctx: Context, world: World
) -> None:
    checkout = _service_id(ctx, "checkout")
    csrf = log_in(client, world.ann.email)
    before = _integration_names(ctx, "checkout")

    as_responder = client.post(
        f"/services/{checkout}/integrations",
        data={"csrf_token": csrf, "kind": "generic"},
    )
    forged = client.post(
        f"/services/{checkout}/integrations",
        data={"csrf_token": "forged", "kind": "generic"},
    )

    assert as_responder.status_code == 403
    assert forged.status_code == 403
    assert _integration_names(ctx, "checkout") == before
    assert "Add an integration" not in client.get(f"/services/{checkout}").text


def test_rotating_a_key_retires_the_old_one_and_disabling_refuses_it(
    client: TestClient, ctx: Context, world: World
) -> None:
    csrf = _admin(ctx, client)
    checkout = _service_id(ctx, "checkout")
    old_key = "checkout-old-key-0001"
    with ctx.db.write() as session:
        integration = session.get(Integration, world.checkout.id)
        assert integration is not None
        integrations.set_key(integration, old_key)

    rotated = client.post(
        f"/services/{checkout}/integrations/{world.checkout.id}/rotate",
        data={"csrf_token": csrf},
    )
    integrations.forget_cached_keys(ctx)

    assert rotated.status_code == 200
    new_key = rotated.text.split('id="new-key" readonly value="')[1].split('"')[0]
    with pytest.raises(Unauthenticated):
        integrations.authenticate(ctx, old_key, world.checkout.kind)
    assert integrations.authenticate(ctx, new_key, world.checkout.kind).id == (
        world.checkout.id
    )

    disabled = client.post(
        f"/services/{checkout}/integrations/{world.checkout.id}/disable",
        data={"csrf_token": csrf},
    )

    assert disabled.status_code == 303
    with pytest.raises(Unauthenticated, match="disabled"):
        integrations.authenticate(ctx, new_key, world.checkout.kind)


def test_a_test_alert_opens_a_labelled_incident_and_repeats_join_it(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Two clicks in a minute give one incident, found on the checkout
    service, with the drill label and an audit record naming Ann."""
    csrf = log_in(client, world.ann.email)
    checkout = _service_id(ctx, "checkout")
    page = client.get(f"/services/{checkout}")
    assert f'id="test-{world.checkout.id}"' in page.text
    url = f"/services/{checkout}/integrations/{world.checkout.id}/test"

    first = client.post(url, data={"csrf_token": csrf})
    second = client.post(url, data={"csrf_token": csrf})

    assert first.status_code == 303
    assert second.headers["location"] == first.headers["location"]
    number = int(first.headers["location"].rsplit("/", 1)[1])
    with ctx.db.read() as session:
        incident = session.scalars(
            select(Incident).where(Incident.number == number)
        ).one()
        alert = session.scalars(
            select(Alert).where(Alert.incident_id == incident.id)
        ).one()
        audited = session.scalars(
            select(AuditRecord.action).where(
                AuditRecord.action == "integration.test_alert"
            )
        ).all()
    assert incident.service_id == checkout
    assert alert.labels == {"tocsin_test": "true"}
    assert world.ann.email in incident.title
    assert len(audited) == 2


def test_a_test_alert_is_refused_outside_the_rules(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Another team's service is not found; a viewer is forbidden; another
    service's integration is not found; a disabled one says so."""
    billing = _service_id(ctx, "billing")
    checkout = _service_id(ctx, "checkout")
    csrf = log_in(client, world.ann.email)

    other_team = client.post(
        f"/services/{billing}/integrations/{world.billing.id}/test",
        data={"csrf_token": csrf},
    )
    crossed = client.post(
        f"/services/{checkout}/integrations/{world.billing.id}/test",
        data={"csrf_token": csrf},
    )
    with ctx.db.write() as session:
        integration = session.get(Integration, world.checkout.id)
        assert integration is not None
        integration.disabled = True
    disabled = client.post(
        f"/services/{checkout}/integrations/{world.checkout.id}/test",
        data={"csrf_token": csrf},
    )

    assert other_team.status_code == 404
    assert crossed.status_code == 404
    assert disabled.status_code == 400
    assert "is disabled" in disabled.text

    with new_client(ctx) as vera:
        viewer = log_in(vera, world.vera.email)
        as_viewer = vera.post(
            f"/services/{checkout}/integrations/{world.checkout.id}/test",
            data={"csrf_token": viewer},
        )
    assert as_viewer.status_code == 403
    with ctx.db.read() as session:
        assert session.scalars(select(Incident.id)).all() == []


def test_a_test_alert_during_maintenance_is_refused_and_says_why(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A window holds every page until it ends, so a drill now would prove
    nothing and page Ann hours later: the page says so and opens nothing."""
    now = ctx.clock.now()
    maintenance.create_window(
        ctx,
        SYSTEM,
        "checkout",
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=3),
    )
    csrf = log_in(client, world.ann.email)
    checkout = _service_id(ctx, "checkout")

    sent = client.post(
        f"/services/{checkout}/integrations/{world.checkout.id}/test",
        data={"csrf_token": csrf},
    )

    assert sent.status_code == 400
    assert "maintenance window until" in sent.text
    assert "no test alert was sent" in sent.text
    with ctx.db.read() as session:
        assert session.scalars(select(Incident.id)).all() == []
        assert session.scalars(select(Timer.id)).all() == []
