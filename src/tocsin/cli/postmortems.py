"""`postmortem` and `action-item`: learning after an incident, from a shell.

Commands act as the operator unless `--as EMAIL` names a user. People and
runbooks are named (by email or name) where the API takes ids.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tocsin.api.schemas import MAX_ID
from tocsin.cli.common import console, opened, plain, reported
from tocsin.cli.response import AS, actor, instant, when
from tocsin.domain.postmortems import SECTION_KEYS, SECTIONS
from tocsin.errors import InvalidInput
from tocsin.postmortem_schemas import ActionItemRead
from tocsin.services import action_items, postmortem_review, postmortems, runbooks

# Imported for its flush hook: a resolution by any command (`tocsin incident
# resolve` too) queues the feedback survey; action_items above does the same
# for runbook edits closing documentation items.
from tocsin.services import feedback as _feedback_hook  # noqa: F401
from tocsin.services.incident_scope import ids_by_name

postmortem_app = typer.Typer(
    help="Postmortems: drafted from incidents, reviewed, published.",
    no_args_is_help=True,
)
template_app = typer.Typer(help="Postmortem templates.", no_args_is_help=True)
action_app = typer.Typer(
    help="Action items from postmortems, across incidents.", no_args_is_help=True
)

ID = typer.Argument(..., min=1, max=MAX_ID, help="The postmortem's id.")
ITEM = typer.Argument(..., min=1, max=MAX_ID, help="The action item's id.")
SECTION_NAMES = ", ".join(key for key, _ in SECTIONS)


def register(app: typer.Typer) -> None:
    postmortem_app.add_typer(template_app, name="template")
    app.add_typer(postmortem_app, name="postmortem")
    app.add_typer(action_app, name="action-item")


# Postmortems ---------------------------------------------------------------


@postmortem_app.command("create")
def create(
    numbers: list[int] = typer.Argument(
        ..., min=1, max=MAX_ID, help="Incident numbers it covers."
    ),
    title: str | None = typer.Option(None, help="Default: from the first incident."),
    template: str | None = typer.Option(None, help="Default: the default template."),
    as_email: str | None = AS,
) -> None:
    """Start a postmortem, prefilled from the incidents' record."""
    with reported(), opened() as ctx:
        read = postmortems.create(
            ctx, actor(ctx, as_email), numbers, title=title, template=template
        )

    console.print(
        plain(f"postmortem {read.id}: {read.title} (due {when(read.due_at)})")
    )


@postmortem_app.command("list")
def list_(
    status: str | None = typer.Option(None, help="draft, in_review or published."),
    as_email: str | None = AS,
) -> None:
    """List postmortems, newest first."""
    with reported(), opened() as ctx:
        found = postmortems.list_postmortems(ctx, actor(ctx, as_email), status=status)

    table = Table("id", "title", "status", "incidents", "due")
    for brief in found:
        table.add_row(
            str(brief.id),
            plain(brief.title),
            brief.status,
            ", ".join(f"#{n}" for n in brief.incident_numbers),
            when(brief.due_at) + (" (overdue)" if brief.overdue else ""),
        )
    console.print(table)


@postmortem_app.command("show")
def show(postmortem_id: int = ID, as_email: str | None = AS) -> None:
    """Print a postmortem as Markdown, then its reviewers and comments."""
    with reported(), opened() as ctx:
        who = actor(ctx, as_email)
        text = postmortems.export(ctx, who, postmortem_id, "markdown")
        read = postmortems.get(ctx, who, postmortem_id)

    console.print(plain(text), end="")
    for reviewer in read.reviewers:
        state = f"approved {when(reviewer.approved_at)}" if reviewer.approved_at else ""
        console.print(plain(f"reviewer {reviewer.user.email} {state}".rstrip()))
    for note in read.comments:
        console.print(plain(f"comment by {note.author}, {when(note.created_at)}:"))
        console.print(plain(f"  {note.text}"))


@postmortem_app.command("edit")
def edit(
    postmortem_id: int = ID,
    section: str = typer.Argument(..., help=f"One of {SECTION_NAMES}."),
    text: str | None = typer.Option(None, help="The section's new markdown."),
    file: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="Read the markdown from a file."
    ),
    as_email: str | None = AS,
) -> None:
    """Replace one section's text (from --text or --file)."""
    if (text is None) == (file is None):
        raise InvalidInput("give the section's text with --text or --file, not both")
    if section not in SECTION_KEYS:
        raise InvalidInput(f"unknown section {section!r}; sections are {SECTION_NAMES}")
    body = text if text is not None else _read_file(file)
    with reported(), opened() as ctx:
        postmortems.update(
            ctx, actor(ctx, as_email), postmortem_id, sections={section: body}
        )

    console.print(plain(f"postmortem {postmortem_id}: {section} saved"))


