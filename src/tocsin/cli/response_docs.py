"""`runbook`, `update` and `template`: the written side of a response.

Commands act as the operator unless `--as EMAIL` names a user. Long texts
(a runbook's markdown, a template's body) can be read from a file.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tocsin.api.schemas import MAX_ID
from tocsin.cli.common import console, opened, plain, reported
from tocsin.cli.people import OPERATOR
from tocsin.cli.response import AS, NUMBER, actor, instant, when
from tocsin.errors import InvalidInput
from tocsin.response_schemas import ChecklistRead, RunbookRead, TemplateRead
from tocsin.services import runbooks, update_subscriptions, updates
from tocsin.services.runbooks import RunbookInput, parse_step
from tocsin.services.updates import TemplateInput, UpdateInput

runbook_app = typer.Typer(
    help="Runbooks and incident checklists.", no_args_is_help=True
)
update_app = typer.Typer(help="Stakeholder updates.", no_args_is_help=True)
template_app = typer.Typer(help="Stakeholder update templates.", no_args_is_help=True)

_STEP_HELP = "A checklist step, in order (repeatable); `rollback: TEXT` links the "
_STEP_HELP += "service's most recent change."
_MAX_FILE = 200_000


def register(app: typer.Typer) -> None:
    app.add_typer(runbook_app, name="runbook")
    app.add_typer(update_app, name="update")
    app.add_typer(template_app, name="template")


def _text(value: str | None, path: Path | None, what: str) -> str | None:
    if value is not None and path is not None:
        raise InvalidInput(f"give {what} or its file, not both")
    if path is None:
        return value
    try:
        if path.stat().st_size > _MAX_FILE:
            raise InvalidInput(f"{path} is larger than {_MAX_FILE} bytes")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read {path}: {error}") from None


# Runbooks ----------------------------------------------------------------------


@runbook_app.command("add")
def runbook_add(
    name: str = typer.Argument(..., help="The runbook's name."),
    team: str | None = typer.Option(None, help="The team that keeps it."),
    body: str | None = typer.Option(None, help="Markdown guidance."),
    body_file: Path | None = typer.Option(None, help="Read the markdown from here."),
    step: list[str] = typer.Option([], "--step", help=_STEP_HELP),
    service: list[str] = typer.Option([], "--service", help="Applies to (repeat)."),
    incident_type: list[str] = typer.Option(
        [], "--type", help="Incident type name it applies to (repeat)."
    ),
) -> None:
    """Add a runbook."""
    with reported(), opened() as ctx:
        runbook = runbooks.create(
            ctx,
            OPERATOR,
            RunbookInput(
                name=name,
                body=_text(body, body_file, "--body") or "",
                team=team,
                steps=tuple(parse_step(text) for text in step),
                services=tuple(service),
                incident_types=tuple(incident_type),
            ),
        )

    _print_runbook(runbook)


@runbook_app.command("list")
def runbook_list(
    service: str | None = typer.Option(None, help="Only for this service."),
    incident_type: str | None = typer.Option(None, "--type", help="Only this type."),
) -> None:
    """List runbooks."""
    with reported(), opened() as ctx:
        found = runbooks.list_runbooks(
            ctx, OPERATOR, service=service, incident_type=incident_type
        )

    table = Table("id", "name", "team", "steps", "services", "types")
    for runbook in found:
        table.add_row(
            str(runbook.id),
            plain(runbook.name),
            plain(runbook.team or "-"),
            str(len(runbook.steps)),
            plain(", ".join(runbook.services)),
            plain(", ".join(runbook.incident_types)),
        )
    console.print(table)


@runbook_app.command("show")
def runbook_show(name: str = typer.Argument(..., help="The runbook's name.")) -> None:
    """Show a runbook: its markdown and steps."""
    with reported(), opened() as ctx:
        runbook = runbooks.find(ctx, OPERATOR, name)

    _print_runbook(runbook)


@runbook_app.command("start")
def runbook_start(
    number: int = NUMBER,
    name: str = typer.Argument(..., help="The runbook's name."),
    as_email: str | None = AS,
) -> None:
    """Start a runbook's checklist on an incident."""
    with reported(), opened() as ctx:
        runbook_id = runbooks.find(ctx, OPERATOR, name).id
        checklist = runbooks.start_checklist(
            ctx, actor(ctx, as_email), number, runbook_id
        )

    _print_checklists([checklist])


