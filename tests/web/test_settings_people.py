"""Settings pages for people and teams: admins list, create, change roles,
deactivate and manage teams; nobody else gets in; every change is a
CSRF-checked post; bad input comes back with the message and what was typed."""

from __future__ import annotations

from html import escape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.builders import make_user
from tests.web.conftest import PASSWORD, World, log_in, new_client
from tocsin.domain.access import SYSTEM
from tocsin.errors import Unauthenticated
from tocsin.services import people, users
from tocsin.services.context import Context
from tocsin.store.models import OutboxMessage, User

SCRIPT = "<script>alert('owned')</script>"


@pytest.fixture
def admin(ctx: Context, world: World) -> int:
    return make_user(ctx, "ada@example.com", role="admin", teams=()).id


@pytest.fixture
def csrf(client: TestClient, admin: int) -> str:
    return log_in(client, "ada@example.com")


def _user(ctx: Context, email: str) -> User | None:
    with ctx.db.read() as session:
        found = session.scalar(select(User).where(User.email == email))
        session.expunge_all()
        return found


def _team_id(ctx: Context, name: str) -> int:
    return next(t.id for t in people.list_teams(ctx, SYSTEM) if t.name == name)


def _new_user(**changes: str) -> dict[str, str]:
    return {
        "name": "Nora",
        "email": "nora@example.com",
        "role": "responder",
        "login": "password",
        "password": PASSWORD,
        **changes,
    }


# Users ------------------------------------------------------------------------


def test_an_admin_sees_every_user_with_role_and_teams(
    client: TestClient, csrf: str, world: World
) -> None:
    page = client.get("/settings/users")

    assert page.status_code == 200
    for email in ("ann@example.com", "vera@example.com", "pete@example.com"):
        assert email in page.text
    assert "teams: Payments" in page.text
    assert 'value="viewer"' in page.text


def test_the_settings_index_offers_people_teams_and_the_audit_log_to_admins(
    client: TestClient, csrf: str
) -> None:
    page = client.get("/settings")

    for url in ("/settings/users", "/settings/teams", "/settings/audit"):
        assert f'href="{url}"' in page.text


@pytest.mark.parametrize("email", ["ann@example.com", "vera@example.com"])
def test_non_admins_are_refused_every_people_page(
    ctx: Context, client: TestClient, world: World, admin: int, email: str
) -> None:
    token = log_in(client, email)

    for path in ("/settings/users", f"/settings/users/{admin}", "/settings/teams"):
        assert client.get(path).status_code == 403
    answer = client.post(
        f"/settings/users/{world.ann.id}/role",
        data={"csrf_token": token, "role": "admin"},
    )
    assert answer.status_code == 403
    assert people.get_person(ctx, SYSTEM, world.ann.id).role == "responder"
    assert 'href="/settings/users"' not in client.get("/settings").text


def test_a_manager_is_refused_too(ctx: Context, client: TestClient) -> None:
    make_user(ctx, "mia@example.com", role="manager")
    log_in(client, "mia@example.com")

    assert client.get("/settings/users").status_code == 403
    assert client.get("/settings/teams").status_code == 403


