"""`team`, `policy`, `service` and `integration`: setting up a service of one's
own, with who it pages and the keys its monitoring sends with.

Commands act as the operator (whoever holds the shell and the database).
"""

from __future__ import annotations

import typer
from rich.table import Table

from tocsin.cli.common import console, opened, plain, reported
from tocsin.cli.people import OPERATOR
from tocsin.errors import InvalidInput
from tocsin.services import catalog
from tocsin.services.catalog import NewKey, PolicyRead, ServiceRead, StepRead
from tocsin.services.integrations import KEY_CACHE_SECONDS, KINDS

team_app = typer.Typer(help="Teams.", no_args_is_help=True)
policy_app = typer.Typer(help="Escalation policies.", no_args_is_help=True)
service_app = typer.Typer(help="Services.", no_args_is_help=True)
integration_app = typer.Typer(
    help="Integrations: the keys monitoring sends alerts with.", no_args_is_help=True
)

_STEP_HELP = (
    f"A step, as {catalog.STEP_SYNTAX} (repeatable, in order); each target is "
    f"{catalog.TARGET_SYNTAX}. Each step pages its targets (a schedule: whoever is "
    "on call when the step fires; a team: its active responders), then waits "
    "DELAY_MINUTES for an acknowledgement before the next step pages."
)
_SOON = (
    f"It takes effect at once in this process; a running server or worker that "
    f"remembers the key drops it within {KEY_CACHE_SECONDS:g} seconds."
)


def register(app: typer.Typer) -> None:
    app.add_typer(team_app, name="team")
    app.add_typer(policy_app, name="policy")
    app.add_typer(service_app, name="service")
    app.add_typer(integration_app, name="integration")


@team_app.command("add")
def team_add(name: str = typer.Argument(..., help="The team's name.")) -> None:
    """Add a team; `tocsin user add --team` then puts people in it."""
    with reported(), opened() as ctx:
        team = catalog.create_team(ctx, OPERATOR, name)

    console.print(plain(f"team {team.id} {team.name}"))


@team_app.command("list")
def team_list() -> None:
    """List teams with their numbers of members and services."""
    with reported(), opened() as ctx:
        teams = catalog.list_teams(ctx)

    if not teams:
        console.print("no teams")
        return

    table = Table("team", "members", "services")
    for team in teams:
        table.add_row(plain(team.name), str(team.members), str(team.services))
    console.print(table)


@policy_app.command("add")
def policy_add(
    name: str = typer.Argument(..., help="The policy's name."),
    team: str = typer.Option(..., help="The team that owns the policy."),
    step: list[str] = typer.Option(..., "--step", help=_STEP_HELP),
    repeat: int = typer.Option(
        0, help="Run all the steps this many more times (0 to 9) while unacknowledged."
    ),
    round_robin: list[int] = typer.Option(
        [],
        "--round-robin",
        metavar="STEP",
        help="Step number (from 1) whose firings page one target each, in turn "
        "(repeatable).",
    ),
    ack_timeout: int | None = typer.Option(
        None,
        "--ack-timeout",
        metavar="MINUTES",
        help="Trigger an acknowledged incident again after this many minutes "
        "unless resolved, restarting the policy.",
    ),
) -> None:
    """Add an escalation policy.

    With `--step "5:ann@example.com,bob@example.com" --step "10:schedule:Primary"`
    Ann and Bob are paged at once, and whoever is on call in the Primary
    schedule five minutes later if nobody has acknowledged by then.
    """
    with reported(), opened() as ctx:
        for number in round_robin:
            if not 1 <= number <= len(step):
                raise InvalidInput(
                    f"--round-robin {number}: the policy has steps 1 to {len(step)}"
                )
        steps = [
            catalog.parse_step(text, round_robin=number in round_robin)
            for number, text in enumerate(step, start=1)
        ]
        policy = catalog.create_policy(
            ctx,
            OPERATOR,
            name,
            team=team,
            steps=steps,
            repeat=repeat,
            ack_timeout_minutes=ack_timeout,
        )

    console.print(plain(f"escalation policy {policy.id} {policy.name}"))
    _print_steps(policy.steps)