@postmortem_app.command("whys")
def whys(
    postmortem_id: int = ID,
    answers: list[str] = typer.Argument(
        ..., help="Up to five answers, each the cause of the one before."
    ),
    as_email: str | None = AS,
) -> None:
    """Set the five-whys chain, which leads the root causes."""
    with reported(), opened() as ctx:
        postmortems.update(ctx, actor(ctx, as_email), postmortem_id, five_whys=answers)

    console.print(plain(f"postmortem {postmortem_id}: {len(answers)} whys saved"))


@postmortem_app.command("export")
def export(
    postmortem_id: int = ID,
    format: str = typer.Option("markdown", help="markdown, html or pdf."),
    output: Path = typer.Option(..., "--output", "-o", help="The file to write."),
    as_email: str | None = AS,
) -> None:
    """Write a postmortem to a Markdown, self-contained HTML or PDF file (PDF
    needs the `pdf` extra)."""
    with reported():
        if format not in ("markdown", "html", "pdf"):
            raise InvalidInput("--format is markdown, html or pdf")
        with opened() as ctx:
            who = actor(ctx, as_email)
            if format == "pdf":
                content = postmortems.export_pdf(ctx, who, postmortem_id)
            else:
                text = postmortems.export(
                    ctx, who, postmortem_id, "html" if format == "html" else "markdown"
                )
                content = text.encode("utf-8")
        try:
            output.write_bytes(content)
        except OSError as error:
            raise InvalidInput(f"cannot write {output}: {error.strerror}") from None

    console.print(plain(f"wrote {output}"))


# Templates -----------------------------------------------------------------


@template_app.command("list")
def template_list() -> None:
    """List the templates (the built-in blameless one included)."""
    with reported(), opened() as ctx:
        found = postmortems.list_templates(ctx, actor(ctx, None))

    table = Table("name", "default", "sections with guidance")
    for template in found:
        guided = [key for key, text in template.sections.items() if text]
        table.add_row(
            plain(template.name),
            "yes" if template.is_default else "",
            ", ".join(guided),
        )
    console.print(table)


@template_app.command("save")
def template_save(
    name: str = typer.Argument(..., help="The template's name."),
    section: list[str] = typer.Option(
        [], "--section", metavar="KEY=TEXT", help="Guidance for a section."
    ),
    default: bool = typer.Option(False, "--default", help="Make it the default."),
) -> None:
    """Create or replace a template (as the operator, an admin)."""
    guidance: dict[str, str] = {}
    with reported():
        for pair in section:
            key, sep, text = pair.partition("=")
            if not sep:
                raise InvalidInput(f"--section takes KEY=TEXT, not {pair!r}")
            guidance[key.strip()] = text
        with opened() as ctx:
            saved = postmortems.save_template(
                ctx, actor(ctx, None), name, guidance, is_default=default
            )

    console.print(plain(f"template {saved.name} saved"))


# Action items --------------------------------------------------------------


@action_app.command("add")
def item_add(
    postmortem_id: int = ID,
    title: str = typer.Argument(..., help="What is to be done."),
    kind: str = typer.Option(
        ..., help="prevent, detect, mitigate or update_documentation."
    ),
    priority: str = typer.Option("medium", help="high, medium or low."),
    owner: str | None = typer.Option(None, metavar="EMAIL", help="Who does it."),
    due: str | None = typer.Option(None, help="ISO 8601 with offset: 2026-03-09Z."),
    tracker: str | None = typer.Option(None, help="An http(s) link to a tracker."),
    runbook: str | None = typer.Option(
        None, help="For update_documentation: the runbook's name."
    ),
    as_email: str | None = AS,
) -> None:
    """Add an action item to a postmortem; the owner is told."""
    with reported(), opened() as ctx:
        who = actor(ctx, as_email)
        owner_id = ids_by_name(ctx, email=owner) if owner else None
        runbook_id = runbooks.find(ctx, who, runbook).id if runbook else None
        item = action_items.create(
            ctx,
            who,
            postmortem_id,
            title=title,
            kind=kind,
            priority=priority,
            owner_id=owner_id,
            due_at=instant(due, "--due"),
            tracker_url=tracker,
            runbook_id=runbook_id,
        )

    console.print(plain(f"action item {item.id}: {item.title}"))


