"""`role`, `responder`, `task` and `note`: running an incident from a shell.

Commands act as the operator unless `--as EMAIL` names a user; then they carry
that user's role and teams. People, teams and policies are named (by email or
name) where the API takes ids. Runbooks, updates and templates are in
cli/response_docs.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from tocsin.api.schemas import MAX_ID
from tocsin.cli.common import console, opened, plain, reported
from tocsin.cli.people import OPERATOR
from tocsin.domain.access import Actor
from tocsin.errors import InvalidInput
from tocsin.response_schemas import (
    NoteRead,
    ParticipantRead,
    RoleHolderRead,
    TaskRead,
)
from tocsin.services import notes, responders, roles, tasks, users
from tocsin.services.context import Context
from tocsin.services.incident_scope import ids_by_name
from tocsin.services.tasks import KEEP

role_app = typer.Typer(help="Incident roles and their catalogue.", no_args_is_help=True)
responder_app = typer.Typer(help="Responders of an incident.", no_args_is_help=True)
task_app = typer.Typer(help="Tasks of an incident.", no_args_is_help=True)
note_app = typer.Typer(help="Timeline notes of an incident.", no_args_is_help=True)

AS_HELP = "Act as this user, with their role and teams (default: the operator)."
NUMBER_HELP = "The incident's number, as in #42."
AS = typer.Option(None, "--as", metavar="EMAIL", help=AS_HELP)
NUMBER = typer.Argument(..., min=1, max=MAX_ID, help=NUMBER_HELP)


def register(app: typer.Typer) -> None:
    app.add_typer(role_app, name="role")
    app.add_typer(responder_app, name="responder")
    app.add_typer(task_app, name="task")
    app.add_typer(note_app, name="note")


def actor(ctx: Context, email: str | None) -> Actor:
    return OPERATOR if email is None else users.act_as(ctx, email)


def when(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def instant(value: str | None, what: str) -> datetime | None:
    """An ISO 8601 time with an offset, as `2026-03-02T10:00Z`."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{what}: not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{what} needs a time zone offset, as 2026-03-02T10:00Z")
    return parsed


# Roles -------------------------------------------------------------------------


@role_app.command("list")
def role_list(
    retired: bool = typer.Option(False, "--retired", help="Show retired roles too."),
) -> None:
    """List the role catalogue."""
    with reported(), opened() as ctx:
        catalogue = roles.list_roles(ctx, OPERATOR, retired=retired)

    table = Table("key", "name", "description", "retired")
    for role in catalogue:
        table.add_row(
            plain(role.key),
            plain(role.name),
            plain(role.description),
            "yes" if role.retired else "",
        )
    console.print(table)


@role_app.command("add")
def role_add(
    key: str = typer.Argument(..., help="Short lower-case key, as `liaison`."),
    name: str = typer.Argument(..., help="The role's name."),
    description: str = typer.Option("", help="What the role does."),
) -> None:
    """Add a role to the catalogue."""
    with reported(), opened() as ctx:
        role = roles.create_role(
            ctx, OPERATOR, key=key, name=name, description=description
        )

    console.print(plain(f"role {role.key}: {role.name}"))


@role_app.command("retire")
def role_retire(
    key: str = typer.Argument(..., help="The role's key."),
    undo: bool = typer.Option(False, "--undo", help="Bring the role back."),
) -> None:
    """Retire a role (it can no longer be assigned), or bring it back."""
    with reported(), opened() as ctx:
        role = roles.update_role(ctx, OPERATOR, key, retired=not undo)

    console.print(
        plain(f"role {role.key} is {'retired' if role.retired else 'in use'}")
    )


@role_app.command("assign")
def role_assign(
    number: int = NUMBER,
    role: str = typer.Argument(..., help="The role's key, as `commander`."),
    email: str = typer.Argument(..., help="Who takes the role."),
    as_email: str | None = AS,
) -> None:
    """Give a role on an incident to a user, who is notified; a handover if
    someone holds it."""
    with reported(), opened() as ctx:
        user_id = ids_by_name(ctx, email=email) or 0
        holders = roles.assign(ctx, actor(ctx, as_email), number, role, user_id)

    _print_holders(holders)


@role_app.command("release")
def role_release(
    number: int = NUMBER,
    role: str = typer.Argument(..., help="The role's key."),
    as_email: str | None = AS,
) -> None:
    """Leave a role on an incident without a holder."""
    with reported(), opened() as ctx:
        holders = roles.release(ctx, actor(ctx, as_email), number, role)

    _print_holders(holders)


