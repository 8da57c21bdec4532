"""The vendored htmx files, how static files are cached, and how pages hand
htmx the CSRF token without any inline script."""

from __future__ import annotations

import hashlib
import json
import re
from html import unescape

from fastapi.testclient import TestClient

from tests.web.conftest import World, log_in, open_incident
from tocsin.services.context import Context
from tocsin.web.templating import HTMX_CONFIG, STATIC_DIR, static_url

VENDORED = STATIC_DIR / "VENDORED.md"


def test_vendored_files_match_the_recorded_checksums() -> None:
    """Every file under static/vendor is listed in VENDORED.md with its SHA-256."""
    notes = VENDORED.read_text()
    files = sorted((STATIC_DIR / "vendor").iterdir())

    assert files
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        row = re.search(rf"`vendor/{re.escape(path.name)}`.*`([0-9a-f]{{64}})`", notes)
        assert row is not None, f"{path.name} is not in VENDORED.md"
        assert row.group(1) == digest, f"{path.name} differs from its recorded hash"


def test_htmx_is_pinned_to_a_2x_release() -> None:
    """The page loads htmx 2.x; 4.x changed the defaults the pages rely on."""
    [htmx] = (STATIC_DIR / "vendor").glob("htmx-2.*.min.js")

    assert 'version:"2.' in htmx.read_text()


def test_fingerprinted_static_files_are_cached_for_a_year(client: TestClient) -> None:
    """A URL with the content digest is immutable; a bare one revalidates."""
    url = static_url("vendor/htmx-2.0.11.min.js")
    digest = hashlib.sha256(
        (STATIC_DIR / "vendor/htmx-2.0.11.min.js").read_bytes()
    ).hexdigest()

    fingerprinted = client.get(url)
    bare = client.get("/static/tocsin.css")

    assert url.endswith("?v=" + digest[:12])
    assert fingerprinted.status_code == 200
    assert "javascript" in fingerprinted.headers["content-type"]
    assert fingerprinted.headers["cache-control"] == (
        "public, max-age=31536000, immutable"
    )
    assert bare.headers["cache-control"] == "no-cache"
    assert client.get("/static/nothing.js").status_code == 404


def test_pages_give_htmx_the_csrf_token_and_a_strict_config(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The body's hx-headers carry the session's token; eval stays off."""
    csrf = log_in(client, world.ann.email)

    page = client.get("/incidents").text

    headers = re.search(r"<body hx-headers='([^']+)'>", page)
    assert headers is not None
    assert json.loads(unescape(headers.group(1))) == {
        "X-CSRF-Token": csrf,
        "Accept": "text/html",
    }
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', page)
    assert config is not None
    assert json.loads(unescape(config.group(1))) == HTMX_CONFIG
    assert HTMX_CONFIG["allowEval"] is False


def test_the_csrf_header_stands_in_for_the_form_field(
    ctx: Context, client: TestClient, world: World
) -> None:
    """An htmx post with the X-CSRF-Token header acts; a wrong header does not."""
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)
    url = f"/incidents/{number}/acknowledge"

    forged = client.post(url, headers={"X-CSRF-Token": "nope", "HX-Request": "true"})
    done = client.post(url, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})

    assert forged.status_code == 403
    assert done.status_code == 200
    assert "acknowledged" in done.text


def test_htmx_errors_are_aimed_at_the_flash_region(
    ctx: Context, client: TestClient, world: World
) -> None:
    """An htmx request that fails gets the message only, retargeted to #flash."""
    number = open_incident(ctx, world.checkout)
    log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{number}/resolve",
        headers={"X-CSRF-Token": "wrong", "HX-Request": "true"},
    )

    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "#flash"
    assert response.headers["hx-reswap"] == "innerHTML"
    assert response.text.startswith('<p class="flash flash-error" role="alert">')
    assert "<html" not in response.text


def test_an_htmx_request_without_a_session_is_sent_to_the_login_page(
    client: TestClient,
) -> None:
    """htmx gets HX-Redirect instead of a redirect it would swap into the page."""
    response = client.post(
        "/incidents/1/acknowledge",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/x"},
    )

    assert response.status_code == 204
    assert response.headers["hx-redirect"] == "/login?next=%2Fx"
