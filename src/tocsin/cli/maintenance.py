"""`maintenance add|list|remove`: spans when a service's incidents page nobody.

Commands act as the operator (whoever holds the shell and the database).
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from tocsin.cli.common import console, opened, plain, reported
from tocsin.cli.escalation import parse_instant
from tocsin.cli.people import OPERATOR
from tocsin.domain.maintenance import Recurrence
from tocsin.services import maintenance
from tocsin.services.maintenance import MaintenanceRead

maintenance_app = typer.Typer(
    help="Maintenance windows: incidents open but page nobody until they end.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(maintenance_app, name="maintenance")


@maintenance_app.command("add")
def maintenance_add(
    service: str = typer.Argument(..., help="The service's name."),
    start: str = typer.Option(
        ..., help="First start, ISO 8601 with an offset: 2026-03-08T02:00+01:00."
    ),
    end: str = typer.Option(..., help="First end, the same way."),
    every: Recurrence = typer.Option(
        Recurrence.ONCE, help="Repeat daily or weekly at the same local time."
    ),
    zone: str = typer.Option(
        "UTC", help="IANA time zone whose wall clock a repeating window keeps."
    ),
    until: str | None = typer.Option(
        None, help="No occurrence starts at or after this instant."
    ),
    description: str = typer.Option("", help="What the maintenance is."),
) -> None:
    """Add a maintenance window. Alerts in it open incidents, whose escalation
    waits until the window ends; those still triggered then are paged."""
    with reported(), opened() as ctx:
        window = maintenance.create_window(
            ctx,
            OPERATOR,
            service,
            starts_at=parse_instant(start, "--start"),
            ends_at=parse_instant(end, "--end"),
            recurrence=every,
            time_zone=zone,
            repeat_until=parse_instant(until, "--until") if until else None,
            description=description,
        )

    console.print(plain(f"maintenance window {window.id} for {window.service}"))
    _print_windows([window])


@maintenance_app.command("list")
def maintenance_list(
    service: str | None = typer.Argument(None, help="Only this service."),
) -> None:
    """List windows in progress or still to come."""
    with reported(), opened() as ctx:
        windows = maintenance.list_windows(ctx, OPERATOR, service)

    if not windows:
        console.print("no maintenance windows")
        return
    _print_windows(windows)


@maintenance_app.command("remove")
def maintenance_remove(
    window_id: int = typer.Argument(..., min=1, max=2**31 - 1, help="The window's id."),
) -> None:
    """Remove a window, ending it now if it is in progress: what it held pages."""
    with reported(), opened() as ctx:
        window = maintenance.delete_window(ctx, OPERATOR, window_id)

    console.print(plain(f"maintenance window {window.id} of {window.service} removed"))


def _print_windows(windows: list[MaintenanceRead]) -> None:
    table = Table("id", "service", "repeats", "now or next (UTC)", "state", "about")
    for window in windows:
        repeats = (
            "once"
            if window.recurrence is Recurrence.ONCE
            else f"{window.recurrence} ({window.time_zone})"
        )
        span = (
            f"{_when(window.current_or_next_start)} - "
            f"{_when(window.current_or_next_end)}"
        )
        table.add_row(
            str(window.id),
            plain(window.service),
            plain(repeats),
            span,
            "in progress" if window.active else "to come",
            plain(window.description or "-"),
        )
    console.print(table)


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at else "-"