@policy_app.command("list")
def policy_list() -> None:
    """List escalation policies."""
    with reported(), opened() as ctx:
        policies = catalog.list_policies(ctx)

    if not policies:
        console.print("no escalation policies")
        return

    table = Table("policy", "team", "steps", "repeat", "services")
    for policy in policies:
        table.add_row(
            plain(policy.name),
            plain(policy.team or "-"),
            str(len(policy.steps)),
            str(policy.repeat),
            plain(", ".join(policy.services) or "-"),
        )
    console.print(table)


@policy_app.command("show")
def policy_show(name: str = typer.Argument(..., help="The policy's name.")) -> None:
    """Show an escalation policy: its steps with who they page, and its services."""
    with reported(), opened() as ctx:
        policy = catalog.get_policy(ctx, name)

    _print_policy(policy)


@service_app.command("add")
def service_add(
    name: str = typer.Argument(..., help="The service's name."),
    team: str = typer.Option(..., help="The team that owns the service."),
    policy: str | None = typer.Option(
        None, help="The escalation policy its incidents page through."
    ),
    description: str = typer.Option("", help="What the service is."),
    no_auto_resolve: bool = typer.Option(
        False,
        "--no-auto-resolve",
        help="Keep an incident open when its last alert resolves.",
    ),
) -> None:
    """Add a service.

    Without --policy its incidents page nobody until `tocsin service set-policy`
    gives it one.
    """
    with reported(), opened() as ctx:
        service = catalog.create_service(
            ctx,
            OPERATOR,
            name,
            team=team,
            policy=policy,
            description=description,
            auto_resolve=not no_auto_resolve,
        )

    console.print(plain(f"service {service.id} {service.name}"))
    if service.policy is None:
        console.print("no escalation policy: its incidents page nobody")


@service_app.command("list")
def service_list() -> None:
    """List services with their team, policy and number of integrations."""
    with reported(), opened() as ctx:
        services = catalog.list_services(ctx)

    if not services:
        console.print("no services")
        return

    table = Table("service", "team", "policy", "integrations")
    for service in services:
        table.add_row(
            plain(service.name),
            plain(service.team or "-"),
            plain(service.policy or "-"),
            str(len(service.integrations)),
        )
    console.print(table)


@service_app.command("show")
def service_show(name: str = typer.Argument(..., help="The service's name.")) -> None:
    """Show a service: team, policy and integrations (keys only by prefix)."""
    with reported(), opened() as ctx:
        service = catalog.get_service(ctx, name)

    _print_service(service)


@service_app.command("set-policy")
def service_set_policy(
    name: str = typer.Argument(..., help="The service's name."),
    policy: str = typer.Argument(..., help="The escalation policy to page through."),
) -> None:
    """Page through another escalation policy.

    New incidents use it; open incidents keep the policy they started with.
    """
    with reported(), opened() as ctx:
        service = catalog.set_policy(ctx, OPERATOR, name, policy)

    console.print(plain(f"service {service.name} pages through {service.policy}"))


@integration_app.command("add")
def integration_add(
    service: str = typer.Argument(..., help="The service alerts go to."),
    kind: str = typer.Option(..., help=f"Payload format: {', '.join(KINDS)}."),
    name: str = typer.Option("", help="A name unique in the service (default: kind)."),
) -> None:
    """Add an integration and print its key, once.

    With the key comes what to paste into the sender. Tocsin keeps only a hash
    of the key.
    """
    with reported(), opened() as ctx:
        new = catalog.add_integration(ctx, OPERATOR, service, kind=kind, name=name)
        base_url = ctx.settings.base_url

    _print_key(new, base_url)


@integration_app.command("disable", help=f"Refuse an integration's key. {_SOON}")
def integration_disable(
    service: str = typer.Argument(..., help="The service."),
    name: str = typer.Argument(..., help="The integration's name."),
) -> None:
    with reported(), opened() as ctx:
        integration = catalog.disable_integration(ctx, OPERATOR, service, name)

    console.print(
        plain(f"integration {integration.name} of service {service} is disabled")
    )


@integration_app.command(
    "rotate",
    help=f"Give an integration a new key (printed once); the old key stops "
    f"working. {_SOON}",
)
def integration_rotate(
    service: str = typer.Argument(..., help="The service."),
    name: str = typer.Argument(..., help="The integration's name."),
) -> None:
    with reported(), opened() as ctx:
        new = catalog.rotate_key(ctx, OPERATOR, service, name)
        base_url = ctx.settings.base_url

    _print_key(new, base_url)


