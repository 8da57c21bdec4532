"""The stakeholder update cadence: how often an incident of each severity owes
its stakeholders an update, and the reminder to the communications lead when
one is overdue.

One `update_due` timer per incident stands for the next time an update is
owed. Posting an update, naming a communications lead or changing the severity
(re)arms it; when it
fires it reminds once and arms itself a whole cadence later, so a lead is
reminded once per cadence, not on every pass of the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor
from tocsin.domain.incidents import IncidentStatus
from tocsin.services import notices
from tocsin.services.context import Context
from tocsin.services.incident_scope import visible_incident
from tocsin.services.records import add_timeline
from tocsin.store.models import (
    Incident,
    IncidentUpdate,
    ResponseRole,
    RoleAssignment,
    TimelineEntry,
    Timer,
    User,
)

UPDATE_DUE = "update_due"
COMMUNICATIONS = "communications"


def cadence_of(ctx: Context, severity: str) -> timedelta | None:
    """The time between updates for a severity; None when it has no cadence."""
    minutes = ctx.settings.update_cadence_minutes.get(severity.lower())
    return timedelta(minutes=minutes) if minutes else None


def communications_lead(session: Session, incident_id: int) -> User | None:
    return session.scalar(
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(ResponseRole, ResponseRole.id == RoleAssignment.role_id)
        .where(
            RoleAssignment.incident_id == incident_id,
            RoleAssignment.ended_at.is_(None),
            ResponseRole.key == COMMUNICATIONS,
        )
    )


def arm(
    session: Session,
    ctx: Context,
    incident: Incident,
    *,
    since: datetime,
    keep: int | None = None,
) -> None:
    """Owe the next update one cadence after `since`, replacing any earlier
    reminder of the incident (except the timer `keep`, which is firing)."""
    stale = delete(Timer).where(
        Timer.kind == UPDATE_DUE, Timer.incident_id == incident.id
    )
    if keep is not None:
        stale = stale.where(Timer.id != keep)
    session.execute(stale)

    cadence = cadence_of(ctx, incident.severity)
    if cadence is None or incident.status == IncidentStatus.RESOLVED:
        return
    session.add(
        Timer(
            kind=UPDATE_DUE,
            due_at=since + cadence,
            incident_id=incident.id,
            payload={"since": since.isoformat()},
            created_at=ctx.clock.now(),
        )
    )


def follow_severity(session: Session, ctx: Context, incident: Incident) -> None:
    """Re-time the reminder of a locked incident whose severity just changed.

    An incident owes updates once one was posted or a communications lead
    named. Its next one is then due a new cadence after the last update (or
    after the point the old reminder counted from), so raising SEV3 to SEV1
    brings the reminder forward, and a severity without a cadence drops it."""
    last_update = session.scalar(
        select(func.max(IncidentUpdate.created_at)).where(
            IncidentUpdate.incident_id == incident.id
        )
    )
    armed = session.scalar(
        select(Timer.payload).where(
            Timer.kind == UPDATE_DUE, Timer.incident_id == incident.id
        )
    )
    if last_update is not None:
        since = last_update
    elif armed is not None:
        since = datetime.fromisoformat(str(armed["since"]))
    elif communications_lead(session, incident.id) is not None:
        # Named while the old severity owed nothing: the count starts now.
        since = ctx.clock.now()
    else:
        return

    arm(session, ctx, incident, since=since)


def reopened(session: Session, ctx: Context, incident: Incident) -> None:
    """A locked incident was just reopened: if it owed updates before it was
    resolved (one was posted, or a communications lead is named), the next is
    owed a cadence from now, since stakeholders last heard it was over."""
    posted = session.scalar(
        select(IncidentUpdate.id)
        .where(IncidentUpdate.incident_id == incident.id)
        .limit(1)
    )
    if posted is None and communications_lead(session, incident.id) is None:
        return

    arm(session, ctx, incident, since=ctx.clock.now())


def remind(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """The `update_due` timer handler. Runs in the worker's transaction with
    the incident locked; safe to run again after a failure (it rolls back)."""
    if incident is None or incident.status == IncidentStatus.RESOLVED:
        return
    cadence = cadence_of(ctx, incident.severity)
    if cadence is None:
        return

    now = ctx.clock.now()
    last_update = session.scalar(
        select(func.max(IncidentUpdate.created_at)).where(
            IncidentUpdate.incident_id == incident.id
        )
    )
    since = last_update or datetime.fromisoformat(str(timer.payload["since"]))
    if since + cadence > now:
        # An update went out after this timer was armed, or the severity
        # changed to a longer cadence: nothing is owed yet.
        arm(session, ctx, incident, since=since, keep=timer.id)
        return

    lead = communications_lead(session, incident.id)
    minutes = int(cadence.total_seconds() // 60)
    if lead is None:
        message = (
            f"Stakeholder update overdue ({incident.severity.upper()}: every "
            f"{minutes} min); no communications lead to remind"
        )
    else:
        notices.notify(
            session,
            ctx,
            [lead.id],
            subject=(
                f"[Tocsin] #{incident.number} stakeholder update overdue: "
                f"{incident.title}"
            ),
            body=_reminder_body(ctx, incident, since, minutes),
            topic="update_overdue",
            incident_id=incident.id,
        )
        message = (
            f"Stakeholder update overdue ({incident.severity.upper()}: every "
            f"{minutes} min); reminded {lead.name}"
        )
    add_timeline(
        session,
        incident,
        at=now,
        kind="update_overdue",
        message=message,
        user_id=lead.id if lead else None,
    )
    arm(session, ctx, incident, since=now, keep=timer.id)


@dataclass(frozen=True)
class CadenceState:
    """Where an incident stands with its stakeholder updates.

    `every` is None when its severity has no cadence; `next_due` is when the
    next update is owed (None when none is owed yet: no update posted and no
    communications lead named, or the incident is resolved); `overdue_since`
    is set while an owed update is late."""

    every: timedelta | None
    last_update_at: datetime | None
    next_due: datetime | None
    overdue_since: datetime | None


def state(ctx: Context, actor: Actor, number: int) -> CadenceState:
    """The incident's update cadence as the page shows it. NotFound when the
    actor may not see the incident.

    An update is late from the moment its reminder is due until the next
    update is posted: the reminder timer re-arms itself a cadence later, so
    the overdue entry it left on the timeline marks when lateness began."""
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        every = cadence_of(ctx, incident.severity)
        last = session.scalar(
            select(func.max(IncidentUpdate.created_at)).where(
                IncidentUpdate.incident_id == incident.id
            )
        )
        if every is None or incident.status == IncidentStatus.RESOLVED:
            return CadenceState(every, last, None, None)

        due = session.scalar(
            select(func.min(Timer.due_at)).where(
                Timer.kind == UPDATE_DUE, Timer.incident_id == incident.id
            )
        )
        reminded = select(func.min(TimelineEntry.at)).where(
            TimelineEntry.incident_id == incident.id,
            TimelineEntry.kind == "update_overdue",
        )
        if last is not None:
            reminded = reminded.where(TimelineEntry.at > last)
        overdue_since = session.scalar(reminded)
        if overdue_since is None and due is not None and due <= ctx.clock.now():
            overdue_since = due
        return CadenceState(every, last, due, overdue_since)


def _reminder_body(
    ctx: Context, incident: Incident, since: datetime, minutes: int
) -> str:
    base = ctx.settings.base_url.rstrip("/")
    return "\n".join(
        [
            f"Incident #{incident.number} ({incident.severity.upper()}) owes its "
            f"stakeholders an update every {minutes} minutes.",
            f"The last one was due {minutes} minutes after {since:%Y-%m-%d %H:%M} UTC.",
            "",
            f"Post one: tocsin update post {incident.number} --audience internal",
            f"Open:     {base}/incidents/{incident.number}",
        ]
    )
