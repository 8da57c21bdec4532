"""Postmortems: written from the incidents' own record, edited by section,
and exported. Review (submit, comment, approve, publish) is in
services/postmortem_review.py; action items in services/action_items.py.

A postmortem is seen by whoever sees its first incident's team, and edited by
responders among them; a published one is read-only until reopened.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from markupsafe import Markup
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin import charts, markdown
from tocsin.domain import postmortems as rules
from tocsin.domain.access import SYSTEM, Actor, Role, can_see_team, require_role
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.postmortem_schemas import (
    CommentRead,
    PostmortemBrief,
    PostmortemRead,
    ReviewerRead,
    TemplateRead,
)
from tocsin.schemas import UserRef
from tocsin.services import notices, participants
from tocsin.services.context import Context
from tocsin.services.incident_scope import (
    MAX_ID,
    checked_line,
    checked_text,
    locked_incident,
    visible_incident,
)
from tocsin.services.records import add_timeline, audit
from tocsin.store.models import (
    Incident,
    IncidentNote,
    Postmortem,
    PostmortemIncident,
    PostmortemTemplate,
    TimelineEntry,
    Timer,
    User,
)

if TYPE_CHECKING:
    from tocsin.services.insights import IncidentMetricsRead

POSTMORTEM_DUE = "postmortem_due"
MAX_TITLE = 500
MAX_SECTION = 100_000
MAX_INCIDENTS = 20
MAX_WHY = 1000
# A long incident's timeline is cut to its first entries; pinned ones always go.
MAX_TIMELINE = 200
DEFAULT_TEMPLATE = "blameless"


# Templates -----------------------------------------------------------------


def list_templates(ctx: Context, actor: Actor) -> list[TemplateRead]:
    require_role(actor, Role.VIEWER)
    with ctx.db.read() as session:
        rows = session.scalars(
            select(PostmortemTemplate).order_by(PostmortemTemplate.name)
        )
        stored = [_template_read(row) for row in rows]
    if not any(t.name == DEFAULT_TEMPLATE for t in stored):
        builtin = TemplateRead(
            id=0,
            name=DEFAULT_TEMPLATE,
            sections=dict(rules.BLAMELESS),
            is_default=not any(t.is_default for t in stored),
        )
        stored.insert(0, builtin)
    return stored


def save_template(
    ctx: Context,
    actor: Actor,
    name: str,
    sections: dict[str, str],
    *,
    is_default: bool = False,
    new: bool = False,
) -> TemplateRead:
    """Create or replace the template called `name` (admins only); with `new`,
    Conflict when that name is taken. Making it the default takes that from
    any other."""
    require_role(actor, Role.ADMIN)
    name = checked_line(name, "a template name", 100)
    guidance = _checked_sections(sections)

    try:
        with ctx.db.write() as session:
            now = ctx.clock.now()
            row = session.scalar(
                select(PostmortemTemplate).where(PostmortemTemplate.name == name)
            )
            if row is not None and new:
                raise Conflict(f"there is already a postmortem template named {name!r}")
            if row is None:
                row = PostmortemTemplate(name=name, created_at=now, updated_at=now)
                session.add(row)
            row.sections = {key: guidance.get(key, "") for key in rules.SECTION_KEYS}
            row.updated_at = now
            if is_default:
                for other in session.scalars(
                    select(PostmortemTemplate).where(PostmortemTemplate.is_default)
                ):
                    other.is_default = False
            row.is_default = is_default
            session.flush()
            audit(
                session,
                actor,
                at=now,
                action="postmortem.template_save",
                object_type="postmortem_template",
                object_id=row.id,
                name=name,
                is_default=is_default,
            )
            return _template_read(row)
    except IntegrityError:
        # Another save made the name at the same moment: the unique name
        # lets one through, and this one changes nothing.
        raise Conflict(
            f"there is already a postmortem template named {name!r}"
        ) from None


def _template_read(row: PostmortemTemplate) -> TemplateRead:
    return TemplateRead(
        id=row.id,
        name=row.name,
        sections={k: str(v) for k, v in row.sections.items()},
        is_default=row.is_default,
    )


def _guidance(session: Session, name: str | None) -> tuple[str, dict[str, str]]:
    if name is None:
        row = session.scalar(
            select(PostmortemTemplate).where(PostmortemTemplate.is_default)
        )
        if row is None:
            return DEFAULT_TEMPLATE, dict(rules.BLAMELESS)
    else:
        row = session.scalar(
            select(PostmortemTemplate).where(PostmortemTemplate.name == name.strip())
        )
        if row is None and name.strip() == DEFAULT_TEMPLATE:
            return DEFAULT_TEMPLATE, dict(rules.BLAMELESS)
        if row is None:
            raise NotFound(f"no postmortem template named {name!r}")
    return row.name, {k: str(v) for k, v in row.sections.items()}


# Postmortems ---------------------------------------------------------------


def create(
    ctx: Context,
    actor: Actor,
    numbers: Sequence[int],
    *,
    title: str | None = None,
    template: str | None = None,
) -> PostmortemRead:
    """A draft postmortem for the incidents, prefilled from their record.
    Conflict when one of them already has a postmortem."""
    require_role(actor, Role.RESPONDER)
    wanted = list(dict.fromkeys(numbers))
    if not 1 <= len(wanted) <= MAX_INCIDENTS:
        raise InvalidInput(f"a postmortem covers 1 to {MAX_INCIDENTS} incidents")
    if title is not None:
        title = checked_line(title, "a postmortem title", MAX_TITLE)

    with ctx.db.write() as session:
        # Row locks, taken in number order so two groups cannot deadlock: a
        # second start for an incident waits for the first, then sees it.
        locked = {n: locked_incident(session, actor, n) for n in sorted(wanted)}
        incidents = [locked[n] for n in wanted]
        for incident in incidents:
            taken = session.scalar(
                select(PostmortemIncident.postmortem_id).where(
                    PostmortemIncident.incident_id == incident.id
                )
            )
            if taken is not None:
                raise Conflict(
                    f"incident #{incident.number} already has postmortem {taken}"
                )
        template_name, guidance = _guidance(session, template)
        records = [_record(session, incident) for incident in incidents]

        now = ctx.clock.now()
        severity = rules.worst_severity([i.severity for i in incidents])
        first = incidents[0]
        postmortem = Postmortem(
            title=title or f"Postmortem: #{first.number} {first.title}"[:MAX_TITLE],
            status=rules.PostmortemStatus.DRAFT,
            template_name=template_name,
            team_id=first.service.team_id,
            severity=severity,
            sections=rules.prefill(records, guidance),
            five_whys=[],
            due_at=rules.due_at(severity, now),
            created_by_id=actor.user_id,
            created_by_label=actor.label,
            created_at=now,
            updated_at=now,
        )
        session.add(postmortem)
        session.flush()
        for position, incident in enumerate(incidents):
            session.add(
                PostmortemIncident(
                    postmortem_id=postmortem.id,
                    incident_id=incident.id,
                    position=position,
                )
            )
            add_timeline(
                session,
                incident,
                at=now,
                kind="postmortem_started",
                message=f"Postmortem {postmortem.id} started by {actor.label}",
                actor=actor,
                postmortem_id=postmortem.id,
            )
        arm_due(session, ctx, postmortem)
        _audit(session, actor, postmortem, "postmortem.create", now, numbers=wanted)
        return read_in(session, postmortem.id, now)


def update(
    ctx: Context,
    actor: Actor,
    postmortem_id: int,
    *,
    title: str | None = None,
    sections: dict[str, str] | None = None,
    five_whys: Sequence[str] | None = None,
) -> PostmortemRead:
    """Change the title, some sections (others are kept) or the five whys.
    Conflict once published: reopen it first."""
    require_role(actor, Role.RESPONDER)
    if title is not None:
        title = checked_line(title, "a postmortem title", MAX_TITLE)
    changed = _checked_sections(sections or {})
    whys = None
    if five_whys is not None:
        if len(five_whys) > rules.MAX_WHYS:
            raise InvalidInput(f"the five whys hold at most {rules.MAX_WHYS} answers")
        whys = [checked_text(w, "a why", MAX_WHY, empty=True) for w in five_whys]

    with ctx.db.write() as session:
        postmortem = locked(session, actor, postmortem_id)
        if postmortem.status == rules.PostmortemStatus.PUBLISHED:
            raise Conflict("a published postmortem is read-only; reopen it to edit")

        now = ctx.clock.now()
        if title is not None:
            postmortem.title = title
        if changed:
            postmortem.sections = {**postmortem.sections, **changed}
        if whys is not None:
            postmortem.five_whys = whys
        postmortem.updated_at = now
        _audit(
            session,
            actor,
            postmortem,
            "postmortem.update",
            now,
            sections=sorted(changed),
            title=title is not None,
            five_whys=whys is not None,
        )
        return read_in(session, postmortem.id, now)


def get(ctx: Context, actor: Actor, postmortem_id: int) -> PostmortemRead:
    with ctx.db.read() as session:
        postmortem = visible(session, actor, postmortem_id)
        return read_in(session, postmortem.id, ctx.clock.now())


def of_incident(ctx: Context, actor: Actor, number: int) -> PostmortemBrief | None:
    """The postmortem of an incident, if it has one."""
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        found = session.scalar(
            select(PostmortemIncident.postmortem_id).where(
                PostmortemIncident.incident_id == incident.id
            )
        )
        if found is None:
            return None
        return _brief(session, visible(session, actor, found), ctx.clock.now())


def list_postmortems(
    ctx: Context, actor: Actor, *, status: str | None = None, limit: int = 100
) -> list[PostmortemBrief]:
    """Postmortems the actor may see, newest first."""
    wanted = None
    if status is not None:
        wanted = rules.choice(rules.PostmortemStatus, status, "a postmortem status")
    limit = max(1, min(limit, 500))
    with ctx.db.read() as session:
        query = select(Postmortem).order_by(Postmortem.id.desc())
        if wanted is not None:
            query = query.where(Postmortem.status == wanted)
        now = ctx.clock.now()
        briefs = []
        for row in session.scalars(query):
            if can_see_team(actor, row.team_id):
                briefs.append(_brief(session, row, now))
            if len(briefs) >= limit:
                break
        return briefs


def preview(source: str) -> str:
    """Sanitised HTML for a section being edited (the editor's live preview)."""
    return markdown.render(checked_text(source, "a section", MAX_SECTION, empty=True))


# Export --------------------------------------------------------------------

Format = Literal["markdown", "html"]


def export(ctx: Context, actor: Actor, postmortem_id: int, fmt: Format) -> str:
    """The postmortem as one markdown document, or as a self-contained HTML
    page: sanitised markdown, escaped titles, no scripts or outside assets."""
    from tocsin.services.insights import incident_metrics

    read = get(ctx, actor, postmortem_id)
    with ctx.db.read() as session:
        figures = incident_metrics(
            session, incident_ids_of(session, read.incident_numbers)
        )
    source = as_markdown(read) + metrics_table(figures)
    if fmt == "markdown":
        return source
    title = html.escape(read.title)
    # The charts are added after the markdown is sanitised (which would drop
    # SVG): they are built by tocsin.charts, which escapes every label.
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_EXPORT_CSS}</style></head>"
        f"<body><main>{markdown.render(source)}{metrics_charts(figures)}"
        "</main></body></html>\n"
    )


