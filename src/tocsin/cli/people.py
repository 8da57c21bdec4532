"""`user add` and `token create`."""

from __future__ import annotations

import typer

from tocsin.cli.common import console, context, plain, reported
from tocsin.domain.access import Actor, Role
from tocsin.services import users

user_app = typer.Typer(help="Users.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)

# Commands run by whoever holds the server's shell and database: an operator.
OPERATOR = Actor(kind="system", label="cli", role=Role.ADMIN)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")


@user_app.command("add")
def user_add(
    email: str = typer.Argument(..., help="Login and first email contact."),
    name: str = typer.Option(..., help="Display name."),
    role: str = typer.Option("responder", help="admin, manager, responder or viewer."),
    team: list[str] = typer.Option([], help="Team to join (repeatable)."),
    password: bool = typer.Option(
        False, "--password", help="Prompt for a password to log in to the web."
    ),
) -> None:
    """Add a user, with their email as the first contact method."""
    secret = None
    if password:
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with reported():
        user = users.create_user(
            context(),
            OPERATOR,
            email=email,
            name=name,
            role=role,
            password=secret,
            teams=tuple(team),
        )
    console.print(plain(f"user {user.id} {user.email} ({user.role})"))


@token_app.command("create")
def token_create(
    email: str = typer.Argument(..., help="The user the token acts as."),
    name: str = typer.Option("cli", help="What the token is for."),
    days: int = typer.Option(None, help="Expire after this many days."),
) -> None:
    """Create an API token. The secret is printed once and never stored."""
    with reported():
        secret = users.create_token(
            context(), OPERATOR, email=email, name=name, days=days
        )
    console.print(secret, highlight=False, soft_wrap=True)
