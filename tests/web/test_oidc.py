"""Single sign-on with OpenID Connect, against a provider running on
127.0.0.1 (tests/web/oidc_provider.py): the login button, a full sign-in,
linking at the first sign-in by verified email, creating unknown people only
when allowed, and every way a sign-in can fail. A failure is a page with a
4xx status that says what went wrong, a line in the log, and no session.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.builders import make_user
from tests.conftest import START
from tests.web.conftest import World, new_client
from tests.web.oidc_provider import LocalProvider, new_key
from tocsin.clock import ManualClock
from tocsin.config import Settings, load_settings
from tocsin.errors import ConfigError
from tocsin.outbound import OutboundRefused
from tocsin.services import oidc_client
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, User, WebSession

SCRIPT = "<script>alert('owned')</script>"
# The tests' clock, as the seconds an ID token counts in.
NOW = int(START.timestamp())


@pytest.fixture
def provider(clock: ManualClock) -> Iterator[LocalProvider]:
    # The provider dates its tokens by the tests' clock, as a provider in
    # step with Tocsin's clock would.
    local = LocalProvider(clock=clock.now).start()
    yield local
    local.stop()


def sso_settings(issuer: str, provider: LocalProvider, **changes: object) -> Settings:
    values: dict[str, object] = {
        "secret_key": "test-secret-key-that-is-long-enough",
        "base_url": "http://tocsin.test",
        "smtp_host": "127.0.0.1",
        "smtp_port": 1,
        "oidc_issuer": issuer,
        "oidc_client_id": provider.client_id,
        "oidc_client_secret": provider.client_secret,
        "oidc_provider_name": "Acme ID",
        "oidc_allowed_networks": ["127.0.0.1/32"],
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(provider: LocalProvider) -> Settings:
    """The suite's settings with sign-on through the local provider."""
    return sso_settings(provider.issuer, provider)


@pytest.fixture(autouse=True)
def _fresh_provider_cache() -> Iterator[None]:
    oidc_client.forget_providers()
    yield
    oidc_client.forget_providers()


def client_with(ctx: Context, settings: Settings) -> TestClient:
    """A browser for a Tocsin whose settings differ from the fixture's."""
    return new_client(Context(db=ctx.db, settings=settings, clock=ctx.clock))


def start(client: TestClient, next_url: str = "/incidents") -> httpx.Response:
    return client.get("/login/oidc", params={"next": next_url})


def authorize(start_answer: httpx.Response) -> str:
    """The browser at the provider, which approves at once; returns the path
    and query of the callback it is sent back to."""
    assert start_answer.status_code == 303, start_answer.text
    answer = httpx.get(start_answer.headers["location"], follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == "http://tocsin.test"
    return f"{back.path}?{back.query}"


def sign_in(client: TestClient, next_url: str = "/incidents") -> httpx.Response:
    """A whole sign-in; returns Tocsin's answer to the callback."""
    return client.get(authorize(start(client, next_url)))


def logged_in(client: TestClient) -> bool:
    return client.get("/incidents").status_code == 200


def user_row(ctx: Context, email: str) -> User | None:
    with ctx.db.read() as session:
        return session.scalar(select(User).where(User.email == email))


def sessions(ctx: Context) -> int:
    with ctx.db.read() as session:
        return len(session.scalars(select(WebSession)).all())


def assert_refused(answer: httpx.Response, status: int, says: str) -> None:
    assert answer.status_code == status, answer.text
    assert says in answer.text
    assert "You are not logged in." in answer.text
    assert "set-cookie" in answer.headers
    assert "tocsin_session" not in answer.headers["set-cookie"]
    # The sign-in cookie is dropped whatever failed.
    assert 'tocsin_sso=""' in answer.headers["set-cookie"]


# The login page ---------------------------------------------------------------


def test_the_login_page_offers_the_provider_with_the_next_page(
    client: TestClient,
) -> None:
    page = client.get("/login?next=/incidents/4?status=open")

    assert page.status_code == 200
    assert (
        '<a class="sign-on" href="/login/oidc?next=/incidents/4%3Fstatus%3Dopen">'
        "Sign in with Acme ID</a>"
    ) in page.text


def test_without_a_provider_there_is_no_button_and_no_sign_on(
    ctx: Context, provider: LocalProvider
) -> None:
    with client_with(ctx, sso_settings("", provider)) as plain:
        page = plain.get("/login")
        started = start(plain)
        callback = plain.get("/login/oidc/callback?code=x&state=y")

    assert "Sign in with" not in page.text
    assert (started.status_code, callback.status_code) == (404, 404)
    assert provider.requests == []


def test_starting_sends_the_browser_to_the_provider_with_pkce_state_and_nonce(
    client: TestClient, provider: LocalProvider
) -> None:
    answer = start(client)

    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert f"{target.scheme}://{target.netloc}{target.path}" == (
        f"{provider.issuer}/authorize"
    )
    assert query["response_type"] == "code"
    assert query["client_id"] == provider.client_id
    assert query["redirect_uri"] == "http://tocsin.test/login/oidc/callback"
    assert query["scope"].split() == ["openid", "email", "profile"]
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32
    assert len(query["nonce"]) >= 32
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("tocsin_sso=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Max-Age=600" in cookie
    # The verifier stays with Tocsin: only its digest goes to the browser's URL.
    assert "code_verifier" not in answer.headers["location"]


# Signing in -------------------------------------------------------------------


def test_a_linked_user_signs_in_and_lands_on_the_page_they_asked_for(
    ctx: Context, client: TestClient, provider: LocalProvider, world: World
) -> None:
    first = sign_in(client, "/incidents?status=open")
    assert first.status_code == 303
    client.cookies.clear()

    answer = sign_in(client, "/incidents?status=open")

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/incidents?status=open"
    assert "tocsin_session=" in answer.headers["set-cookie"]
    assert logged_in(client)
    assert provider.token_errors == []
    # Discovery and keys were fetched once, then served from the cache.
    assert provider.requests.count("GET /.well-known/openid-configuration") == 1
    assert provider.requests.count("GET /jwks") == 1


def test_the_first_sign_in_links_the_account_with_the_verified_email(
    ctx: Context, client: TestClient, provider: LocalProvider, world: World
) -> None:
    assert sign_in(client).status_code == 303

    ann = user_row(ctx, world.ann.email)
    assert ann is not None
    assert (ann.oidc_issuer, ann.oidc_subject) == (provider.issuer, "user-ann-0001")
    assert ann.role == "responder"
    with ctx.db.read() as session:
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.object_id == ann.id)
        ).all()
    assert "user.sso_link" in actions
    assert "session.login" in actions


