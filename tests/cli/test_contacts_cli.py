"""`tocsin contact`, `tocsin notification-rule` and `tocsin delivery`: what they
store and print, and one `error:` line for bad input."""

from __future__ import annotations

from sqlalchemy import select

from tests.builders import make_user
from tests.cli.conftest import Run
from tocsin.services.context import Context
from tocsin.store.models import ContactMethod, NotificationRule, OutboxMessage


def test_contact_add_list_and_remove(tocsin: Run, ctx: Context) -> None:
    """A contact is stored in its clean form and listed with its label."""
    make_user(ctx, "ann@example.com")

    added = tocsin(
        "contact", "add", "ann@example.com", "sms", "+1 555 123 0001",
        "--label", "work phone",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    with ctx.db.read() as session:
        sms = session.scalars(
            select(ContactMethod).where(ContactMethod.kind == "sms")
        ).one()
    assert added.stdout == f"contact method {sms.id} sms +15551230001\n"

    listed = tocsin("contact", "list", "ann@example.com")
    assert f"{sms.id} sms +15551230001 (work phone)" in listed.stdout

    removed = tocsin("contact", "remove", "ann@example.com", str(sms.id))
    assert removed.exit_code == 0
    assert "+15551230001" not in tocsin("contact", "list", "ann@example.com").stdout


def test_a_webhook_contact_prints_its_signing_secret(tocsin: Run, ctx: Context) -> None:
    """The secret is printed once, at creation."""
    make_user(ctx, "ann@example.com")

    added = tocsin(
        "contact", "add", "ann@example.com", "webhook", "https://hooks.example.com/x"
    )

    assert "signing secret whsec_" in added.stdout


def test_bad_contact_input_is_one_error_line(tocsin: Run, ctx: Context) -> None:
    """A bad number, an unknown user and an internal URL each fail cleanly."""
    make_user(ctx, "ann@example.com")

    for args, words in [
        (("ann@example.com", "sms", "12345"), "international form"),
        (("nobody@example.com", "sms", "+15551230001"), "no user"),
        (("ann@example.com", "webhook", "http://10.1.2.3/x"), "private address"),
    ]:
        result = tocsin("contact", "add", *args)
        assert result.exit_code == 1
        assert result.stderr.count("error:") == 1
        assert words in result.stderr
    with ctx.db.read() as session:
        assert len(session.scalars(select(ContactMethod)).all()) == 1


def test_arguments_that_are_not_utf8_are_one_error_line(
    tocsin: Run, ctx: Context
) -> None:
    """Bytes that are not UTF-8 (Python hands them over as lone surrogates) are
    refused in an address or a label, not a traceback from the database."""
    make_user(ctx, "ann@example.com")

    for args in [
        ("ann@example.com", "email", "ann\udcff@example.com"),
        ("ann@example.com", "email", "ann@example.org", "--label", "work\udcff"),
    ]:
        result = tocsin("contact", "add", *args)
        assert result.exit_code == 1
        assert result.stderr.count("error:") == 1
    with ctx.db.read() as session:
        assert len(session.scalars(select(ContactMethod)).all()) == 1


def test_an_id_past_the_database_range_is_not_found(tocsin: Run, ctx: Context) -> None:
    """A contact or rule id too large for the database is one error line."""
    make_user(ctx, "ann@example.com")
    huge = str(2**70)

    for args in [
        ("contact", "remove", "ann@example.com", huge),
        ("contact", "test", "ann@example.com", huge),
        ("notification-rule", "add", "ann@example.com", "--contact", huge),
        ("notification-rule", "remove", "ann@example.com", huge),
    ]:
        result = tocsin(*args)
        assert result.exit_code == 1, args
        assert result.stderr.count("error:") == 1
        assert "has no" in result.stderr


def test_notification_rules_from_the_shell(tocsin: Run, ctx: Context) -> None:
    """Add, list and remove; an empty list says what happens without rules."""
    make_user(ctx, "ann@example.com")
    assert (
        "every contact method"
        in tocsin("notification-rule", "list", "ann@example.com").stdout
    )
    with ctx.db.read() as session:
        email_id = session.scalars(select(ContactMethod.id)).one()

    added = tocsin(
        "notification-rule", "add", "ann@example.com",
        "--contact", str(email_id), "--delay", "3",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "email ann@example.com after 3 min" in added.stdout
    with ctx.db.read() as session:
        rule_id = session.scalars(select(NotificationRule.id)).one()

    bad = tocsin(
        "notification-rule", "add", "ann@example.com",
        "--contact", str(email_id), "--delay", "5000",
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "0 to 1440" in bad.stderr

    assert (
        tocsin("notification-rule", "remove", "ann@example.com", str(rule_id)).exit_code
        == 0
    )
    with ctx.db.read() as session:
        assert session.scalars(select(NotificationRule)).all() == []


def test_contact_test_queues_a_message_and_delivery_report_counts_it(
    tocsin: Run, ctx: Context
) -> None:
    """The test notification waits in the outbox for the worker."""
    make_user(ctx, "ann@example.com")
    with ctx.db.read() as session:
        email_id = session.scalars(select(ContactMethod.id)).one()

    queued = tocsin("contact", "test", "ann@example.com", str(email_id))

    assert queued.exit_code == 0, queued.output
    with ctx.db.read() as session:
        message = session.scalars(select(OutboxMessage)).one()
    assert queued.stdout == f"test message {message.id} queued\n"
    report = tocsin("delivery", "report")
    assert "failed: 0" in report.stdout
    assert "email: 0 sent, 1 pending, 0 failed, 0 cancelled" in report.stdout