@role_app.command("show")
def role_show(
    number: int = NUMBER,
    history: bool = typer.Option(False, "--history", help="Every holding."),
    as_email: str | None = AS,
) -> None:
    """Who holds which role on an incident."""
    with reported(), opened() as ctx:
        holders = roles.incident_roles(
            ctx, actor(ctx, as_email), number, history=history
        )

    _print_holders(holders)


def _print_holders(holders: list[RoleHolderRead]) -> None:
    if not holders:
        console.print("nobody holds a role")
        return
    table = Table("role", "holder", "since", "until")
    for holder in holders:
        table.add_row(
            plain(holder.role),
            plain(holder.user.email),
            when(holder.assigned_at),
            when(holder.ended_at) if holder.ended_at else "",
        )
    console.print(table)


# Responders --------------------------------------------------------------------


@responder_app.command("add")
def responder_add(
    number: int = NUMBER,
    user: str | None = typer.Option(None, "--user", metavar="EMAIL"),
    team: str | None = typer.Option(None, "--team", metavar="NAME"),
    policy: str | None = typer.Option(
        None, "--policy", metavar="NAME", help="Pages the policy's first step."
    ),
    as_email: str | None = AS,
) -> None:
    """Add a user, a team or an escalation policy to an incident: they are
    paged and become participants."""
    with reported(), opened() as ctx:
        if [user, team, policy].count(None) != 2:
            raise InvalidInput("name one of --user, --team or --policy")
        team_read = responders.add(
            ctx,
            actor(ctx, as_email),
            number,
            user_id=ids_by_name(ctx, email=user) if user else None,
            team_id=ids_by_name(ctx, team=team) if team else None,
            policy_id=ids_by_name(ctx, policy=policy) if policy else None,
        )

    _print_participants(team_read.participants)


@responder_app.command("list")
def responder_list(number: int = NUMBER, as_email: str | None = AS) -> None:
    """List an incident's participants and how they came."""
    with reported(), opened() as ctx:
        team_read = responders.response_team(ctx, actor(ctx, as_email), number)

    _print_participants(team_read.participants)


def _print_participants(participants: list[ParticipantRead]) -> None:
    table = Table("participant", "since", "via")
    for participant in participants:
        table.add_row(
            plain(participant.user.email),
            when(participant.joined_at),
            plain(participant.via),
        )
    console.print(table)


# Tasks -------------------------------------------------------------------------


@task_app.command("add")
def task_add(
    number: int = NUMBER,
    title: str = typer.Argument(..., help="What needs doing."),
    owner: str | None = typer.Option(None, "--owner", metavar="EMAIL"),
    due: str | None = typer.Option(
        None, "--due", metavar="TIME", help="ISO 8601 with offset: 2026-03-02T10:00Z."
    ),
    as_email: str | None = AS,
) -> None:
    """Add a task; its owner is told, and reminded once it is overdue."""
    with reported(), opened() as ctx:
        task = tasks.create(
            ctx,
            actor(ctx, as_email),
            number,
            title=title,
            owner_id=ids_by_name(ctx, email=owner) if owner else None,
            due_at=instant(due, "--due"),
        )

    _print_tasks([task])


@task_app.command("list")
def task_list(number: int = NUMBER, as_email: str | None = AS) -> None:
    """List an incident's tasks."""
    with reported(), opened() as ctx:
        found = tasks.list_tasks(ctx, actor(ctx, as_email), number)

    _print_tasks(found)


@task_app.command("set")
def task_set(
    number: int = NUMBER,
    task_id: int = typer.Argument(..., min=1, max=MAX_ID, help="The task's id."),
    status: str | None = typer.Option(
        None, help="open, in_progress, done or cancelled."
    ),
    title: str | None = typer.Option(None),
    owner: str | None = typer.Option(
        None, "--owner", metavar="EMAIL", help="`-` for nobody."
    ),
    due: str | None = typer.Option(
        None, "--due", metavar="TIME", help="ISO 8601 with offset; `-` for none."
    ),
    as_email: str | None = AS,
) -> None:
    """Change a task's status, title, owner or due time."""
    with reported(), opened() as ctx:
        task = tasks.update(
            ctx,
            actor(ctx, as_email),
            number,
            task_id,
            title=title,
            status=status,
            owner_id=(
                KEEP
                if owner is None
                else None
                if owner == "-"
                else ids_by_name(ctx, email=owner)
            ),
            due_at=(
                KEEP if due is None else None if due == "-" else instant(due, "--due")
            ),
        )

    _print_tasks([task])


