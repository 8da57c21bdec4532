"""Account pages: password reset by email, the profile page's API tokens and
password change, and logging out."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import PASSWORD, World, hidden_field, log_in, new_client
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.errors import Unauthenticated
from tocsin.services import users
from tocsin.services.context import Context
from tocsin.store.models import ApiToken, AuditRecord, OutboxMessage, WebSession

NEW_PASSWORD = "a brand new passphrase"
SCRIPT = "<script>alert('owned')</script>"


def _mails(ctx: Context) -> list[OutboxMessage]:
    with ctx.db.read() as session:
        rows = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.payload["topic"].as_string() == "password_reset"
            )
        ).all()
        session.expunge_all()
        return list(rows)


def _ask_for_reset(client: TestClient, email: str) -> str:
    form = client.get("/password/forgot")
    answer = client.post(
        "/password/forgot",
        data={"email": email, "login_token": hidden_field(form.text, "login_token")},
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def _reset_path(mail: OutboxMessage) -> str:
    found = re.search(
        r"^Reset: http://tocsin\.test(/password/reset/\S+)$", mail.body, re.M
    )
    assert found is not None, mail.body
    return found.group(1)


def _set_password(
    client: TestClient, path: str, password: str, confirm: str | None = None
) -> httpx.Response:
    form = client.get(path)
    assert form.status_code == 200, form.text
    return client.post(
        path,
        data={
            "password": password,
            "confirm": password if confirm is None else confirm,
            "login_token": hidden_field(form.text, "login_token"),
        },
    )


def _can_log_in(ctx: Context, email: str, password: str) -> bool:
    try:
        users.login(ctx, email, password)
    except Unauthenticated:
        return False
    return True


def test_reset_mail_goes_to_the_login_address_with_a_working_link(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The emailed link sets a new password; the old one stops working."""
    _ask_for_reset(client, "ANN@example.com ")

    [mail] = _mails(ctx)
    assert mail.recipient == world.ann.email
    assert mail.payload == {"kind": "notice", "topic": "password_reset"}
    done = _set_password(client, _reset_path(mail), NEW_PASSWORD)

    assert done.status_code == 200
    assert "Password changed" in done.text
    assert done.headers["referrer-policy"] == "no-referrer"
    assert _can_log_in(ctx, world.ann.email, NEW_PASSWORD)
    assert not _can_log_in(ctx, world.ann.email, PASSWORD)


