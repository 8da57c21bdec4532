"""Triage from a shell: `report ...`, `incident declare|severity|priority|
impact|stage`, and `triage ...` for the scales, matrix, incident types,
triage owners and declaration triggers.

Commands act as the operator unless `--as EMAIL` names a user, as the other
incident commands do. A staff report needs a person: `report add` needs
`--as`.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select

from tocsin.api.schemas import MAX_ID
from tocsin.cli.common import console, opened, plain, reported
from tocsin.cli.incidents import incident_app
from tocsin.cli.people import OPERATOR
from tocsin.domain.access import Actor
from tocsin.domain.triage import Level, Scale
from tocsin.errors import InvalidInput, NotFound
from tocsin.schemas import IncidentRead
from tocsin.services import declaration, incident_triage, reports, triage, users
from tocsin.services import declaration_triggers as triggers
from tocsin.services.context import Context
from tocsin.services.reports import ReportFilter
from tocsin.store.models import Service, Team, User

report_app = typer.Typer(help="Reports waiting for triage.", no_args_is_help=True)
triage_app = typer.Typer(
    help="Triage settings: scales, matrix, types, owners, triggers.",
    no_args_is_help=True,
)
type_app = typer.Typer(help="Incident types.", no_args_is_help=True)
owner_app = typer.Typer(help="Triage owners.", no_args_is_help=True)
trigger_app = typer.Typer(help="Declaration triggers.", no_args_is_help=True)
matrix_app = typer.Typer(help="The impact x urgency matrix.", no_args_is_help=True)

_AS_HELP = "Act as this user, with their role and teams (default: the operator)."
_NUMBER_HELP = "The incident's number, as in #42."
_REASON_HELP = "Why: kept on the timeline with who decided."


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
    app.add_typer(triage_app, name="triage")
    triage_app.add_typer(type_app, name="type")
    triage_app.add_typer(owner_app, name="owner")
    triage_app.add_typer(trigger_app, name="trigger")
    triage_app.add_typer(matrix_app, name="matrix")


def _actor(ctx: Context, email: str | None) -> Actor:
    return OPERATOR if email is None else users.act_as(ctx, email)


def _service_id(ctx: Context, name: str | None) -> int | None:
    if name is None:
        return None
    with ctx.db.read() as session:
        found = session.scalar(select(Service.id).where(Service.name == name))
    if found is None:
        raise NotFound(f"no service named {name!r}")
    return found


def _team_id(ctx: Context, name: str | None) -> int | None:
    if name is None:
        return None
    with ctx.db.read() as session:
        found = session.scalar(select(Team.id).where(Team.name == name))
    if found is None:
        raise NotFound(f"no team named {name!r}")
    return found


def _user_id(ctx: Context, email: str | None) -> int | None:
    if email is None:
        return None
    with ctx.db.read() as session:
        found = session.scalar(
            select(User.id).where(User.email == email.strip().lower())
        )
    if found is None:
        raise NotFound(f"no user with email {email}")
    return found


def _said(incident: IncidentRead) -> None:
    line = (
        f"incident #{incident.number} {incident.severity}"
        f" {incident.priority or '-'} {incident.status}"
    )
    if incident.stage:
        line += f" ({incident.stage})"
    console.print(plain(line), highlight=False)


# --- reports ----------------------------------------------------------------


@report_app.command("add")
def report_add(
    title: str = typer.Option(..., "--title", help="What is wrong, in one line."),
    description: str = typer.Option("", "--description", help="More detail."),
    service: str | None = typer.Option(None, "--service", help="The service."),
    as_email: str | None = typer.Option(
        None, "--as", metavar="EMAIL", help="The person reporting (required)."
    ),
) -> None:
    """Report a problem; it waits for triage and its triage owner is told."""
    with reported(), opened() as ctx:
        if as_email is None:
            raise InvalidInput("a report needs the person reporting: --as EMAIL")
        report = reports.report_as_staff(
            ctx,
            _actor(ctx, as_email),
            title=title,
            description=description,
            service_id=_service_id(ctx, service),
        )

    console.print(plain(f"report {report.reference} {report.status}"))


@report_app.command("list")
def report_list(
    status: list[str] = typer.Option(
        [], "--status", help="untriaged, declared or dismissed (repeatable)."
    ),
    limit: int = typer.Option(20, min=1, max=500, help="Show at most this many."),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """List reports, newest first."""
    with reported(), opened() as ctx:
        where = ReportFilter(status=tuple(status), limit=limit)
        page = reports.list_reports(ctx, _actor(ctx, as_email), where)

    if not page.items:
        console.print("no reports")
        return
    table = Table("ref", "status", "source", "service", "title", "incident")
    for item in page.items:
        table.add_row(
            item.reference,
            item.status,
            item.source,
            plain(item.service.name if item.service else "-"),
            plain(item.title),
            f"#{item.incident.number}" if item.incident else "-",
        )
    console.print(table)


@report_app.command("dismiss")
def report_dismiss(
    report_id: int = typer.Argument(..., min=1, max=MAX_ID, help="R-number."),
    reason: str = typer.Option(..., "--reason", help=_REASON_HELP),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Triage a report as no incident."""
    with reported(), opened() as ctx:
        report = reports.dismiss(ctx, _actor(ctx, as_email), report_id, reason)

    console.print(plain(f"report {report.reference} {report.status}"))


