"""Service pages: the list of visible services, one service with its steps,
integrations and maintenance, and the escalation preview at a chosen
instant, all escaped and hidden from other teams."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.builders import make_integration, make_service, user_by_email
from tests.web.conftest import World, log_in
from tocsin.domain.access import SYSTEM
from tocsin.services import maintenance
from tocsin.services.context import Context
from tocsin.store.models import Service


def _service_id(ctx: Context, name: str) -> int:
    with ctx.db.read() as session:
        found = session.scalars(select(Service.id).where(Service.name == name))
        return found.one()


def test_the_list_shows_only_visible_services_escaped(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Ann sees Ops services with team and policy, escaped; not Payments'."""
    ann = user_by_email(ctx, world.ann.email)
    make_service(ctx, "<b>search</b>", steps=[(5, [ann])], team="Ops")
    log_in(client, world.ann.email)

    listed = client.get("/services")

    assert listed.status_code == 200
    assert "checkout" in listed.text
    assert "&lt;b&gt;search&lt;/b&gt;" in listed.text
    assert "<b>search</b>" not in listed.text
    assert "billing" not in listed.text
    assert 'href="/services"' in listed.text


def test_the_detail_shows_steps_integrations_and_windows(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Vera sees who each step pages, the key prefix only, and the window."""
    now = ctx.clock.now()
    _, key = make_integration(ctx, "checkout")
    maintenance.create_window(
        ctx,
        SYSTEM,
        "checkout",
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
        description="db upgrade",
    )
    log_in(client, world.vera.email)

    shown = client.get(f"/services/{_service_id(ctx, 'checkout')}")

    assert shown.status_code == 200
    assert "ann@example.com" in shown.text
    assert "then wait 5 min" in shown.text
    assert f"key {key[:6]}…" in shown.text
    assert key not in shown.text
    assert "db upgrade" in shown.text


def test_the_preview_says_who_is_paged_when(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A preview at a chosen UTC instant lists the step's page at that time."""
    at = (ctx.clock.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    log_in(client, world.ann.email)

    shown = client.get(
        f"/services/{_service_id(ctx, 'checkout')}",
        params={"at": at.strftime("%Y-%m-%dT%H:%M")},
    )

    assert shown.status_code == 200
    assert f"{at:%Y-%m-%d %H:%M} UTC" in shown.text
    assert 'value="' + at.strftime("%Y-%m-%dT%H:%M") + '"' in shown.text


def test_a_bad_instant_is_a_clear_400(
    client: TestClient, ctx: Context, world: World
) -> None:
    """An unreadable or too distant instant re-renders with the message."""
    log_in(client, world.ann.email)
    service = _service_id(ctx, "checkout")

    garbled = client.get(f"/services/{service}", params={"at": "tomorrow"})
    far = client.get(f"/services/{service}", params={"at": "2099-01-01T00:00"})

    assert garbled.status_code == 400
    assert "YYYY-MM-DDTHH:MM" in garbled.text
    assert far.status_code == 400
    assert "at most a year" in far.text


def test_another_team_gets_not_found(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Pete, in Payments, cannot open the Ops service."""
    log_in(client, world.pete.email)

    shown = client.get(f"/services/{_service_id(ctx, 'checkout')}")

    assert shown.status_code == 404


def test_pages_need_a_login(client: TestClient, world: World) -> None:
    """Without a session the pages send the browser to log in."""
    listed = client.get("/services")

    assert listed.status_code in (303, 302, 307)