def _print_steps(steps: tuple[StepRead, ...]) -> None:
    grid = Table.grid(padding=(0, 2))
    for number, step in enumerate(steps, start=1):
        pages = ", ".join(
            [
                *(f"{user.name} <{user.email}>" for user in step.targets),
                *(f"on call in schedule {name}" for name in step.schedules),
                *(f"team {name}" for name in step.teams),
            ]
        )
        grid.add_row(
            f"step {number}",
            plain(
                ("one in turn of: " if step.round_robin else "") + (pages or "nobody")
            ),
            f"then waits {step.delay_minutes} min",
        )
    console.print(grid)


def _print_policy(policy: PolicyRead) -> None:
    console.print(plain(policy.name), style="bold")

    facts = Table.grid(padding=(0, 2))
    facts.add_row("team", plain(policy.team or "-"))
    passes = policy.repeat + 1
    facts.add_row(
        "repeat", f"{policy.repeat} (the steps run {passes} time{'s' * (passes > 1)})"
    )
    facts.add_row("services", plain(", ".join(policy.services) or "-"))
    if policy.ack_timeout_minutes:
        facts.add_row(
            "ack timeout",
            f"{policy.ack_timeout_minutes} min (then triggered again)",
        )
    console.print(facts)

    _print_steps(policy.steps)


def _print_service(service: ServiceRead) -> None:
    console.print(plain(service.name), style="bold")

    facts = Table.grid(padding=(0, 2))
    if service.description:
        facts.add_row("description", plain(service.description))
    facts.add_row("team", plain(service.team or "-"))
    facts.add_row("policy", plain(service.policy or "- (its incidents page nobody)"))
    facts.add_row("auto-resolve", "yes" if service.auto_resolve else "no")
    console.print(facts)

    if not service.integrations:
        console.print("no integrations: add one with `tocsin integration add`")
        return

    table = Table("integration", "kind", "key", "state", title="Integrations")
    for integration in service.integrations:
        table.add_row(
            plain(integration.name),
            integration.kind,
            f"{integration.key_prefix}...",
            "disabled" if integration.disabled else "enabled",
        )
    console.print(table)


def _print_key(new: NewKey, base_url: str) -> None:
    """The key, once, and a snippet for the sender that needs only pasting."""
    integration = new.integration
    console.print(
        plain(
            f"integration {integration.name} ({integration.kind}) "
            f"of service {new.service}"
        )
    )
    if integration.disabled:
        console.print("the integration is disabled: this key is refused too")
    console.print(f"key {new.key}", highlight=False)
    console.print("(shown only now: Tocsin keeps only a hash of it)")
    console.print()
    console.print(
        plain(_snippet(integration.kind, new.key, base_url.rstrip("/"))),
        highlight=False,
        soft_wrap=True,
    )


def _snippet(kind: str, key: str, base: str) -> str:
    if kind == "alertmanager":
        return f"""In alertmanager.yml:

route:
  receiver: tocsin
receivers:
  - name: tocsin
    webhook_configs:
      - url: {base}/api/v1/intake/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {key}"""

    if kind == "grafana":
        return f"""In Grafana, a contact point of type Webhook with the URL:

{base}/api/v1/intake/grafana/{key}"""

    if kind == "events_v2":
        return f"""A test alert (send it again with "event_action": "resolve"):

curl -sS {base}/v2/enqueue \\
  -H 'Content-Type: application/json' \\
  -d '{{"routing_key": "{key}", "event_action": "trigger",
       "dedup_key": "tocsin-test",
       "payload": {{"summary": "Test alert", "source": "tocsin-setup",
                   "severity": "info"}}}}'"""

    return f"""A test alert (send it again with "action": "resolve"):

curl -sS {base}/api/v1/intake/generic \\
  -H 'Authorization: Bearer {key}' \\
  -H 'Content-Type: application/json' \\
  -d '{{"action": "trigger", "dedup_key": "tocsin-test",
       "summary": "Test alert", "source": "tocsin-setup", "severity": "info"}}'"""
