"""Reports wait for triage, tell their triage owner, and are dismissed with a
reason; bad input stores nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.builders import actor_of, make_service, make_user, team_id
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import reports, triage
from tocsin.services.context import Context
from tocsin.services.reports import RateLimited, ReportFilter
from tocsin.store.models import AuditRecord, OutboxMessage, Timer
from tocsin.store.models.triage import Report


def _count(ctx: Context, model: type) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_tab_in_a_title_is_a_space(ctx: Context) -> None:
    """Mail subjects folded over lines keep a tab; it reads as a space."""
    with ctx.db.write() as session:
        report = reports.create_report(
            session, ctx, actor=SYSTEM, source="email", title="Disk\tfull"
        )

    assert report.title == "Disk full"


def test_create_report_stores_it_untriaged_and_audits_it(ctx: Context) -> None:
    """A report made in the caller's transaction waits for triage, audited."""
    service_id = make_service(ctx)
    with ctx.db.write() as session:
        report = reports.create_report(
            session,
            ctx,
            actor=SYSTEM,
            source="email",
            title="Checkout shows a blank page",
            description="Since 09:00, for every customer we asked.",
            service_id=service_id,
            reporter_email="carol@example.com",
            details={"message_id": "<abc@example.com>"},
        )

    assert report.reference == f"R-{report.id}"
    assert report.status == "untriaged"
    assert report.service is not None
    assert report.service.id == service_id
    with ctx.db.read() as session:
        actions = session.scalars(select(AuditRecord.action)).all()
        stored = session.get(Report, report.id)
    assert "report.create" in actions
    assert stored is not None
    assert stored.details == {"message_id": "<abc@example.com>"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "x" * 201),
        ("title", "two\nlines"),
        ("description", "bell \x07"),
        ("reporter_email", "not an address"),
        ("source", "pigeon"),
        ("service_id", 999_999),
    ],
)
def test_bad_report_input_is_refused_and_nothing_is_stored(
    ctx: Context, field: str, value: object
) -> None:
    """Each kind of bad input is a 400 and leaves no report behind."""
    arguments: dict[str, object] = {"source": "staff", "title": "Slow search"}
    arguments[field] = value

    with pytest.raises(InvalidInput), ctx.db.write() as session:
        reports.create_report(session, ctx, actor=SYSTEM, **arguments)  # type: ignore[arg-type]

    assert _count(ctx, Report) == 0


def test_the_triage_owner_of_the_service_is_told_and_reminded(
    ctx: Context, clock: ManualClock
) -> None:
    """The service's owner is paged at once, and a reminder timer is set."""
    owner = make_user(ctx, "olga@example.com")
    reporter = make_user(ctx, "rick@example.com", role="viewer")
    service_id = make_service(ctx)
    triage.set_owner(ctx, SYSTEM, service_id=service_id, user_id=owner.id)

    report = reports.report_as_staff(
        ctx, actor_of(ctx, reporter), title="Search is slow", service_id=service_id
    )

    with ctx.db.read() as session:
        messages = session.scalars(select(OutboxMessage)).all()
        timers = session.scalars(select(Timer)).all()
    assert [m.recipient for m in messages] == ["olga@example.com"]
    assert messages[0].payload["kind"] == "report_page"
    assert f"R-{report.id}" in messages[0].subject
    assert "From:      Rick <rick@example.com>" in messages[0].body
    assert [t.kind for t in timers] == [reports.REMIND]
    assert timers[0].due_at == clock.now() + timedelta(minutes=15)


def test_the_team_owner_takes_reports_of_services_without_their_own(
    ctx: Context,
) -> None:
    """Without a service owner, the owner of the service's team is told."""
    lead = make_user(ctx, "lena@example.com")
    service_id = make_service(ctx)
    triage.set_owner(ctx, SYSTEM, team_id=team_id(ctx, "Ops"), user_id=lead.id)

    reports.report_as_staff(
        ctx, actor_of(ctx, lead), title="Search is slow", service_id=service_id
    )

    with ctx.db.read() as session:
        recipients = session.scalars(select(OutboxMessage.recipient)).all()
    assert recipients == ["lena@example.com"]


def test_a_reminder_for_a_triaged_report_tells_nobody(ctx: Context) -> None:
    """The reminder handler leaves a report alone once someone triaged it."""
    owner = make_user(ctx, "olga@example.com")
    triage.set_owner(ctx, SYSTEM, user_id=owner.id)
    report = reports.report_as_staff(ctx, actor_of(ctx, owner), title="Odd")
    reports.dismiss(ctx, actor_of(ctx, owner), report.id, "A test, not a problem")

    with ctx.db.write() as session:
        timer = session.scalars(select(Timer)).one()
        reports.remind(session, ctx, timer, None)

    assert _count(ctx, OutboxMessage) == 1


def test_a_reminder_for_a_waiting_report_tells_the_owner_again(ctx: Context) -> None:
    """An untriaged report's reminder notifies again and sets the next one."""
    owner = make_user(ctx, "olga@example.com")
    triage.set_owner(ctx, SYSTEM, user_id=owner.id)
    reports.report_as_staff(ctx, actor_of(ctx, owner), title="Odd")

    with ctx.db.write() as session:
        timer = session.scalars(select(Timer)).one()
        reports.remind(session, ctx, timer, None)
        session.delete(timer)

    with ctx.db.read() as session:
        subjects = session.scalars(select(OutboxMessage.subject)).all()
        payloads = session.scalars(select(Timer.payload)).all()
    assert len(subjects) == 2
    assert "reminder" in subjects[1]
    assert [payload["reminder"] for payload in payloads] == [2]


