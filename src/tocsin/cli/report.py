"""`tocsin report`: incident metrics over a period, as a table, CSV or JSON.

The figures and their rules are those of the insights page (docs/metrics.md).
CSV and JSON are safe to open in a spreadsheet: text that would start a formula
is prefixed with an apostrophe.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

import typer
from rich.table import Table

from tocsin.cli.common import console, opened, plain, reported
from tocsin.cli.people import OPERATOR
from tocsin.cli.triage import report_app
from tocsin.domain.access import Actor
from tocsin.errors import InvalidInput
from tocsin.services import insights, users
from tocsin.services.context import Context
from tocsin.services.insights import InsightFilter, Insights, SummaryRead


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def register(app: typer.Typer) -> None:
    """`tocsin report` is also the group of triage report commands (add, list,
    declare, dismiss): the metrics run when no such command follows, so
    `tocsin report --since 30d` reads as the issue asks."""
    del app
    report_app.callback(invoke_without_command=True)(report)


def _actor(ctx: Context, email: str | None) -> Actor:
    return OPERATOR if email is None else users.act_as(ctx, email)


def _until(text: str | None, now: datetime) -> datetime:
    if text is None:
        return now
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"--until is a date (2026-01-31), not {text[:40]!r}"
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def report(
    typer_ctx: typer.Context,
    since: str = typer.Option(
        "30d", help="Start of the period: days (30d), weeks (12w) or a date."
    ),
    until: str | None = typer.Option(
        None, help="End of the period, a date (default: now)."
    ),
    team: str | None = typer.Option(None, help="Only this team's services."),
    service: str | None = typer.Option(None, help="Only this service."),
    severity: list[str] = typer.Option(
        [], help="Only this severity, sev1..sev4 (repeatable)."
    ),
    output: Format = typer.Option(Format.TABLE, "--format", help="table, csv or json."),
    as_email: str | None = typer.Option(
        None, "--as", metavar="EMAIL", help="Count only what this user may see."
    ),
) -> None:
    """Incident metrics: MTTA, MTTR, weekly counts, noisy services and alerts,
    on-call load, postmortem and action item completion."""
    if typer_ctx.invoked_subcommand is not None:
        return

    with reported(), opened() as ctx:
        now = ctx.clock.now()
        team_id, service_id = insights.scope_ids(ctx, team, service)
        where = InsightFilter(
            since=insights.parse_since(since, now),
            until=_until(until, now),
            team_id=team_id,
            service_id=service_id,
            severity=tuple(severity),
        )
        found = insights.compute(ctx, _actor(ctx, as_email), where)

    if output is Format.CSV:
        console.file.write(insights.to_csv(found))
    elif output is Format.JSON:
        console.file.write(insights.to_json(found) + "\n")
    else:
        _print(found)


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.1f} min"
    return f"{value / 60:.1f} h"


def _summary_row(table: Table, name: str, summary: SummaryRead) -> None:
    table.add_row(
        name,
        str(summary.count),
        _minutes(summary.mean_minutes),
        _minutes(summary.median_minutes),
        _minutes(summary.p90_minutes),
    )


def _rate(done: int, total: int, rate: float | None) -> str:
    return "-" if rate is None else f"{done} of {total} ({rate:.0%})"


def _print(found: Insights) -> None:
    console.print(
        f"{found.incidents} incidents from {found.since:%Y-%m-%d %H:%M} to "
        f"{found.until:%Y-%m-%d %H:%M} UTC; {found.declared} declared, "
        f"{found.reopened} reopened",
        highlight=False,
    )

    times = Table(title="Response times")
    for column in ("", "incidents", "mean", "median", "p90"):
        times.add_column(column, no_wrap=True)
    _summary_row(times, "acknowledge", found.acknowledge)
    _summary_row(times, "mitigate", found.mitigate)
    _summary_row(times, "resolve", found.resolve)
    console.print(times)

    weeks = Table(title="Incidents by week")
    weeks.add_column("week of", no_wrap=True)
    for column in ("all", *found.severities):
        weeks.add_column(column, justify="right")
    for week in found.weeks:
        weeks.add_row(
            week.week.isoformat(),
            str(week.incidents),
            *(str(week.by_severity.get(s, 0)) for s in found.severities),
        )
    console.print(weeks)

    services = Table(title="Noisiest services")
    for column in ("service", "incidents"):
        services.add_column(column)
    for row in found.noisy_services:
        services.add_row(plain(row.name), str(row.count))
    console.print(services)

    noisy = Table(title="Noisiest alerts")
    for column in ("alert", "service", "events"):
        noisy.add_column(column)
    for alert in found.noisy_alerts:
        noisy.add_row(plain(alert.name), plain(alert.service), str(alert.count))
    console.print(noisy)

    load = Table(title="On-call load")
    for column in ("person", "pages", "night pages", "hours on call"):
        load.add_column(column)
    for person in found.on_call:
        load.add_row(
            plain(person.name),
            str(person.pages),
            str(person.night_pages),
            f"{person.hours_on_call:.1f}",
        )
    console.print(load)

    pm, items = found.postmortems, found.action_items
    console.print(
        f"postmortems published: {_rate(pm.done, pm.total, pm.rate)}; "
        f"action items done: {_rate(items.done, items.total, items.rate)}",
        highlight=False,
    )
    said = found.feedback
    if said.answers:
        console.print(
            f"feedback: {said.answers} answers; mean of 5: overall "
            f"{said.mean_overall}, tools {said.mean_tools}, "
            f"communication {said.mean_communication}",
            highlight=False,
        )
    else:
        console.print("feedback: no answers", highlight=False)
