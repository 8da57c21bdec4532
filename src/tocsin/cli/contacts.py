"""`contact`, `notification-rule` and `delivery`: how people are reached, and
how that is going."""

from __future__ import annotations

import typer

from tocsin.cli.common import console, opened, plain, reported
from tocsin.cli.people import OPERATOR
from tocsin.services import contacts, deliveries, notification_rules
from tocsin.services.context import Context

contact_app = typer.Typer(help="Contact methods of users.", no_args_is_help=True)
rule_app = typer.Typer(
    help="Notification rules: which contact method, how long after a page starts.",
    no_args_is_help=True,
)
delivery_app = typer.Typer(help="Delivery of pages and messages.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(contact_app, name="contact")
    app.add_typer(rule_app, name="notification-rule")
    app.add_typer(delivery_app, name="delivery")


def _user_id(ctx: Context, email: str) -> int:
    with ctx.db.read() as session:
        return contacts.user_by_email(session, email).id


@contact_app.command("add")
def contact_add(
    email: str = typer.Argument(..., help="The user's login email."),
    kind: str = typer.Argument(..., help="email, sms, voice, slack, teams or webhook."),
    address: str = typer.Argument(
        ..., help="Address, E.164 number, Slack member id or URL."
    ),
    label: str = typer.Option("", help="What it is, as 'work phone'."),
) -> None:
    """Add a contact method. A webhook's signing secret is printed once."""
    with reported(), opened() as ctx:
        created = contacts.add_contact(
            ctx, OPERATOR, _user_id(ctx, email), kind=kind, address=address, label=label
        )
    console.print(
        plain(f"contact method {created.id} {created.kind} {created.address}")
    )
    if created.signing_secret:
        console.print(plain(f"signing secret {created.signing_secret}"))


@contact_app.command("list")
def contact_list(
    email: str = typer.Argument(..., help="The user's login email."),
) -> None:
    """List a user's contact methods."""
    with reported(), opened() as ctx:
        found = contacts.list_contacts(ctx, OPERATOR, _user_id(ctx, email))
    for contact in found:
        label = f" ({contact.label})" if contact.label else ""
        console.print(plain(f"{contact.id} {contact.kind} {contact.address}{label}"))


@contact_app.command("remove")
def contact_remove(
    email: str = typer.Argument(..., help="The user's login email."),
    contact_id: int = typer.Argument(..., help="The contact method's id."),
) -> None:
    """Remove a contact method and its notification rules."""
    with reported(), opened() as ctx:
        contacts.remove_contact(ctx, OPERATOR, _user_id(ctx, email), contact_id)
    console.print(plain(f"contact method {contact_id} removed"))


@contact_app.command("test")
def contact_test(
    email: str = typer.Argument(..., help="The user's login email."),
    contact_id: int = typer.Argument(..., help="The contact method's id."),
) -> None:
    """Queue a test notification; the worker sends it like a page."""
    with reported(), opened() as ctx:
        queued = contacts.send_test(ctx, OPERATOR, _user_id(ctx, email), contact_id)
    console.print(plain(f"test message {queued.message_id} queued"))


@rule_app.command("add")
def rule_add(
    email: str = typer.Argument(..., help="The user's login email."),
    contact: int = typer.Option(..., help="The contact method's id."),
    delay: int = typer.Option(0, help="Minutes after the page starts (0: at once)."),
) -> None:
    """Use a contact method DELAY minutes into a page, if still unacknowledged."""
    with reported(), opened() as ctx:
        rule = notification_rules.add_rule(
            ctx,
            OPERATOR,
            _user_id(ctx, email),
            contact_method_id=contact,
            delay_minutes=delay,
        )
    console.print(
        plain(
            f"rule {rule.id}: {rule.kind} {rule.address} after {rule.delay_minutes} min"
        )
    )


@rule_app.command("list")
def rule_list(email: str = typer.Argument(..., help="The user's login email.")) -> None:
    """List a user's notification rules; none means every contact method at once."""
    with reported(), opened() as ctx:
        rules = notification_rules.list_rules(ctx, OPERATOR, _user_id(ctx, email))
    if not rules:
        console.print("no rules: every contact method is used at once")
    for rule in rules:
        console.print(
            plain(
                f"{rule.id} {rule.kind} {rule.address} after {rule.delay_minutes} min"
            )
        )


@rule_app.command("remove")
def rule_remove(
    email: str = typer.Argument(..., help="The user's login email."),
    rule_id: int = typer.Argument(..., help="The rule's id."),
) -> None:
    """Remove a notification rule."""
    with reported(), opened() as ctx:
        notification_rules.remove_rule(ctx, OPERATOR, _user_id(ctx, email), rule_id)
    console.print(plain(f"rule {rule_id} removed"))


@delivery_app.command("report")
def delivery_report() -> None:
    """Messages by channel and status, and the latest that failed for good."""
    with reported(), opened() as ctx:
        report = deliveries.report(ctx, OPERATOR)
    console.print(f"failed: {report.failed_total}")
    for row in report.channels:
        console.print(
            plain(
                f"{row.channel}: {row.sent} sent, {row.pending} pending, "
                f"{row.failed} failed, {row.cancelled} cancelled"
            )
        )
    for failure in report.recent_failures:
        number = f"#{failure.incident_number} " if failure.incident_number else ""
        console.print(
            plain(
                f"failed {failure.id} {number}{failure.channel} {failure.recipient}: "
                f"{failure.last_error[:200]}"
            )
        )
