"""Headers and assets every page relies on: the security headers on pages,
errors, static files and the API, the stylesheet shipped in the package, and
templates that all compile with autoescaping on."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import World, log_in, open_incident
from tocsin.services.context import Context
from tocsin.web.templating import STATIC_DIR, static_url, templates

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def _assert_secure(headers: httpx.Headers) -> None:
    for name, value in EXPECTED.items():
        assert headers[name] == value, name
    policy = headers["content-security-policy"]
    directives = {
        name: value
        for name, _, value in (part.partition(" ") for part in policy.split("; "))
    }
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["base-uri"] == "'none'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


@pytest.mark.parametrize(
    "path", ["/login", "/", "/incidents", "/no-such-page", "/api/v1/openapi.json"]
)
def test_anonymous_responses_carry_the_security_headers(
    client: TestClient, path: str
) -> None:
    _assert_secure(client.get(path).headers)


def test_logged_in_pages_carry_the_security_headers_and_are_not_cached(
    ctx: Context, client: TestClient, world: World
) -> None:
    number = open_incident(ctx, world.checkout)
    log_in(client, world.ann.email)

    for path in ("/", "/incidents", f"/incidents/{number}", "/profile"):
        response = client.get(path)
        assert response.status_code == 200
        _assert_secure(response.headers)
        assert response.headers["cache-control"] == "no-store"
        # Scripts only from files in the package: no inline script or style.
        scripts = re.findall(r"<script[^>]*>", response.text)
        assert scripts
        for tag in scripts:
            assert re.fullmatch(r'<script src="/static/vendor/[^"]+" defer>', tag)
        assert " style=" not in response.text
        assert " hx-on" not in response.text


def test_the_stylesheet_is_served_from_the_package(client: TestClient) -> None:
    response = client.get(static_url("tocsin.css"))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "prefers-color-scheme: dark" in response.text
    assert response.text == (STATIC_DIR / "tocsin.css").read_text()
    assert response.headers["x-content-type-options"] == "nosniff"


def test_no_page_loads_third_party_script(client: TestClient) -> None:
    """Swagger UI would pull script from a CDN, so it is not served at all."""
    response = client.get("/api/v1/docs")

    assert response.status_code == 404
    assert "content-security-policy" in response.headers


def test_unknown_pages_get_an_html_error_page(client: TestClient) -> None:
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Error</h1>" in response.text
    assert 'name="viewport"' in response.text


@pytest.mark.parametrize("name", templates.env.list_templates())
def test_every_template_compiles_with_autoescaping(name: str) -> None:
    template = templates.env.get_template(name)

    assert templates.env.autoescape is True
    assert template is not None