def test_once_linked_the_subject_counts_not_the_email(
    ctx: Context, client: TestClient, provider: LocalProvider, world: World
) -> None:
    assert sign_in(client).status_code == 303
    client.cookies.clear()
    provider.person["email"] = "ann.archer@example.com"

    answer = sign_in(client)

    assert answer.status_code == 303
    assert logged_in(client)
    assert user_row(ctx, "ann.archer@example.com") is None
    profile = client.get("/profile").text
    assert world.ann.email in profile
    assert "linked to single sign-on" in profile


def test_an_unknown_person_is_refused_when_creating_users_is_off(
    ctx: Context, client: TestClient, provider: LocalProvider
) -> None:
    provider.person.update(sub="new-1", email="newcomer@example.com")

    answer = sign_in(client)

    assert_refused(answer, 403, "There is no Tocsin account for newcomer@example.com")
    assert user_row(ctx, "newcomer@example.com") is None
    assert sessions(ctx) == 0


def test_an_unknown_person_gets_an_account_when_creating_users_is_on(
    ctx: Context, provider: LocalProvider
) -> None:
    provider.person.update(sub="new-1", email="Newcomer@Example.com", name=SCRIPT)
    settings = sso_settings(provider.issuer, provider, oidc_create_users=True)

    with client_with(ctx, settings) as browser:
        answer = sign_in(browser)
        profile = browser.get("/profile").text

    assert answer.status_code == 303, answer.text
    created = user_row(ctx, "newcomer@example.com")
    assert created is not None
    assert (created.role, created.password_hash) == ("viewer", None)
    assert created.oidc_subject == "new-1"
    assert created.name == SCRIPT
    assert SCRIPT not in profile
    assert "&lt;script&gt;" in profile
    assert "Your account has no Tocsin password" in profile
    assert 'action="/profile/password"' not in profile
    with ctx.db.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "user.create")
        ).one()
    assert (record.actor_type, record.object_id) == ("sso", created.id)


def test_created_accounts_take_the_configured_role(
    ctx: Context, provider: LocalProvider
) -> None:
    provider.person.update(sub="new-2", email="resp@example.com", name="")
    settings = sso_settings(
        provider.issuer,
        provider,
        oidc_create_users=True,
        oidc_new_user_role="responder",
    )

    with client_with(ctx, settings) as browser:
        assert sign_in(browser).status_code == 303

    created = user_row(ctx, "resp@example.com")
    assert created is not None
    assert (created.role, created.name) == ("responder", "resp")


def test_an_email_outside_the_allowed_domains_is_refused(
    ctx: Context, provider: LocalProvider, world: World
) -> None:
    settings = sso_settings(
        provider.issuer, provider, oidc_allowed_domains="corp.example, @ops.example"
    )

    with client_with(ctx, settings) as browser:
        answer = sign_in(browser)

    assert_refused(answer, 403, "Accounts of example.com may not sign in")
    ann = user_row(ctx, world.ann.email)
    assert ann is not None
    assert ann.oidc_subject is None
    assert sessions(ctx) == 0