def _print_tasks(found: list[TaskRead]) -> None:
    if not found:
        console.print("no tasks")
        return
    table = Table("id", "status", "title", "owner", "due")
    for task in found:
        table.add_row(
            str(task.id),
            plain(task.status + (" (overdue)" if task.overdue else "")),
            plain(task.title),
            plain(task.owner.email if task.owner else "-"),
            when(task.due_at),
        )
    console.print(table)


# Notes -------------------------------------------------------------------------


@note_app.command("add")
def note_add(
    number: int = NUMBER,
    text: str = typer.Argument(..., help="The note (markdown)."),
    tag: str | None = typer.Option(
        None, help="diagnostic_step, finding, decision or action."
    ),
    as_email: str | None = AS,
) -> None:
    """Add a note to an incident's timeline."""
    with reported(), opened() as ctx:
        note = notes.add(ctx, actor(ctx, as_email), number, text, tag)

    _print_notes([note])


@note_app.command("list")
def note_list(
    number: int = NUMBER,
    pinned: bool = typer.Option(False, "--pinned", help="Only pinned notes."),
    tag: str | None = typer.Option(None, help="Only notes with this tag."),
    as_email: str | None = AS,
) -> None:
    """List an incident's notes, oldest first."""
    with reported(), opened() as ctx:
        found = notes.list_notes(
            ctx, actor(ctx, as_email), number, pinned=pinned, tag=tag
        )

    _print_notes(found)


@note_app.command("edit")
def note_edit(
    number: int = NUMBER,
    note_id: int = typer.Argument(..., min=1, max=MAX_ID, help="The note's id."),
    text: str | None = typer.Option(None, help="The new text."),
    tag: str | None = typer.Option(None, help="The new tag; `-` for none."),
    as_email: str | None = AS,
) -> None:
    """Edit a note (its author or a manager); the earlier text is kept."""
    with reported(), opened() as ctx:
        note = notes.edit(
            ctx,
            actor(ctx, as_email),
            number,
            note_id,
            text=text,
            tag=None if tag == "-" else tag,
            clear_tag=tag == "-",
        )

    _print_notes([note])


@note_app.command("pin")
def note_pin(
    number: int = NUMBER,
    note_id: int = typer.Argument(..., min=1, max=MAX_ID),
    as_email: str | None = AS,
) -> None:
    """Pin a note."""
    with reported(), opened() as ctx:
        note = notes.pin(ctx, actor(ctx, as_email), number, note_id, pinned=True)

    _print_notes([note])


@note_app.command("unpin")
def note_unpin(
    number: int = NUMBER,
    note_id: int = typer.Argument(..., min=1, max=MAX_ID),
    as_email: str | None = AS,
) -> None:
    """Unpin a note."""
    with reported(), opened() as ctx:
        note = notes.pin(ctx, actor(ctx, as_email), number, note_id, pinned=False)

    _print_notes([note])


@note_app.command("history")
def note_history(
    number: int = NUMBER,
    note_id: int = typer.Argument(..., min=1, max=MAX_ID),
    as_email: str | None = AS,
) -> None:
    """Show what a note said before each edit."""
    with reported(), opened() as ctx:
        versions = notes.versions(ctx, actor(ctx, as_email), number, note_id)

    if not versions:
        console.print("never edited")
        return
    table = Table("written", "replaced", "by", "tag", "text")
    for version in versions:
        table.add_row(
            when(version.written_at),
            when(version.replaced_at),
            plain(version.replaced_by_label),
            plain(version.tag or ""),
            plain(version.text),
        )
    console.print(table)


def _print_notes(found: list[NoteRead]) -> None:
    if not found:
        console.print("no notes")
        return
    table = Table("id", "at", "by", "tag", "pinned", "text")
    for note in found:
        table.add_row(
            str(note.id),
            when(note.created_at),
            plain(note.author),
            plain(note.tag or ""),
            "yes" if note.pinned else "",
            plain(note.text + (f" (edited {note.edits}x)" if note.edits else "")),
        )
    console.print(table)
