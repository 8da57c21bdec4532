"""Single sign-on in a real browser: `tocsin serve` configured for the local
OpenID Connect provider of tests/web/oidc_provider.py, and Chromium clicking
"Sign in with Acme ID" on the login page, going through the provider and
landing logged in on the page it asked for, then choosing a time zone on the
profile. A refused sign-in shows its page. Screenshots: test-artifacts/
login-sso.png, and test-artifacts/browser/login-sso-*.png and
profile-time-zone.png.
"""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_incident_flow import assert_labelled, open_page, shoot
from tests.builders import make_user
from tests.e2e.harness import (
    Mailbox,
    ServerProcess,
    free_port,
    tocsin_env,
    wait_until_serving,
)
from tests.web.oidc_provider import LocalProvider
from tocsin.config import Settings
from tocsin.services.context import Context
from tocsin.store.db import Database

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class SsoSite:
    """A running Tocsin that signs on through `provider`; Ann has an account."""

    base_url: str
    ctx: Context
    provider: LocalProvider


@pytest.fixture(scope="module")
def sso_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoSite]:
    workdir = tmp_path_factory.mktemp("tocsin-sso")
    database_url = f"sqlite:///{workdir / 'tocsin.db'}"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    provider = LocalProvider(redirect_uri=f"{base_url}/login/oidc/callback").start()
    mailbox = Mailbox()
    mailbox.start()
    secret = secrets.token_urlsafe(32)
    env = tocsin_env(
        database_url=database_url,
        base_url=base_url,
        smtp_port=mailbox.port,
        secret=secret,
    )
    env.update(
        TOCSIN_OIDC_ISSUER=provider.issuer,
        TOCSIN_OIDC_CLIENT_ID=provider.client_id,
        TOCSIN_OIDC_CLIENT_SECRET=provider.client_secret,
        TOCSIN_OIDC_PROVIDER_NAME="Acme ID",
        TOCSIN_OIDC_ALLOWED_NETWORKS="127.0.0.1/32",
    )
    command = [sys.executable, "-m", "tocsin", "serve", "--upgrade"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess("tocsin", command, env=env, workdir=workdir)
    database = Database(database_url)
    try:
        wait_until_serving(server, f"{base_url}/login")
        settings = Settings(
            database_url=database_url, base_url=base_url, secret_key=secret
        )
        ctx = Context(db=database, settings=settings)
        make_user(ctx, "ann@example.com", name="Ann Archer", teams=("Ops",))
        yield SsoSite(base_url=base_url, ctx=ctx, provider=provider)
    finally:
        server.stop()
        provider.stop()
        mailbox.stop()
        database.dispose()


def test_signing_in_with_the_provider_lands_logged_in(
    sso_site: SsoSite, browser: Browser, artifacts: Path
) -> None:
    """Click the provider's button, pass through it, land on the asked page."""
    with open_page(browser, sso_site, DESKTOP) as (page, errors):  # type: ignore[arg-type]
        page.goto("/login?next=/incidents")
        button = page.get_by_role("link", name="Sign in with Acme ID")
        expect(button).to_be_visible()
        assert_labelled(page)
        shoot(page, artifacts.parent, "login-sso")

        button.click()

        expect(page).to_have_url(f"{sso_site.base_url}/incidents")
        expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
        page.goto("/profile")
        expect(page.get_by_role("heading", name="Ann Archer")).to_be_visible()
        expect(page.get_by_text("linked to single sign-on")).to_be_visible()
        assert "POST /token" in sso_site.provider.requests

        # Times in her own zone from now on.
        page.get_by_label("Show times in").fill("America/New_York")
        page.get_by_role("button", name="Save time zone").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Times now show in America/New_York."
        )
        expect(page.locator("#time-zone-hint")).to_contain_text(re.compile(r"E[SD]T"))
        assert_labelled(page)
        shoot(page, artifacts, "profile-time-zone")
        assert errors == []


def test_a_refused_sign_in_explains_itself_on_a_phone_in_dark_mode(
    sso_site: SsoSite, browser: Browser, artifacts: Path
) -> None:
    """Someone the provider knows but Tocsin does not: a clear 403 page."""
    sso_site.provider.person.update(sub="stranger-1", email="stranger@example.com")
    try:
        with open_page(browser, sso_site, PHONE, "dark") as (page, errors):  # type: ignore[arg-type]
            page.goto("/login")
            shoot(page, artifacts, "login-sso-phone-dark")
            page.get_by_role("link", name="Sign in with Acme ID").click()

            expect(page.get_by_role("heading", name="Sign-in refused")).to_be_visible()
            expect(page.get_by_role("alert")).to_contain_text(
                "There is no Tocsin account for stranger@example.com"
            )
            wide: bool = page.evaluate(
                "() => document.documentElement.scrollWidth > window.innerWidth"
            )
            assert not wide
            assert_labelled(page)
            shoot(page, artifacts, "login-sso-refused-phone-dark")
            page.goto("/incidents")
            expect(page).to_have_url(f"{sso_site.base_url}/login?next=%2Fincidents")
            assert [e for e in errors if "403" not in e] == []
    finally:
        sso_site.provider.person.update(sub="user-ann-0001", email="ann@example.com")
