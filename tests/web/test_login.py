"""Logging in and out of the pages: session cookies, revocation, CSRF on the
login and logout forms, and the `next` redirect that must stay on this site."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, World, hidden_field, log_in, new_client
from tocsin.clock import ManualClock
from tocsin.services.context import Context
from tocsin.services.users import SESSION_TTL
from tocsin.web.auth import HOME, safe_next


def _post_login(
    client: TestClient, email: str, password: str, next_url: str = ""
) -> httpx.Response:
    form = client.get("/login")
    return client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "login_token": hidden_field(form.text, "login_token"),
            "next": next_url,
        },
    )


def test_login_form_labels_every_control(client: TestClient) -> None:
    page = client.get("/login")

    assert page.status_code == 200
    assert '<label for="email">' in page.text
    assert 'id="email"' in page.text
    assert '<label for="password">' in page.text
    assert 'id="password"' in page.text
    assert 'name="viewport"' in page.text


def test_login_sets_a_http_only_lax_session_cookie_and_goes_to_next(
    client: TestClient, world: World
) -> None:
    form = client.get("/login?next=/incidents/7")
    response = client.post(
        "/login",
        data={
            "email": world.ann.email,
            "password": PASSWORD,
            "login_token": hidden_field(form.text, "login_token"),
            "next": hidden_field(form.text, "next"),
        },
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/incidents/7"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if "tocsin_session=" in c
    )
    attributes = cookie.lower()
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes
    assert f"max-age={int(SESSION_TTL.total_seconds())}" in attributes


def test_secure_setting_marks_cookies_secure_with_host_prefix(
    ctx: Context, world: World
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"cookie_secure": True})
    # Browsers send Secure cookies over HTTPS only; so does the test client.
    with new_client(ctx, base_url="https://testserver") as client:
        response = _post_login(client, world.ann.email, PASSWORD)
        page = client.get("/incidents")

    assert page.status_code == 200

    assert response.status_code == 303
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("__Host-tocsin_session="))
    assert "secure" in session.lower()


def test_wrong_password_shows_the_form_again_without_a_session(
    client: TestClient, world: World
) -> None:
    response = _post_login(client, world.ann.email, "not the password")

    assert response.status_code == 400
    assert "Wrong email or password" in response.text
    assert "tocsin_session" not in client.cookies
    assert client.get("/incidents").status_code == 303


def test_login_without_the_form_token_is_refused(
    client: TestClient, world: World
) -> None:
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": world.ann.email, "password": PASSWORD, "login_token": "x"},
    )

    assert response.status_code == 403
    assert "tocsin_session" not in client.cookies


def test_page_without_session_redirects_to_login_with_next(
    client: TestClient,
) -> None:
    response = client.get("/incidents?status=triggered&page=2")

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/incidents?status=triggered&page=2"]


def test_home_page_needs_a_login(client: TestClient) -> None:
    """The home page sends a visitor without a session to the login form."""
    response = client.get("/")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2F"


def test_logged_in_user_sees_who_they_are(client: TestClient, world: World) -> None:
    log_in(client, world.ann.email)

    assert world.ann.email in client.get("/incidents").text


def test_logout_revokes_the_session_in_the_database(
    client: TestClient, world: World
) -> None:
    csrf = log_in(client, world.ann.email)
    stolen = client.cookies["tocsin_session"]

    response = client.post("/logout", data={"csrf_token": csrf})

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    # The same cookie, replayed, no longer opens anything.
    client.cookies.set("tocsin_session", stolen)
    assert client.get("/incidents").status_code == 303


def test_logout_with_a_wrong_csrf_token_is_refused_and_keeps_the_session(
    client: TestClient, world: World
) -> None:
    log_in(client, world.ann.email)

    response = client.post("/logout", data={"csrf_token": "forged"})

    assert response.status_code == 403
    assert client.get("/incidents").status_code == 200


def test_expired_session_redirects_to_login(
    client: TestClient, world: World, clock: ManualClock
) -> None:
    log_in(client, world.ann.email)

    clock.advance(seconds=SESSION_TTL.total_seconds())

    assert client.get("/incidents").status_code == 303


def test_login_page_skips_the_form_for_a_live_session(
    client: TestClient, world: World
) -> None:
    log_in(client, world.ann.email)

    response = client.get("/login?next=/incidents/3")

    assert response.status_code == 303
    assert response.headers["location"] == "/incidents/3"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_login_never_redirects_off_site(
    client: TestClient, world: World, target: str
) -> None:
    response = _post_login(client, world.ann.email, PASSWORD, next_url=target)

    assert response.status_code == 303
    assert response.headers["location"] == HOME


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/incidents/4", "/incidents/4"),
        ("/incidents?status=resolved&page=2", "/incidents?status=resolved&page=2"),
        ("", HOME),
        (None, HOME),
        ("//evil.example", HOME),
        ("/%0a/evil.example", "/%0a/evil.example"),
        ("/\n/evil.example", HOME),
        ("/é", HOME),
    ],
)
def test_safe_next_keeps_only_local_paths(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected
