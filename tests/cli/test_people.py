"""`tocsin user add` and `tocsin token create`: what they store and print."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.cli.conftest import Run
from tocsin.services import users
from tocsin.services.context import Context
from tocsin.store.models import ApiToken, AuditRecord, Team, TeamMember, User


def test_user_add_stores_the_user_with_role_and_teams(
    tocsin: Run, ctx: Context
) -> None:
    for team in ("Ops", "Payments"):
        assert tocsin("team", "add", team).exit_code == 0
    result = tocsin(
        "user", "add", "Ann@Example.com", "--name", "Ann", "--role", "admin",
        "--team", "Ops", "--team", "Payments",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    with ctx.db.read() as session:
        user = session.scalars(select(User)).one()
        teams = session.scalars(
            select(Team.name)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(TeamMember.user_id == user.id)
            .order_by(Team.name)
        ).all()
    assert (user.email, user.name, user.role) == ("ann@example.com", "Ann", "admin")
    assert teams == ["Ops", "Payments"]
    assert result.stdout == f"user {user.id} ann@example.com (admin)\n"


def test_user_add_with_password_lets_the_user_log_in(tocsin: Run, ctx: Context) -> None:
    result = tocsin(
        "user", "add", "ann@example.com", "--name", "Ann", "--password",
        input="correct horse\ncorrect horse\n",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert users.login(ctx, "ann@example.com", "correct horse").token


def test_user_add_refuses_a_duplicate_and_a_bad_role(tocsin: Run) -> None:
    tocsin("user", "add", "ann@example.com", "--name", "Ann")

    again = tocsin("user", "add", "ANN@example.com", "--name", "Ann")
    bad_role = tocsin("user", "add", "bob@example.com", "--name", "Bob", "--role", "x")

    assert again.exit_code == 1
    assert again.stderr == "error: a user with email ann@example.com already exists\n"
    assert bad_role.exit_code == 1
    assert bad_role.stderr.startswith("error: role must be one of")
    assert bad_role.stderr.count("\n") == 1


def test_token_create_prints_a_secret_that_authenticates_as_the_user(
    tocsin: Run, ctx: Context
) -> None:
    tocsin("user", "add", "ann@example.com", "--name", "Ann")

    result = tocsin("token", "create", "ann@example.com", "--name", "laptop")

    assert result.exit_code == 0, result.output
    actor = users.authenticate_token(ctx, result.stdout.strip())
    assert actor.label == "ann@example.com"
    with ctx.db.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "token.create")
        ).one()
    assert (record.actor_type, record.actor_label) == ("system", "cli")


def test_token_create_with_days_sets_an_expiry(tocsin: Run, ctx: Context) -> None:
    tocsin("user", "add", "ann@example.com", "--name", "Ann")

    result = tocsin("token", "create", "ann@example.com", "--days", "30")

    assert result.exit_code == 0, result.output
    with ctx.db.read() as session:
        token = session.scalars(select(ApiToken)).one()
    assert token.expires_at is not None
    assert token.expires_at - token.created_at == timedelta(days=30)


def test_token_create_refuses_an_unknown_user_and_a_bad_lifetime(
    tocsin: Run,
) -> None:
    tocsin("user", "add", "ann@example.com", "--name", "Ann")

    unknown = tocsin("token", "create", "who@example.com")
    zero_days = tocsin("token", "create", "ann@example.com", "--days", "0")

    assert (unknown.exit_code, unknown.stderr) == (
        1,
        "error: no user with email who@example.com\n",
    )
    assert (zero_days.exit_code, zero_days.stderr) == (
        1,
        "error: days must be between 1 and 3650\n",
    )