def test_an_allowed_domain_signs_in(ctx: Context, provider: LocalProvider) -> None:
    make_user(ctx, "ops@ops.example", teams=())
    provider.person.update(sub="ops-1", email="ops@ops.example")
    settings = sso_settings(
        provider.issuer, provider, oidc_allowed_domains="corp.example,@OPS.example"
    )

    with client_with(ctx, settings) as browser:
        assert sign_in(browser).status_code == 303


def test_a_deactivated_user_is_refused(
    ctx: Context, client: TestClient, world: World
) -> None:
    with ctx.db.write() as session:
        session.execute(
            update(User).where(User.id == world.ann.id).values(active=False)
        )

    answer = sign_in(client)

    assert_refused(answer, 403, "This account is deactivated")
    ann = user_row(ctx, world.ann.email)
    assert ann is not None
    assert ann.oidc_subject is None
    assert sessions(ctx) == 0


def test_an_account_linked_to_another_person_at_the_provider_is_refused(
    ctx: Context, client: TestClient, provider: LocalProvider, world: World
) -> None:
    assert sign_in(client).status_code == 303
    client.cookies.clear()
    # The provider gave Ann's old address to someone else.
    provider.person["sub"] = "user-someone-else"

    answer = sign_in(client)

    assert_refused(answer, 403, "is linked to another person at the provider")
    ann = user_row(ctx, world.ann.email)
    assert ann is not None
    assert ann.oidc_subject == "user-ann-0001"


def test_an_email_the_provider_has_not_verified_is_refused(
    ctx: Context, client: TestClient, provider: LocalProvider, world: World
) -> None:
    provider.person["email_verified"] = False

    answer = sign_in(client)

    assert_refused(answer, 400, "has not verified your email address")
    assert sessions(ctx) == 0


# The protocol's checks --------------------------------------------------------


def test_a_tampered_state_is_refused(
    ctx: Context, client: TestClient, world: World
) -> None:
    callback = authorize(start(client))
    path, _, query = callback.partition("?")
    params = {k: v[0] for k, v in parse_qs(query).items()}
    params["state"] = params["state"][:-2] + "xx"

    answer = client.get(path, params=params)

    assert_refused(answer, 400, "does not belong to the sign-in this browser started")
    assert not logged_in(client)


def test_a_callback_in_another_browser_is_refused(
    ctx: Context, client: TestClient, world: World
) -> None:
    callback = authorize(start(client))

    with new_client(ctx) as other:
        answer = other.get(callback)

    assert_refused(answer, 400, "was not started in this browser")
    assert sessions(ctx) == 0


def test_a_forged_or_expired_sign_in_cookie_is_refused(
    ctx: Context, clock: ManualClock, client: TestClient, world: World
) -> None:
    callback = authorize(start(client))
    genuine = client.cookies["tocsin_sso"]
    client.cookies.set("tocsin_sso", genuine[:-3] + "AAA")

    forged = client.get(callback)
    client.cookies.set("tocsin_sso", genuine)
    clock.advance(minutes=11)
    late = client.get(callback)

    assert_refused(forged, 400, "was not started in this browser")
    assert_refused(late, 400, "took longer than 10 minutes")
    assert sessions(ctx) == 0


def test_a_replayed_code_is_refused(
    ctx: Context, client: TestClient, provider: LocalProvider, world: World
) -> None:
    callback = authorize(start(client))
    cookie = client.cookies["tocsin_sso"]
    assert client.get(callback).status_code == 303
    client.cookies.clear()
    client.cookies.set("tocsin_sso", cookie)

    answer = client.get(callback)

    assert_refused(answer, 400, "the code may have been used already")
    assert provider.token_errors == ["invalid_grant"]
    assert sessions(ctx) == 1


def test_the_provider_saying_no_is_shown_without_echoing_markup(
    client: TestClient, world: World
) -> None:
    callback = authorize(start(client))
    path, _, query = callback.partition("?")
    state = parse_qs(query)["state"][0]

    denied = client.get(path, params={"state": state, "error": "access_denied"})
    start(client)
    odd = client.get(path, params={"state": state, "error": SCRIPT})

    assert_refused(denied, 400, "The provider did not sign you in (access_denied)")
    assert odd.status_code == 400
    assert SCRIPT not in odd.text
    assert "&lt;script" not in odd.text


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"nonce": "not-the-nonce-of-this-sign-in"}, "the nonce is not this sign-in"),
        ({"aud": "another-client"}, "it was issued for another client"),
        (
            {"aud": ["tocsin-test", "another-client"], "azp": "another-client"},
            "it was issued for another client (azp)",
        ),
        ({"iss": "http://127.0.0.1:1"}, "it comes from another issuer"),
        ({"exp": NOW - 3600}, "it has expired"),
        ({"iat": NOW + 3600}, "it was issued in the future"),
        ({"nbf": NOW + 3600}, "it is not valid yet"),
    ],
    ids=[
        "wrong-nonce",
        "wrong-audience",
        "wrong-azp",
        "wrong-issuer",
        "expired",
        "issued-later",
        "not-yet-valid",
    ],
)
def test_an_id_token_failing_a_check_is_refused(
    ctx: Context,
    client: TestClient,
    provider: LocalProvider,
    world: World,
    changes: dict[str, object],
    says: str,
) -> None:
    provider.token_changes = changes

    answer = sign_in(client)

    assert_refused(answer, 400, says)
    assert sessions(ctx) == 0


