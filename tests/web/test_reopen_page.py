"""The Reopen form on a resolved incident's page: shown to those who may act,
a plain POST or htmx like the other actions, CSRF-checked, and escaped."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import World, hidden_field, log_in, open_incident
from tocsin.domain.access import SYSTEM
from tocsin.services import incidents
from tocsin.services.context import Context

SCRIPT = "<script>alert('owned')</script>"


def _resolved(ctx: Context, world: World) -> int:
    number = open_incident(ctx, world.checkout)
    incidents.resolve(ctx, SYSTEM, number)
    return number


def test_the_reopen_form_is_shown_on_resolved_incidents_only(
    ctx: Context, client: TestClient, world: World
) -> None:
    open_number = open_incident(ctx, world.checkout, "open")
    number = _resolved(ctx, world)
    csrf = log_in(client, world.ann.email)

    page = client.get(f"/incidents/{number}").text
    open_page = client.get(f"/incidents/{open_number}").text

    assert ">Reopen</button>" in page
    assert 'action="/incidents/' + str(number) + '/reopen"' in page
    assert page.count('name="csrf_token"') == page.count("<form")
    assert hidden_field(page, "csrf_token") == csrf
    assert ">Reopen</button>" not in open_page


def test_a_viewer_sees_no_reopen_form_and_cannot_post_one(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = _resolved(ctx, world)
    csrf = log_in(client, world.vera.email)

    page = client.get(f"/incidents/{number}").text
    response = client.post(f"/incidents/{number}/reopen", data={"csrf_token": csrf})

    assert ">Reopen</button>" not in page
    assert response.status_code == 403
    assert incidents.get(ctx, SYSTEM, number).status == "resolved"


def test_reopening_with_a_plain_form_comes_back_to_the_incident(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = _resolved(ctx, world)
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{number}/reopen",
        data={"csrf_token": csrf, "reason": SCRIPT},
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/incidents/{number}"
    page = client.get(f"/incidents/{number}").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in page
    assert ">Reopen</button>" not in page
    assert "First resolved" in page
    assert incidents.get(ctx, SYSTEM, number).status == "triggered"


def test_reopening_through_htmx_answers_with_the_summary(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = _resolved(ctx, world)
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{number}/reopen",
        data={"csrf_token": csrf},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "<html" not in response.text
    assert ">Acknowledge</button>" in response.text
    assert ">Reopen</button>" not in response.text


def test_a_reopen_without_the_sessions_csrf_token_is_refused(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = _resolved(ctx, world)
    log_in(client, world.ann.email)

    forged = client.post(f"/incidents/{number}/reopen", data={"csrf_token": "forged"})
    missing = client.post(f"/incidents/{number}/reopen")

    assert (forged.status_code, missing.status_code) == (403, 403)
    assert incidents.get(ctx, SYSTEM, number).status == "resolved"


def test_reopening_an_open_incident_is_a_409_page(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)

    response = client.post(f"/incidents/{number}/reopen", data={"csrf_token": csrf})

    assert response.status_code == 409
    assert "cannot reopen" in response.text
