"""`heartbeat`, `check-http`, `change` and `mail`: the signals Tocsin watches for
itself, from a shell.

Setting up runs as the operator; `change add` and `change list` take `--as
EMAIL` to act as a user, with that user's role and teams.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType

import typer
from rich.table import Table

from tocsin.cli.common import console, context, opened, plain, reported
from tocsin.cli.people import OPERATOR
from tocsin.domain.access import Actor
from tocsin.errors import InvalidInput
from tocsin.intake.email import MailListener
from tocsin.logs import configure
from tocsin.services import changes, checks, heartbeats, inbound_mail, users
from tocsin.services.context import Context
from tocsin.services.signal_sources import parse_duration

log = logging.getLogger(__name__)

heartbeat_app = typer.Typer(
    help="Heartbeats: URLs jobs ping; silence alerts.", no_args_is_help=True
)
change_app = typer.Typer(
    help="Change events: deploys, config changes, feature flags.",
    no_args_is_help=True,
)
check_app = typer.Typer(
    help="HTTP checks: URLs the worker requests; failures alert.",
    no_args_is_help=True,
)
mail_app = typer.Typer(help="Inbound mail.", no_args_is_help=True)
address_app = typer.Typer(help="Addresses Tocsin takes mail for.", no_args_is_help=True)

_AS_HELP = "Act as this user, with their role and teams (default: the operator)."


def register(app: typer.Typer) -> None:
    app.add_typer(heartbeat_app, name="heartbeat")
    # `check` is the misconfiguration check; this one is about HTTP.
    app.add_typer(check_app, name="check-http")
    app.add_typer(change_app, name="change")
    app.add_typer(mail_app, name="mail")
    mail_app.add_typer(address_app, name="address")


def _actor(ctx: Context, email: str | None) -> Actor:
    return OPERATOR if email is None else users.act_as(ctx, email)


def _when(at: datetime | None) -> str:
    if at is None:
        return "-"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _seconds(value: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size and value % size == 0:
            return f"{value // size}{unit}"
    return f"{value}s"


# Heartbeats -------------------------------------------------------------------


@heartbeat_app.command("add")
def heartbeat_add(
    service: str = typer.Argument(..., help="The service the alert is raised on."),
    name: str = typer.Argument(..., help="The heartbeat's name, as `nightly-backup`."),
    interval: str = typer.Option(
        ..., help="How often the job pings: seconds, or as 90s, 15m, 2h, 1d."
    ),
    grace: str = typer.Option("0", help="Extra time allowed past the interval."),
) -> None:
    """Add a heartbeat; prints the URL the job pings (once: only a hash is kept)."""
    with reported(), opened() as ctx:
        created = heartbeats.create(
            ctx,
            OPERATOR,
            service=service,
            name=name,
            interval_seconds=parse_duration(interval, "--interval"),
            grace_seconds=parse_duration(grace, "--grace"),
        )

    beat = created.heartbeat
    console.print(
        plain(
            f"heartbeat {beat.name} on {beat.service}: ping at least every "
            f"{_seconds(beat.interval_seconds)} (grace {_seconds(beat.grace_seconds)})"
        )
    )
    console.print(plain(f"  curl -fsS -X POST {created.ping_url}"), soft_wrap=True)


@heartbeat_app.command("list")
def heartbeat_list(
    service: str | None = typer.Option(None, help="Only this service's."),
) -> None:
    """List heartbeats, whether each is up, and when each was last pinged."""
    with reported(), opened() as ctx:
        found = heartbeats.list_heartbeats(ctx, OPERATOR, service)

    if not found:
        console.print("no heartbeats")
        return

    table = Table("service", "heartbeat", "status", "interval", "last ping (UTC)")
    table.add_column("alerts after (UTC)", no_wrap=True)
    for beat in found:
        table.add_row(
            plain(beat.service),
            plain(beat.name),
            beat.status,
            f"{_seconds(beat.interval_seconds)}+{_seconds(beat.grace_seconds)}",
            _when(beat.last_ping_at),
            _when(beat.expires_at) if beat.status != "down" else "alerting",
        )
    console.print(table)


@heartbeat_app.command("remove")
def heartbeat_remove(
    service: str = typer.Argument(..., help="The heartbeat's service."),
    name: str = typer.Argument(..., help="The heartbeat's name."),
) -> None:
    """Remove a heartbeat: its URL stops working and its open alert resolves."""
    with reported(), opened() as ctx:
        heartbeats.remove(ctx, OPERATOR, service=service, name=name)

    console.print(plain(f"heartbeat {name} removed from {service}"))


# HTTP checks ------------------------------------------------------------------


@check_app.command("add")
def check_add(
    service: str = typer.Argument(..., help="The service the alert is raised on."),
    name: str = typer.Argument(..., help="The check's name, as `homepage`."),
    url: str = typer.Argument(..., help="The http:// or https:// URL to request."),
    method: str = typer.Option("GET", help="GET or HEAD."),
    interval: str = typer.Option("60s", help="How often, as 30s, 5m, 1h."),
    timeout: str = typer.Option("10s", help="How long to wait for an answer."),
    expect: int = typer.Option(200, help="The status code that means healthy."),
    max_latency_ms: int | None = typer.Option(
        None, help="Slower answers count as failures."
    ),
    failures: int = typer.Option(
        1, help="Consecutive failures before the alert is raised."
    ),
) -> None:
    """Add an HTTP check; the worker runs it now and then every interval."""
    with reported(), opened() as ctx:
        spec = checks.CheckInput(
            url=url,
            method=method,
            interval_seconds=parse_duration(interval, "--interval"),
            timeout_seconds=parse_duration(timeout, "--timeout"),
            expected_status=expect,
            latency_threshold_ms=max_latency_ms,
            failures_before_alert=failures,
        )
        check = checks.create(ctx, OPERATOR, service=service, name=name, spec=spec)

    console.print(
        plain(
            f"check {check.name} on {check.service}: {check.method} {check.url} "
            f"every {_seconds(check.interval_seconds)}, expecting "
            f"{check.expected_status}"
        ),
        soft_wrap=True,
    )


@check_app.command("list")
def check_list(
    service: str | None = typer.Option(None, help="Only this service's."),
) -> None:
    """List HTTP checks with their state."""
    with reported(), opened() as ctx:
        found = checks.list_checks(ctx, OPERATOR, service)

    if not found:
        console.print("no HTTP checks")
        return

    table = Table("service", "check", "status", "every", "failures")
    table.add_column("url", overflow="fold")
    table.add_column("last run (UTC)", no_wrap=True)
    for check in found:
        table.add_row(
            plain(check.service),
            plain(check.name),
            check.status,
            _seconds(check.interval_seconds),
            f"{check.consecutive_failures}/{check.failures_before_alert}",
            plain(check.url),
            _when(check.last_checked_at),
        )
    console.print(table)


@check_app.command("show")
def check_show(
    service: str = typer.Argument(..., help="The check's service."),
    name: str = typer.Argument(..., help="The check's name."),
) -> None:
    """Show a check and its recent results, newest first."""
    with reported(), opened() as ctx:
        check = checks.get_check(ctx, OPERATOR, service, name)

    console.print(
        plain(f"{check.name} on {check.service}: {check.status}"), highlight=False
    )
    console.print(plain(f"{check.method} {check.url}"), soft_wrap=True)
    results = Table("at (UTC)", "ok", "status", "ms", "error", title="Results")
    for result in check.results:
        results.add_row(
            _when(result.at),
            "yes" if result.ok else "no",
            str(result.status_code or "-"),
            str(result.latency_ms if result.latency_ms is not None else "-"),
            plain(result.error),
        )
    console.print(results)


@check_app.command("remove")
def check_remove(
    service: str = typer.Argument(..., help="The check's service."),
    name: str = typer.Argument(..., help="The check's name."),
) -> None:
    """Remove an HTTP check; its open alert resolves."""
    with reported(), opened() as ctx:
        checks.remove(ctx, OPERATOR, service=service, name=name)

    console.print(plain(f"HTTP check {name} removed from {service}"))


# Change events ----------------------------------------------------------------


@change_app.command("add")
def change_add(
    service: str = typer.Argument(..., help="The service that changed."),
    kind: str = typer.Option(..., help="deploy, config or feature_flag."),
    summary: str = typer.Option(..., help="What changed, in one line."),
    link: str = typer.Option("", help="Where to read more (http or https)."),
    version: str = typer.Option("", help="The version deployed, if any."),
    at: str = typer.Option(
        None, help="When, as ISO 8601 with an offset (default: now)."
    ),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Record a change event on a service."""
    with reported(), opened() as ctx:
        change = changes.record(
            ctx,
            _actor(ctx, as_email),
            service=service,
            kind=kind,
            summary=summary,
            link=link,
            version=version,
            at=_instant(at),
        )

    console.print(
        plain(f"change {change.id} on {change.service.name}: {change.summary}")
    )


