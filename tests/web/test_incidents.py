"""Incident pages: the list with its filters and pages, one incident with its
alerts and timeline, the forms that act on it, and who may see and do what."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import World, hidden_field, log_in, open_incident
from tocsin.domain.access import SYSTEM
from tocsin.services import incidents
from tocsin.services.context import Context
from tocsin.web import incidents as incident_pages

SCRIPT = "<script>alert('owned')</script>"


def _status(ctx: Context, number: int) -> str:
    return incidents.get(ctx, SYSTEM, number).status


def test_list_shows_the_incidents_of_the_users_teams_newest_first(
    ctx: Context, client: TestClient, world: World
) -> None:
    first = open_incident(ctx, world.checkout, "disk-full")
    second = open_incident(ctx, world.checkout, "cpu-hot")
    other_team = open_incident(ctx, world.billing, "card-declines")
    log_in(client, world.ann.email)

    page = client.get("/incidents")

    assert page.status_code == 200
    assert page.text.index(f"/incidents/{second}") < page.text.index(
        f"/incidents/{first}"
    )
    assert f'/incidents/{other_team}"' not in page.text
    assert "card-declines" not in page.text


def test_list_filters_by_status(ctx: Context, client: TestClient, world: World) -> None:
    acked = open_incident(ctx, world.checkout, "disk-full")
    open_incident(ctx, world.checkout, "cpu-hot")
    csrf = log_in(client, world.ann.email)
    client.post(f"/incidents/{acked}/acknowledge", data={"csrf_token": csrf})

    page = client.get("/incidents?status=acknowledged")

    assert "disk-full on db-1" in page.text
    assert "cpu-hot on db-1" not in page.text
    assert 'href="/incidents?status=acknowledged" aria-current="page"' in page.text


def test_unknown_status_filter_is_a_400_page(client: TestClient, world: World) -> None:
    log_in(client, world.ann.email)

    page = client.get("/incidents?status=exploded")

    assert page.status_code == 400
    assert "text/html" in page.headers["content-type"]
    assert "status must be one of" in page.text


def test_pages_follow_a_cursor_and_keep_the_filter(
    ctx: Context,
    client: TestClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Next-page links carry a cursor past the last row and keep the filters."""
    monkeypatch.setattr(incident_pages, "PAGE_SIZE", 2)
    for key in ("a", "b", "c"):
        open_incident(ctx, world.checkout, key)
    log_in(client, world.ann.email)

    first = client.get("/incidents?status=triggered")
    next_url = unescape(_link(first.text, "next"))
    second = client.get(next_url)

    assert next_url.startswith("/incidents?status=triggered&after=")
    assert 'rel="first"' not in first.text
    assert "c on db-1" in first.text
    assert "a on db-1" not in first.text
    assert "a on db-1" in second.text
    assert "c on db-1" not in second.text
    assert 'href="/incidents?status=triggered" rel="first"' in second.text
    assert 'rel="next"' not in second.text


