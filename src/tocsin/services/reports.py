"""Reports: problems raised by people (staff, customers, email) that wait in
the incident log until triage declares an incident from them or dismisses them.

A new report pages its triage owner at once (through their own contact
methods and notification rules, see report_pages), and again every
`report_reminder_minutes` while nobody has triaged it (at most
MAX_REMINDERS times). The public form is guarded by a signed form token, a
rate limit per client address kept in the database (so every process agrees),
and a honeypot field checked by the web layer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tocsin.digits import plain_digits
from tocsin.domain import triage as rules
from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.domain.triage import ReportStatus
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.services import report_pages
from tocsin.services import triage as config
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.store.models import Incident, Service, Timer, User
from tocsin.store.models.triage import Report
from tocsin.triage_schemas import ReportPage, ReportRead, ReportReceipt

SOURCES = ("staff", "customer", "email")
MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_REPORTER = 200
MAX_EMAIL = 320
MAX_REMINDERS = 4
REMIND = "report_triage"
# A person needs longer than this to fill in the form; scripts do not.
FORM_MIN_AGE = timedelta(seconds=3)
FORM_MAX_AGE = timedelta(hours=2)
_FORM_DOMAIN = b"tocsin.report-form.v1"
_CLIENT_DOMAIN = b"tocsin.report-client.v1"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\Z")
# The class of the PostgreSQL advisory locks that take one client's reports in
# turn (the two-number form, apart from Tocsin's single-number locks).
RATE_LIMIT_LOCK = 0x70C5_0002


class RateLimited(TocsinError):
    status_code = 429
    title = "Too many requests"
    type_slug = "rate-limited"


@dataclass(frozen=True)
class ReportFilter:
    status: tuple[str, ...] = ()
    limit: int = 50
    offset: int = 0


def create_report(
    session: Session,
    ctx: Context,
    *,
    actor: Actor,
    source: str,
    title: str,
    description: str = "",
    service_id: int | None = None,
    reporter_user_id: int | None = None,
    reporter_name: str = "",
    reporter_email: str = "",
    client_key: str = "",
    details: dict[str, Any] | None = None,
) -> ReportRead:
    """Store a report in the caller's transaction, audit it, tell its triage
    owner and set the reminder. Raises InvalidInput (nothing stored) for an
    empty or overlong title, text with control characters, an unknown
    source, service or user, or a malformed reporter email."""
    if source not in SOURCES:
        raise InvalidInput(f"a report's source is one of {', '.join(SOURCES)}")
    title = _one_line(title, "a report's title", MAX_TITLE)
    description = rules.check_text(
        description, "a report's description", MAX_DESCRIPTION
    )
    reporter_name = _one_line(
        reporter_name, "the reporter's name", MAX_REPORTER, required=False
    )
    reporter_email = reporter_email.strip()
    if reporter_email and (
        len(reporter_email) > MAX_EMAIL or not _EMAIL.match(reporter_email)
    ):
        raise InvalidInput("the reporter's email address is not valid")

    if service_id is not None:
        service = session.execute(
            select(Service.team_id).where(Service.id == service_id)
        ).first()
        # Another team's service is answered as unknown, as everywhere else, so
        # a report cannot be used to learn which services exist.
        if service is None or not can_see_team(actor, service.team_id):
            raise InvalidInput(f"no service with id {service_id}")

    now = ctx.clock.now()
    report = Report(
        source=source,
        title=title,
        description=description,
        service_id=service_id,
        reporter_user_id=reporter_user_id,
        reporter_name=reporter_name,
        reporter_email=reporter_email,
        client_key=client_key,
        details=details or {},
        status=ReportStatus.UNTRIAGED,
        triaged_by_label="",
        triage_reason="",
        created_at=now,
    )
    session.add(report)
    session.flush()
    audit(
        session,
        actor,
        at=now,
        action="report.create",
        object_type="report",
        object_id=report.id,
        source=source,
        service_id=service_id,
    )
    _tell_owner(session, ctx, report, reminder=0)
    session.flush()
    session.refresh(report)
    return ReportRead.model_validate(report)


def report_as_staff(
    ctx: Context,
    actor: Actor,
    *,
    title: str,
    description: str = "",
    service_id: int | None = None,
) -> ReportRead:
    """A report from a logged-in person (any role may report)."""
    require_role(actor, Role.VIEWER)
    if actor.user_id is None:
        raise Forbidden("a staff report needs a user; use --as EMAIL")

    with ctx.db.write() as session:
        return create_report(
            session,
            ctx,
            actor=actor,
            source="staff",
            title=title,
            description=description,
            service_id=service_id,
            reporter_user_id=actor.user_id,
        )


def report_as_customer(
    ctx: Context,
    *,
    client_address: str,
    form_token: str,
    title: str,
    description: str,
    reporter_name: str = "",
    reporter_email: str = "",
) -> ReportReceipt:
    """A report from the public form. Raises Forbidden for a bad or stale form
    token and RateLimited when this client reported too often lately."""
    check_form_token(ctx, form_token)
    client = client_key(ctx, client_address)
    actor = Actor(kind="public", label="public report form", role=Role.VIEWER)

    with ctx.db.write() as session:
        if not ctx.db.is_sqlite:
            # Counting and storing must be one step per client, or reports sent
            # at once all count the same few and all pass. SQLite serialises
            # writers already.
            client_lock = int(client[:7], 16)
            session.execute(
                select(func.pg_advisory_xact_lock(RATE_LIMIT_LOCK, client_lock))
            )
        since = ctx.clock.now() - timedelta(
            minutes=ctx.settings.report_rate_window_minutes
        )
        recent = session.scalar(
            select(func.count())
            .select_from(Report)
            .where(Report.client_key == client, Report.created_at >= since)
        )
        if (recent or 0) >= ctx.settings.report_rate_limit:
            raise RateLimited(
                "you have sent several reports in a short time; please wait a "
                "while before sending another"
            )
        report = create_report(
            session,
            ctx,
            actor=actor,
            source="customer",
            title=title,
            description=description,
            reporter_name=reporter_name,
            reporter_email=reporter_email,
            client_key=client,
        )
        return ReportReceipt(reference=report.reference)


def list_reports(
    ctx: Context, actor: Actor, where: ReportFilter | None = None
) -> ReportPage:
    """Newest first; reports of services outside the actor's teams are left
    out, as their incidents are."""
    where = where or ReportFilter()
    if not 1 <= where.limit <= 500:
        raise InvalidInput("limit must be between 1 and 500")
    if where.offset < 0:
        raise InvalidInput("offset cannot be negative")
    known = {status.value for status in ReportStatus}
    for status in where.status:
        if status not in known:
            raise InvalidInput(f"status must be one of {', '.join(sorted(known))}")

    query = select(Report).outerjoin(Service, Report.service_id == Service.id)
    if where.status:
        query = query.where(Report.status.in_(where.status))
    if not can_see_team(actor, -1):
        query = query.where(
            Service.team_id.is_(None) | Service.team_id.in_(actor.team_ids)
        )

    with ctx.db.read() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.options(
                selectinload(Report.service),
                selectinload(Report.reporter),
                selectinload(Report.incident),
            )
            .order_by(Report.id.desc())
            .limit(where.limit)
            .offset(where.offset)
        ).all()
        return ReportPage(
            items=[ReportRead.model_validate(row) for row in rows],
            total=total or 0,
            limit=where.limit,
            offset=where.offset,
        )


def get_report(ctx: Context, actor: Actor, report_id: int) -> ReportRead:
    """The report with what was sent to its triage owners; NotFound when the
    actor may not see it."""
    with ctx.db.read() as session:
        read = ReportRead.model_validate(visible(session, actor, report_id))
        read.owner_pages = report_pages.sent_to_owners(session, read.id)
        return read


def dismiss(ctx: Context, actor: Actor, report_id: int, reason: str) -> ReportRead:
    """Triage a report as no incident. Needs a reason; Conflict (409) when it
    was triaged already."""
    require_role(actor, Role.RESPONDER)
    reason = rules.check_text(reason, "a reason", rules.MAX_REASON, required=True)

    with ctx.db.write() as session:
        report = locked_untriaged(session, actor, report_id)
        now = ctx.clock.now()
        mark_triaged(report, actor, now, ReportStatus.DISMISSED, reason)
        audit(
            session,
            actor,
            at=now,
            action="report.dismiss",
            object_type="report",
            object_id=report.id,
            reason=reason,
        )
        session.flush()
        return ReportRead.model_validate(report)


def visible(session: Session, actor: Actor, report_id: int) -> Report:
    """The report; NotFound when there is none or the actor may not see it."""
    report = session.get(Report, report_id) if 1 <= report_id <= 2**31 - 1 else None
    if report is None or not _sees(actor, report):
        raise NotFound(f"no report R-{report_id}")
    return report


def locked_untriaged(session: Session, actor: Actor, report_id: int) -> Report:
    """The report, locked, if it still waits for triage; Conflict otherwise."""
    if not 1 <= report_id <= 2**31 - 1:
        raise NotFound(f"no report R-{report_id}")
    report = session.scalar(
        select(Report).where(Report.id == report_id).with_for_update()
    )
    if report is None or not _sees(actor, report):
        raise NotFound(f"no report R-{report_id}")
    if report.status != ReportStatus.UNTRIAGED:
        raise Conflict(f"report R-{report_id} was triaged already ({report.status})")
    return report


def mark_triaged(
    report: Report, actor: Actor, now: datetime, status: ReportStatus, reason: str
) -> None:
    report.status = status
    report.triaged_at = now
    report.triaged_by_id = actor.user_id
    report.triaged_by_label = actor.label
    report.triage_reason = reason


def remind(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """Timer handler: tell the triage owner again if the report still waits.
    Safe to run twice: a triaged report is left alone."""
    report_id = int(timer.payload.get("report_id", 0))
    reminder = int(timer.payload.get("reminder", 1))
    report = session.scalar(
        select(Report).where(Report.id == report_id).with_for_update()
    )
    if report is None or report.status != ReportStatus.UNTRIAGED:
        return
    _tell_owner(session, ctx, report, reminder=reminder)


def _tell_owner(
    session: Session, ctx: Context, report: Report, *, reminder: int
) -> None:
    """Page whoever triages the report now, and set the next reminder."""
    now = ctx.clock.now()
    owners = config.owner_user_ids(session, report.service_id, now)
    if owners:
        message = owner_message(ctx, session, report, reminder)
        if report_pages.page_owners(session, ctx, report, owners, message):
            report.owner_notified_at = now

    if reminder < MAX_REMINDERS:
        session.add(
            Timer(
                kind=REMIND,
                due_at=now + timedelta(minutes=ctx.settings.report_reminder_minutes),
                payload={"report_id": report.id, "reminder": reminder + 1},
                created_at=now,
            )
        )


def owner_message(
    ctx: Context, session: Session, report: Report, reminder: int
) -> report_pages.Message:
    """The email text of a page to the report's triage owner; `reminder` is 0
    for the first and counts up from 1."""
    service = session.get(Service, report.service_id) if report.service_id else None
    again = " (reminder)" if reminder else ""
    subject = f"[Tocsin] Report R-{report.id} waits for triage{again}: {report.title}"
    who = _reporter(session, report)
    base = ctx.settings.base_url.rstrip("/")
    body = "\n".join(
        [
            f"A {report.source} report waits for triage.",
            "",
            f"Reference: R-{report.id}",
            f"Service:   {service.name if service else '-'}",
            f"From:      {who}",
            "",
            report.title,
            "",
            report.description[:2000],
            "",
            f"Triage it: {base}/reports/{report.id}",
        ]
    )
    return report_pages.Message(subject, body, reminder)


def _reporter(session: Session, report: Report) -> str:
    """Who reported, as `Name <address>`, for the triage owner."""
    user = (
        session.get(User, report.reporter_user_id) if report.reporter_user_id else None
    )
    name, email = (
        (user.name, user.email)
        if user
        else (
            report.reporter_name,
            report.reporter_email,
        )
    )
    parts = [name, f"<{email}>" if email else ""]
    return " ".join(part for part in parts if part) or "-"


def form_token(ctx: Context) -> str:
    """A token for the public form: when it was issued, signed."""
    issued = str(int(ctx.clock.now().timestamp()))
    return f"{issued}.{_sign(ctx, issued)}"


def check_form_token(ctx: Context, token: str) -> None:
    """Forbidden unless `token` came from form_token, between FORM_MIN_AGE and
    FORM_MAX_AGE ago."""
    issued, _, signature = token.partition(".")
    expected = _sign(ctx, issued).encode()
    if not plain_digits(issued) or not hmac.compare_digest(
        signature.encode("utf-8", "replace"), expected
    ):
        raise Forbidden("this form is not valid; reload the page and try again")

    age = ctx.clock.now().timestamp() - int(issued)
    if age < FORM_MIN_AGE.total_seconds():
        raise Forbidden("this form was sent too quickly; please try again")
    if age > FORM_MAX_AGE.total_seconds():
        raise Forbidden("this form has expired; reload the page and try again")


def client_key(ctx: Context, address: str) -> str:
    """A keyed digest of a client address: stable, but not the address."""
    key = hmac.new(
        ctx.settings.effective_secret_key().encode(), _CLIENT_DOMAIN, hashlib.sha256
    ).digest()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def _sign(ctx: Context, issued: str) -> str:
    key = hmac.new(
        ctx.settings.effective_secret_key().encode(), _FORM_DOMAIN, hashlib.sha256
    ).digest()
    digest = hmac.new(key, issued.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _one_line(value: str, what: str, limit: int, *, required: bool = True) -> str:
    # A tab is only a wide space here (folded mail subjects carry them).
    value = rules.check_text(value.replace("\t", " "), what, limit, required=required)
    if "\n" in value or "\r" in value:
        raise InvalidInput(f"{what} is one line")
    return value


def _sees(actor: Actor, report: Report) -> bool:
    team_id = report.service.team_id if report.service is not None else None
    return can_see_team(actor, team_id)


def _exists(session: Session, model: type[Any], row_id: int) -> bool:
    return 1 <= row_id <= 2**31 - 1 and session.get(model, row_id) is not None


def service_choices(ctx: Context, actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of the services the actor may report on, by name."""
    query = select(Service.id, Service.name).order_by(Service.name)
    if not can_see_team(actor, -1):
        query = query.where(
            Service.team_id.is_(None) | Service.team_id.in_(actor.team_ids)
        )
    with ctx.db.read() as session:
        return [(row.id, row.name) for row in session.execute(query)]
