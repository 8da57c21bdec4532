"""People and teams as an admin manages them: roles, deactivation with every
credential ended, team membership, and the last active admin kept."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text, update

from tests.builders import make_user
from tests.e2e.harness import wait_for
from tocsin.domain.access import SYSTEM, Actor, Role
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from tocsin.services import accounts, people, users
from tocsin.services.catalog.policies import create_team
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, OutboxMessage, PasswordReset, User

PASSWORD = "correct horse battery"


def _actor(ctx: Context, email: str) -> Actor:
    return users.act_as(ctx, email)


def _audits(ctx: Context, action: str) -> list[AuditRecord]:
    with ctx.db.read() as session:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.action == action)
        ).all()
        session.expunge_all()
        return list(rows)


def test_only_an_admin_creates_users(ctx: Context) -> None:
    """A manager cannot mint accounts, with any role."""
    make_user(ctx, "mia@example.com", role="manager")

    with pytest.raises(Forbidden):
        users.create_user(
            ctx, _actor(ctx, "mia@example.com"), email="x@example.com", name="X"
        )


def test_an_admin_changes_a_role_and_the_audit_keeps_before_and_after(
    ctx: Context,
) -> None:
    make_user(ctx, "ada@example.com", role="admin")
    ann = make_user(ctx, "ann@example.com")
    ada = _actor(ctx, "ada@example.com")

    changed = people.change_role(ctx, ada, ann.id, "manager")

    assert changed.role == "manager"
    assert _actor(ctx, "ann@example.com").role is Role.MANAGER
    [record] = _audits(ctx, "user.role_change")
    assert record.detail["before"] == {"role": "responder"}
    assert record.detail["after"] == {"role": "manager"}
    assert record.actor_label.startswith("ada@example.com")


def test_an_unknown_role_is_invalid_and_changes_nothing(ctx: Context) -> None:
    make_user(ctx, "ada@example.com", role="admin")
    ann = make_user(ctx, "ann@example.com")

    with pytest.raises(InvalidInput, match="role must be one of"):
        people.change_role(ctx, _actor(ctx, "ada@example.com"), ann.id, "owner")

    assert people.get_person(ctx, SYSTEM, ann.id).role == "responder"


def test_a_non_admin_changes_no_role(ctx: Context) -> None:
    ann = make_user(ctx, "ann@example.com")
    make_user(ctx, "mia@example.com", role="manager")

    with pytest.raises(Forbidden):
        people.change_role(ctx, _actor(ctx, "mia@example.com"), ann.id, "admin")


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(
    ctx: Context,
) -> None:
    ada = make_user(ctx, "ada@example.com", role="admin")
    actor = _actor(ctx, "ada@example.com")

    with pytest.raises(Conflict, match="last active admin"):
        people.change_role(ctx, actor, ada.id, "responder")
    with pytest.raises(Conflict, match="last active admin"):
        people.set_active(ctx, actor, ada.id, False)

    person = people.get_person(ctx, SYSTEM, ada.id)
    assert (person.role, person.active) == ("admin", True)


def test_a_deactivated_admin_does_not_count_as_the_other_admin(
    ctx: Context,
) -> None:
    """Two admins, one deactivated: the active one is still the last."""
    ada = make_user(ctx, "ada@example.com", role="admin")
    bob = make_user(ctx, "bob@example.com", role="admin")
    actor = _actor(ctx, "ada@example.com")
    people.set_active(ctx, actor, bob.id, False)

    with pytest.raises(Conflict):
        people.change_role(ctx, actor, ada.id, "viewer")


def test_with_a_second_admin_one_may_step_down(ctx: Context) -> None:
    ada = make_user(ctx, "ada@example.com", role="admin")
    make_user(ctx, "bob@example.com", role="admin")

    people.change_role(ctx, _actor(ctx, "ada@example.com"), ada.id, "responder")

    assert people.get_person(ctx, SYSTEM, ada.id).role == "responder"


def test_deactivating_ends_sessions_tokens_and_reset_links(ctx: Context) -> None:
    """Every credential dies with the deactivation and stays dead after a
    reactivation: the user logs in afresh."""
    make_user(ctx, "ada@example.com", role="admin")
    ann = make_user(ctx, "ann@example.com")
    web = users.login(ctx, "ann@example.com", PASSWORD)
    secret = users.create_token(ctx, SYSTEM, email="ann@example.com", name="ci")
    accounts.request_reset(ctx, "ann@example.com")
    ada = _actor(ctx, "ada@example.com")

    people.set_active(ctx, ada, ann.id, False)

    with pytest.raises(Unauthenticated):
        users.authenticate_session(ctx, web.token)
    with pytest.raises(Unauthenticated):
        users.authenticate_token(ctx, secret)
    with pytest.raises(Unauthenticated):
        users.login(ctx, "ann@example.com", PASSWORD)
    [record] = _audits(ctx, "user.deactivate")
    assert record.detail["sessions_ended"] == 1
    assert record.detail["tokens_revoked"] == 1

    people.set_active(ctx, ada, ann.id, True)

    with pytest.raises(Unauthenticated):
        users.authenticate_session(ctx, web.token)
    with pytest.raises(Unauthenticated):
        users.authenticate_token(ctx, secret)
    with ctx.db.read() as session:
        open_links = session.scalars(
            select(PasswordReset).where(PasswordReset.used_at.is_(None))
        ).all()
    assert open_links == []
    assert users.login(ctx, "ann@example.com", PASSWORD).token != web.token
    assert len(_audits(ctx, "user.reactivate")) == 1


def test_setting_the_same_state_twice_writes_nothing(ctx: Context) -> None:
    make_user(ctx, "ada@example.com", role="admin")
    ann = make_user(ctx, "ann@example.com")
    ada = _actor(ctx, "ada@example.com")

    people.set_active(ctx, ada, ann.id, True)
    people.change_role(ctx, ada, ann.id, "responder")

    assert _audits(ctx, "user.reactivate") == []
    assert _audits(ctx, "user.role_change") == []


def test_an_unknown_or_out_of_range_user_is_not_found(ctx: Context) -> None:
    make_user(ctx, "ada@example.com", role="admin")
    ada = _actor(ctx, "ada@example.com")

    for user_id in (9999, 2**40, 0):
        with pytest.raises(NotFound):
            people.set_active(ctx, ada, user_id, False)


def test_members_are_added_and_removed_once(ctx: Context) -> None:
    make_user(ctx, "ada@example.com", role="admin", teams=())
    ann = make_user(ctx, "ann@example.com", teams=())
    ada = _actor(ctx, "ada@example.com")
    team = create_team(ctx, ada, "Payments")

    people.add_member(ctx, ada, team.id, ann.id)
    with pytest.raises(Conflict, match="already a member"):
        people.add_member(ctx, ada, team.id, ann.id)

    [row] = people.list_teams(ctx, ada)
    assert [m.email for m in row.members] == ["ann@example.com"]
    assert _actor(ctx, "ann@example.com").team_ids == {team.id}

    people.remove_member(ctx, ada, team.id, ann.id)
    with pytest.raises(NotFound, match="not a member"):
        people.remove_member(ctx, ada, team.id, ann.id)

    assert people.list_teams(ctx, ada)[0].members == ()
    assert len(_audits(ctx, "team.member_add")) == 1
    assert len(_audits(ctx, "team.member_remove")) == 1


def test_a_manager_changes_no_membership(ctx: Context) -> None:
    make_user(ctx, "mia@example.com", role="manager", teams=("Ops",))
    ann = make_user(ctx, "ann@example.com", teams=())
    [ops] = people.list_teams(ctx, SYSTEM)

    with pytest.raises(Forbidden):
        people.add_member(ctx, _actor(ctx, "mia@example.com"), ops.id, ann.id)


def test_an_account_with_a_mailed_link_gets_the_reset_mail(ctx: Context) -> None:
    """The invitation is the forgotten-password mail, audited as the admin's."""
    make_user(ctx, "ada@example.com", role="admin")
    ada = _actor(ctx, "ada@example.com")

    created = accounts.create_account(
        ctx, ada, email="New@Example.com", name="New", role="viewer", mail_reset=True
    )

    assert created.password_hash is None
    with ctx.db.read() as session:
        recipients = session.scalars(select(OutboxMessage.recipient)).all()
    assert "new@example.com" in recipients
    [record] = _audits(ctx, "password.reset_requested")
    assert record.actor_label.startswith("ada@example.com")