def test_expiry_has_a_small_leeway_for_clock_drift(
    ctx: Context,
    clock: ManualClock,
    client: TestClient,
    provider: LocalProvider,
    world: World,
) -> None:
    provider.token_changes = {
        "exp": int((clock.now() - timedelta(seconds=30)).timestamp())
    }

    assert sign_in(client).status_code == 303


def test_a_token_signed_by_another_key_is_refused(
    ctx: Context,
    client: TestClient,
    provider: LocalProvider,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Same key id as the real key, so only the signature can tell.
    provider.signing_key = new_key()

    with caplog.at_level(logging.WARNING, logger="tocsin.services.sso"):
        answer = sign_in(client)

    assert_refused(answer, 400, "bad signature")
    assert sessions(ctx) == 0
    [record] = [r for r in caplog.records if r.getMessage() == "sign-on failed"]
    assert record.reason == "ID token refused: bad signature"  # type: ignore[attr-defined]


# The provider's availability --------------------------------------------------


def test_an_unreachable_provider_gives_a_clear_page(
    ctx: Context, provider: LocalProvider
) -> None:
    provider.stop()

    with client_with(ctx, sso_settings(provider.issuer, provider)) as browser:
        answer = start(browser)

    assert answer.status_code == 400
    assert "could not be reached" in answer.text
    assert "Log in with a password" in answer.text


def test_a_provider_going_down_before_the_callback_gives_a_clear_page(
    ctx: Context, client: TestClient, provider: LocalProvider, world: World
) -> None:
    callback = authorize(start(client))
    provider.stop()

    answer = client.get(callback)

    assert_refused(answer, 400, "could not be reached")


def test_a_loopback_provider_needs_to_be_allowed_explicitly(
    ctx: Context, provider: LocalProvider
) -> None:
    settings = sso_settings(provider.issuer, provider, oidc_allowed_networks=[])

    with client_with(ctx, settings) as browser:
        answer = start(browser)

    assert answer.status_code == 400
    assert "could not be reached" in answer.text
    assert provider.requests == []
    with pytest.raises(OutboundRefused):
        oidc_client.provider_client(settings).get(provider.issuer)


def test_client_secret_post_is_used_when_the_provider_asks_for_it(
    ctx: Context, client: TestClient, provider: LocalProvider, world: World
) -> None:
    provider.auth_method = "client_secret_post"

    assert sign_in(client).status_code == 303
    assert provider.token_errors == []


# Settings ---------------------------------------------------------------------


def test_an_issuer_needs_a_client_id_and_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOCSIN_OIDC_ISSUER", "https://id.example.com")
    monkeypatch.setenv("TOCSIN_OIDC_CLIENT_ID", "tocsin")

    with pytest.raises(ConfigError, match="TOCSIN_OIDC_CLIENT_SECRET"):
        load_settings()


@pytest.mark.parametrize(
    "issuer",
    ["http://id.example.com", "ftp://id.example.com", "https://id.example.com/?a=1"],
)
def test_an_issuer_must_be_https_unless_on_loopback(issuer: str) -> None:
    with pytest.raises(ValueError, match=r"issuer|https"):
        Settings(oidc_issuer=issuer, oidc_client_id="a", oidc_client_secret="b")


def test_allowed_domains_are_read_from_a_comma_separated_list() -> None:
    settings = Settings(oidc_allowed_domains="Example.COM, @ops.example ,")  # type: ignore[arg-type]

    assert settings.oidc_allowed_domains == ["example.com", "ops.example"]


def test_a_provider_error_with_a_trailing_newline_is_not_echoed(
    client: TestClient, world: World
) -> None:
    """'$' would let 'access_denied\\n' through as a well-formed error word."""
    callback = authorize(start(client))
    path, _, query = callback.partition("?")
    state = parse_qs(query)["state"][0]

    answer = client.get(path, params={"state": state, "error": "access_denied\n"})

    assert_refused(answer, 400, "The provider did not sign you in (error)")