@runbook_app.command("check")
def runbook_check(
    number: int = NUMBER,
    checklist_id: int = typer.Argument(..., min=1, max=MAX_ID),
    item_id: int = typer.Argument(..., min=1, max=MAX_ID),
    undo: bool = typer.Option(False, "--undo", help="Uncheck the item."),
    as_email: str | None = AS,
) -> None:
    """Check (or uncheck) an item of an incident's checklist."""
    with reported(), opened() as ctx:
        checklist = runbooks.check_item(
            ctx, actor(ctx, as_email), number, checklist_id, item_id, done=not undo
        )

    _print_checklists([checklist])


@runbook_app.command("checklists")
def runbook_checklists(number: int = NUMBER, as_email: str | None = AS) -> None:
    """Show an incident's checklists."""
    with reported(), opened() as ctx:
        found = runbooks.checklists(ctx, actor(ctx, as_email), number)

    if not found:
        console.print("no checklists")
        return
    _print_checklists(found)


def _print_runbook(runbook: RunbookRead) -> None:
    console.print(plain(f"runbook {runbook.id}: {runbook.name}"))
    if runbook.body:
        console.print(plain(runbook.body))
    for step in runbook.steps:
        kind = " (rollback)" if step.kind == "rollback" else ""
        console.print(plain(f"  {step.position + 1}. {step.text}{kind}"))


def _print_checklists(found: list[ChecklistRead]) -> None:
    for checklist in found:
        table = Table(
            "item",
            "done",
            "step",
            "by",
            title=plain(f"checklist {checklist.id}: {checklist.name}"),
        )
        for item in checklist.items:
            text = item.text
            if item.change is not None:
                text += f" [change: {item.change.summary}, {when(item.change.at)}]"
            table.add_row(
                str(item.id),
                "x" if item.done else "",
                plain(text),
                plain(item.done_by),
            )
        console.print(table)


# Updates -----------------------------------------------------------------------


def _update_input(
    audience: str,
    template: str | None,
    subject: str | None,
    body: str | None,
    variables: list[str],
    eta: str | None,
    status_page: bool,
) -> UpdateInput:
    values: dict[str, str] = {}
    for pair in variables:
        name, equals, value = pair.partition("=")
        if not equals:
            raise InvalidInput(f"--var {pair!r}: write NAME=VALUE")
        values[name.strip()] = value
    return UpdateInput(
        audience=audience,
        template=template,
        subject=subject,
        body=body,
        variables=values,
        eta=instant(eta, "--eta"),
        status_page=status_page,
    )


_AUDIENCE = typer.Option(..., help="internal, executive or customers.")
_TEMPLATE = typer.Option(None, help="A template's name (default: the one that fits).")
_VAR = typer.Option([], "--var", metavar="NAME=VALUE", help="A template variable.")
_ETA = typer.Option(None, metavar="TIME", help="Expected resolution, ISO 8601.")


@update_app.command("post")
def update_post(
    number: int = NUMBER,
    audience: str = _AUDIENCE,
    template: str | None = _TEMPLATE,
    subject: str | None = typer.Option(None, help="Write the subject yourself."),
    body: str | None = typer.Option(None, help="Write the body yourself."),
    var: list[str] = _VAR,
    eta: str | None = _ETA,
    status_page: bool = typer.Option(
        False, "--status-page", help="Post the body to the status page too."
    ),
    as_email: str | None = AS,
) -> None:
    """Send a stakeholder update to the incident's and its team's subscribers."""
    with reported(), opened() as ctx:
        update = updates.post(
            ctx,
            actor(ctx, as_email),
            number,
            _update_input(audience, template, subject, body, var, eta, status_page),
        )

    console.print(plain(f"update {update.id} sent to {update.recipients} recipients"))
    console.print(plain(update.subject))
    console.print(plain(update.body))