def test_an_account_takes_a_password_or_a_link_not_both(ctx: Context) -> None:
    make_user(ctx, "ada@example.com", role="admin")
    ada = _actor(ctx, "ada@example.com")

    with pytest.raises(InvalidInput, match="not both"):
        accounts.create_account(
            ctx,
            ada,
            email="n@example.com",
            name="N",
            role="viewer",
            password=PASSWORD,
            mail_reset=True,
        )
    with pytest.raises(InvalidInput, match="at least 8"):
        accounts.create_account(
            ctx, ada, email="n@example.com", name="N", role="viewer", password="short"
        )

    assert [p.email for p in people.list_people(ctx, ada)] == ["ada@example.com"]


def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    ctx: Context,
) -> None:
    """While one demotion is open (its row locked, not yet committed), the
    other waits for it, then sees it and is refused: never zero admins."""
    if ctx.db.is_sqlite:
        pytest.skip("SQLite runs one write transaction at a time")
    ada = make_user(ctx, "ada@example.com", role="admin")
    bob = make_user(ctx, "bob@example.com", role="admin")
    outcome: list[BaseException | None] = []

    def demote_bob() -> None:
        try:
            people.change_role(ctx, SYSTEM, bob.id, "responder")
            outcome.append(None)
        except Conflict as error:
            outcome.append(error)

    with ctx.db.write() as session:
        session.execute(update(User).where(User.id == ada.id).values(role="responder"))
        other = threading.Thread(target=demote_bob)
        other.start()
        wait_for(lambda: _lock_waiters(ctx), what="the second demotion to wait")
    other.join(timeout=30)

    assert len(outcome) == 1
    assert isinstance(outcome[0], Conflict)
    assert people.get_person(ctx, SYSTEM, bob.id).role == "admin"


def _lock_waiters(ctx: Context) -> int:
    with ctx.db.read() as session:
        return int(
            session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            or 0
        )
