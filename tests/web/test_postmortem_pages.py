"""Postmortem pages: the editor saves sections with a sanitised live preview,
the view shows review and escapes what people wrote, the review moves need
CSRF tokens, and action items list across incidents by team."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import (
    World,
    hidden_field,
    log_in,
    new_client,
    open_incident,
)
from tocsin.domain.access import SYSTEM
from tocsin.services import action_items, postmortems
from tocsin.services.context import Context


def _draft(ctx: Context, world: World) -> int:
    number = open_incident(ctx, world.checkout)
    return postmortems.create(ctx, SYSTEM, [number], title="Disk <b>full</b>").id


def test_the_editor_saves_and_the_view_escapes(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Saving from the editor stores sections and whys; the view shows them
    rendered, with people's HTML as text."""
    pm = _draft(ctx, world)
    csrf = log_in(client, world.ann.email)

    editor = client.get(f"/postmortems/{pm}/edit")
    saved = client.post(
        f"/postmortems/{pm}/edit",
        data={
            "csrf_token": hidden_field(editor.text, "csrf_token"),
            "title": "Disk full",
            "lessons": "**Rotate** logs <img src=x onerror=alert(1)>",
            "why": ["Disk filled", "", "No rotation"],
        },
    )
    view = client.get(f"/postmortems/{pm}")

    assert editor.status_code == 200
    assert 'hx-post="/postmortems/preview?section=lessons"' in editor.text
    assert saved.status_code == 303
    assert "<strong>Rotate</strong>" in view.text
    assert "<img" not in view.text
    assert "<li>Why? No rotation</li>" in view.text
    assert csrf


def test_the_live_preview_is_a_sanitised_partial(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The htmx preview renders markdown and drops raw HTML; it needs the token."""
    csrf = log_in(client, world.ann.email)

    shown = client.post(
        "/postmortems/preview?section=impact",
        data={"impact": "*x* <script>y</script>"},
        headers={"X-CSRF-Token": csrf},
    )
    refused = client.post("/postmortems/preview?section=impact", data={"impact": "x"})

    assert shown.text == "<p><em>x</em> &lt;script&gt;y&lt;/script&gt;</p>\n"
    assert refused.status_code == 403


def test_review_from_the_pages(ctx: Context, client: TestClient, world: World) -> None:
    """Ann sends for review to herself, approves and publishes; a comment shows."""
    pm = _draft(ctx, world)
    csrf = log_in(client, world.ann.email)

    steps = [
        client.post(f"/postmortems/{pm}/submit",
                    data={"csrf_token": csrf, "reviewers": "ann@example.com"}),
        client.post(f"/postmortems/{pm}/comment",
                    data={"csrf_token": csrf, "text": "<i>ok</i>"}),
        client.post(f"/postmortems/{pm}/approve", data={"csrf_token": csrf}),
        client.post(f"/postmortems/{pm}/publish", data={"csrf_token": csrf}),
        client.post(f"/postmortems/{pm}/publish", data={"csrf_token": "forged"}),
    ]  # fmt: skip
    view = client.get(f"/postmortems/{pm}")

    assert [s.status_code for s in steps] == [303, 303, 303, 303, 403]
    assert "&lt;i&gt;ok&lt;/i&gt;" in view.text
    assert "<strong>published</strong>" in view.text
    assert postmortems.get(ctx, SYSTEM, pm).status == "published"


def test_action_items_across_incidents_by_team(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Ann sees her team's item with its tracker link; Pete sees none of it."""
    pm = _draft(ctx, world)
    action_items.create(
        ctx, SYSTEM, pm, title="Alert on disk", kind="detect",
        tracker_url="https://tracker.example/OPS-1",
    )  # fmt: skip
    log_in(client, world.ann.email)

    page = client.get("/action-items")
    listing = client.get("/postmortems")

    assert "Alert on disk" in page.text
    assert 'href="https://tracker.example/OPS-1"' in page.text
    assert "Disk &lt;b&gt;full&lt;/b&gt;" in listing.text
    assert 'href="/postmortems"' in listing.text

    with new_client(ctx) as other:
        log_in(other, world.pete.email)
        assert "Alert on disk" not in other.get("/action-items").text
        assert other.get(f"/postmortems/{pm}").status_code == 404


def test_the_page_exports_with_the_login_alone(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The view links Markdown and HTML downloads that work with the session,
    no API token; the HTML is a download that runs nothing; other teams and
    unknown formats get nothing."""
    pm = _draft(ctx, world)
    log_in(client, world.ann.email)

    view = client.get(f"/postmortems/{pm}")
    as_markdown = client.get(f"/postmortems/{pm}/export.md")
    as_html = client.get(f"/postmortems/{pm}/export.html")

    assert f'href="/postmortems/{pm}/export.md"' in view.text
    assert "needs an API token" not in view.text
    assert as_markdown.status_code == 200
    assert as_markdown.headers["content-type"].startswith("text/markdown")
    assert as_markdown.text.startswith("# Disk <b>full</b>\n")
    assert (
        f'filename="postmortem-{pm}.md"' in as_markdown.headers["content-disposition"]
    )
    assert as_html.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in as_html.headers["content-security-policy"]
    assert "Disk &lt;b&gt;full&lt;/b&gt;" in as_html.text
    assert client.get(f"/postmortems/{pm}/export.docx").status_code == 404

    with new_client(ctx) as other:
        log_in(other, world.pete.email)
        assert other.get(f"/postmortems/{pm}/export.md").status_code == 404
    with new_client(ctx) as stranger:
        assert stranger.get(f"/postmortems/{pm}/export.md").status_code in (303, 401)


@pytest.mark.usefixtures("weasyprint")
def test_the_page_exports_a_pdf(ctx: Context, client: TestClient, world: World) -> None:
    """With the pdf extra the page's PDF link is a PDF attachment."""
    pm = _draft(ctx, world)
    log_in(client, world.ann.email)

    pdf = client.get(f"/postmortems/{pm}/export.pdf")

    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
