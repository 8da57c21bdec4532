"""Escalation from the shell: `incident snooze`, `incident set-policy`,
`service preview` and `check` (what would page nobody).

The first three join the `incident` and `service` command groups; `check`
is a top-level command so that it reads well in a cron job or CI step, where
its exit status (1 when there are problems) is what counts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import typer
from rich.table import Table

from tocsin.api.schemas import MAX_ID
from tocsin.cli.catalog import service_app
from tocsin.cli.common import console, opened, plain, reported
from tocsin.cli.incidents import incident_app
from tocsin.cli.people import OPERATOR
from tocsin.domain.access import Actor
from tocsin.errors import InvalidInput
from tocsin.services import catalog, incidents, misconfig, preview, users
from tocsin.services.context import Context

_AS_HELP = "Act as this user, with their role and teams (default: the operator)."
_NUMBER_HELP = "The incident's number, as in #42."
_DURATION = re.compile(r"\s*([0-9]{1,6})\s*([mhd]?)\s*")
_UNIT_MINUTES = {"": 1, "m": 1, "h": 60, "d": 24 * 60}


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def parse_duration(text: str) -> int:
    """Minutes in `30m`, `2h`, `1d` or a bare number of minutes."""
    match = _DURATION.fullmatch(text.lower())
    if match is None:
        raise InvalidInput(f"a duration is like 30m, 2h or 1d, not {text!r}")
    return int(match.group(1)) * _UNIT_MINUTES[match.group(2)]


def parse_instant(text: str, what: str) -> datetime:
    """An ISO 8601 instant with a UTC offset, as 2026-03-02T09:00+01:00."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise InvalidInput(f"{what} is not an ISO 8601 time: {text!r}") from error
    if value.tzinfo is None:
        raise InvalidInput(f"{what} needs a UTC offset, as {text}+00:00 or {text}Z")
    return value


def _actor(ctx: Context, email: str | None) -> Actor:
    return OPERATOR if email is None else users.act_as(ctx, email)


@incident_app.command("snooze")
def incident_snooze(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help=_NUMBER_HELP),
    duration: str = typer.Option(
        ..., "--for", metavar="DURATION", help="How long: 30m, 2h, 1d."
    ),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Snooze an incident: acknowledged now, paged again when the snooze ends
    unless resolved by then."""
    with reported(), opened() as ctx:
        minutes = parse_duration(duration)
        incident = incidents.snooze(ctx, _actor(ctx, as_email), number, minutes)

    console.print(
        plain(f"incident #{incident.number} is snoozed for {minutes} min"),
        highlight=False,
    )


@incident_app.command("set-policy")
def incident_set_policy(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help=_NUMBER_HELP),
    policy: str = typer.Argument(..., help="The escalation policy's name."),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Hand an incident to another escalation policy; its step 1 pages now."""
    with reported(), opened() as ctx:
        policy_id = catalog.get_policy(ctx, policy).id
        incident = incidents.reassign_policy(
            ctx, _actor(ctx, as_email), number, policy_id
        )

    console.print(
        plain(f"incident #{incident.number} escalates through {policy}"),
        highlight=False,
    )


@service_app.command("preview")
def service_preview(
    name: str = typer.Argument(..., help="The service's name."),
    at: str | None = typer.Option(
        None, help="When it would alert: ISO 8601 with an offset (default: now)."
    ),
) -> None:
    """Who would be paged, and when, if the service alerted at --at and nobody
    acknowledged."""
    with reported(), opened() as ctx:
        instant = parse_instant(at, "--at") if at is not None else None
        service_id = catalog.get_service(ctx, name).id
        shown = preview.preview(ctx, OPERATOR, service_id, instant)

    # print() puts one space between its arguments itself.
    console.print(
        plain(f"{shown.service} via {shown.policy or 'no policy'}, alerting at"),
        f"{_when(shown.at)} UTC",
        highlight=False,
    )
    if shown.pages:
        table = Table("at (UTC)", "step", "pages", "notes")
        for page in shown.pages:
            table.add_row(
                _when(page.at),
                page.label,
                plain(", ".join(u.email for u in page.users) or "nobody"),
                plain("; ".join(page.notes)),
            )
        console.print(table)
    for note in shown.notes:
        console.print(plain(note))


def check() -> None:
    """List what would page nobody: services without a policy, policies that
    reach no one, users without contact methods, schedules with gaps in the
    next 14 days. Exits 1 when there is any."""
    with reported(), opened() as ctx:
        report = misconfig.check(ctx, OPERATOR)

    if not report.problems:
        console.print("no problems: every service pages someone")
        return

    table = Table("problem", "name", "detail")
    for problem in report.problems:
        table.add_row(problem.kind, plain(problem.name), plain(problem.detail))
    console.print(table)
    console.print(f"{len(report.problems)} problems", highlight=False)
    raise typer.Exit(1)


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
