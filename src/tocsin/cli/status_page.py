"""`tocsin status component|group|incident|maintenance|subscribers`: running the
public status page from a shell, as the operator.

Components and groups are named by name; public incidents and maintenance by the
number `list` shows.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from tocsin.cli.common import console, opened, plain, reported
from tocsin.cli.people import OPERATOR
from tocsin.domain.status_page import ComponentState, Stage
from tocsin.errors import InvalidInput
from tocsin.services import status_maintenance, status_page, status_subscribers
from tocsin.services.status_common import AUTO
from tocsin.services.status_reads import (
    MAX_ID,
    StatusIncidentRead,
    StatusMaintenanceRead,
)

status_app = typer.Typer(help="The public status page.", no_args_is_help=True)
component_app = typer.Typer(help="Components and their states.", no_args_is_help=True)
group_app = typer.Typer(help="Groups components are shown under.", no_args_is_help=True)
incident_app = typer.Typer(help="Public incidents.", no_args_is_help=True)
maintenance_app = typer.Typer(help="Scheduled maintenance.", no_args_is_help=True)
subscribers_app = typer.Typer(help="Email subscribers.", no_args_is_help=True)

_STATES = ", ".join(state.value for state in ComponentState)
_IMPACT_HELP = "degraded, partial_outage or major_outage."
_STAGE_HELP = ", ".join(stage.value for stage in Stage) + "."
_COMPONENT_HELP = "A component it affects, by name (repeatable)."
_WHEN_HELP = "ISO 8601 with a UTC offset, as 2026-03-02T09:00+01:00."


def register(app: typer.Typer) -> None:
    status_app.add_typer(component_app, name="component")
    status_app.add_typer(group_app, name="group")
    status_app.add_typer(incident_app, name="incident")
    status_app.add_typer(maintenance_app, name="maintenance")
    status_app.add_typer(subscribers_app, name="subscribers")
    app.add_typer(status_app, name="status")


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _instant(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{option}: not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise InvalidInput(f"{option}: add a UTC offset, as {text}+00:00")
    return value


# Components ------------------------------------------------------------------


@component_app.command("add")
def component_add(
    name: str = typer.Argument(
        ..., help="The component's name, as the public sees it."
    ),
    group: str | None = typer.Option(None, help="The group it is shown under."),
    service: str | None = typer.Option(
        None, help="A service whose incidents, posted to the page, affect it."
    ),
    description: str = typer.Option("", help="A line about it, shown under its name."),
    position: int = typer.Option(0, help="Order among its group (smaller first)."),
) -> None:
    """Add a component, operational from now on."""
    with reported(), opened() as ctx:
        component = status_page.create_component(
            ctx,
            OPERATOR,
            name,
            description=description,
            group=group,
            service=service,
            position=position,
        )

    console.print(plain(f"component {component.id} {component.name}"))


@component_app.command("list")
def component_list() -> None:
    """List components with their states."""
    with reported(), opened() as ctx:
        components = status_page.list_components(ctx)

    if not components:
        console.print("no components")
        return

    table = Table("component", "group", "service", "state", "set by hand")
    for item in components:
        table.add_row(
            plain(item.name),
            plain(item.group or "-"),
            plain(item.service or "-"),
            plain(item.state.value),
            plain(item.manual_state.value if item.manual_state else "-"),
        )
    console.print(table)


@component_app.command("set")
def component_set(
    name: str = typer.Argument(..., help="The component's name."),
    state: str = typer.Argument(
        ..., help=f"One of {_STATES}; or {AUTO} to follow incidents again."
    ),
) -> None:
    """Set a component's state by hand. It wins over incidents and maintenance
    until set back to `auto`."""
    with reported(), opened() as ctx:
        component = status_page.set_component_state(ctx, OPERATOR, name, state)

    how = "by hand" if component.manual_state else "following its incidents"
    console.print(plain(f"{component.name} is {component.state.value} ({how})"))


@component_app.command("remove")
def component_remove(
    name: str = typer.Argument(..., help="The component's name."),
) -> None:
    """Delete a component and its uptime history."""
    with reported(), opened() as ctx:
        status_page.delete_component(ctx, OPERATOR, name)

    console.print(plain(f"component {name} removed"))


# Groups ----------------------------------------------------------------------


@group_app.command("add")
def group_add(
    name: str = typer.Argument(..., help="The group's name."),
    position: int = typer.Option(0, help="Order on the page (smaller first)."),
) -> None:
    """Add a group to show components under."""
    with reported(), opened() as ctx:
        group = status_page.create_group(ctx, OPERATOR, name, position=position)

    console.print(plain(f"group {group.id} {group.name}"))


@group_app.command("list")
def group_list() -> None:
    """List groups in page order."""
    with reported(), opened() as ctx:
        groups = status_page.list_groups(ctx)

    if not groups:
        console.print("no groups")
        return
    for group in groups:
        console.print(plain(f"{group.position:>4}  {group.name}"))


@group_app.command("remove")
def group_remove(name: str = typer.Argument(..., help="The group's name.")) -> None:
    """Delete a group; its components stay, in no group."""
    with reported(), opened() as ctx:
        status_page.delete_group(ctx, OPERATOR, name)

    console.print(plain(f"group {name} removed"))


# Incidents -------------------------------------------------------------------


@incident_app.command("open")
def incident_open(
    title: str = typer.Argument(..., help="The title the public sees."),
    impact: str = typer.Option(..., help=_IMPACT_HELP),
    message: str = typer.Option(..., help="The first update, for the public."),
    component: list[str] = typer.Option([], "--component", help=_COMPONENT_HELP),
    stage: str = typer.Option(Stage.INVESTIGATING.value, help=_STAGE_HELP),
    incident: int | None = typer.Option(
        None, min=1, max=MAX_ID, help="The Tocsin incident's number it is about."
    ),
) -> None:
    """Open a public incident with its first update; subscribers are told."""
    with reported(), opened() as ctx:
        opened_incident = status_page.create_incident(
            ctx,
            OPERATOR,
            title=title,
            impact=impact,
            components=component,
            message=message,
            stage=stage,
            incident_number=incident,
        )

    _print_incident(opened_incident)


@incident_app.command("update")
def incident_update(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help="As `list` shows it."),
    message: str = typer.Option(..., help="The update, for the public."),
    stage: str = typer.Option(..., help=_STAGE_HELP + " resolved resolves it."),
    impact: str | None = typer.Option(None, help="A new impact: " + _IMPACT_HELP),
) -> None:
    """Post an update to a public incident; subscribers are told."""
    with reported(), opened() as ctx:
        updated = status_page.add_update(
            ctx, OPERATOR, number, message=message, stage=stage, impact=impact
        )

    _print_incident(updated)


@incident_app.command("list")
def incident_list(
    open_only: bool = typer.Option(False, "--open", help="Only unresolved ones."),
    limit: int = typer.Option(20, min=1, max=500, help="Show at most this many."),
) -> None:
    """List public incidents, newest first."""
    with reported(), opened() as ctx:
        incidents = status_page.list_incidents(
            ctx, OPERATOR, open_only=open_only, limit=limit
        )

    if not incidents:
        console.print("no public incidents")
        return

    table = Table("#", "stage", "impact", "title", "components", "incident", "opened")
    for item in incidents:
        table.add_row(
            str(item.id),
            plain(item.stage),
            plain(item.impact.value),
            plain(item.title),
            plain(", ".join(item.components) or "-"),
            f"#{item.incident_number}" if item.incident_number else "-",
            _when(item.created_at),
        )
    console.print(table)


@incident_app.command("show")
def incident_show(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help="As `list` shows it."),
) -> None:
    """Show a public incident with its updates."""
    with reported(), opened() as ctx:
        found = status_page.get_incident(ctx, OPERATOR, number)

    _print_incident(found)


def _print_incident(incident: StatusIncidentRead) -> None:
    console.print(plain(f"public incident {incident.id}: {incident.title}"))
    facts = Table.grid(padding=(0, 2))
    facts.add_row("stage", plain(incident.stage))
    facts.add_row("impact", plain(incident.impact.value))
    facts.add_row("components", plain(", ".join(incident.components) or "-"))
    if incident.incident_number:
        facts.add_row("incident", f"#{incident.incident_number}")
    console.print(facts)
    updates = Table("at", "stage", "message", title="Updates")
    for update in incident.updates:
        updates.add_row(_when(update.at), plain(update.stage), plain(update.message))
    console.print(updates)


# Maintenance -----------------------------------------------------------------


@maintenance_app.command("add")
def maintenance_add(
    title: str = typer.Argument(..., help="What the work is, for the public."),
    start: str = typer.Option(..., help="When it starts: " + _WHEN_HELP),
    end: str = typer.Option(..., help="When it ends: " + _WHEN_HELP),
    component: list[str] = typer.Option(..., "--component", help=_COMPONENT_HELP),
    description: str = typer.Option("", help="More about it, for the public."),
) -> None:
    """Schedule maintenance; its components show `maintenance` while it runs and
    subscribers are told now."""
    with reported(), opened() as ctx:
        window = status_maintenance.schedule_maintenance(
            ctx,
            OPERATOR,
            title=title,
            starts_at=_instant(start, "--start"),
            ends_at=_instant(end, "--end"),
            components=component,
            description=description,
        )

    _print_maintenance([window])


@maintenance_app.command("list")
def maintenance_list() -> None:
    """List maintenance, latest start first."""
    with reported(), opened() as ctx:
        windows = status_maintenance.list_maintenance(ctx)

    if not windows:
        console.print("no maintenance")
        return
    _print_maintenance(windows)


@maintenance_app.command("cancel")
def maintenance_cancel(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help="As `list` shows it."),
) -> None:
    """Cancel maintenance that has not finished; subscribers are told."""
    with reported(), opened() as ctx:
        window = status_maintenance.cancel_maintenance(ctx, OPERATOR, number)

    _print_maintenance([window])


def _print_maintenance(windows: list[StatusMaintenanceRead]) -> None:
    table = Table("#", "phase", "title", "starts", "ends", "components")
    for window in windows:
        table.add_row(
            str(window.id),
            plain(window.phase.value),
            plain(window.title),
            _when(window.starts_at),
            _when(window.ends_at),
            plain(", ".join(window.components)),
        )
    console.print(table)


# Subscribers -----------------------------------------------------------------


@subscribers_app.command("list")
def subscribers_list() -> None:
    """List subscribers and whether they confirmed."""
    with reported(), opened() as ctx:
        subscribers = status_subscribers.list_subscribers(ctx, OPERATOR)

    if not subscribers:
        console.print("no subscribers")
        return
    table = Table("email", "confirmed", "since")
    for row in subscribers:
        table.add_row(plain(row.email), _when(row.confirmed_at), _when(row.created_at))
    console.print(table)
    confirmed = sum(1 for row in subscribers if row.confirmed_at)
    console.print(f"{confirmed} confirmed of {len(subscribers)}", highlight=False)


@subscribers_app.command("remove")
def subscribers_remove(
    email: str = typer.Argument(..., help="The subscriber's address."),
) -> None:
    """Remove a subscriber: no more mail goes to the address."""
    with reported(), opened() as ctx:
        status_subscribers.remove_subscriber(ctx, OPERATOR, email)

    console.print(plain(f"subscriber {email} removed"))
