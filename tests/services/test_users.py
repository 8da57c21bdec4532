"""Credentials: tokens record their use coarsely; the CLI's `--as` is labelled."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.builders import make_user
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.errors import Unauthenticated
from tocsin.services import users
from tocsin.services.context import Context
from tocsin.store.models import ApiToken


def last_used(ctx: Context) -> object:
    with ctx.db.read() as session:
        return session.scalars(select(ApiToken.last_used_at)).one()


def test_token_use_is_recorded_at_most_every_few_minutes(
    ctx: Context, clock: ManualClock
) -> None:
    make_user(ctx)
    secret = users.create_token(ctx, SYSTEM, email="ann@example.com", name="t")
    assert last_used(ctx) is None

    users.authenticate_token(ctx, secret)
    first = last_used(ctx)
    assert first == clock.now()

    clock.advance(minutes=1)
    users.authenticate_token(ctx, secret)
    assert last_used(ctx) == first

    clock.advance(minutes=5)
    users.authenticate_token(ctx, secret)
    assert last_used(ctx) == clock.now()


def test_acting_as_a_user_from_the_cli_says_so_in_the_label(ctx: Context) -> None:
    make_user(ctx)

    actor = users.act_as(ctx, "ann@example.com")

    assert (actor.kind, actor.label) == ("cli", "ann@example.com (cli)")


@pytest.mark.parametrize(
    "email", ["ann\x00@example.com", "not-an-address", "a" * 400 + "@x.com"]
)
def test_impossible_logins_are_refused_like_wrong_passwords(
    ctx: Context, email: str
) -> None:
    make_user(ctx)
    with pytest.raises(Unauthenticated, match="wrong email or password"):
        users.login(ctx, email, "correct horse battery")