def test_dismissing_needs_a_reason_and_happens_once(ctx: Context) -> None:
    """A dismissal without a reason is refused; a second dismissal conflicts."""
    user = make_user(ctx)
    actor = actor_of(ctx, user)
    report = reports.report_as_staff(ctx, actor, title="Odd")

    with pytest.raises(InvalidInput):
        reports.dismiss(ctx, actor, report.id, "  ")
    dismissed = reports.dismiss(ctx, actor, report.id, "Known issue, fixed")
    with pytest.raises(Conflict):
        reports.dismiss(ctx, actor, report.id, "again")

    assert dismissed.status == "dismissed"
    assert dismissed.triage_reason == "Known issue, fixed"
    assert dismissed.triaged_by_label == user.email


def test_viewers_cannot_dismiss(ctx: Context) -> None:
    """Triage needs the responder role."""
    viewer = actor_of(ctx, make_user(ctx, "vic@example.com", role="viewer"))
    report = reports.report_as_staff(ctx, viewer, title="Odd")

    with pytest.raises(Forbidden):
        reports.dismiss(ctx, viewer, report.id, "no")


def test_reports_of_other_teams_services_are_hidden(ctx: Context) -> None:
    """A responder neither lists nor reads reports of another team's service."""
    make_service(ctx, "billing", team="Billing")
    billing = make_user(ctx, "bill@example.com", teams=("Billing",))
    ops = actor_of(ctx, make_user(ctx, "otto@example.com", teams=("Ops",)))
    with ctx.db.read() as session:
        from tocsin.store.models import Service

        billing_id = session.scalar(select(Service.id).where(Service.name == "billing"))
    report = reports.report_as_staff(
        ctx, actor_of(ctx, billing), title="Invoices late", service_id=billing_id
    )

    assert reports.list_reports(ctx, ops, ReportFilter()).total == 0
    with pytest.raises(NotFound):
        reports.get_report(ctx, ops, report.id)


def test_a_report_cannot_name_another_teams_service(ctx: Context) -> None:
    """Naming a service of another team is refused as an unknown service, and
    nothing is stored."""
    make_service(ctx, "billing", team="Billing")
    ops = actor_of(ctx, make_user(ctx, "otto@example.com", teams=("Ops",)))
    with ctx.db.read() as session:
        from tocsin.store.models import Service

        billing_id = session.scalar(select(Service.id).where(Service.name == "billing"))

    with pytest.raises(InvalidInput, match="no service"):
        reports.report_as_staff(ctx, ops, title="Invoices late", service_id=billing_id)
    assert reports.list_reports(ctx, SYSTEM, ReportFilter()).total == 0


def test_customer_reports_are_rate_limited_per_client(
    ctx: Context, clock: ManualClock
) -> None:
    """The sixth report within an hour from one address is refused; another
    address is not affected, and the window passes."""
    token = reports.form_token(ctx)
    clock.advance(seconds=10)

    def send(address: str) -> str:
        return reports.report_as_customer(
            ctx,
            client_address=address,
            form_token=token,
            title="Site down",
            description="Cannot log in",
        ).reference

    for _ in range(5):
        send("203.0.113.7")
    with pytest.raises(RateLimited):
        send("203.0.113.7")
    send("198.51.100.2")
    clock.advance(minutes=61)
    send("203.0.113.7")

    assert _count(ctx, Report) == 7
    with ctx.db.read() as session:
        keys = set(session.scalars(select(Report.client_key)))
    assert "203.0.113.7" not in keys
    assert len(keys) == 2


def test_reports_sent_at_once_cannot_pass_the_rate_limit(
    ctx: Context, clock: ManualClock
) -> None:
    """Many reports from one address released together: the limit holds, as
    each one counts the others' before it is stored."""
    token = reports.form_token(ctx)
    clock.advance(seconds=10)
    senders = 12
    barrier = threading.Barrier(senders)
    outcomes: list[str] = []

    def send() -> None:
        barrier.wait()
        try:
            reports.report_as_customer(
                ctx,
                client_address="203.0.113.7",
                form_token=token,
                title="Site down",
                description="Cannot log in",
            )
            outcomes.append("taken")
        except RateLimited:
            outcomes.append("refused")

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    limit = ctx.settings.report_rate_limit
    assert sorted(outcomes) == ["refused"] * (senders - limit) + ["taken"] * limit
    assert _count(ctx, Report) == limit


def test_form_tokens_must_be_signed_and_neither_too_fresh_nor_stale(
    ctx: Context, clock: ManualClock
) -> None:
    """A forged, instant or two-hour-old form token is refused."""
    token = reports.form_token(ctx)
    with pytest.raises(Forbidden):
        reports.check_form_token(ctx, token)
    clock.advance(seconds=5)
    reports.check_form_token(ctx, token)
    issued, _, _ = token.partition(".")
    with pytest.raises(Forbidden):
        reports.check_form_token(ctx, f"{issued}.forged")
    with pytest.raises(Forbidden):
        reports.check_form_token(ctx, "garbage")
    clock.advance(hours=2)
    with pytest.raises(Forbidden):
        reports.check_form_token(ctx, token)