def test_unknown_addresses_get_the_same_answer_and_no_mail(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The forgot form reveals nothing about who has an account."""
    known = _ask_for_reset(client, world.ann.email)
    unknown = _ask_for_reset(client, "nobody@example.com")

    assert len(_mails(ctx)) == 1
    assert known.replace(world.ann.email, "X") == unknown.replace(
        "nobody@example.com", "X"
    )


def test_a_reset_link_works_once(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Using the link uses it up; opening it again is refused."""
    _ask_for_reset(client, world.ann.email)
    path = _reset_path(_mails(ctx)[0])
    _set_password(client, path, NEW_PASSWORD)

    again = client.get(path)

    assert again.status_code == 403
    assert "not valid" in again.text


def test_a_reset_link_expires_after_an_hour(
    ctx: Context, clock: ManualClock, client: TestClient, world: World
) -> None:
    """A link older than an hour is refused and the password stays."""
    _ask_for_reset(client, world.ann.email)
    path = _reset_path(_mails(ctx)[0])
    form = client.get(path)
    clock.advance(minutes=61)

    late = client.post(
        path,
        data={
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "login_token": hidden_field(form.text, "login_token"),
        },
    )

    assert late.status_code == 403
    assert _can_log_in(ctx, world.ann.email, PASSWORD)


def test_resetting_ends_every_session_of_the_account(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Whoever was logged in with the old password is logged out."""
    with new_client(ctx) as other:
        log_in(other, world.ann.email)
        _ask_for_reset(client, world.ann.email)
        _set_password(client, _reset_path(_mails(ctx)[0]), NEW_PASSWORD)

        assert other.get("/incidents").status_code == 303


def test_reset_mails_are_throttled_per_account(
    ctx: Context, clock: ManualClock, client: TestClient, world: World
) -> None:
    """A second request within two minutes sends nothing; later it does."""
    _ask_for_reset(client, world.ann.email)
    _ask_for_reset(client, world.ann.email)
    assert len(_mails(ctx)) == 1

    clock.advance(minutes=3)
    _ask_for_reset(client, world.ann.email)
    assert len(_mails(ctx)) == 2


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", "at least 8 characters"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "differ"),
        ("x" * 1025, "x" * 1025, "at most 1024"),
    ],
)
def test_bad_new_passwords_are_refused_and_the_link_still_works(
    ctx: Context,
    client: TestClient,
    world: World,
    password: str,
    confirm: str,
    message: str,
) -> None:
    """A refused password leaves the old one and keeps the link usable."""
    _ask_for_reset(client, world.ann.email)
    path = _reset_path(_mails(ctx)[0])

    refused = _set_password(client, path, password, confirm)

    assert refused.status_code == 400
    assert message in refused.text
    assert _can_log_in(ctx, world.ann.email, PASSWORD)
    assert client.get(path).status_code == 200


def test_the_forgot_form_needs_its_double_submit_token(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Another site cannot post the form from a visitor's browser."""
    answer = client.post("/password/forgot", data={"email": world.ann.email})

    assert answer.status_code == 403
    assert _mails(ctx) == []


def test_reset_requests_and_resets_are_audited(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The audit log shows the request (anonymous) and the reset itself."""
    _ask_for_reset(client, world.ann.email)
    _set_password(client, _reset_path(_mails(ctx)[0]), NEW_PASSWORD)

    with ctx.db.read() as session:
        records = session.execute(
            select(AuditRecord.action, AuditRecord.actor_type).where(
                AuditRecord.action.like("password.%")
            )
        ).all()

    assert sorted(map(tuple, records)) == [
        ("password.reset", "user"),
        ("password.reset_requested", "anonymous"),
    ]


# Profile ---------------------------------------------------------------------


def test_profile_shows_the_account(client: TestClient, world: World) -> None:
    """Email, role and teams are on the profile page."""
    log_in(client, world.ann.email)

    page = client.get("/profile")

    assert page.status_code == 200
    assert world.ann.email in page.text
    assert "responder" in page.text
    assert "Ops" in page.text


def test_a_new_token_is_shown_once_and_works_until_revoked(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The secret appears in the answer only; it authenticates API calls, and
    stops when revoked from the profile page."""
    csrf = log_in(client, world.ann.email)

    made = client.post(
        "/profile/tokens",
        data={"csrf_token": csrf, "name": "laptop", "days": "30"},
        headers={"HX-Request": "true"},
    )
    secret = re.search(r'value="(tcs_[^"]+)"', made.text)
    assert made.status_code == 201
    assert secret is not None
    api = {"Authorization": f"Bearer {secret.group(1)}", "Accept": "application/json"}

    assert client.get("/api/v1/me", headers=api).status_code == 200
    assert secret.group(1) not in client.get("/profile").text

    with ctx.db.read() as session:
        token_id = session.scalars(select(ApiToken.id)).one()
    revoked = client.post(
        f"/profile/tokens/{token_id}/revoke",
        data={"csrf_token": csrf},
        headers={"HX-Request": "true"},
    )

    assert revoked.status_code == 200
    assert "revoked" in revoked.text
    assert client.get("/api/v1/me", headers=api).status_code == 401


def test_someone_elses_token_cannot_be_revoked(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Another user's token id is a 404, and the token keeps working."""
    users.create_token(ctx, SYSTEM, email=world.pete.email, name="ci")
    csrf = log_in(client, world.ann.email)
    with ctx.db.read() as session:
        token_id = session.scalars(select(ApiToken.id)).one()

    answer = client.post(
        f"/profile/tokens/{token_id}/revoke", data={"csrf_token": csrf}
    )

    assert answer.status_code == 404
    with ctx.db.read() as session:
        token = session.get(ApiToken, token_id)
        assert token is not None
        assert token.revoked_at is None


@pytest.mark.parametrize(
    ("name", "days"), [("", ""), ("x" * 101, ""), ("ok", "0"), ("ok", "x")]
)
def test_bad_token_requests_are_refused_and_make_nothing(
    ctx: Context, client: TestClient, world: World, name: str, days: str
) -> None:
    """A missing name or a bad expiry shows an error and stores no token."""
    csrf = log_in(client, world.ann.email)

    answer = client.post(
        "/profile/tokens", data={"csrf_token": csrf, "name": name, "days": days}
    )

    assert answer.status_code == 400
    with ctx.db.read() as session:
        assert session.scalars(select(ApiToken)).all() == []


def test_token_forms_need_the_csrf_token(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Creating a token without the session's CSRF token is refused."""
    log_in(client, world.ann.email)

    answer = client.post("/profile/tokens", data={"name": "sneaky"})

    assert answer.status_code == 403
    with ctx.db.read() as session:
        assert session.scalars(select(ApiToken)).all() == []


def test_token_names_are_escaped(client: TestClient, world: World) -> None:
    """A token named with markup is shown as text."""
    csrf = log_in(client, world.ann.email)
    client.post("/profile/tokens", data={"csrf_token": csrf, "name": SCRIPT})

    page = client.get("/profile").text

    assert "&lt;script&gt;" in page
    assert SCRIPT not in page


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The browser that changes the password stays in; the others are out."""
    with new_client(ctx) as other:
        log_in(other, world.ann.email)
        csrf = log_in(client, world.ann.email)

        changed = client.post(
            "/profile/password",
            data={
                "csrf_token": csrf,
                "current": PASSWORD,
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
        )

        assert changed.status_code == 200
        assert "Your password is changed" in changed.text
        assert client.get("/incidents").status_code == 200
        assert other.get("/incidents").status_code == 303
        assert _can_log_in(ctx, world.ann.email, NEW_PASSWORD)


def test_a_wrong_current_password_changes_nothing(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The current password must be right; nothing changes otherwise."""
    csrf = log_in(client, world.ann.email)

    refused = client.post(
        "/profile/password",
        data={
            "csrf_token": csrf,
            "current": "not it at all",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )

    assert refused.status_code == 400
    assert "current password is wrong" in refused.text
    assert _can_log_in(ctx, world.ann.email, PASSWORD)


def test_the_profile_logs_out_every_other_browser(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The profile lists the logged-in browsers and can end all but this one."""
    with new_client(ctx) as other:
        log_in(other, world.ann.email)
        csrf = log_in(client, world.ann.email)
        page = client.get("/profile").text
        assert page.count("<li>Logged in <time") == 2
        assert page.count("(this browser)") == 1

        ended = client.post("/profile/sessions/end-others", data={"csrf_token": csrf})

        assert ended.status_code == 200
        assert "Logged out of 1 other browser." in ended.text
        assert other.get("/incidents").status_code == 303
        assert client.get("/incidents").status_code == 200
        assert "Log out all other browsers" not in client.get("/profile").text


def test_logging_out_revokes_the_session(
    ctx: Context, client: TestClient, world: World
) -> None:
    """After logging out, the old cookie no longer opens pages."""
    csrf = log_in(client, world.ann.email)
    cookie = client.cookies.get("tocsin_session")

    out = client.post("/logout", data={"csrf_token": csrf})

    assert out.status_code == 303
    with ctx.db.read() as session:
        [revoked] = session.scalars(select(WebSession.revoked_at)).all()
    assert revoked is not None
    client.cookies.set("tocsin_session", cookie or "")
    assert client.get("/incidents").status_code == 303
