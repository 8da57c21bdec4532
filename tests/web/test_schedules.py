"""Schedule pages: the list with who is on call now and one schedule with its
calendar, both escaped, both only for people who may see the team."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from tests.builders import make_schedule, user_by_email
from tests.web.conftest import World, log_in
from tocsin.domain.access import SYSTEM
from tocsin.services import schedule_edits, schedules
from tocsin.services.context import Context


def _schedule(ctx: Context, world: World) -> int:
    ann = user_by_email(ctx, world.ann.email)
    vera = user_by_email(ctx, world.vera.email)
    return make_schedule(
        ctx,
        "Ops <b>primary</b>",
        members=[ann, vera],
        time_zone="Europe/London",
        start_local=datetime(2026, 3, 1, 9, 0),  # noqa: DTZ001
    )


def test_a_viewer_sees_the_schedule_and_its_coming_days(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Vera sees who is on call now, the layer and the timeline in local time;
    the name is escaped, not run as markup."""
    schedule_id = _schedule(ctx, world)
    log_in(client, world.vera.email)

    listed = client.get("/schedules")
    shown = client.get(f"/schedules/{schedule_id}")

    assert listed.status_code == 200
    assert "Ops &lt;b&gt;primary&lt;/b&gt;" in listed.text
    assert "<b>primary</b>" not in listed.text
    assert shown.status_code == 200
    assert "Vera (vera@example.com)" in shown.text
    assert "Tue 03 Mar" in shown.text
    assert "09:00&ndash;24:00" in shown.text
    assert "Someone is on call throughout." in shown.text


def test_the_timeline_marks_gaps(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A removed layer leaves nobody on call, and the page says so."""
    schedule_id = _schedule(ctx, world)
    detail = schedule_edits.remove_layer(
        ctx, SYSTEM, schedule_id, _layer_id(ctx, schedule_id)
    )
    log_in(client, world.ann.email)

    shown = client.get(f"/schedules/{schedule_id}")

    assert detail.layers == []
    assert "1 gap(s)" in shown.text
    assert 'class="piece gap"' in shown.text


def test_another_team_gets_not_found(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Pete, in Payments, neither lists nor opens an Ops schedule."""
    schedule_id = _schedule(ctx, world)
    log_in(client, world.pete.email)

    listed = client.get("/schedules")
    shown = client.get(f"/schedules/{schedule_id}")

    assert "primary" not in listed.text
    assert shown.status_code == 404


def test_pages_need_a_login(client: TestClient, ctx: Context, world: World) -> None:
    """Without a session the page sends the browser to log in."""
    response = client.get("/schedules")

    assert response.status_code in (302, 303)
    assert "/login" in response.headers["location"]


def _layer_id(ctx: Context, schedule_id: int) -> int:
    [layer] = schedules.get_schedule(ctx, SYSTEM, schedule_id).layers
    return layer.id