def test_a_new_incident_does_not_shift_the_next_page(
    ctx: Context,
    client: TestClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Keyset paging: an incident opened between two pages repeats no row."""
    monkeypatch.setattr(incident_pages, "PAGE_SIZE", 2)
    for key in ("a", "b", "c", "d"):
        open_incident(ctx, world.checkout, key)
    log_in(client, world.ann.email)

    first = client.get("/incidents")
    open_incident(ctx, world.checkout, "e")
    second = client.get(unescape(_link(first.text, "next")))

    assert "b on db-1" in second.text
    assert "a on db-1" in second.text
    assert "c on db-1" not in second.text


@pytest.mark.parametrize(
    "query",
    [
        "after=garbage",
        "after=eyJzIjoib2xkZXN0IiwibiI6Mn0",  # a cursor made for another sort
        "sort=sideways",
        "severity=sev9",
        "service=x",
        "since=2026-13-01",
        "q=" + "x" * 201,
    ],
)
def test_bad_list_parameters_are_a_400_page(
    client: TestClient, world: World, query: str
) -> None:
    """Broken cursors and unknown filter values get a clear 400 page."""
    log_in(client, world.ann.email)

    page = client.get(f"/incidents?{query}")

    assert page.status_code == 400
    assert "text/html" in page.headers["content-type"]


def _link(html: str, rel: str) -> str:
    found = re.search(rf'href="([^"]+)" rel="{rel}"', html)
    assert found is not None, f"no {rel} link"
    return found.group(1)


def test_detail_shows_alerts_and_the_timeline(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout, "disk-full")
    log_in(client, world.ann.email)

    page = client.get(f"/incidents/{number}")

    assert page.status_code == 200
    assert "disk-full on db-1" in page.text
    assert "Incident triggered" in page.text
    assert "Page queued for Ann" in page.text
    assert ">Acknowledge</button>" in page.text
    assert ">Resolve</button>" in page.text
    assert '<label for="note-text">' in page.text


def test_acknowledge_resolve_and_note_forms_act_and_come_back(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)

    acked = client.post(f"/incidents/{number}/acknowledge", data={"csrf_token": csrf})
    assert acked.status_code == 303
    assert acked.headers["location"] == f"/incidents/{number}"
    assert _status(ctx, number) == "acknowledged"
    assert ">Acknowledge</button>" not in client.get(f"/incidents/{number}").text

    noted = client.post(
        f"/incidents/{number}/notes",
        data={"csrf_token": csrf, "text": "Rolled back the deploy"},
    )
    assert noted.status_code == 303
    assert "Rolled back the deploy" in client.get(f"/incidents/{number}").text

    client.post(f"/incidents/{number}/resolve", data={"csrf_token": csrf})
    assert _status(ctx, number) == "resolved"


@pytest.mark.parametrize("action", ["acknowledge", "resolve", "notes"])
def test_posts_without_the_sessions_csrf_token_are_refused(
    ctx: Context, client: TestClient, world: World, action: str
) -> None:
    number = open_incident(ctx, world.checkout)
    log_in(client, world.ann.email)

    forged = client.post(
        f"/incidents/{number}/{action}", data={"csrf_token": "forged", "text": "x"}
    )
    missing = client.post(f"/incidents/{number}/{action}", data={"text": "x"})

    assert forged.status_code == 403
    assert missing.status_code == 403
    detail = client.get(f"/incidents/{number}").text
    assert _status(ctx, number) == "triggered"
    assert "kind-note" not in detail


def test_post_without_session_redirects_to_login_and_changes_nothing(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)

    response = client.post(f"/incidents/{number}/acknowledge")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert _status(ctx, number) == "triggered"


def test_alert_summaries_and_notes_are_escaped(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout, "xss", summary=SCRIPT)
    csrf = log_in(client, world.ann.email)
    client.post(f"/incidents/{number}/notes", data={"csrf_token": csrf, "text": SCRIPT})

    listing = client.get("/incidents").text
    detail = client.get(f"/incidents/{number}").text

    escaped = "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;"
    assert escaped in listing
    assert detail.count(escaped) >= 3  # title, alert summary, note
    for html in (listing, detail):
        # The only scripts are the vendored files, never one from data.
        for tag in re.findall(r"<script[^>]*>", html):
            assert tag.startswith('<script src="/static/vendor/'), tag


def test_another_teams_incident_is_not_found(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.billing)
    csrf = log_in(client, world.ann.email)

    page = client.get(f"/incidents/{number}")
    acked = client.post(f"/incidents/{number}/acknowledge", data={"csrf_token": csrf})

    assert page.status_code == 404
    assert "disk-full on db-1" not in page.text
    assert acked.status_code == 404
    assert _status(ctx, number) == "triggered"


def test_viewer_sees_an_incident_but_cannot_act(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.vera.email)

    page = client.get(f"/incidents/{number}")
    acked = client.post(f"/incidents/{number}/acknowledge", data={"csrf_token": csrf})
    noted = client.post(
        f"/incidents/{number}/notes", data={"csrf_token": csrf, "text": "hi"}
    )

    assert page.status_code == 200
    assert "disk-full on db-1" in page.text
    assert ">Acknowledge</button>" not in page.text
    assert ">Resolve</button>" not in page.text
    assert 'name="text"' not in page.text
    assert acked.status_code == 403
    assert noted.status_code == 403
    assert _status(ctx, number) == "triggered"


def test_acknowledging_a_resolved_incident_is_a_409_page(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)
    client.post(f"/incidents/{number}/resolve", data={"csrf_token": csrf})

    response = client.post(
        f"/incidents/{number}/acknowledge", data={"csrf_token": csrf}
    )

    assert response.status_code == 409
    assert "cannot acknowledge" in response.text


@pytest.mark.parametrize("number", ["99", "2147483648", "99999999999999999999"])
def test_unknown_and_out_of_range_numbers_are_not_found(
    client: TestClient, world: World, number: str
) -> None:
    csrf = log_in(client, world.ann.email)

    assert client.get(f"/incidents/{number}").status_code == 404
    response = client.post(f"/incidents/{number}/resolve", data={"csrf_token": csrf})
    assert response.status_code == 404


def test_note_page_keeps_the_csrf_token_in_every_form(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)

    page = client.get(f"/incidents/{number}").text

    assert page.count('name="csrf_token"') == page.count("<form")
    assert hidden_field(page, "csrf_token") == csrf