@change_app.command("list")
def change_list(
    service: str = typer.Argument(..., help="The service."),
    limit: int = typer.Option(
        20, min=1, max=changes.MAX_LIST, help="At most this many."
    ),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """List a service's change events, newest first."""
    with reported(), opened() as ctx:
        found = changes.list_changes(ctx, _actor(ctx, as_email), service, limit=limit)

    if not found:
        console.print("no changes")
        return

    table = Table("at (UTC)", "kind", "version", "summary", "by")
    for change in found:
        table.add_row(
            _when(change.at),
            change.kind,
            plain(change.version or "-"),
            plain(change.summary),
            plain(change.source),
        )
    console.print(table)


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"--at must be ISO 8601, as 2026-03-02T09:00:00Z, not {text[:40]!r}"
        ) from None


# Mail -------------------------------------------------------------------------


@mail_app.command("serve")
def mail_serve(
    host: str = typer.Option(
        None, help="Address to bind (default TOCSIN_INBOUND_MAIL_HOST)."
    ),
    port: int = typer.Option(
        None, min=1, max=65535, help="Port (default TOCSIN_INBOUND_MAIL_PORT)."
    ),
) -> None:
    """Take inbound mail (SMTP) until stopped, without the web server."""
    ctx = context()
    configure(ctx.settings)
    listener = MailListener(ctx, host=host, port=port)
    stop = threading.Event()

    def finish(signum: int, frame: FrameType | None) -> None:
        log.info(
            "mail listener stopping", extra={"signal": signal.Signals(signum).name}
        )
        stop.set()

    for each in (signal.SIGTERM, signal.SIGINT):
        signal.signal(each, finish)
    listener.start()
    console.print(f"taking mail on {listener.host}:{listener.port}", highlight=False)
    stop.wait()
    listener.stop()
    ctx.db.dispose()