def incident_ids_of(session: Session, numbers: Sequence[int]) -> list[int]:
    return list(
        session.scalars(select(Incident.id).where(Incident.number.in_(numbers)))
    )


_DURATIONS = (
    ("Time to acknowledge", "minutes_to_acknowledge"),
    ("Time to mitigate", "minutes_to_mitigate"),
    ("Time to resolve", "minutes_to_resolve"),
)


def metrics_table(figures: Sequence[IncidentMetricsRead]) -> str:
    """The figures the HTML export charts, as a markdown table (markdown has
    no charts). A figure an incident never reached shows as a dash."""
    if not figures:
        return ""
    lines = [
        "",
        "## Metrics",
        "",
        "| Incident | Time to acknowledge (min) | Time to mitigate (min) "
        "| Time to resolve (min) | Pages sent | People involved |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for one in figures:
        cells = [
            "-" if value is None else f"{value:g}"
            for value in (
                one.minutes_to_acknowledge,
                one.minutes_to_mitigate,
                one.minutes_to_resolve,
            )
        ]
        lines.append(
            f"| #{one.number} | {' | '.join(cells)} | {one.pages} | {one.people} |"
        )
    return "\n".join(lines) + "\n"


def metrics_charts(figures: Sequence[IncidentMetricsRead]) -> Markup:
    """One bar chart of durations per incident, then pages sent per incident."""
    parts: list[Markup] = []
    for one in figures:
        bars = [
            (label, float(value))
            for label, field in _DURATIONS
            if (value := getattr(one, field)) is not None
        ]
        parts.append(
            charts.horizontal_bars(f"#{one.number} {one.title}: minutes", bars)
        )
    if figures:
        parts.append(
            charts.horizontal_bars(
                "Pages sent", [(f"#{one.number}", float(one.pages)) for one in figures]
            )
        )
    return Markup("").join(parts)


def export_pdf(ctx: Context, actor: Actor, postmortem_id: int) -> bytes:
    """The HTML export printed to PDF by WeasyPrint (the optional `pdf` extra,
    which needs Pango from the system). Nothing is fetched while rendering:
    the document is self-contained, and any URL in it is refused rather than
    requested, so a postmortem cannot make the server reach a host."""
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError):
        raise InvalidInput(
            "PDF export needs WeasyPrint: install Tocsin with the `pdf` extra"
        ) from None

    class _NoFetching(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: object = None) -> object:
            raise ValueError(f"a postmortem PDF fetches nothing ({url[:80]})")

    page = export(ctx, actor, postmortem_id, "html")
    pdf: bytes = HTML(string=page, url_fetcher=_NoFetching()).write_pdf()
    return pdf