def test_an_admin_creates_a_user_with_a_password_and_teams(
    ctx: Context, client: TestClient, csrf: str
) -> None:
    answer = client.post(
        "/settings/users",
        data={**_new_user(), "teams": ["Ops", "Payments"], "csrf_token": csrf},
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/settings/users?done=created"
    assert "The user is created." in client.get(answer.headers["location"]).text
    [nora] = [
        p for p in people.list_people(ctx, SYSTEM) if p.email == "nora@example.com"
    ]
    assert nora.teams == ("Ops", "Payments")
    assert nora.role == "responder"
    users.login(ctx, "nora@example.com", PASSWORD)


def test_an_admin_creates_a_user_who_gets_a_reset_mail(
    ctx: Context, client: TestClient, csrf: str
) -> None:
    answer = client.post(
        "/settings/users",
        data={**_new_user(login="mail", password=""), "csrf_token": csrf},
    )

    assert answer.status_code == 303
    assert answer.headers["location"].endswith("done=invited")
    with ctx.db.read() as session:
        mails = session.scalars(
            select(OutboxMessage.body).where(
                OutboxMessage.recipient == "nora@example.com"
            )
        ).all()
    assert len(mails) == 1
    assert "/password/reset/" in mails[0]


@pytest.mark.parametrize(
    ("changes", "message", "status"),
    [
        ({"email": "ann@example.com"}, "already exists", 409),
        ({"role": "owner"}, "Role must be one of", 400),
        ({"name": "   "}, "A name of 1 to 200 characters is required", 400),
        ({"email": "not-an-address"}, "is not an email address", 400),
        ({"email": "nul\x00@example.com"}, "is not an email address", 400),
        ({"name": "N" * 5000}, "A name of 1 to 200 characters", 400),
        ({"password": "short"}, "at least 8 characters", 400),
        ({"password": ""}, "Type a first password", 400),
        ({"login": "magic"}, "Choose how the user logs in", 400),
    ],
)
def test_bad_input_re_renders_the_form_with_what_was_typed(
    ctx: Context,
    client: TestClient,
    csrf: str,
    changes: dict[str, str],
    message: str,
    status: int,
) -> None:
    form = {**_new_user(name="Nora Typed"), **changes}

    answer = client.post("/settings/users", data={**form, "csrf_token": csrf})

    assert answer.status_code == status
    assert escape(message, quote=True) in answer.text
    if form["email"] != "ann@example.com" and "\x00" not in form["email"]:
        assert _user(ctx, form["email"].strip().lower()) is None
    assert len(people.list_people(ctx, SYSTEM)) == 4
    assert f'value="{escape(form["name"])}"' in answer.text
    assert f'value="{escape(form["email"])}"' in answer.text


def test_an_unknown_team_in_the_form_is_bad_input(
    ctx: Context, client: TestClient, csrf: str
) -> None:
    answer = client.post(
        "/settings/users",
        data={**_new_user(), "teams": ["Nowhere"], "csrf_token": csrf},
    )

    assert answer.status_code == 400
    assert "No team named" in answer.text
    assert _user(ctx, "nora@example.com") is None


def test_a_post_without_the_csrf_token_changes_nothing(
    ctx: Context, client: TestClient, csrf: str, world: World
) -> None:
    created = client.post("/settings/users", data=_new_user())
    role = client.post(f"/settings/users/{world.ann.id}/role", data={"role": "admin"})
    active = client.post(
        f"/settings/users/{world.ann.id}/active",
        data={"active": "no", "csrf_token": "forged" * 6},
    )

    assert [created.status_code, role.status_code, active.status_code] == [403] * 3
    assert _user(ctx, "nora@example.com") is None
    ann = people.get_person(ctx, SYSTEM, world.ann.id)
    assert (ann.role, ann.active) == ("responder", True)


def test_a_script_in_a_name_is_shown_as_text(
    ctx: Context, client: TestClient, csrf: str
) -> None:
    answer = client.post(
        "/settings/users", data={**_new_user(name=SCRIPT), "csrf_token": csrf}
    )
    assert answer.status_code == 303
    nora = _user(ctx, "nora@example.com")
    assert nora is not None

    for path in ("/settings/users", f"/settings/users/{nora.id}", "/settings/teams"):
        page = client.get(path)
        assert SCRIPT not in page.text
        assert escape(SCRIPT) in page.text or "&lt;script&gt;" in page.text


def test_an_admin_changes_a_role(
    ctx: Context, client: TestClient, csrf: str, world: World
) -> None:
    answer = client.post(
        f"/settings/users/{world.ann.id}/role",
        data={"csrf_token": csrf, "role": "manager"},
    )

    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert "The role is changed" in page.text
    assert people.get_person(ctx, SYSTEM, world.ann.id).role == "manager"


def test_an_unknown_role_is_refused_on_the_user_page(
    client: TestClient, csrf: str, world: World
) -> None:
    answer = client.post(
        f"/settings/users/{world.ann.id}/role",
        data={"csrf_token": csrf, "role": "<b>owner</b>"},
    )

    assert answer.status_code == 400
    assert "Role must be one of" in answer.text
    assert "<b>owner" not in answer.text


def test_the_last_admin_can_neither_step_down_nor_be_deactivated(
    ctx: Context, client: TestClient, csrf: str, admin: int
) -> None:
    demote = client.post(
        f"/settings/users/{admin}/role", data={"csrf_token": csrf, "role": "viewer"}
    )
    deactivate = client.post(
        f"/settings/users/{admin}/active", data={"csrf_token": csrf, "active": "no"}
    )

    for answer in (demote, deactivate):
        assert answer.status_code == 409
        assert "last active admin" in answer.text
    person = people.get_person(ctx, SYSTEM, admin)
    assert (person.role, person.active) == ("admin", True)


def test_deactivating_logs_the_user_out_and_reactivating_lets_them_back(
    ctx: Context, client: TestClient, csrf: str, world: World
) -> None:
    with new_client(ctx) as ann_browser:
        log_in(ann_browser, "ann@example.com")
        secret = users.create_token(ctx, SYSTEM, email="ann@example.com", name="ci")

        off = client.post(
            f"/settings/users/{world.ann.id}/active",
            data={"csrf_token": csrf, "active": "no"},
        )

        assert off.status_code == 303
        assert "deactivated" in client.get(off.headers["location"]).text
        assert ann_browser.get("/incidents").status_code == 303
        with pytest.raises(Unauthenticated):
            users.authenticate_token(ctx, secret)
        # Schedules keep Ann's shifts before this instant.
        ann = _user(ctx, "ann@example.com")
        assert ann is not None
        assert ann.deactivated_at == ctx.clock.now()

        on = client.post(
            f"/settings/users/{world.ann.id}/active",
            data={"csrf_token": csrf, "active": "yes"},
        )

        assert on.status_code == 303
        assert ann_browser.get("/incidents").status_code == 303
        log_in(ann_browser, "ann@example.com")
        ann = _user(ctx, "ann@example.com")
        assert ann is not None
        assert ann.deactivated_at is None


def test_an_unknown_user_is_not_found(client: TestClient, csrf: str) -> None:
    assert client.get("/settings/users/999999").status_code == 404
    assert client.get(f"/settings/users/{2**40}").status_code == 404
    assert client.get("/settings/users/ann").status_code == 404
    answer = client.post(
        "/settings/users/999999/active", data={"csrf_token": csrf, "active": "no"}
    )
    assert answer.status_code == 404


def test_the_user_page_shows_contacts_and_rules_read_only(
    client: TestClient, csrf: str, world: World
) -> None:
    page = client.get(f"/settings/users/{world.ann.id}")

    assert page.status_code == 200
    assert "ann@example.com" in page.text
    assert "a page goes to every contact method at once" in page.text
    assert f"/api/v1/users/{world.ann.id}/contact-methods" in page.text
    assert 'action="/api' not in page.text


# Teams ------------------------------------------------------------------------


def test_an_admin_creates_a_team_and_manages_its_members(
    ctx: Context, client: TestClient, csrf: str, world: World
) -> None:
    created = client.post("/settings/teams", data={"csrf_token": csrf, "name": "SRE"})
    assert created.status_code == 303
    sre = _team_id(ctx, "SRE")

    added = client.post(
        f"/settings/teams/{sre}/members",
        data={"csrf_token": csrf, "user_id": str(world.pete.id)},
    )

    assert added.status_code == 303
    page = client.get("/settings/teams")
    assert f'id="team-{sre}"' in page.text
    assert "Remove Pete from SRE" in page.text
    assert users.act_as(ctx, "pete@example.com").team_ids >= {sre}

    removed = client.post(
        f"/settings/teams/{sre}/members/{world.pete.id}/remove",
        data={"csrf_token": csrf},
    )

    assert removed.status_code == 303
    assert sre not in users.act_as(ctx, "pete@example.com").team_ids


@pytest.mark.parametrize(
    ("name", "message", "status"),
    [("Ops", "already exists", 409), ("", "name", 400)],
)
def test_a_bad_team_name_is_refused_with_a_message(
    client: TestClient, csrf: str, name: str, message: str, status: int
) -> None:
    answer = client.post("/settings/teams", data={"csrf_token": csrf, "name": name})

    assert answer.status_code == status
    assert message in answer.text
    assert 'class="flash flash-error"' in answer.text


def test_adding_a_member_twice_or_nobody_is_refused(
    ctx: Context, client: TestClient, csrf: str, world: World
) -> None:
    ops = _team_id(ctx, "Ops")

    twice = client.post(
        f"/settings/teams/{ops}/members",
        data={"csrf_token": csrf, "user_id": str(world.ann.id)},
    )
    nobody = client.post(
        f"/settings/teams/{ops}/members", data={"csrf_token": csrf, "user_id": "²"}
    )
    no_csrf = client.post(
        f"/settings/teams/{ops}/members/{world.ann.id}/remove", data={}
    )

    assert twice.status_code == 409
    assert "already a member" in twice.text
    assert nobody.status_code == 400
    assert "Choose a person" in nobody.text
    assert no_csrf.status_code == 403
    assert ops in users.act_as(ctx, "ann@example.com").team_ids


def test_a_responder_cannot_add_themselves_to_a_team(
    ctx: Context, client: TestClient, world: World
) -> None:
    token = log_in(client, "ann@example.com")
    payments = _team_id(ctx, "Payments")

    answer = client.post(
        f"/settings/teams/{payments}/members",
        data={"csrf_token": token, "user_id": str(world.ann.id)},
    )

    assert answer.status_code == 403
    assert payments not in users.act_as(ctx, "ann@example.com").team_ids
