"""The "Declare an incident" page: responders declare on services they can
see, with CSRF checked; bad input re-renders the form with a 400."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import World, log_in
from tocsin.domain.access import SYSTEM
from tocsin.services import triage
from tocsin.services.context import Context
from tocsin.store.models import Incident, Service


def _service_id(ctx: Context, name: str) -> int:
    with ctx.db.read() as session:
        found = session.scalars(select(Service.id).where(Service.name == name))
        return found.one()


def _incident_titles(ctx: Context) -> list[str]:
    with ctx.db.read() as session:
        return list(session.scalars(select(Incident.title)))


def test_a_responder_declares_and_lands_on_the_incident(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Ann's declaration opens the incident with its type and severity."""
    triage.create_type(
        ctx, SYSTEM, key="outage", name="Outage <full>", default_severity="sev2"
    )
    csrf = log_in(client, world.ann.email)
    form = client.get("/incidents/declare")

    response = client.post(
        "/incidents/declare",
        data={
            "csrf_token": csrf,
            "service_id": str(_service_id(ctx, "checkout")),
            "title": "Checkout is down",
            "severity": "sev1",
            "incident_type": "outage",
            "reason": "customers cannot pay",
        },
    )

    assert form.status_code == 200
    assert "Outage &lt;full&gt;" in form.text
    assert "billing" not in form.text
    assert 'href="/incidents/declare"' in form.text
    assert response.status_code == 303
    shown = client.get(response.headers["location"])
    assert shown.status_code == 200
    assert "Checkout is down" in shown.text
    with ctx.db.read() as session:
        incident = session.scalars(
            select(Incident).where(Incident.title == "Checkout is down")
        ).one()
        assert incident.severity == "sev1"


def test_bad_input_re_renders_with_a_400_and_stores_nothing(
    client: TestClient, ctx: Context, world: World
) -> None:
    """No reason, or another team's service, is refused with the message and
    the typed title kept."""
    csrf = log_in(client, world.ann.email)
    before = _incident_titles(ctx)

    no_reason = client.post(
        "/incidents/declare",
        data={
            "csrf_token": csrf,
            "service_id": str(_service_id(ctx, "checkout")),
            "title": "Slow <pages>",
            "reason": "",
        },
    )
    hidden = client.post(
        "/incidents/declare",
        data={
            "csrf_token": csrf,
            "service_id": str(_service_id(ctx, "billing")),
            "title": "Billing broken",
            "reason": "looks bad",
        },
    )
    garbled = client.post(
        "/incidents/declare",
        data={"csrf_token": csrf, "service_id": "x", "title": "t", "reason": "r"},
    )

    assert no_reason.status_code == 400
    assert "reason" in no_reason.text
    assert 'value="Slow &lt;pages&gt;"' in no_reason.text
    assert hidden.status_code == 400
    assert "no service" in hidden.text
    assert garbled.status_code == 400
    assert "choose a service" in garbled.text
    assert _incident_titles(ctx) == before


def test_a_missing_csrf_token_is_refused(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A post without the form's token declares nothing."""
    log_in(client, world.ann.email)
    before = _incident_titles(ctx)

    response = client.post(
        "/incidents/declare",
        data={
            "service_id": str(_service_id(ctx, "checkout")),
            "title": "Forged",
            "reason": "forged",
        },
    )

    assert response.status_code == 403
    assert _incident_titles(ctx) == before


def test_a_viewer_may_not_declare(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Vera, a viewer, is refused the form and the post."""
    csrf = log_in(client, world.vera.email)

    form = client.get("/incidents/declare")
    response = client.post(
        "/incidents/declare",
        data={
            "csrf_token": csrf,
            "service_id": str(_service_id(ctx, "checkout")),
            "title": "Viewer declares",
            "reason": "curious",
        },
    )

    assert form.status_code == 403
    assert response.status_code == 403
    assert "Viewer declares" not in _incident_titles(ctx)