_EXPORT_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;"
    "padding:0 1rem;line-height:1.5}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.25rem .5rem}"
    ".chart-s0{fill:#3a6ea5}.chart-label{font-size:13px;fill:#222}"
    ".chart-axis{stroke:#999}"
)


def as_markdown(read: PostmortemRead) -> str:
    body = rules.document(read.title, read.sections, read.five_whys)
    facts = [
        f"- Status: {read.status.replace('_', ' ')}",
        f"- Incidents: {', '.join(f'#{n}' for n in read.incident_numbers)}",
        f"- Severity: {read.severity}",
    ]
    # The facts go under the title: after the last section they would read as
    # part of it.
    title, _, sections = body.partition("\n\n")
    parts = [title, "\n".join(facts), sections.rstrip()]
    if read.action_items:
        lines = ["## Action items", ""]
        for item in read.action_items:
            owner = item.owner.name if item.owner else "nobody"
            due = f", due {item.due_at:%Y-%m-%d}" if item.due_at else ""
            lines.append(
                f"- [{'x' if item.status == 'done' else ' '}] {item.title} "
                f"({item.kind.replace('_', ' ')}, {item.priority}, {owner}{due}, "
                f"{item.status.replace('_', ' ')})"
            )
        parts.append("\n".join(lines))
    summary = read.feedback_summary
    if summary.answers:
        lines = [
            "## Participant feedback",
            "",
            f"{summary.answers} of {summary.participants} participants answered. "
            f"Mean ratings (1-5): overall {summary.mean_overall}, tools "
            f"{summary.mean_tools}, communication {summary.mean_communication}.",
        ]
        for answer in read.feedback:
            who = answer.respondent or "Anonymous"
            lines += ["", f"**{who}** ({answer.rating_overall}/5)"]
            if answer.went_well:
                lines.append(f"- Went well: {answer.went_well}")
            if answer.hindered:
                lines.append(f"- Hindered: {answer.hindered}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


# Due-date reminders --------------------------------------------------------


def arm_due(session: Session, ctx: Context, postmortem: Postmortem) -> None:
    """One reminder timer for the current due date, while it is unpublished."""
    session.execute(
        delete(Timer).where(
            Timer.kind == POSTMORTEM_DUE,
            Timer.payload["postmortem_id"].as_integer() == postmortem.id,
        )
    )
    if postmortem.status == rules.PostmortemStatus.PUBLISHED:
        return
    if postmortem.reminded_at is not None:
        return
    session.add(
        Timer(
            kind=POSTMORTEM_DUE,
            due_at=postmortem.due_at,
            payload={
                "postmortem_id": postmortem.id,
                "due_at": postmortem.due_at.isoformat(),
            },
            created_at=ctx.clock.now(),
        )
    )


def remind_due(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """The `postmortem_due` timer handler: tell the author and reviewers of an
    unpublished postmortem past its due date, once (safe to run again)."""
    postmortem = session.get(Postmortem, int(timer.payload.get("postmortem_id", 0)))
    if postmortem is None or postmortem.reminded_at is not None:
        return
    if postmortem.status == rules.PostmortemStatus.PUBLISHED:
        return
    if postmortem.due_at.isoformat() != timer.payload.get("due_at"):
        return
    now = ctx.clock.now()
    if postmortem.due_at > now:
        return

    postmortem.reminded_at = now
    people = [r.user_id for r in postmortem.reviewers]
    if postmortem.created_by_id is not None:
        people.insert(0, postmortem.created_by_id)
    notices.notify(
        session,
        ctx,
        people,
        subject=f"[Tocsin] postmortem overdue: {postmortem.title}",
        body=(
            f"The postmortem {postmortem.title!r} was due "
            f"{postmortem.due_at:%Y-%m-%d %H:%M} UTC and is "
            f"{postmortem.status.replace('_', ' ')}.\n\nOpen: "
            f"{ctx.settings.base_url.rstrip('/')}/postmortems/{postmortem.id}"
        ),
        topic="postmortem_overdue",
    )
    _audit(session, SYSTEM, postmortem, "postmortem.remind", now)


# Shared helpers ------------------------------------------------------------


def visible(session: Session, actor: Actor, postmortem_id: int) -> Postmortem:
    """NotFound unless the postmortem exists and the actor sees its team."""
    row = (
        session.get(Postmortem, postmortem_id) if 0 < postmortem_id <= MAX_ID else None
    )
    if row is None or not can_see_team(actor, row.team_id):
        raise NotFound(f"no postmortem {postmortem_id}")
    return row


def locked(session: Session, actor: Actor, postmortem_id: int) -> Postmortem:
    """The postmortem with its row locked, so edits and moves take turns."""
    row = None
    if 0 < postmortem_id <= MAX_ID:
        row = session.scalar(
            select(Postmortem).where(Postmortem.id == postmortem_id).with_for_update()
        )
    if row is None or not can_see_team(actor, row.team_id):
        raise NotFound(f"no postmortem {postmortem_id}")
    return row


def incident_numbers(session: Session, postmortem_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Incident.number)
            .join(PostmortemIncident, PostmortemIncident.incident_id == Incident.id)
            .where(PostmortemIncident.postmortem_id == postmortem_id)
            .order_by(PostmortemIncident.position)
        )
    )


