"""The `tocsin` command, grouped by noun with verb subcommands."""

from __future__ import annotations

import inspect
import sys

import typer

from tocsin.cli import catalog, incidents, people, server
from tocsin.cli.ai import register as register_ai
from tocsin.cli.common import Commands
from tocsin.cli.contacts import register as register_contacts
from tocsin.cli.escalation import register as register_escalation
from tocsin.cli.maintenance import register as register_maintenance
from tocsin.cli.postmortems import register as register_postmortems
from tocsin.cli.report import register as register_report
from tocsin.cli.response import register as register_response
from tocsin.cli.response_docs import register as register_response_docs
from tocsin.cli.schedules import register as register_schedules
from tocsin.cli.signals import register as register_signals
from tocsin.cli.status_page import register as register_status_page
from tocsin.cli.triage import register as register_triage

app = typer.Typer(
    cls=Commands,
    name="tocsin",
    help="Tocsin incident management.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
server.register(app)
people.register(app)
incidents.register(app)
catalog.register(app)
register_escalation(app)
register_maintenance(app)
register_status_page(app)
register_contacts(app)
register_signals(app)

register_schedules(app)
register_triage(app)
register_response(app)
register_report(app)
register_response_docs(app)
register_postmortems(app)
register_ai(app)


def _one_line_summaries(group: typer.Typer) -> None:
    """Give every command a one-line summary for the command lists.

    Rich help keeps the line breaks of a docstring's first paragraph in the
    list of commands, which wraps a long summary into ragged rows; the full
    help of a command (`--help`) already joins them.
    """
    for command in group.registered_commands:
        text = command.help or inspect.getdoc(command.callback) or ""
        if command.short_help is None and text:
            command.short_help = " ".join(text.split("\n\n")[0].split())
    for subgroup in group.registered_groups:
        if subgroup.typer_instance is not None:
            _one_line_summaries(subgroup.typer_instance)


_one_line_summaries(app)


def main() -> None:
    sys.exit(app())