@report_app.command("declare")
def report_declare(
    report_id: int = typer.Argument(..., min=1, max=MAX_ID, help="R-number."),
    reason: str = typer.Option(..., "--reason", help=_REASON_HELP),
    severity: str | None = typer.Option(None, "--severity", help="As sev2."),
    incident_type: str | None = typer.Option(None, "--type", help="A type's key."),
    service: str | None = typer.Option(
        None, "--service", help="Needed when the report names no service."
    ),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Triage a report into a new declared incident."""
    with reported(), opened() as ctx:
        incident = declaration.declare_report(
            ctx,
            _actor(ctx, as_email),
            report_id,
            reason=reason,
            severity=severity,
            incident_type=incident_type,
            service_id=_service_id(ctx, service),
        )

    _said(incident)


# --- decisions on incidents -------------------------------------------------


@incident_app.command("declare")
def incident_declare(
    service: str = typer.Option(..., "--service", help="The service's name."),
    title: str = typer.Option(..., "--title", help="What is wrong, in one line."),
    reason: str = typer.Option(..., "--reason", help="Why it is declared."),
    severity: str | None = typer.Option(
        None, "--severity", help="As sev2 (default: the type's, else sev3)."
    ),
    incident_type: str | None = typer.Option(None, "--type", help="A type's key."),
    description: str = typer.Option("", "--description", help="More detail."),
    impact: str | None = typer.Option(None, "--impact", help="With --urgency."),
    urgency: str | None = typer.Option(None, "--urgency", help="With --impact."),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Declare a new incident on a service; its policy pages at once."""
    with reported(), opened() as ctx:
        incident = declaration.declare(
            ctx,
            _actor(ctx, as_email),
            declaration.Declaration(
                service_id=_service_id(ctx, service) or 0,
                title=title,
                reason=reason,
                severity=severity,
                incident_type=incident_type,
                description=description,
                impact=impact,
                urgency=urgency,
            ),
        )

    _said(incident)


@incident_app.command("severity")
def incident_severity(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help=_NUMBER_HELP),
    severity: str = typer.Argument(..., help="The new severity, as sev1."),
    reason: str = typer.Option(..., "--reason", help=_REASON_HELP),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Change an incident's severity, saying why."""
    with reported(), opened() as ctx:
        incident = incident_triage.set_severity(
            ctx, _actor(ctx, as_email), number, severity, reason
        )

    _said(incident)


@incident_app.command("priority")
def incident_priority(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help=_NUMBER_HELP),
    impact: str = typer.Option(..., "--impact", help="As high."),
    urgency: str = typer.Option(..., "--urgency", help="As medium."),
    reason: str = typer.Option(..., "--reason", help=_REASON_HELP),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Set impact and urgency; the matrix gives the priority."""
    with reported(), opened() as ctx:
        incident = incident_triage.set_priority(
            ctx, _actor(ctx, as_email), number, impact, urgency, reason
        )

    _said(incident)


@incident_app.command("stage")
def incident_stage(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help=_NUMBER_HELP),
    stage: str = typer.Argument(
        ..., help="investigating, identified, monitoring or resolved."
    ),
    note: str = typer.Option("", "--note", help="A word on the timeline."),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Move a declared incident to another stage."""
    with reported(), opened() as ctx:
        incident = incident_triage.set_stage(
            ctx, _actor(ctx, as_email), number, stage, note
        )

    _said(incident)


@incident_app.command("impact")
def incident_impact(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help=_NUMBER_HELP),
    affected: list[str] = typer.Option(
        [], "--affected", help="An affected service (repeatable; replaces the list)."
    ),
    customers: int | None = typer.Option(
        None, "--customers", min=0, max=2**31 - 1, help="Customers affected."
    ),
    estimated: bool | None = typer.Option(
        None, "--estimated/--exact", help="Whether --customers is a guess."
    ),
    business: str | None = typer.Option(
        None, "--business-impact", help="The business impact, in words."
    ),
    financial: bool | None = typer.Option(None, "--financial/--no-financial"),
    reputational: bool | None = typer.Option(None, "--reputational/--no-reputational"),
    legal: bool | None = typer.Option(None, "--legal/--no-legal"),
    incident_type: str | None = typer.Option(None, "--type", help="A type's key."),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Change impact fields; those not given stay as they are."""
    with reported(), opened() as ctx:
        changes: dict[str, object] = {}
        if affected:
            changes["affected_service_ids"] = [
                _service_id(ctx, name) for name in affected
            ]
        for field, value in (
            ("customers_affected", customers),
            ("customers_affected_estimated", estimated),
            ("business_impact", business),
            ("impact_financial", financial),
            ("impact_reputational", reputational),
            ("impact_legal", legal),
            ("incident_type", incident_type),
        ):
            if value is not None:
                changes[field] = value
        incident = incident_triage.update_impact(
            ctx, _actor(ctx, as_email), number, changes
        )

    _said(incident)


# --- configuration ---------------------------------------------------------


@triage_app.command("show")
def triage_show() -> None:
    """Show the severity, impact, urgency and priority levels and the matrix."""
    with reported(), opened() as ctx:
        current = triage.scales(ctx)

    for scale in Scale:
        table = Table("key", "name", "description", title=scale.value.title())
        for level in getattr(current, scale.value):
            table.add_row(level.key, plain(level.name), plain(level.description))
        console.print(table)
    matrix = Table("impact", "urgency", "priority", title="Matrix")
    for cell in current.matrix:
        matrix.add_row(cell.impact, cell.urgency, cell.priority)
    console.print(matrix)


@triage_app.command("export")
def triage_export() -> None:
    """Print the scales and matrix as JSON, the format `triage load` reads."""
    with reported(), opened() as ctx:
        current = triage.scales(ctx)

    typer.echo(current.model_dump_json(indent=2))


@triage_app.command("load")
def triage_load(
    path: Path = typer.Argument(..., help="A JSON file, as `triage export` prints."),
) -> None:
    """Replace every scale and the matrix from a JSON file."""
    with reported(), opened() as ctx:
        try:
            document = json.loads(path.read_text())
            levels = {
                scale: [Level(**level) for level in document[scale.value]]
                for scale in Scale
            }
            matrix = {
                (cell["impact"], cell["urgency"]): cell["priority"]
                for cell in document["matrix"]
            }
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise InvalidInput(f"cannot read {path}: {error}") from error
        triage.replace_scales(ctx, OPERATOR, levels, matrix)

    console.print("scales and matrix replaced")


@matrix_app.command("set")
def matrix_set(
    impact: str = typer.Argument(..., help="An impact key."),
    urgency: str = typer.Argument(..., help="An urgency key."),
    priority: str = typer.Argument(..., help="The priority key it yields."),
) -> None:
    """Change one cell of the matrix."""
    with reported(), opened() as ctx:
        current = triage.scales(ctx)
        levels = {
            scale: [Level(**level.model_dump()) for level in getattr(current, scale)]
            for scale in Scale
        }
        matrix = {(c.impact, c.urgency): c.priority for c in current.matrix}
        if (impact, urgency) not in matrix:
            raise InvalidInput(
                f"no matrix cell for impact {impact} x urgency {urgency}"
            )
        matrix[(impact, urgency)] = priority
        triage.replace_scales(ctx, OPERATOR, levels, matrix)

    console.print(plain(f"{impact} x {urgency} -> {priority}"))


@type_app.command("add")
def type_add(
    key: str = typer.Argument(..., help="A short key, as outage."),
    name: str = typer.Option(..., "--name", help="The type's name."),
    description: str = typer.Option("", "--description"),
    default_severity: str | None = typer.Option(None, "--default-severity"),
) -> None:
    """Add an incident type."""
    with reported(), opened() as ctx:
        row = triage.create_type(
            ctx,
            OPERATOR,
            key=key,
            name=name,
            description=description,
            default_severity=default_severity,
        )

    console.print(plain(f"incident type {row.key} {row.name}"))


@type_app.command("list")
def type_list() -> None:
    """List incident types."""
    with reported(), opened() as ctx:
        rows = triage.list_types(ctx)

    table = Table("key", "name", "default severity", "active")
    for row in rows:
        table.add_row(
            row.key, plain(row.name), row.default_severity or "-", str(row.active)
        )
    console.print(table)


@type_app.command("retire")
def type_retire(key: str = typer.Argument(..., help="The type's key.")) -> None:
    """Offer a type no more; incidents of that type keep it."""
    with reported(), opened() as ctx:
        row = triage.update_type(ctx, OPERATOR, key, active=False)

    console.print(plain(f"incident type {row.key} retired"))


@owner_app.command("set")
def owner_set(
    service: str | None = typer.Option(None, "--service", help="For this service."),
    team: str | None = typer.Option(None, "--team", help="For this team's services."),
    user: str | None = typer.Option(None, "--user", metavar="EMAIL"),
    schedule: int | None = typer.Option(
        None, "--schedule", min=1, max=MAX_ID, help="A schedule's id."
    ),
) -> None:
    """Make a user or a schedule's on-call person the triage owner of a
    service, a team, or (neither given) of every other report."""
    with reported(), opened() as ctx:
        owner = triage.set_owner(
            ctx,
            OPERATOR,
            service_id=_service_id(ctx, service),
            team_id=_team_id(ctx, team),
            user_id=_user_id(ctx, user),
            schedule_id=schedule,
        )

    console.print(f"triage owner {owner.id} set")


@owner_app.command("remove")
def owner_remove(
    service: str | None = typer.Option(None, "--service"),
    team: str | None = typer.Option(None, "--team"),
) -> None:
    """Remove the triage owner of a service, a team, or the default one."""
    with reported(), opened() as ctx:
        triage.remove_owner(
            ctx,
            OPERATOR,
            service_id=_service_id(ctx, service),
            team_id=_team_id(ctx, team),
        )

    console.print("triage owner removed")


@owner_app.command("list")
def owner_list() -> None:
    """List triage owners."""
    with reported(), opened() as ctx:
        owners = triage.list_owners(ctx, OPERATOR)

    table = Table("for", "owner")
    for owner in owners:
        scope = (
            f"service {owner.service.name}"
            if owner.service
            else f"team {owner.team.name}"
            if owner.team
            else "default"
        )
        who = owner.user.email if owner.user else f"schedule {owner.schedule_id}"
        table.add_row(plain(scope), plain(who))
    console.print(table)


@trigger_app.command("add")
def trigger_add(
    name: str = typer.Argument(..., help="The rule's name."),
    severity: str = typer.Option(..., "--severity", help="Declared at, as sev1."),
    match: list[str] = typer.Option(
        [], "--match", help="A label matcher, as env=prod or host=~db-.* (repeatable)."
    ),
    service: str | None = typer.Option(None, "--service", help="Only this service."),
    min_alert_severity: str = typer.Option(
        "error", "--min-alert-severity", help="critical, error, warning or info."
    ),
    count: int = typer.Option(1, "--count", min=1, help="Matching alerts needed."),
    window: int = typer.Option(10, "--window", min=1, help="Within minutes."),
    incident_type: str | None = typer.Option(None, "--type", help="A type's key."),
    disabled: bool = typer.Option(False, "--disabled", help="Add it switched off."),
) -> None:
    """Add a declaration trigger."""
    with reported(), opened() as ctx:
        rule = triggers.create_trigger(
            ctx,
            OPERATOR,
            triggers.TriggerSpec(
                name=name,
                severity=severity,
                matchers=tuple(match),
                service_id=_service_id(ctx, service),
                min_alert_severity=min_alert_severity,
                alert_count=count,
                window_minutes=window,
                incident_type=incident_type,
                enabled=not disabled,
            ),
        )

    console.print(plain(f"declaration trigger {rule.id} {rule.name}"))


@trigger_app.command("list")
def trigger_list() -> None:
    """List declaration triggers."""
    with reported(), opened() as ctx:
        rules = triggers.list_triggers(ctx, OPERATOR)

    table = Table("id", "name", "on", "matchers", "count/window", "declares")
    for rule in rules:
        table.add_row(
            str(rule.id),
            plain(rule.name),
            "yes" if rule.enabled else "no",
            plain(", ".join(rule.matchers) or "-"),
            f"{rule.alert_count} in {rule.window_minutes} min",
            rule.severity,
        )
    console.print(table)


@trigger_app.command("remove")
def trigger_remove(name: str = typer.Argument(..., help="The rule's name.")) -> None:
    """Delete a declaration trigger."""
    with reported(), opened() as ctx:
        rule = triggers.find_trigger(ctx, name)
        triggers.delete_trigger(ctx, OPERATOR, rule.id)

    console.print(plain(f"declaration trigger {name} removed"))