def _brief(session: Session, row: Postmortem, now: datetime) -> PostmortemBrief:
    return PostmortemBrief(
        id=row.id,
        title=row.title,
        status=row.status,
        severity=row.severity,
        incident_numbers=incident_numbers(session, row.id),
        due_at=row.due_at,
        overdue=row.status != rules.PostmortemStatus.PUBLISHED and row.due_at <= now,
        published_at=row.published_at,
    )


def read_in(session: Session, postmortem_id: int, now: datetime) -> PostmortemRead:
    """The full read model, from the session's current state."""
    from tocsin.services.action_items import items_of
    from tocsin.services.feedback import answers_in

    session.flush()
    row = session.get(Postmortem, postmortem_id, populate_existing=True)
    if row is None:
        raise NotFound(f"no postmortem {postmortem_id}")
    brief = _brief(session, row, now)
    feedback, summary = answers_in(session, [link.incident_id for link in row.links])
    return PostmortemRead(
        **brief.model_dump(),
        template=row.template_name,
        sections={key: str(row.sections.get(key, "")) for key, _ in rules.SECTIONS},
        five_whys=[str(w) for w in row.five_whys],
        created_by=row.created_by_label,
        created_at=row.created_at,
        updated_at=row.updated_at,
        submitted_at=row.submitted_at,
        reviewers=[
            ReviewerRead(user=UserRef.model_validate(r.user), approved_at=r.approved_at)
            for r in row.reviewers
        ],
        comments=[
            CommentRead(
                id=c.id, author=c.author_label, text=c.text, created_at=c.created_at
            )
            for c in row.comments
        ],
        action_items=items_of(session, row.id, now),
        feedback=feedback,
        feedback_summary=summary,
    )