@address_app.command("add")
def address_add(
    local_part: str = typer.Argument(
        ..., help="The part before the @, as db-team for db-team@alerts.example.com."
    ),
    service: str | None = typer.Option(None, help="The service its mail is about."),
    purpose: str = typer.Option(
        "alert",
        help="alert (raise alerts), report (file reports), reply, or declare "
        "(responders' mail declares an incident on the service).",
    ),
) -> None:
    """Take mail for an address: alerts on a service, reports, replies only, or
    declarations."""
    with reported(), opened() as ctx:
        address = inbound_mail.add_address(
            ctx, OPERATOR, local_part, purpose=purpose, service=service
        )
        domain = ctx.settings.inbound_mail_domain or "ANY-DOMAIN"

    on = f" on {address.service}" if address.service else ""
    console.print(
        plain(f"{address.local_part}@{domain}: {address.purpose}{on}"), soft_wrap=True
    )


@address_app.command("list")
def address_list() -> None:
    """List the addresses Tocsin takes mail for."""
    with reported(), opened() as ctx:
        found = inbound_mail.list_addresses(ctx)

    if not found:
        console.print("no mail addresses")
        return

    table = Table("address", "purpose", "service")
    for address in found:
        table.add_row(
            plain(address.local_part), address.purpose, plain(address.service or "-")
        )
    console.print(table)


@address_app.command("remove")
def address_remove(
    local_part: str = typer.Argument(..., help="The address's local part."),
) -> None:
    """Stop taking mail for an address (mail to it is refused with 550)."""
    with reported(), opened() as ctx:
        inbound_mail.remove_address(ctx, OPERATOR, local_part)

    console.print(plain(f"{local_part.strip().lower()} removed"))