@update_app.command("preview")
def update_preview(
    number: int = NUMBER,
    audience: str = _AUDIENCE,
    template: str | None = _TEMPLATE,
    var: list[str] = _VAR,
    eta: str | None = _ETA,
    as_email: str | None = AS,
) -> None:
    """Render an update from a template without sending it."""
    with reported(), opened() as ctx:
        rendered = updates.preview(
            ctx,
            actor(ctx, as_email),
            number,
            _update_input(audience, template, None, None, var, eta, False),
        )

    console.print(plain(rendered.subject))
    console.print(plain(rendered.body))


@update_app.command("list")
def update_list(number: int = NUMBER, as_email: str | None = AS) -> None:
    """List the updates sent about an incident."""
    with reported(), opened() as ctx:
        found = updates.list_updates(ctx, actor(ctx, as_email), number)

    table = Table("at", "audience", "by", "to", "eta", "subject")
    for update in found:
        table.add_row(
            when(update.created_at),
            plain(update.audience),
            plain(update.author_label),
            str(update.recipients) + (" + status page" if update.status_page else ""),
            when(update.eta),
            plain(update.subject),
        )
    console.print(table)


@update_app.command("subscribe")
def update_subscribe(
    address: str = typer.Argument(
        ..., help="An email address, or with --slack a channel id or webhook URL."
    ),
    incident: int | None = typer.Option(None, min=1, max=MAX_ID, metavar="NUMBER"),
    team: str | None = typer.Option(None, help="Every incident of the team's."),
    slack: bool = typer.Option(False, "--slack", help="ADDRESS is a Slack channel."),
    as_email: str | None = AS,
) -> None:
    """Send one incident's updates, or a team's, to an address."""
    with reported(), opened() as ctx:
        subscription = update_subscriptions.subscribe(
            ctx,
            actor(ctx, as_email),
            address,
            number=incident,
            team=team,
            kind="slack" if slack else "email",
        )

    console.print(plain(f"subscription {subscription.id}: {subscription.address}"))


@update_app.command("unsubscribe")
def update_unsubscribe(
    subscription_id: int = typer.Argument(..., min=1, max=MAX_ID),
    as_email: str | None = AS,
) -> None:
    """Stop sending updates to a subscription's address."""
    with reported(), opened() as ctx:
        update_subscriptions.unsubscribe(ctx, actor(ctx, as_email), subscription_id)

    console.print(f"subscription {subscription_id} removed")


# Templates ---------------------------------------------------------------------


@template_app.command("add")
def template_add(
    name: str = typer.Argument(..., help="The template's name."),
    audience: str = _AUDIENCE,
    subject: str = typer.Option(..., help="Subject, with {{ variables }}."),
    body: str | None = typer.Option(None, help="Body, with {{ variables }}."),
    body_file: Path | None = typer.Option(None, help="Read the body from here."),
    incident_type: str | None = typer.Option(
        None, "--type", help="For incidents of this type (default: any)."
    ),
) -> None:
    """Add a stakeholder update template."""
    with reported(), opened() as ctx:
        template = updates.create_template(
            ctx,
            OPERATOR,
            TemplateInput(
                name=name,
                audience=audience,
                subject=subject,
                body=_text(body, body_file, "--body") or "",
                incident_type=incident_type,
            ),
        )

    _print_template(template)


@template_app.command("list")
def template_list() -> None:
    """List the templates."""
    with reported(), opened() as ctx:
        found = updates.list_templates(ctx, OPERATOR)

    table = Table("id", "name", "audience", "type", "subject")
    for template in found:
        table.add_row(
            str(template.id),
            plain(template.name),
            plain(template.audience),
            plain(template.incident_type or "any"),
            plain(template.subject),
        )
    console.print(table)


@template_app.command("show")
def template_show(name: str = typer.Argument(..., help="The template's name.")) -> None:
    """Show a template."""
    with reported(), opened() as ctx:
        template = updates.get_template(ctx, OPERATOR, name)

    _print_template(template)


def _print_template(template: TemplateRead) -> None:
    console.print(
        plain(
            f"template {template.id}: {template.name} ({template.audience}, "
            f"{template.incident_type or 'any type'})"
        )
    )
    console.print(plain(template.subject))
    console.print(plain(template.body))
