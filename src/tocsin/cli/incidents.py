"""`incident list|show|ack|resolve|reopen`: the services the API calls, from a shell.

Commands act as the operator (whoever holds the shell and the database) unless
`--as EMAIL` names a user; then they carry that user's role and teams, so the
operator can do no more than the user could through the API.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table
from rich.text import Text

from tocsin.api.schemas import MAX_ID
from tocsin.cli.common import console, opened, plain, printable, reported
from tocsin.cli.people import OPERATOR
from tocsin.domain.access import Actor
from tocsin.domain.incidents import IncidentStatus
from tocsin.schemas import IncidentDetail, UserRef
from tocsin.services import incidents, users
from tocsin.services.context import Context
from tocsin.services.incidents import IncidentFilter

incident_app = typer.Typer(help="Incidents.", no_args_is_help=True)

_AS_HELP = "Act as this user, with their role and teams (default: the operator)."
_NUMBER_HELP = "The incident's number, as in #42."


def register(app: typer.Typer) -> None:
    app.add_typer(incident_app, name="incident")


def _actor(ctx: Context, email: str | None) -> Actor:
    return OPERATOR if email is None else users.act_as(ctx, email)


def _when(at: datetime | None, *, seconds: bool = True) -> str:
    if at is None:
        return "-"
    return at.astimezone(UTC).strftime(
        "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    )


def _done(at: datetime, by: UserRef | None) -> Text:
    """When something happened, and by whom if a user (not Tocsin) did it."""
    return plain(f"{_when(at)} UTC" + (f" by {by.email}" if by else ""))


def _who(user: UserRef | None) -> str:
    return user.email if user else "-"


@incident_app.command("list")
def incident_list(
    status: list[IncidentStatus] = typer.Option(
        [], "--status", help="Only this status (repeatable)."
    ),
    limit: int = typer.Option(20, min=1, max=500, help="Show at most this many."),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """List incidents, newest first."""
    with reported(), opened() as ctx:
        where = IncidentFilter(status=tuple(status), limit=limit)
        page = incidents.list_incidents(ctx, _actor(ctx, as_email), where)

    if not page.items:
        console.print("no incidents")
        return

    table = Table()
    for column in ("#", "status", "severity"):
        table.add_column(column, no_wrap=True)
    table.add_column("service")
    table.add_column("title", ratio=1)
    table.add_column("assignee")
    table.add_column("opened (UTC)", no_wrap=True)
    for item in page.items:
        table.add_row(
            str(item.number),
            plain(item.status),
            plain(item.severity),
            plain(item.service.name),
            plain(item.title),
            plain(_who(item.assignee)),
            _when(item.created_at, seconds=False),
        )
    console.print(table)
    console.print(f"{len(page.items)} of {page.total}", highlight=False)


@incident_app.command("show")
def incident_show(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help=_NUMBER_HELP),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Show one incident: its state, alerts and timeline."""
    with reported(), opened() as ctx:
        incident = incidents.get(ctx, _actor(ctx, as_email), number)

    _print_detail(incident)


@incident_app.command("ack")
def incident_ack(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help=_NUMBER_HELP),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Acknowledge an incident: paging stops."""
    with reported(), opened() as ctx:
        incident = incidents.acknowledge(ctx, _actor(ctx, as_email), number)

    console.print(
        plain(f"incident #{incident.number} is {incident.status}"), highlight=False
    )


@incident_app.command("resolve")
def incident_resolve(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help=_NUMBER_HELP),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Resolve an incident and its firing alerts."""
    with reported(), opened() as ctx:
        incident = incidents.resolve(ctx, _actor(ctx, as_email), number)

    console.print(
        plain(f"incident #{incident.number} is {incident.status}"), highlight=False
    )


@incident_app.command("reopen")
def incident_reopen(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help=_NUMBER_HELP),
    reason: str = typer.Option(
        "", "--reason", help="Why it is back (optional); shown on its timeline."
    ),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Reopen a resolved incident: it triggers and pages from step 1 again."""
    with reported(), opened() as ctx:
        incident = incidents.reopen(ctx, _actor(ctx, as_email), number, reason)

    console.print(
        plain(f"incident #{incident.number} is {incident.status}"), highlight=False
    )


def _add_triage_facts(facts: Table, incident: IncidentDetail) -> None:
    """What triage recorded, each row only once it is set."""
    if incident.priority:
        pair = f"(impact {incident.impact}, urgency {incident.urgency})"
        facts.add_row("priority", plain(f"{incident.priority} {pair}"))
    if incident.incident_type:
        facts.add_row("type", plain(incident.incident_type.name))
    if incident.stage:
        facts.add_row("stage", plain(incident.stage))
    if incident.declared:
        who = f"({incident.declared_by_label})"
        facts.add_row("declared", plain(f"{incident.declared_reason} {who}"))
    if incident.affected_services:
        names = ", ".join(service.name for service in incident.affected_services)
        facts.add_row("affected", plain(names))
    if incident.customers_affected is not None:
        about = "about " if incident.customers_affected_estimated else ""
        facts.add_row("customers", f"{about}{incident.customers_affected}")
    kinds = [
        kind
        for kind, marked in (
            ("financial", incident.impact_financial),
            ("reputational", incident.impact_reputational),
            ("legal or regulatory", incident.impact_legal),
        )
        if marked
    ]
    parts = [", ".join(kinds), incident.business_impact]
    if any(parts):
        text = ": ".join(part for part in parts if part)
        facts.add_row("business impact", plain(text))


def _print_detail(incident: IncidentDetail) -> None:
    heading = Text(f"#{incident.number} ", style="bold")
    heading.append(printable(incident.title))
    console.print(heading)

    facts = Table.grid(padding=(0, 2))
    facts.add_row("status", plain(incident.status))
    facts.add_row("severity", plain(incident.severity))
    facts.add_row("service", plain(incident.service.name))
    facts.add_row("assignee", plain(_who(incident.assignee)))
    facts.add_row("opened", f"{_when(incident.created_at)} UTC")
    if incident.acknowledged_at:
        facts.add_row(
            "acknowledged", _done(incident.acknowledged_at, incident.acknowledged_by)
        )
    if incident.resolved_at:
        facts.add_row("resolved", _done(incident.resolved_at, incident.resolved_by))
    if incident.description:
        facts.add_row("description", plain(incident.description))
    _add_triage_facts(facts, incident)
    console.print(facts)

    if incident.alerts:
        alerts = Table("dedup key", "status", "events", "summary", title="Alerts")
        for alert in incident.alerts:
            alerts.add_row(
                plain(alert.dedup_key),
                plain(alert.status),
                str(alert.event_count),
                plain(alert.summary),
            )
        console.print(alerts)

    if incident.recent_changes:
        # What changed shortly before: the first candidates for a rollback.
        recent = Table("at (UTC)", "kind", "version", "summary", "by")
        recent.title = "Recent changes"
        for change in incident.recent_changes:
            recent.add_row(
                _when(change.at),
                plain(change.kind),
                plain(change.version or "-"),
                plain(change.summary),
                plain(change.source),
            )
        console.print(recent)

    timeline = Table(title="Timeline")
    timeline.add_column("at (UTC)", no_wrap=True)
    timeline.add_column("by")
    timeline.add_column("what")
    timeline.add_column("message")
    for entry in incident.timeline:
        timeline.add_row(
            _when(entry.at),
            plain(entry.actor_label),
            plain(entry.kind),
            plain(entry.message),
        )
    console.print(timeline)