def _checked_sections(sections: dict[str, str]) -> dict[str, str]:
    unknown = set(sections) - rules.SECTION_KEYS
    if unknown:
        keys = ", ".join(key for key, _ in rules.SECTIONS)
        raise InvalidInput(
            f"unknown section {sorted(unknown)[0]!r}; sections are {keys}"
        )
    return {
        key: checked_text(text, f"the {key} section", MAX_SECTION, empty=True)
        for key, text in sections.items()
    }


def _record(session: Session, incident: Incident) -> rules.IncidentRecord:
    from tocsin.services.insights import incident_times

    pinned_ids = set(
        session.scalars(
            select(IncidentNote.timeline_entry_id).where(
                IncidentNote.incident_id == incident.id, IncidentNote.pinned
            )
        )
    )
    entries = session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident.id)
        .order_by(TimelineEntry.at, TimelineEntry.id)
    ).all()
    kept = [e for e in entries if e.id in pinned_ids]
    kept += [e for e in entries if e.id not in pinned_ids][:MAX_TIMELINE]
    impacts = tuple(
        name
        for name, flag in (
            ("financial", incident.impact_financial),
            ("reputational", incident.impact_reputational),
            ("legal", incident.impact_legal),
        )
        if flag
    )
    # Participants, then anyone who acted on the timeline (acknowledged,
    # wrote a note) without being added as one.
    people = [p.user.name for p in participants.of_incident(session, incident.id)]
    actor_ids = {e.actor_user_id for e in entries if e.actor_user_id is not None}
    if actor_ids:
        people += session.scalars(
            select(User.name).where(User.id.in_(actor_ids)).order_by(User.name)
        )
    # The times from the timeline, as the metrics read them: the row's
    # acknowledgement is cleared when the incident triggers again.
    times = incident_times(session, incident)
    return rules.IncidentRecord(
        number=incident.number,
        title=incident.title,
        severity=incident.severity,
        description=incident.description,
        created_at=incident.created_at,
        acknowledged_at=times.acknowledged_at,
        resolved_at=times.resolved_at,
        customers_affected=incident.customers_affected,
        customers_estimated=incident.customers_affected_estimated,
        business_impact=incident.business_impact,
        impacts=impacts,
        services=tuple(
            dict.fromkeys(
                [incident.service.name] + [s.name for s in incident.affected_services]
            )
        ),
        participants=tuple(dict.fromkeys(people)),
        timeline=tuple(
            rules.TimelineLine(at=e.at, message=e.message, pinned=e.id in pinned_ids)
            for e in kept
        ),
    )


def _audit(
    session: Session,
    actor: Actor,
    postmortem: Postmortem,
    action: str,
    now: datetime,
    **detail: object,
) -> None:
    audit(
        session,
        actor,
        at=now,
        action=action,
        object_type="postmortem",
        object_id=postmortem.id,
        status=postmortem.status,
        **detail,
    )
