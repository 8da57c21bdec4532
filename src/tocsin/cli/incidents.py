"""`incident list|show|ack|resolve`."""

from __future__ import annotations

import typer

incident_app = typer.Typer(help="Incidents.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(incident_app, name="incident")