@action_app.command("list")
def item_list(
    status: str | None = typer.Option(
        None, help="open, in_progress, done, cancelled, or pending (not closed)."
    ),
    owner: str | None = typer.Option(None, metavar="EMAIL", help="Only theirs."),
    overdue: bool = typer.Option(False, "--overdue", help="Only overdue ones."),
    as_email: str | None = AS,
) -> None:
    """Action items across all incidents, soonest due first."""
    with reported(), opened() as ctx:
        owner_id = ids_by_name(ctx, email=owner) if owner else None
        found = action_items.list_all(
            ctx, actor(ctx, as_email), status=status, owner_id=owner_id, overdue=overdue
        )

    _print_items(found)


@action_app.command("update")
def item_update(
    item_id: int = ITEM,
    status: str | None = typer.Option(None, help="open, in_progress, done, cancelled."),
    priority: str | None = typer.Option(None, help="high, medium or low."),
    owner: str | None = typer.Option(None, metavar="EMAIL", help="A new owner."),
    due: str | None = typer.Option(None, help="A new due date, ISO 8601."),
    tracker: str | None = typer.Option(None, help="A new tracker link."),
    as_email: str | None = AS,
) -> None:
    """Change an action item's status, priority, owner, due date or link."""
    with reported(), opened() as ctx:
        keep = action_items.KEEP
        item = action_items.update(
            ctx,
            actor(ctx, as_email),
            item_id,
            status=status,
            priority=priority,
            owner_id=ids_by_name(ctx, email=owner) if owner else keep,
            due_at=instant(due, "--due") if due else keep,
            tracker_url=tracker if tracker is not None else keep,
        )

    _print_items([item])


def _print_items(items: list[ActionItemRead]) -> None:
    table = Table(
        "id", "incidents", "title", "kind", "priority", "status", "owner", "due"
    )
    for item in items:
        due = when(item.due_at) + (" (overdue)" if item.overdue else "")
        table.add_row(
            str(item.id),
            ", ".join(f"#{n}" for n in item.incident_numbers),
            plain(item.title),
            item.kind,
            item.priority,
            item.status,
            plain(item.owner.email) if item.owner else "-",
            due,
        )
    console.print(table)


def _read_file(path: Path | None) -> str:
    if path is None:
        raise InvalidInput("no file given")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read {path}: {error}") from None


# Review --------------------------------------------------------------------


@postmortem_app.command("submit")
def submit(
    postmortem_id: int = ID,
    reviewers: list[str] = typer.Argument(..., metavar="EMAIL...", help="Reviewers."),
    as_email: str | None = AS,
) -> None:
    """Send a draft for review; the reviewers are told."""
    with reported(), opened() as ctx:
        ids = [ids_by_name(ctx, email=email) or 0 for email in reviewers]
        read = postmortem_review.submit(ctx, actor(ctx, as_email), postmortem_id, ids)

    console.print(plain(f"postmortem {read.id} is {read.status.replace('_', ' ')}"))


@postmortem_app.command("comment")
def comment(
    postmortem_id: int = ID,
    text: str = typer.Argument(..., help="The comment."),
    as_email: str | None = AS,
) -> None:
    """Add a review comment."""
    with reported(), opened() as ctx:
        postmortem_review.comment(ctx, actor(ctx, as_email), postmortem_id, text)

    console.print(plain(f"postmortem {postmortem_id}: comment added"))


@postmortem_app.command("approve")
def approve(postmortem_id: int = ID, as_email: str | None = AS) -> None:
    """Approve as one of the reviewers (use --as for the reviewer)."""
    with reported(), opened() as ctx:
        postmortem_review.approve(ctx, actor(ctx, as_email), postmortem_id)

    console.print(plain(f"postmortem {postmortem_id}: approved"))


@postmortem_app.command("publish")
def publish(postmortem_id: int = ID, as_email: str | None = AS) -> None:
    """Publish once every reviewer approved (or as a manager)."""
    with reported(), opened() as ctx:
        read = postmortem_review.publish(ctx, actor(ctx, as_email), postmortem_id)

    console.print(plain(f"postmortem {read.id} is published"))


@postmortem_app.command("reopen")
def reopen(postmortem_id: int = ID, as_email: str | None = AS) -> None:
    """Back to draft for a correction; approvals are cleared."""
    with reported(), opened() as ctx:
        postmortem_review.reopen(ctx, actor(ctx, as_email), postmortem_id)

    console.print(plain(f"postmortem {postmortem_id} is a draft again"))
